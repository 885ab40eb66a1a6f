package dev.outlast.examples.spring;

import java.sql.SQLException;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.PathVariable;
import org.springframework.web.bind.annotation.RestController;

/** {@code GET /history/{account}}: the account's history and which source gave it. */
@RestController
class HistoryController {
  private final AccountHistory history;

  HistoryController(AccountHistory history) {
    this.history = history;
  }

  @GetMapping("/history/{account}")
  History history(@PathVariable String account) throws SQLException {
    return history.read(account);
  }
}
