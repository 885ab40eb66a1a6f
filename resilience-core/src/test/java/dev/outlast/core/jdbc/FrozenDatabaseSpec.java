package dev.outlast.core.jdbc;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.zaxxer.hikari.HikariDataSource;
import dev.outlast.core.Guard;
import dev.outlast.core.GuardConfig;
import dev.outlast.core.spi.StreamEvent;
import dev.outlast.testkit.Callers;
import dev.outlast.testkit.TestServer;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import javax.sql.DataSource;
import org.jspecify.annotations.Nullable;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * One spec for every database the JDBC helpers are measured against: a real server, frozen
 * (SIGSTOP) while eight callers read through {@link JdbcEventSource}, half of them through {@link
 * Guard#call}, behind a HikariCP pool and behind the driver's plain data source, each set up as
 * docs/GUIDE.md ("Bounding JDBC calls") says. Every caller must be released within the call timeout
 * plus one second, and reads must work again within a few seconds of the thaw with nothing leaked.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
abstract class FrozenDatabaseSpec {
  static final Duration CALL_TIMEOUT = Duration.ofSeconds(1);
  static final Duration ALLOWED = CALL_TIMEOUT.plusSeconds(1);
  private static final Duration FROZEN = Duration.ofMillis(2500);
  private static final int CALLERS = 8;
  private static final String STREAM = "orders-1";

  private TestServer server;

  /** Starts the server, with a database the data sources reach. */
  abstract TestServer startServer() throws Exception;

  /** The driver's own data source, set as the guide says. */
  abstract DataSource plainDataSource(TestServer server) throws SQLException;

  /** A HikariCP pool of this many connections, set as the guide says. */
  abstract HikariDataSource pool(TestServer server, int size);

  /** The column type for an event's bytes. */
  abstract String bytesType();

  /** A query that runs for 5 seconds. */
  abstract String slowQuery();

  /** Fails unless the slow query was stopped by the server, by the bound JdbcTimeouts set. */
  abstract void assertStoppedByTheServer(@Nullable Throwable failure, @Nullable String result);

  /** The server's id of the session behind a connection. */
  abstract long sessionId(Connection c) throws SQLException;

  /** The statement time limit the session has now, "0" if none: nothing of a call must stay. */
  abstract String sessionStatementLimit(Connection c) throws SQLException;

  /** Client sessions on the server other than the one asking, through a connection of its own. */
  abstract int otherSessions(TestServer server) throws SQLException;

  /** The running server. */
  final TestServer server() {
    return server;
  }

  @BeforeAll
  void start() throws Exception {
    server = startServer();
    DataSource ds = plainDataSource(server);
    try (Connection c = ds.getConnection();
        Statement s = c.createStatement()) {
      s.execute(
          "CREATE TABLE event (stream VARCHAR(64) NOT NULL, seq BIGINT NOT NULL, payload "
              + bytesType()
              + " NOT NULL, PRIMARY KEY (stream, seq))");
    }
    JdbcEventSource source = JdbcEventSource.builder(ds).timeout(CALL_TIMEOUT).build();
    source.append(
        List.of(
            new StreamEvent(STREAM, 1, new byte[] {1}),
            new StreamEvent(STREAM, 2, new byte[] {2}),
            new StreamEvent(STREAM, 3, new byte[] {3})));
  }

  @AfterAll
  void stop() {
    if (server != null) {
      server.close();
    }
  }

  @Test
  void hikariPool_frozenUnderEightCallers_releasesEveryCallerInTime_andThePoolRecovers()
      throws Exception {
    try (HikariDataSource pool = pool(server, 10)) {
      assertThat(JdbcTimeouts.check(pool, CALL_TIMEOUT, "the guide's pool"))
          .as("the guide's pool settings pass the start-up check")
          .isEmpty();
      frozenUnderEightCallers(pool, "hikari");
      // A guarded call abandoned at the call timeout goes on in the guard's thread until the
      // driver gives up, half a second later at most; then its connection is back.
      await()
          .atMost(CALL_TIMEOUT.plus(JdbcTimeouts.GRACE).plusSeconds(1))
          .untilAsserted(
              () ->
                  assertThat(pool.getHikariPoolMXBean().getActiveConnections())
                      .as("connections still borrowed after every caller returned")
                      .isZero());
      assertThat(pool.getHikariPoolMXBean().getTotalConnections()).isLessThanOrEqualTo(10);
    }
  }

  @Test
  void plainDataSource_frozenUnderEightCallers_releasesEveryCallerInTime_andLeavesNoSession()
      throws Exception {
    DataSource ds = plainDataSource(server);
    assertThat(JdbcTimeouts.check(ds, CALL_TIMEOUT, "the guide's data source"))
        .as("the guide's data source settings pass the start-up check")
        .isEmpty();
    int before = otherSessions(server);
    frozenUnderEightCallers(ds, "plain");
    // Every connection a caller gave up on was closed on the client; the server ends its side
    // once it runs again and reads the close.
    await()
        .atMost(Duration.ofSeconds(5))
        .untilAsserted(
            () -> assertThat(otherSessions(server)).as("sessions left open").isEqualTo(before));
  }

  @Test
  void slowQuery_isStoppedByTheServerAtTheTimeout_andItsConnectionServesTheNextCall()
      throws Exception {
    try (HikariDataSource pool = pool(server, 1)) {
      long session;
      try (Connection c = pool.getConnection()) {
        session = sessionId(c);
      }
      JdbcTimeouts timeouts = JdbcTimeouts.of(CALL_TIMEOUT, "slow query");
      Throwable failure = null;
      String result = null;
      long start = System.nanoTime();
      try (JdbcTimeouts.Call call = timeouts.open(pool);
          PreparedStatement ps = call.prepare(slowQuery());
          ResultSet rs = ps.executeQuery()) {
        rs.next();
        result = rs.getString(1);
      } catch (SQLException e) {
        failure = e;
      }
      Duration took = Duration.ofNanos(System.nanoTime() - start);
      assertStoppedByTheServer(failure, result);
      assertThat(took)
          .as("the server stops the query at the timeout, before the client gives up")
          .isBetween(CALL_TIMEOUT.minusMillis(100), CALL_TIMEOUT.plus(JdbcTimeouts.GRACE));
      try (Connection c = pool.getConnection()) {
        assertThat(sessionId(c)).as("the same connection, not a new one").isEqualTo(session);
        assertThat(sessionStatementLimit(c))
            .as("the call's time limit must not stay on the pooled connection")
            .isEqualTo("0");
      }
    }
  }

  private void frozenUnderEightCallers(DataSource ds, String label) throws Exception {
    Guard guard =
        Guard.of(
            label,
            // One attempt: a retry would be a second call, each bounded on its own.
            GuardConfig.custom().callTimeout(CALL_TIMEOUT).maxAttempts(1).build());
    JdbcEventSource source = JdbcEventSource.builder(ds).timeout(CALL_TIMEOUT).build();
    Callers callers =
        Callers.start(
            label + "-reader",
            CALLERS,
            thread -> {
              if (thread % 2 == 0) {
                guard.call(() -> source.read(STREAM, 1, 10));
              } else {
                source.read(STREAM, 1, 10);
              }
            });
    List<Callers.Timing> timings;
    long frozenAt;
    long thawedAt;
    try {
      callers.awaitEverySucceeded(Duration.ofSeconds(10));
      server.freeze();
      frozenAt = System.nanoTime();
      try {
        Thread.sleep(FROZEN.toMillis());
      } finally {
        server.thaw();
        thawedAt = System.nanoTime();
      }
    } finally {
      timings = callers.stop(ALLOWED.plusSeconds(5));
    }

    Callers.Timing slowest = Callers.slowest(timings);
    System.out.printf(
        "%s %s frozen: %d calls, slowest %s; failures by kind %s%n",
        getClass().getSimpleName(), label, timings.size(), slowest, failuresByKind(timings));
    assertThat(slowest.duration())
        .as("the slowest caller (%s)", slowest)
        .isLessThanOrEqualTo(ALLOWED);
    for (int t = 0; t < CALLERS; t++) {
      int thread = t;
      assertThat(
              timings.stream()
                  .filter(x -> x.thread() == thread && x.failure() != null)
                  .filter(x -> x.spans(frozenAt) || x.startNanos() >= frozenAt)
                  .filter(x -> x.startNanos() < thawedAt))
          .as("caller %d met the frozen server (else the test proved nothing)", thread)
          .isNotEmpty();
    }

    long recoveredAt = awaitRead(source);
    System.out.printf(
        "%s %s: a fresh read succeeded %d ms after the thaw%n",
        getClass().getSimpleName(), label, TimeUnit.NANOSECONDS.toMillis(recoveredAt - thawedAt));
    assertThat(Duration.ofNanos(recoveredAt - thawedAt))
        .as("reads work again soon after the thaw")
        .isLessThan(Duration.ofSeconds(5));
  }

  /** Reads until a read succeeds (at most 10 s); returns when, on the monotonic clock. */
  private static long awaitRead(JdbcEventSource source) {
    await()
        .atMost(Duration.ofSeconds(10))
        .pollInterval(Duration.ofMillis(50))
        .ignoreExceptions()
        .until(() -> source.read(STREAM, 1, 10).size() == 3);
    return System.nanoTime();
  }

  private static Map<String, Integer> failuresByKind(List<Callers.Timing> timings) {
    Map<String, Integer> kinds = new TreeMap<>();
    for (Callers.Timing t : timings) {
      Throwable f = t.failure();
      if (f != null) {
        kinds.merge(f.getClass().getSimpleName(), 1, Integer::sum);
      }
    }
    return kinds;
  }
}
