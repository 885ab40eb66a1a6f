package dev.outlast.cache;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import dev.outlast.core.Guard;
import dev.outlast.core.GuardConfig;
import dev.outlast.core.annotation.CachedQuery;
import dev.outlast.core.annotation.Guarded;
import dev.outlast.core.annotation.Outlast;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Threads the cache is given (an executor for loads, a scheduler for upkeep) are used, bounded by
 * the cache's own limits, and left running when it closes; threads it made are stopped. An {@code
 * Outlast} gives all its caches one loader pool and one scheduler.
 */
class QueryCacheThreadsTest {
  private final Guard guard =
      Guard.of(
          "mysql",
          GuardConfig.custom()
              .maxAttempts(1)
              .slidingWindowSize(1_000)
              .minimumNumberOfCalls(1_000)
              .maxConcurrentCalls(64)
              .callTimeout(Duration.ofSeconds(2))
              .build());
  private final List<AutoCloseable> toClose = new ArrayList<>();

  @AfterEach
  void tearDown() throws Exception {
    for (AutoCloseable c : toClose) {
      c.close();
    }
  }

  private static ThreadPoolExecutor named(String prefix, int threads) {
    AtomicInteger n = new AtomicInteger();
    return new ThreadPoolExecutor(
        threads,
        threads,
        1,
        TimeUnit.MINUTES,
        new java.util.concurrent.LinkedBlockingQueue<>(),
        r -> new Thread(r, prefix + n.incrementAndGet()));
  }

  @Test
  void aGivenExecutorRunsTheLoads_withinLoadConcurrency_andOutlivesTheCache() throws Exception {
    ThreadPoolExecutor given = named("given-load-", 16);
    toClose.add(given::shutdownNow);
    ScheduledThreadPoolExecutor scheduler = new ScheduledThreadPoolExecutor(1);
    scheduler.setRemoveOnCancelPolicy(true);
    toClose.add(scheduler::shutdownNow);
    Set<String> loaderThreads = ConcurrentHashMap.newKeySet();
    AtomicInteger running = new AtomicInteger();
    AtomicInteger most = new AtomicInteger();
    CountDownLatch gate = new CountDownLatch(1);
    QueryCache<Integer, String> cache =
        QueryCache.<Integer, String>builder("given")
            .guard(guard)
            .loadConcurrency(2)
            .executor(given)
            .scheduler(scheduler)
            .build(
                k -> {
                  loaderThreads.add(Thread.currentThread().getName());
                  most.accumulateAndGet(running.incrementAndGet(), Math::max);
                  try {
                    gate.await();
                    return "v" + k;
                  } finally {
                    running.decrementAndGet();
                  }
                });
    ExecutorService callers = Executors.newFixedThreadPool(16);
    try {
      List<Future<String>> answers = new ArrayList<>();
      for (int i = 0; i < 16; i++) {
        int key = i;
        answers.add(callers.submit(() -> cache.get(key)));
      }
      await().until(() -> running.get() == 2);
      gate.countDown();
      for (int i = 0; i < 16; i++) {
        assertThat(answers.get(i).get()).isEqualTo("v" + i);
      }
    } finally {
      callers.shutdownNow();
    }
    assertThat(most).as("loads at once, on a 16-thread executor").hasValue(2);
    assertThat(loaderThreads).allMatch(n -> n.startsWith("given-load-"));
    cache.close();
    assertThat(given.isShutdown()).as("the executor given is the user's").isFalse();
    assertThat(scheduler.isShutdown()).as("the scheduler given is the user's").isFalse();
    assertThat(scheduler.getQueue()).as("the cache's periodic tasks, cancelled").isEmpty();
    assertThat(given.submit(() -> "still works").get()).isEqualTo("still works");
  }

