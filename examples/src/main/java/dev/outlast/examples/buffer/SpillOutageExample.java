package dev.outlast.examples.buffer;

import dev.outlast.examples.buffer.OrderEvents.OrderPlaced;
import dev.outlast.testkit.PostgresServer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import org.postgresql.ds.PGSimpleDataSource;

/**
 * The spill queue through an outage of the database it writes to, on a real PostgreSQL: events go
 * straight to the table, PostgreSQL is killed, publishing goes on into the local journal without an
 * error, PostgreSQL comes back, the backlog drains in order, and every event is in the table once.
 *
 * <p>Run: {@code mvn -q -pl examples -am package -DskipTests} then {@code java <the JVM flags of
 * the README> -cp ... dev.outlast.examples.buffer.SpillOutageExample}; or see {@code
 * SpillOutageExampleTest}.
 */
public final class SpillOutageExample {
  private static final int PER_PHASE = 1_000;

  private SpillOutageExample() {}

  public static void main(String[] args) throws Exception {
    Path journal = Files.createTempDirectory("outlast-example").resolve("orders");
    try (PostgresServer pg = PostgresServer.builder().database("shop").start()) {
      PGSimpleDataSource ds = new PGSimpleDataSource();
      ds.setUrl(pg.jdbcUrl());
      ds.setUser(pg.user());
      ds.setPassword(pg.password());
      ds.setConnectTimeout(1);
      ds.setSocketTimeout(5);
      try (Connection c = ds.getConnection();
          Statement s = c.createStatement()) {
        s.execute(
            "CREATE TABLE order_event (seq BIGSERIAL, id VARCHAR(64) PRIMARY KEY,"
                + " order_id BIGINT NOT NULL, sku VARCHAR(16) NOT NULL, quantity INT NOT NULL)");
      }
      try (OrderEvents events = new OrderEvents(ds, journal)) {
        publish(events, 0);
        System.out.println("healthy: backlog " + events.metrics().backlogEvents());

        pg.kill();
        long t0 = System.nanoTime();
        publish(events, PER_PHASE);
        System.out.printf(
            "postgres killed: %d events published in %d ms, none failed; backlog %d%n",
            PER_PHASE, (System.nanoTime() - t0) / 1_000_000, events.metrics().backlogEvents());

        // A SKU too long for its column: the database refuses this one row for good.
        events.placed(new OrderPlaced(-1, "a-sku-that-is-far-too-long", 1));
        publish(events, 2 * PER_PHASE);

        pg.start();
        long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        while (events.metrics().backlogEvents() > 0 && System.nanoTime() < deadline) {
          Thread.sleep(100);
        }
        System.out.println(
            "postgres back: backlog "
                + events.metrics().backlogEvents()
                + ", dead letters "
                + events.metrics().deadLetters());
      }
      try (Connection c = ds.getConnection();
          Statement s = c.createStatement();
          ResultSet r =
              s.executeQuery(
                  "SELECT count(*), count(DISTINCT order_id),"
                      + " bool_and(order_id = rn - 1) FROM (SELECT order_id,"
                      + " row_number() OVER (ORDER BY seq) AS rn FROM order_event) t")) {
        r.next();
        System.out.printf(
            "table: %d rows, %d distinct orders, in publish order: %b%n",
            r.getLong(1), r.getLong(2), r.getBoolean(3));
      }
    }
  }

  private static void publish(OrderEvents events, int from) {
    for (int i = from; i < from + PER_PHASE; i++) {
      events.placed(new OrderPlaced(i, "sku-" + (i % 100), 1 + i % 5));
    }
  }
}
