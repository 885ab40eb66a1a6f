package dev.outlast.cache;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import dev.outlast.core.Guard;
import dev.outlast.core.GuardConfig;
import dev.outlast.core.spi.Codec;
import dev.outlast.testkit.ManualClock;
import java.net.ConnectException;
import java.nio.file.Path;
import java.sql.SQLSyntaxErrorException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Regressions for defects found in review of the cache; each test is named after what broke. */
class QueryCacheReviewTest {
  private static final Freshness FRESHNESS =
      Freshness.of(Duration.ofSeconds(10), Duration.ofSeconds(10), Duration.ofSeconds(60));

  private final ManualClock clock = new ManualClock();
  private final ScriptedLoader loader = new ScriptedLoader();
  private final List<QueryCache<?, ?>> built = new ArrayList<>();

  private Guard guard(int maxConcurrentCalls) {
    return Guard.of(
        "mysql",
        GuardConfig.custom()
            .clock(clock)
            .ticker(ClockTicker.of(clock))
            .maxAttempts(1)
            .slidingWindowSize(10)
            .minimumNumberOfCalls(5)
            .probes(2)
            .maxConcurrentCalls(maxConcurrentCalls)
            .callTimeout(Duration.ofMillis(500))
            .build());
  }

  private QueryCache.Builder<String, String> builder(Guard guard) {
    return QueryCache.<String, String>builder("review")
        .guard(guard)
        .freshness(FRESHNESS)
        .failureBackoff(Duration.ofSeconds(1), Duration.ofSeconds(8))
        .maxStaleWait(Duration.ofMillis(50))
        .clock(clock)
        .ticker(ClockTicker.of(clock));
  }

  private <T extends QueryCache<?, ?>> T track(T cache) {
    built.add(cache);
    return cache;
  }

  @AfterEach
  void close() {
    built.forEach(QueryCache::close);
  }

  /** A tagger that threw after a successful load left the key's load in flight for ever. */
  @Test
  void aThrowingTagger_failsTheLoad_andTheKeyRecovers() {
    AtomicBoolean broken = new AtomicBoolean(true);
    QueryCache<String, String> cache =
        track(
            builder(guard(32))
                .tags(
                    (k, v) -> {
                      if (broken.get()) {
                        throw new IllegalStateException("tagger bug");
                      }
                      return Set.of("t");
                    })
                .build(loader));
    assertThatThrownBy(() -> cache.get("k"))
        .isInstanceOf(NoUsableValueException.class)
        .hasMessageContaining("tagger bug");
    broken.set(false);
    clock.advance(Duration.ofSeconds(2)); // past the key's backoff
    assertThat(cache.get("k")).isEqualTo("k@2");
  }

  /** Queued loads held guard permits: a burst of keys found the bulkhead full. */
  @Test
  void aBurstOfKeys_largerThanTheBulkhead_allLoad() throws Exception {
    Guard guard = guard(4);
    QueryCache<String, String> cache = track(builder(guard).loadConcurrency(2).build(loader));
    ExecutorService pool = Executors.newFixedThreadPool(20);
    try {
      List<Future<String>> answers = new ArrayList<>();
      for (int i = 0; i < 40; i++) {
        String key = "b" + i;
        answers.add(pool.submit(() -> cache.get(key)));
      }
      for (int i = 0; i < 40; i++) {
        assertThat(answers.get(i).get()).isEqualTo("b" + i + "@1");
      }
    } finally {
      pool.shutdownNow();
    }
    assertThat(guard.snapshot().rejectedCalls()).isZero();
  }

  /** Closing with loads queued lost their permits: the shared guard's bulkhead shrank for good. */
  @Test
  void close_withLoadsQueued_givesEveryPermitBack() throws Exception {
    Guard guard = guard(3);
    CountDownLatch gate = new CountDownLatch(1);
    loader.gate = gate;
    QueryCache<String, String> cache =
        builder(guard).loadConcurrency(1).maxStaleWait(Duration.ZERO).build(loader);
    ExecutorService pool = Executors.newFixedThreadPool(5);
    try {
      for (int i = 0; i < 5; i++) {
        String key = "q" + i;
        var unused = pool.submit(() -> cache.get(key));
      }
      await().until(() -> loader.calls.get() == 1);
      cache.close();
      gate.countDown();
    } finally {
      pool.shutdownNow();
    }
    await()
        .untilAsserted(
            () -> {
              List<Guard.Permit> permits = new ArrayList<>();
              for (int i = 0; i < 3; i++) {
                permits.add(Objects.requireNonNull(guard.tryEnter(), "permit " + i));
              }
              permits.forEach(Guard.Permit::release);
            });
  }

