package dev.outlast.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import dev.outlast.core.health.Health;
import dev.outlast.core.health.HealthStatus;
import dev.outlast.core.health.Importance;
import dev.outlast.testkit.FaultProxy;
import dev.outlast.testkit.MariaDbServer;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * A real MariaDB, behind a HikariCP pool and a fault proxy, goes away three ways while the guard's
 * breaker is open and nothing calls it. The recovery probe alone must bring health back to UP
 * within 2 s of the server answering again, with the default probe interval (500 ms).
 */
class GuardRecoveryMariaDbTest {
  private static MariaDbServer db;
  private static FaultProxy proxy;
  private HikariDataSource pool;
  private Guard guard;
  private Health health;

  @BeforeAll
  static void startServer() {
    db = MariaDbServer.launch();
    proxy = FaultProxy.to(db);
  }

  @AfterAll
  static void stopServer() {
    proxy.close();
    db.close();
  }

  @BeforeEach
  void wire() {
    HikariConfig c = new HikariConfig();
    c.setJdbcUrl(
        "jdbc:mariadb://"
            + proxy.host()
            + ":"
            + proxy.port()
            + "/"
            + db.database()
            + "?connectTimeout=1000&socketTimeout=2000");
    c.setUsername(db.user());
    c.setPassword(db.password());
    c.setMaximumPoolSize(4);
    // HikariCP fills its pool up to minimumIdle with a connection adder that, while the database
    // is down, backs off from 10 ms doubling to 5 s (HikariPool.PoolEntryCreator): a restart is
    // then
    // seen up to 5 s late. With minimumIdle 0 the adder runs only while someone waits for a
    // connection, and every probe starts it afresh at 10 ms.
    c.setMinimumIdle(0);
    c.setConnectionTimeout(1_000);
    c.setValidationTimeout(500);
    c.setInitializationFailTimeout(-1);
    pool = new HikariDataSource(c);
    guard =
        Guard.builder("mysql")
            .config(
                GuardConfig.custom()
                    .callTimeout(Duration.ofSeconds(1))
                    .openWait(Duration.ofSeconds(30))
                    .minimumNumberOfCalls(3)
                    .slidingWindowSize(5)
                    .maxAttempts(1)
                    .build())
            .recoveryProbe(RecoveryProbe.jdbc(pool, Duration.ofSeconds(1)))
            .build();
    health = Health.builder().guard(guard, Importance.CORE).build();
  }

  @AfterEach
  void close() {
    proxy.pass();
    if (db.state() != dev.outlast.testkit.TestServer.State.RUNNING) {
      db.start();
    }
    pool.close();
  }

  private int selectOne() throws SQLException {
    try (Connection c = pool.getConnection();
        ResultSet rs = c.createStatement().executeQuery("SELECT 1")) {
      rs.next();
      return rs.getInt(1);
    }
  }

  /**
   * Breaks the server, calls until the breaker opens (each caller released within the call timeout
   * + 1 s), then leaves it idle.
   */
  private void breakAndOpen(Runnable fault) {
    assertThat(guard.call(this::selectOne)).isEqualTo(1);
    fault.run();
    for (int i = 0; i < 10 && guard.state() != Guard.State.OPEN; i++) {
      long start = System.nanoTime();
      try {
        guard.call(this::selectOne);
      } catch (DependencyException e) {
        assertThat(guard.isOutage(e)).as("%s", e).isTrue();
      }
      assertThat(Duration.ofNanos(System.nanoTime() - start))
          .as("caller released within callTimeout + 1 s")
          .isLessThan(Duration.ofSeconds(2));
    }
    assertThat(guard.state()).isEqualTo(Guard.State.OPEN);
    // Idle, down: health says so, and stays so while the probes fail.
    await()
        .during(Duration.ofMillis(1_500))
        .atMost(Duration.ofSeconds(3))
        .until(() -> health.snapshot().status() == HealthStatus.DOWN);
  }

  private void expectUpWithoutTraffic(String how) {
    long back = System.nanoTime();
    await()
        .atMost(Duration.ofSeconds(5))
        .pollInterval(Duration.ofMillis(20))
        .until(() -> health.snapshot().status() == HealthStatus.UP);
    Duration took = Duration.ofNanos(System.nanoTime() - back);
    System.out.printf("health UP %d ms after %s, without traffic%n", took.toMillis(), how);
    assertThat(took)
        .as("health UP after %s, without traffic", how)
        .isLessThan(Duration.ofSeconds(2));
    assertThat(guard.call(this::selectOne)).isEqualTo(1);
  }

  @Test
  void killedAndRestarted_healthUpWithin2s_withoutTraffic() throws Exception {
    breakAndOpen(db::kill);
    db.start();
    expectUpWithoutTraffic("a restart");
  }

  @Test
  void frozenAndThawed_healthUpWithin2s_withoutTraffic() throws Exception {
    breakAndOpen(db::freeze);
    db.thaw();
    expectUpWithoutTraffic("a thaw");
  }

  @Test
  void blackholedAndRestored_healthUpWithin2s_withoutTraffic() throws Exception {
    breakAndOpen(proxy::blackhole);
    proxy.pass();
    expectUpWithoutTraffic("the network came back");
  }
}