  @Test
  void threadsTheCacheMade_stopWhenItCloses() {
    QueryCache<Integer, String> cache =
        QueryCache.<Integer, String>builder("owned").guard(guard).build(k -> "v" + k);
    for (int i = 0; i < 20; i++) {
      cache.get(i);
    }
    assertThat(threadsNamed("outlast-cache-owned-")).isNotEmpty();
    cache.close();
    await()
        .atMost(Duration.ofSeconds(10))
        .untilAsserted(() -> assertThat(threadsNamed("outlast-cache-owned-")).isEmpty());
  }

  @Test
  void noThreadTicksAtAThousandHertz_unlessAsked() {
    QueryCache<Integer, String> cache =
        QueryCache.<Integer, String>builder("quiet").guard(guard).build(k -> "v" + k);
    toClose.add(cache);
    cache.get(1);
    assertThat(cache.get(1)).isEqualTo("v1");
    assertThat(CoarseClock.running()).as("the coarse clock, with no cache asking for it").isFalse();
  }

  /** Two cached methods of one interface. */
  interface Catalog {
    @Guarded("mysql")
    @CachedQuery(name = "names")
    String name(long id);

    @Guarded("mysql")
    @CachedQuery(name = "prices")
    Long price(long id);
  }

  @Test
  void anOutlast_givesItsCachesOneLoaderPool_andStopsItOnClose() {
    Set<String> loaderThreads = ConcurrentHashMap.newKeySet();
    Catalog real =
        new Catalog() {
          @Override
          public String name(long id) {
            loaderThreads.add(Thread.currentThread().getName());
            return "product " + id;
          }

          @Override
          public Long price(long id) {
            loaderThreads.add(Thread.currentThread().getName());
            return id * 100;
          }
        };
    Set<String> seen;
    try (Outlast outlast = Outlast.builder().guard(guard).build()) {
      Catalog c = outlast.wrap(Catalog.class, real);
      for (long id = 0; id < 20; id++) {
        assertThat(c.name(id)).isEqualTo("product " + id);
        assertThat(c.price(id)).isEqualTo(id * 100);
      }
      assertThat(loaderThreads)
          .as("both caches load on the Outlast's pool")
          .isNotEmpty()
          .allMatch(n -> n.matches("outlast-loader-\\d+"));
      assertThat(threadsNamed("outlast-cache-names-")).as("no pool of the cache's own").isEmpty();
      assertThat(threadsNamed("outlast-cache-prices-")).isEmpty();
      seen = Set.copyOf(loaderThreads);
    }
    await()
        .atMost(Duration.ofSeconds(10))
        .untilAsserted(
            () ->
                assertThat(threadsNamed("outlast-"))
                    .as("the Outlast's threads after close")
                    .doesNotContainAnyElementsOf(seen));
  }

  @Test
  void anOutlast_leavesAPoolItWasGiven_running() throws Exception {
    ThreadPoolExecutor given = named("service-pool-", 4);
    toClose.add(given::shutdownNow);
    AtomicLong loads = new AtomicLong();
    Catalog real =
        new Catalog() {
          @Override
          public String name(long id) {
            loads.incrementAndGet();
            return Thread.currentThread().getName();
          }

          @Override
          public Long price(long id) {
            return id;
          }
        };
    try (Outlast outlast = Outlast.builder().guard(guard).loaderPool(given).build()) {
      assertThat(outlast.wrap(Catalog.class, real).name(1)).startsWith("service-pool-");
    }
    assertThat(given.isShutdown()).isFalse();
    assertThat(given.submit(() -> 42).get()).isEqualTo(42);
    assertThat(loads).hasValue(1);
  }

  @Test
  void outlastsOwnResourceNames_areReserved() {
    assertThatThrownBy(() -> Outlast.builder().resource(Outlast.LOADER_POOL, new Object()))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("are Outlast's own")
        .hasMessageContaining("loaderPool(...)");
  }

  private static List<String> threadsNamed(String prefix) {
    List<String> names = new ArrayList<>();
    for (Thread t : Thread.getAllStackTraces().keySet()) {
      if (t.isAlive() && t.getName().startsWith(prefix)) {
        names.add(t.getName());
      }
    }
    return names;
  }
}
