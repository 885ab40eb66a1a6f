package dev.outlast.cache;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import dev.outlast.cache.jdbc.SqlQuery;
import dev.outlast.core.Guard;
import dev.outlast.core.health.ComponentHealth;
import dev.outlast.core.health.HealthStatus;
import dev.outlast.core.health.Importance;
import dev.outlast.testkit.FaultProxy;
import dev.outlast.testkit.ManualClock;
import dev.outlast.testkit.MariaDbServer;
import java.lang.management.ManagementFactory;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import javax.sql.DataSource;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The query cache against a real MariaDB that is killed, frozen and cut off. */
class QueryCacheMariaDbTest {
  private static final int KEYS = 200;
  private static MariaDbServer db;

  private final ManualClock clock = new ManualClock();
  private Guard guard;
  private QueryCache<SqlQuery, Optional<Product>> cache;

  @BeforeAll
  static void startDatabase() throws Exception {
    db = MariaDbServer.builder().database("shop").start();
    ProductDatabase.create(db.jdbcUrl(), KEYS);
  }

  @AfterAll
  static void stopDatabase() {
    db.close();
  }

  @BeforeEach
  void buildCache() throws Exception {
    guard = Guard.of("mysql", ProductDatabase.guardConfig(clock));
    DataSource ds = ProductDatabase.dataSource(db.host(), db.port(), "shop");
    cache = ProductDatabase.cache(ds, guard, clock, null);
  }

  @AfterEach
  void closeCache() {
    cache.close();
    if (db.state() == dev.outlast.testkit.TestServer.State.FROZEN) {
      db.thaw();
    } else if (db.state() == dev.outlast.testkit.TestServer.State.STOPPED) {
      db.start();
    }
  }

  private void warmAll() {
    for (long id = 1; id <= KEYS; id++) {
      Answer<Optional<Product>> a = cache.lookup(ProductDatabase.byId(id));
      assertThat(a.state()).isEqualTo(Answer.State.LOADED);
      assertThat(a.value()).map(Product::name).contains("product " + id);
    }
  }

  /** Moves past freshFor and stale-while-revalidate: reads now need the database. */
  private void ageIntoStaleIfError() {
    clock.advance(Duration.ofSeconds(20));
  }

  @Test
  void killedDatabase_warmKeysAnsweredStale_unknownKeysFailFast_freshAgainAfterRestart() {
    warmAll();
    db.kill();
    ageIntoStaleIfError();
    for (int round = 0; round < 3; round++) {
      for (long id = 1; id <= KEYS; id++) {
        Answer<Optional<Product>> a = cache.lookup(ProductDatabase.byId(id));
        assertThat(a.state()).isEqualTo(Answer.State.STALE);
        assertThat(a.value()).map(Product::name).contains("product " + id);
        assertThat(a.age()).isLessThanOrEqualTo(ProductDatabase.FRESHNESS.serveStaleFor());
      }
    }
    long start = System.nanoTime();
    assertThatThrownBy(() -> cache.get(ProductDatabase.byId(KEYS + 1)))
        .isInstanceOf(NoUsableValueException.class)
        .hasMessageContaining("no value for key SELECT id, name, price FROM product WHERE id = ?")
        .hasMessageContaining("mysql");
    assertThat(Duration.ofNanos(System.nanoTime() - start))
        .as("an unknown key fails at once, not after a timeout")
        .isLessThan(Duration.ofMillis(200));
    ComponentHealth down = cache.health(Importance.DEPENDENT).check();
    // The database is out but the cache answers its keys: degraded, not down, even though one key
    // it never held found no value.
    assertThat(down.status()).isEqualTo(HealthStatus.DEGRADED);
    assertThat(down.reason()).contains("stale answers");
    assertThat(down.details())
        .containsEntry("state", guard.state().name())
        .containsEntry("noValueErrors", 1L)
        .containsKey("lastStaleServedAt");
    assertThat((Long) down.details().get("staleAnswers")).isGreaterThanOrEqualTo(3L * KEYS);
    assertThat(down.dependency()).isEqualTo("mysql");

    db.start();
    // Past the breaker's open wait and the keys' backoff, probes find the database again.
    clock.advance(Duration.ofSeconds(5));
    await()
        .atMost(Duration.ofSeconds(20))
        .untilAsserted(
            () -> {
              clock.advance(Duration.ofSeconds(1));
              for (long id = 1; id <= KEYS; id++) {
                cache.get(ProductDatabase.byId(id));
              }
              assertThat(cache.lookup(ProductDatabase.byId(1)).state())
                  .isIn(Answer.State.LOADED, Answer.State.FRESH);
            });
    assertThat(guard.state()).isEqualTo(Guard.State.CLOSED);
    // A minute after the last stale answer the cache reports the database up again.
    clock.advance(Duration.ofSeconds(61));
    assertThat(cache.health(Importance.DEPENDENT).check().status()).isEqualTo(HealthStatus.UP);
  }

