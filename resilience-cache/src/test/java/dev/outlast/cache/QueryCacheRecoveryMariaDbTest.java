package dev.outlast.cache;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.outlast.cache.jdbc.JdbcLoader;
import dev.outlast.cache.jdbc.SqlQuery;
import dev.outlast.core.Guard;
import dev.outlast.core.GuardConfig;
import dev.outlast.core.RecoveryProbe;
import dev.outlast.core.health.Health;
import dev.outlast.core.health.HealthReport;
import dev.outlast.core.health.HealthStatus;
import dev.outlast.core.health.Importance;
import dev.outlast.testkit.FaultProxy;
import dev.outlast.testkit.MariaDbServer;
import dev.outlast.testkit.TestServer;
import java.time.Duration;
import java.util.Optional;
import javax.sql.DataSource;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * A real MariaDB goes away (killed, frozen, cut off at a proxy) while reads are served stale and
 * their keys back off; then it comes back and nothing reads for a while. Within 2 s of its return
 * the service's health must be UP again and the next read of every key fresh from the database: the
 * guard's recovery probe closes the breaker, and the cache drops the backoffs the outage caused.
 */
class QueryCacheRecoveryMariaDbTest {
  private static final int KEYS = 20;
  private static MariaDbServer db;
  private static FaultProxy proxy;
  private Guard guard;
  private QueryCache<SqlQuery, Optional<Product>> cache;
  private Health health;

  @BeforeAll
  static void startDatabase() throws Exception {
    db = MariaDbServer.builder().database("shop").start();
    ProductDatabase.create(db.jdbcUrl(), KEYS);
    proxy = FaultProxy.to(db);
  }

  @AfterAll
  static void stopDatabase() {
    proxy.close();
    db.close();
  }

  @BeforeEach
  void buildCache() throws Exception {
    DataSource ds = ProductDatabase.dataSource(proxy.host(), proxy.port(), "shop");
    guard =
        Guard.builder("mysql")
            .config(
                GuardConfig.custom()
                    .callTimeout(Duration.ofSeconds(1))
                    .openWait(Duration.ofSeconds(30))
                    .slidingWindowSize(10)
                    .minimumNumberOfCalls(5)
                    .maxAttempts(1)
                    .build())
            .recoveryProbe(RecoveryProbe.jdbc(ds, Duration.ofSeconds(1)))
            .build();
    cache =
        QueryCache.<SqlQuery, Optional<Product>>builder("products")
            .guard(guard)
            .freshness(Freshness.of(Duration.ofMillis(500), Duration.ZERO, Duration.ofMinutes(10)))
            .maxStaleWait(Duration.ofMillis(500))
            .failureBackoff(Duration.ofSeconds(2), Duration.ofSeconds(30))
            .build(JdbcLoader.optional(ds, guard, Product::map));
    health =
        Health.builder().guard(guard, Importance.CORE).check(cache.health(Importance.CORE)).build();
  }

  @AfterEach
  void closeCache() {
    cache.close();
    proxy.pass();
    if (db.state() != TestServer.State.RUNNING) {
      db.start();
    }
  }

  private void outageThenReturn(Runnable fault, Runnable repair, String how) throws Exception {
    for (long id = 1; id <= KEYS; id++) {
      assertThat(cache.lookup(ProductDatabase.byId(id)).state()).isEqualTo(Answer.State.LOADED);
    }
    fault.run();
    // Three seconds of reads: every key goes stale, its loads fail and back it off, the breaker
    // opens; every read is answered, from the past.
    long until = System.nanoTime() + Duration.ofSeconds(3).toNanos();
    while (System.nanoTime() - until < 0) {
      for (long id = 1; id <= KEYS; id++) {
        long start = System.nanoTime();
        Answer<Optional<Product>> a = cache.lookup(ProductDatabase.byId(id));
        assertThat(a.value()).isPresent();
        assertThat(Duration.ofNanos(System.nanoTime() - start))
            .as("a read during the outage")
            .isLessThan(Duration.ofSeconds(2));
      }
      Thread.sleep(100);
    }
    assertThat(guard.state()).isEqualTo(Guard.State.OPEN);
    HealthReport during = health.snapshot();
    // The guard, a core dependency, is down; the cache in front of it answers, so it is degraded
    // and the service stays ready as long as nothing else core is down.
    assertThat(during.status()).isEqualTo(HealthStatus.DOWN);
    assertThat(during.components().get(1).status()).isEqualTo(HealthStatus.DEGRADED);
    assertThat(during.components().get(1).effectOnService()).isEqualTo(HealthStatus.DEGRADED);

    repair.run();
    long back = System.nanoTime();
    await()
        .atMost(Duration.ofSeconds(5))
        .pollInterval(Duration.ofMillis(20))
        .until(() -> health.snapshot().status() == HealthStatus.UP);
    Duration up = Duration.ofNanos(System.nanoTime() - back);
    int fresh = 0;
    for (long id = 1; id <= KEYS; id++) {
      if (cache.lookup(ProductDatabase.byId(id)).state() == Answer.State.LOADED) {
        fresh++;
      }
    }
    Duration readsDone = Duration.ofNanos(System.nanoTime() - back);
    System.out.printf(
        "after %s: health UP in %d ms, %d of %d keys fresh on their next read, all read %d ms after"
            + " the return%n",
        how, up.toMillis(), fresh, KEYS, readsDone.toMillis());
    assertThat(up).as("health UP after %s, without traffic", how).isLessThan(Duration.ofSeconds(2));
    assertThat(fresh).as("keys fresh on their next read after %s", how).isEqualTo(KEYS);
    assertThat(readsDone).isLessThan(Duration.ofSeconds(3));
  }

  @Test
  void killedAndRestarted() throws Exception {
    outageThenReturn(db::kill, db::start, "a restart");
  }

  @Test
  void frozenAndThawed() throws Exception {
    outageThenReturn(db::freeze, db::thaw, "a thaw");
  }

  @Test
  void blackholedAndPassedAgain() throws Exception {
    outageThenReturn(proxy::blackhole, proxy::pass, "the proxy passing again");
  }
}
