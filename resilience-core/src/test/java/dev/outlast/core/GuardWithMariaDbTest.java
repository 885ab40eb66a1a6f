package dev.outlast.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import dev.outlast.testkit.MariaDbServer;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The guard's classification and breaker against a real MariaDB and its real driver. */
class GuardWithMariaDbTest {
  private static MariaDbServer db;

  @BeforeAll
  static void start() {
    db = MariaDbServer.launch();
  }

  @AfterAll
  static void stop() {
    db.close();
  }

  private static GuardConfig config() {
    return GuardConfig.custom()
        .callTimeout(Duration.ofMillis(800))
        .openWait(Duration.ofMillis(500))
        .maxOpenWait(Duration.ofSeconds(1))
        .slidingWindowSize(10)
        .minimumNumberOfCalls(5)
        .maxAttempts(1)
        .build();
  }

  private static int query(String sql) throws SQLException {
    try (Connection c =
            DriverManager.getConnection(
                db.jdbcUrl() + "?connectTimeout=800&socketTimeout=800", "root", "");
        ResultSet rs = c.createStatement().executeQuery(sql)) {
      rs.next();
      return rs.getInt(1);
    }
  }

  /**
   * Calls until the breaker opens; every call must fail with an infrastructure failure within the
   * given time (the driver's timeout, not a hang). Returns how many calls it took.
   */
  private static int failUntilOpen(Guard guard, Duration eachWithin) {
    int failures = 0;
    while (guard.state() != Guard.State.OPEN) {
      assertThat(failures).as("breaker still closed after %d failures", failures).isLessThan(10);
      long start = System.nanoTime();
      // The driver's own timeout, or the guard's call timeout if that comes first.
      assertThatThrownBy(() -> guard.call(() -> query("SELECT 1")))
          .isInstanceOfAny(DependencyCallException.class, DependencyTimeoutException.class)
          .satisfies(e -> assertThat(guard.isOutage(e)).isTrue());
      assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(eachWithin);
      failures++;
    }
    return failures;
  }

  @Test
  void syntaxErrors_doNotCount_evenWhenEveryCallFails() {
    Guard guard = Guard.of("mysql", config());
    for (int i = 0; i < 10; i++) {
      assertThatThrownBy(() -> guard.call(() -> query("SELEKT 1")))
          .isInstanceOf(DependencyCallException.class)
          .satisfies(
              e -> assertThat(((DependencyCallException) e).isInfrastructureFailure()).isFalse());
    }
    assertThat(guard.state()).isEqualTo(Guard.State.CLOSED);
  }

  @Test
  void killedServer_opensTheBreaker_thenCallsAreRejectedAtOnce_andProbesCloseItAfterRestart() {
    Guard guard = Guard.of("mysql", config());
    assertThat(guard.call(() -> query("SELECT 1"))).isEqualTo(1);
    db.kill();
    try {
      int failures = failUntilOpen(guard, Duration.ofSeconds(3));
      assertThat(failures).as("calls that reached the dead server").isBetween(4, 5);

      long start = System.nanoTime();
      for (int i = 0; i < 10_000; i++) {
        assertThatThrownBy(() -> guard.call(() -> query("SELECT 1")))
            .isInstanceOf(DependencyUnavailableException.class);
      }
      Duration tenThousand = Duration.ofNanos(System.nanoTime() - start);
      assertThat(tenThousand)
          .as("10,000 rejections, no timeouts")
          .isLessThan(Duration.ofSeconds(2));
    } finally {
      db.start();
    }
    await()
        .atMost(Duration.ofSeconds(10))
        .pollInterval(Duration.ofMillis(100))
        .untilAsserted(
            () -> {
              try {
                guard.call(() -> query("SELECT 1"));
              } catch (DependencyException e) {
                // still open or probing
              }
              assertThat(guard.state()).isEqualTo(Guard.State.CLOSED);
            });
  }

  @Test
  void frozenServer_timeoutsCountAsInfrastructureFailures_andOpenTheBreaker() {
    Guard guard = Guard.of("mysql", config());
    assertThat(guard.call(() -> query("SELECT 1"))).isEqualTo(1);
    db.freeze();
    try {
      int failures = failUntilOpen(guard, Duration.ofSeconds(3));
      assertThat(failures).as("calls that hung until the driver's timeout").isBetween(4, 5);
      long start = System.nanoTime();
      assertThatThrownBy(() -> guard.call(() -> query("SELECT 1")))
          .isInstanceOf(DependencyUnavailableException.class);
      assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofMillis(50));
    } finally {
      db.thaw();
    }
  }
}