  @Test
  void frozenDatabase_warmKeysAnsweredWithinMilliseconds_noThreadsPileUp() {
    warmAll();
    db.freeze();
    ageIntoStaleIfError();
    List<Long> micros = new ArrayList<>();
    int threadsAfterFirstRound = 0;
    for (int round = 0; round < 20; round++) {
      for (long id = 1; id <= KEYS; id++) {
        long start = System.nanoTime();
        Answer<Optional<Product>> a = cache.lookup(ProductDatabase.byId(id));
        micros.add((System.nanoTime() - start) / 1_000);
        assertThat(a.state()).isEqualTo(Answer.State.STALE);
        assertThat(a.value()).map(Product::name).contains("product " + id);
      }
      if (round == 0) {
        threadsAfterFirstRound = ManagementFactory.getThreadMXBean().getThreadCount();
      }
    }
    micros.sort(null);
    long p99 = micros.get(micros.size() * 99 / 100);
    long max = micros.get(micros.size() - 1);
    assertThat(max)
        .as("no read waited for the query timeout (1 s): at most the 50 ms stale wait")
        .isLessThan(300_000);
    assertThat(p99).as("p99 of %d reads, in microseconds", micros.size()).isLessThan(5_000);
    long loaders =
        Thread.getAllStackTraces().keySet().stream()
            .filter(t -> t.getName().startsWith("outlast-cache-products-load-"))
            .count();
    assertThat(loaders).as("loader threads, however many reads hang").isLessThanOrEqualTo(8);
    assertThat(ManagementFactory.getThreadMXBean().getThreadCount())
        .as("threads after 19 more rounds of reads against a frozen database")
        .isLessThanOrEqualTo(threadsAfterFirstRound);
    assertThat(guard.state()).isEqualTo(Guard.State.OPEN);
  }

  @Test
  void openBreaker_onlyTheProbesReachTheDatabase() throws Exception {
    try (FaultProxy proxy = FaultProxy.to(db)) {
      cache.close();
      DataSource viaProxy = ProductDatabase.dataSource(proxy.host(), proxy.port(), "shop");
      cache = ProductDatabase.cache(viaProxy, guard, clock, null);
      warmAll();
      proxy.blackhole();
      ageIntoStaleIfError();
      // Reads until the breaker opens; each failed load was one connection through the proxy.
      await()
          .atMost(Duration.ofSeconds(30))
          .untilAsserted(
              () -> {
                for (long id = 1; id <= KEYS; id++) {
                  assertThat(cache.lookup(ProductDatabase.byId(id)).state())
                      .isEqualTo(Answer.State.STALE);
                }
                assertThat(guard.state()).isEqualTo(Guard.State.OPEN);
              });
      long atOpen = proxy.acceptedConnections();
      for (int round = 0; round < 50; round++) {
        for (long id = 1; id <= KEYS; id++) {
          assertThat(cache.lookup(ProductDatabase.byId(id)).state()).isEqualTo(Answer.State.STALE);
        }
        Thread.sleep(2); // real time passes too: the guard cooldown must not let loads through
      }
      assertThat(proxy.acceptedConnections())
          .as("no connection while the breaker is open")
          .isEqualTo(atOpen);

      clock.advance(Duration.ofSeconds(5)); // past the open wait (and every key's backoff)
      for (int round = 0; round < 20; round++) {
        for (long id = 1; id <= KEYS; id++) {
          assertThat(cache.lookup(ProductDatabase.byId(id)).state()).isEqualTo(Answer.State.STALE);
        }
        Thread.sleep(10);
      }
      assertThat(proxy.acceptedConnections() - atOpen)
          .as("only the guard's probes (2) reached the database after the open wait")
          .isBetween(1L, 2L);
      proxy.pass();
    }
  }

  @Test
  void hundredConcurrentCallers_ofOneMissingKey_runOneQuery() throws Exception {
    ProductDatabase.enableQueryLog(db.jdbcUrl());
    long before = ProductDatabase.queriesRun(db.jdbcUrl());
    ExecutorService pool = Executors.newFixedThreadPool(100);
    try {
      CountDownLatch go = new CountDownLatch(1);
      List<Future<Optional<Product>>> answers = new ArrayList<>();
      for (int i = 0; i < 100; i++) {
        answers.add(
            pool.submit(
                () -> {
                  go.await();
                  return cache.get(ProductDatabase.byId(7));
                }));
      }
      go.countDown();
      for (Future<Optional<Product>> f : answers) {
        assertThat(f.get()).map(Product::name).contains("product 7");
      }
    } finally {
      pool.shutdownNow();
    }
    assertThat(ProductDatabase.queriesRun(db.jdbcUrl()) - before)
        .as("queries MariaDB ran for 100 concurrent callers")
        .isEqualTo(1);
  }
}
