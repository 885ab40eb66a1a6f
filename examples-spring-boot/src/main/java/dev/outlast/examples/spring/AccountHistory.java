package dev.outlast.examples.spring;

import dev.outlast.core.annotation.Guarded;
import dev.outlast.core.annotation.ReadFallback;
import java.sql.SQLException;

/**
 * Account history. The event store (PostgreSQL, fed from the ledger by change data capture) is the
 * read model and is asked first; while it is out, the ledger (the table of record, in MySQL)
 * answers the same call. An error of the query itself is thrown, not hidden by the fallback.
 */
interface AccountHistory {
  /**
   * The account's history from the event store, or from the ledger while the store is out.
   *
   * @throws SQLException if the query fails for another reason than an outage
   */
  @Guarded("postgres")
  @ReadFallback(method = "fromLedger")
  History read(String account) throws SQLException;

  /**
   * The account's history from the ledger.
   *
   * @throws SQLException if the query fails
   */
  @Guarded("mysql")
  History fromLedger(String account) throws SQLException;
}
