package dev.outlast.cache.jdbc;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.zaxxer.hikari.HikariDataSource;
import dev.outlast.core.Guard;
import dev.outlast.core.GuardConfig;
import dev.outlast.core.jdbc.JdbcTimeouts;
import dev.outlast.testkit.Callers;
import dev.outlast.testkit.TestServer;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import javax.sql.DataSource;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * One spec for every database: a real server frozen (SIGSTOP) while eight callers load rows through
 * {@link JdbcLoader}, half of them through {@link Guard#call} as a cache's loader pool does, behind
 * a HikariCP pool and behind the driver's plain data source, each set up as docs/GUIDE.md
 * ("Bounding JDBC calls") says. Every caller must be released within the guard's call timeout plus
 * one second; loads must work again within a few seconds of the thaw, with no connection left
 * borrowed.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
abstract class FrozenLoaderSpec {
  static final Duration CALL_TIMEOUT = Duration.ofSeconds(1);
  private static final Duration ALLOWED = CALL_TIMEOUT.plusSeconds(1);
  private static final Duration FROZEN = Duration.ofMillis(2500);
  private static final int CALLERS = 8;
  private static final SqlQuery NAME_OF_2 = SqlQuery.of("SELECT name FROM item WHERE id = ?", 2);

  private TestServer server;

  /** Starts the server, with a database the data sources reach. */
  abstract TestServer startServer() throws Exception;

  /** The driver's own data source, set as the guide says. */
  abstract DataSource plainDataSource(TestServer server) throws SQLException;

  /** A HikariCP pool, set as the guide says. */
  abstract HikariDataSource pool(TestServer server);

  @BeforeAll
  void start() throws Exception {
    server = startServer();
    try (Connection c = plainDataSource(server).getConnection();
        Statement s = c.createStatement()) {
      s.execute("CREATE TABLE item (id BIGINT PRIMARY KEY, name VARCHAR(64) NOT NULL)");
      try (PreparedStatement ps = c.prepareStatement("INSERT INTO item VALUES (?, ?)")) {
        for (int i = 1; i <= 3; i++) {
          ps.setLong(1, i);
          ps.setString(2, "item " + i);
          ps.executeUpdate();
        }
      }
    }
  }

  @AfterAll
  void stop() {
    if (server != null) {
      server.close();
    }
  }

  @Test
  void hikariPool_frozenUnderEightLoaders_releasesEveryCallerInTime_andThePoolRecovers()
      throws Exception {
    try (HikariDataSource pool = pool(server)) {
      frozenUnderEightLoaders(pool, "hikari");
      // A guarded load abandoned at the call timeout goes on in the guard's thread until the
      // driver gives up, half a second later at most; then its connection is back.
      await()
          .atMost(Duration.ofSeconds(3))
          .untilAsserted(
              () ->
                  assertThat(pool.getHikariPoolMXBean().getActiveConnections())
                      .as("connections still borrowed after every load returned")
                      .isZero());
    }
  }

  @Test
  void plainDataSource_frozenUnderEightLoaders_releasesEveryCallerInTime_andLoadsRecover()
      throws Exception {
    frozenUnderEightLoaders(plainDataSource(server), "plain");
  }

  @Test
  void guidesSettings_passTheStartUpCheck() throws Exception {
    try (HikariDataSource pool = pool(server)) {
      assertThat(JdbcTimeouts.check(pool, CALL_TIMEOUT, "loader")).isEmpty();
    }
    assertThat(JdbcTimeouts.check(plainDataSource(server), CALL_TIMEOUT, "loader")).isEmpty();
  }

  private void frozenUnderEightLoaders(DataSource ds, String label) throws Exception {
    Guard guard = Guard.of(label, GuardConfig.custom().callTimeout(CALL_TIMEOUT).build());
    JdbcLoader<Optional<String>> loader =
        JdbcLoader.optional(ds, guard, rs -> String.valueOf(rs.getString(1)));
    Callers callers =
        Callers.start(
            label + "-loader",
            CALLERS,
            thread -> {
              if (thread % 2 == 0) {
                guard.call(() -> loader.load(NAME_OF_2));
              } else {
                loader.load(NAME_OF_2);
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
        "%s %s frozen: %d loads, slowest %s%n",
        getClass().getSimpleName(), label, timings.size(), slowest);
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

    await()
        .atMost(Duration.ofSeconds(10))
        .pollInterval(Duration.ofMillis(50))
        .ignoreExceptions()
        .until(() -> loader.load(NAME_OF_2).equals(Optional.of("item 2")));
    long recovered = System.nanoTime() - thawedAt;
    System.out.printf(
        "%s %s: a fresh load succeeded %d ms after the thaw%n",
        getClass().getSimpleName(), label, TimeUnit.NANOSECONDS.toMillis(recovered));
    assertThat(Duration.ofNanos(recovered))
        .as("loads work again soon after the thaw")
        .isLessThan(Duration.ofSeconds(5));
  }
}
