package dev.outlast.examples.spring;

import dev.outlast.core.jdbc.JdbcEventSource;
import dev.outlast.core.spi.StreamEvent;
import java.nio.charset.StandardCharsets;
import java.sql.SQLException;
import java.time.Duration;
import java.util.List;
import javax.sql.DataSource;

/**
 * Both sources as plain JDBC, each an {@code account_event(stream, seq, payload)} table read
 * through {@link JdbcEventSource}, which bounds every query in the driver. Threadsafe.
 */
final class JdbcAccountHistory implements AccountHistory {
  /** At most this many entries per answer: an example, not a pager. */
  static final int LIMIT = 100;

  private final JdbcEventSource store;
  private final JdbcEventSource ledger;

  JdbcAccountHistory(DataSource eventStore, DataSource ledger, Duration callTimeout) {
    this.store =
        JdbcEventSource.builder(eventStore).table("account_event").timeout(callTimeout).build();
    this.ledger =
        JdbcEventSource.builder(ledger).table("account_event").timeout(callTimeout).build();
  }

  @Override
  public History read(String account) throws SQLException {
    return history(account, "event-store", store.read(stream(account), 1, LIMIT));
  }

  @Override
  public History fromLedger(String account) throws SQLException {
    return history(account, "ledger", ledger.read(stream(account), 1, LIMIT));
  }

  /** The stream that holds an account's events. */
  static String stream(String account) {
    return "account-" + account;
  }

  private static History history(String account, String source, List<StreamEvent> events) {
    return new History(
        account,
        source,
        events.stream()
            .map(
                e ->
                    new History.Entry(
                        e.sequence(), new String(e.payload(), StandardCharsets.UTF_8)))
            .toList());
  }
}
