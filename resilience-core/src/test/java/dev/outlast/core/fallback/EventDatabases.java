package dev.outlast.core.fallback;

import dev.outlast.core.spi.StreamEvent;
import dev.outlast.testkit.MariaDbServer;
import dev.outlast.testkit.PostgresServer;
import java.nio.ByteBuffer;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import javax.sql.DataSource;
import org.mariadb.jdbc.MariaDbDataSource;
import org.postgresql.ds.PGSimpleDataSource;

/**
 * The fallback tests' servers: a real PostgreSQL event store and a real MariaDB ledger (standing in
 * for the ledger service), each with the same event table, and the events they hold.
 */
final class EventDatabases implements AutoCloseable {
  final PostgresServer store;
  final MariaDbServer ledger;
  final PGSimpleDataSource storeDs;
  final MariaDbDataSource ledgerDs;

  private EventDatabases(PostgresServer store, MariaDbServer ledger) throws SQLException {
    this.store = store;
    this.ledger = ledger;
    storeDs = new PGSimpleDataSource();
    storeDs.setUrl(store.jdbcUrl());
    storeDs.setUser(store.user());
    storeDs.setPassword(store.password());
    storeDs.setConnectTimeout(1);
    storeDs.setLoginTimeout(
        2); // a frozen server accepts the connection and never answers the login
    storeDs.setSocketTimeout(5);
    ledgerDs = new MariaDbDataSource();
    ledgerDs.setUrl(ledger.jdbcUrl() + "?connectTimeout=1000");
    ledgerDs.setUser(ledger.user());
    ledgerDs.setPassword(ledger.password());
  }

  /** Starts both servers and creates the event table in each. */
  static EventDatabases start() throws Exception {
    PostgresServer store = PostgresServer.builder().database("events").start();
    MariaDbServer ledger = null;
    try {
      ledger = MariaDbServer.builder().database("ledger").start();
      EventDatabases dbs = new EventDatabases(store, ledger);
      execute(dbs.storeDs, table("BYTEA"));
      execute(dbs.ledgerDs, table("VARBINARY(64)"));
      return dbs;
    } catch (Exception | Error e) {
      store.close();
      if (ledger != null) {
        ledger.close();
      }
      throw e;
    }
  }

  private static String table(String bytes) {
    return "CREATE TABLE event (stream VARCHAR(64) NOT NULL, seq BIGINT NOT NULL, payload "
        + bytes
        + " NOT NULL, PRIMARY KEY (stream, seq))";
  }

  static void execute(DataSource ds, String sql) throws SQLException {
    try (Connection c = ds.getConnection();
        Statement s = c.createStatement()) {
      s.execute(sql);
    }
  }

  /** The payload every test stores for an event: the stream's hash and the sequence number. */
  static byte[] payload(String stream, long seq) {
    return ByteBuffer.allocate(12).putInt(stream.hashCode()).putLong(seq).array();
  }

  /** Events from..to of a stream, with {@link #payload}. */
  static List<StreamEvent> events(String stream, long from, long to) {
    List<StreamEvent> events = new ArrayList<>();
    for (long seq = from; seq <= to; seq++) {
      events.add(new StreamEvent(stream, seq, payload(stream, seq)));
    }
    return events;
  }

  /** Inserts events from..to of a stream, in one batch. */
  static void insert(DataSource ds, String stream, long from, long to) throws Exception {
    dev.outlast.core.jdbc.JdbcEventSource.builder(ds).build().append(events(stream, from, to));
  }

  @Override
  public void close() {
    store.close();
    ledger.close();
  }
}