  /** Two threads closing at once released the shared clock twice, stopping it for other caches. */
  @Test
  void concurrentCloses_releaseTheSharedClockOnce() throws Exception {
    Guard guard = guard(32);
    QueryCache<String, String> survivor =
        track(
            QueryCache.<String, String>builder("survivor")
                .guard(guard)
                .coarseHitClock(true)
                .build(loader));
    for (int round = 0; round < 20; round++) {
      QueryCache<String, String> c =
          QueryCache.<String, String>builder("closed")
              .guard(guard)
              .coarseHitClock(true)
              .build(loader);
      Thread a = new Thread(c::close);
      Thread b = new Thread(c::close);
      a.start();
      b.start();
      a.join();
      b.join();
    }
    long before = CoarseClock.nanos();
    Thread.sleep(50);
    assertThat(CoarseClock.nanos())
        .as("the clock still ticks for the survivor")
        .isGreaterThan(before);
    assertThat(survivor.lookup("k").state()).isEqualTo(Answer.State.LOADED);
  }

  /** invalidateTag during a load: the loaded value predates the change and must not be stored. */
  @Test
  void invalidateTag_duringALoad_keepsTheValueOut() throws Exception {
    CountDownLatch gate = new CountDownLatch(1);
    loader.gate = gate;
    QueryCache<String, String> cache =
        track(builder(guard(32)).tags((k, v) -> Set.of("product")).build(loader));
    ExecutorService pool = Executors.newSingleThreadExecutor();
    try {
      Future<String> reader = pool.submit(() -> cache.get("p1"));
      await().until(() -> loader.calls.get() == 1);
      cache.invalidateTag("product");
      gate.countDown();
      assertThat(reader.get()).isEqualTo("p1@1");
      assertThat(cache.peek("p1")).isEmpty();
      // A load that starts after the invalidation is stored, tag and all.
      cache.get("p1");
      assertThat(cache.peek("p1")).isPresent();
      cache.invalidateTag("product");
      assertThat(cache.peek("p1")).isEmpty();
    } finally {
      pool.shutdownNow();
    }
  }

  /**
   * Found by the guide's example: invalidateTag kept the keys' failure backoff, so after the
   * database came back a just-invalidated key was still refused a load.
   */
  @Test
  void invalidateTag_clearsTheKeysBackoff() {
    QueryCache<String, String> cache =
        track(builder(guard(32)).tags((k, v) -> Set.of("product")).build(loader));
    cache.get("p1");
    loader.failure = new ConnectException("Connection refused");
    clock.advance(Duration.ofSeconds(12)); // stale-while-revalidate: a background refresh fails
    assertThat(cache.lookup("p1").state()).isEqualTo(Answer.State.STALE);
    await().until(() -> loader.callsFor("p1") == 2);
    loader.failure = null; // the database is back
    cache.invalidateTag("product");
    assertThat(cache.lookup("p1").state()).isEqualTo(Answer.State.LOADED);
  }

  /** invalidateAll during a load. */
  @Test
  void invalidateAll_duringALoad_keepsTheValueOut() throws Exception {
    CountDownLatch gate = new CountDownLatch(1);
    loader.gate = gate;
    QueryCache<String, String> cache = track(builder(guard(32)).build(loader));
    ExecutorService pool = Executors.newSingleThreadExecutor();
    try {
      Future<String> reader = pool.submit(() -> cache.get("k"));
      await().until(() -> loader.calls.get() == 1);
      cache.invalidateAll();
      gate.countDown();
      assertThat(reader.get()).isEqualTo("k@1");
      assertThat(cache.peek("k")).isEmpty();
    } finally {
      pool.shutdownNow();
    }
  }

  /** A replaced entry's untag must not drop the key from a tag the new entry still has. */
  @Test
  void refreshedEntries_stayFindableByTag() {
    QueryCache<String, String> cache =
        track(builder(guard(32)).tags((k, v) -> Set.of("product")).build(loader));
    cache.get("p1");
    for (int i = 0; i < 5; i++) {
      clock.advance(Duration.ofSeconds(30));
      assertThat(cache.lookup("p1").state()).isEqualTo(Answer.State.LOADED);
    }
    cache.invalidateTag("product");
    await().untilAsserted(() -> assertThat(cache.peek("p1")).isEmpty());
  }

  /** The single-flight map was emptied before the store: a caller in the gap ran a second query. */
  @Test
  void manyCallers_racingTheEndOfALoad_stillCauseOneQuery() throws Exception {
    for (int round = 0; round < 30; round++) {
      ScriptedLoader counting = new ScriptedLoader();
      QueryCache<String, String> cache = builder(guard(32)).build(counting);
      ExecutorService pool = Executors.newFixedThreadPool(8);
      try {
        CountDownLatch go = new CountDownLatch(1);
        List<Future<String>> answers = new ArrayList<>();
        for (int i = 0; i < 8; i++) {
          answers.add(
              pool.submit(
                  () -> {
                    go.await();
                    String v = "";
                    for (int j = 0; j < 200; j++) {
                      v = cache.get("hot");
                    }
                    return v;
                  }));
        }
        go.countDown();
        for (Future<String> f : answers) {
          assertThat(f.get()).isEqualTo("hot@1");
        }
        assertThat(counting.callsFor("hot")).as("round %d", round).isEqualTo(1);
      } finally {
        pool.shutdownNow();
        cache.close();
      }
    }
  }

  /** Query errors were hidden behind stale values while the key backed off. */
  @Test
  void queryErrors_stayVisible_duringTheKeysBackoff() {
    QueryCache<String, String> cache = track(builder(guard(32)).build(loader));
    cache.get("k");
    loader.failure = new SQLSyntaxErrorException("Unknown column 'x'", "42S22");
    clock.advance(Duration.ofSeconds(30));
    for (int i = 0; i < 3; i++) {
      assertThatThrownBy(() -> cache.get("k"))
          .isInstanceOf(NoUsableValueException.class)
          .hasMessageContaining("not an outage")
          .hasMessageContaining("the cached value of key k (30 s old) is not served");
    }
    assertThat(loader.callsFor("k")).as("the backoff still spares the database").isEqualTo(2);
  }

  /** The stale cooldown must not let loads through when it expires while the breaker stays open. */
  @Test
  void openBreaker_acrossManyCooldowns_sendsNoQuery() {
    Guard guard =
        Guard.of(
            "mysql",
            GuardConfig.custom()
                .clock(clock)
                .ticker(ClockTicker.of(clock))
                .maxAttempts(1)
                .openWait(Duration.ofMinutes(5))
                .maxOpenWait(Duration.ofMinutes(5))
                .build());
    QueryCache<String, String> cache = track(builder(guard).build(loader));
    cache.get("warm");
    while (guard.state() != Guard.State.OPEN) {
      Objects.requireNonNull(guard.tryEnter()).failure(1, new ConnectException("down"));
    }
    clock.advance(Duration.ofSeconds(30));
    int before = loader.calls.get();
    for (int round = 0; round < 15; round++) {
      clock.advance(Duration.ofMillis(120)); // past the 100 ms cooldown each time
      assertThat(cache.lookup("warm").state()).isEqualTo(Answer.State.STALE);
      String cold = "cold" + round;
      assertThatThrownBy(() -> cache.get(cold)).isInstanceOf(NoUsableValueException.class);
    }
    assertThat(loader.calls.get()).isEqualTo(before);
  }

  /** A half-open breaker lets only its probes reach the database. */
  @Test
  void halfOpenBreaker_letsOnlyTheProbesThrough() throws Exception {
    Guard guard = guard(32);
    QueryCache<String, String> cache = track(builder(guard).build(loader));
    for (int i = 0; i < 5; i++) {
      Objects.requireNonNull(guard.tryEnter()).failure(1, new ConnectException("down"));
    }
    CountDownLatch gate = new CountDownLatch(1);
    loader.gate = gate;
    clock.advance(Duration.ofSeconds(3)); // past the open wait
    for (int i = 0; i < 10; i++) {
      String key = "h" + i;
      assertThatThrownBy(() -> cache.get(key)).isInstanceOf(NoUsableValueException.class);
    }
    assertThat(loader.calls.get()).as("the guard's two probes, no more").isEqualTo(2);
    gate.countDown();
  }

  /** Restored entries came back FRESH when young; invalidations after the snapshot were lost. */
  @Test
  void restoredEntries_areServedStale_andRefreshedOnFirstRead(@TempDir Path dir) {
    QueryCache.Builder<String, String> b =
        builder(guard(32)).snapshot(dir.resolve("s"), Codec.utf8(), Codec.utf8());
    try (QueryCache<String, String> first = b.build(loader)) {
      first.get("k");
    }
    clock.advance(Duration.ofSeconds(1)); // young: well within freshFor
    QueryCache<String, String> restarted = track(b.build(loader));
    Answer<String> a = restarted.lookup("k");
    assertThat(a.state()).isEqualTo(Answer.State.STALE);
    assertThat(a.age()).isEqualTo(Duration.ofSeconds(1));
    await()
        .untilAsserted(
            () -> assertThat(restarted.peek("k").orElseThrow().value()).isEqualTo("k@2"));
  }

  /** A throwing callback on restore crash-looped start-up. */
  @Test
  void aThrowingCallbackOnRestore_skipsThatEntry_andTheCacheStarts(@TempDir Path dir) {
    QueryCache.Builder<String, String> b =
        builder(guard(32)).snapshot(dir.resolve("s"), Codec.utf8(), Codec.utf8());
    try (QueryCache<String, String> first = b.build(loader)) {
      first.get("good");
      first.get("bad");
    }
    QueryCache<String, String> restarted =
        track(
            b.freshnessOf(
                    (k, v) -> {
                      if (k.equals("bad")) {
                        throw new IllegalStateException("freshnessOf bug");
                      }
                      return FRESHNESS;
                    })
                .build(loader));
    assertThat(restarted.stats().restoredFromSnapshot()).isEqualTo(1);
  }
}
