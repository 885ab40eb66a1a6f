package dev.outlast.cache;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import dev.outlast.core.Guard;
import dev.outlast.core.GuardConfig;
import dev.outlast.testkit.ManualClock;
import java.net.ConnectException;
import java.sql.SQLSyntaxErrorException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class QueryCacheTest {
  private static final Freshness FRESHNESS =
      Freshness.of(Duration.ofSeconds(10), Duration.ofSeconds(10), Duration.ofSeconds(60));

  private final ManualClock clock = new ManualClock();
  private final ScriptedLoader loader = new ScriptedLoader();
  private final Guard guard =
      Guard.of(
          "mysql",
          GuardConfig.custom()
              .clock(clock)
              .ticker(ClockTicker.of(clock))
              .maxAttempts(1)
              .slidingWindowSize(10)
              .minimumNumberOfCalls(5)
              .callTimeout(Duration.ofMillis(500))
              .build());
  private final List<QueryCache<?, ?>> built = new ArrayList<>();

  private QueryCache.Builder<String, String> builder() {
    return QueryCache.<String, String>builder("test")
        .guard(guard)
        .freshness(FRESHNESS)
        .failureBackoff(Duration.ofSeconds(1), Duration.ofSeconds(8))
        .maxStaleWait(Duration.ofMillis(50))
        .clock(clock)
        .ticker(ClockTicker.of(clock));
  }

  private QueryCache<String, String> cache() {
    QueryCache<String, String> c = builder().build(loader);
    built.add(c);
    return c;
  }

  @AfterEach
  void close() {
    built.forEach(QueryCache::close);
  }

  private static void tick(ManualClock clock, long seconds) {
    clock.advance(Duration.ofSeconds(seconds));
  }

  @Test
  void miss_loads_andTheAnswerSaysLoaded() {
    QueryCache<String, String> cache = cache();
    Answer<String> a = cache.lookup("k");
    assertThat(a.state()).isEqualTo(Answer.State.LOADED);
    assertThat(a.value()).isEqualTo("k@1");
    assertThat(a.age()).isEqualTo(Duration.ZERO);
    assertThat(loader.calls).hasValue(1);
  }

  @Test
  void withinFreshFor_servesFresh_withoutAsking() {
    QueryCache<String, String> cache = cache();
    cache.get("k");
    tick(clock, 5);
    Answer<String> a = cache.lookup("k");
    assertThat(a.state()).isEqualTo(Answer.State.FRESH);
    assertThat(a.age()).isEqualTo(Duration.ofSeconds(5));
    assertThat(cache.get("k")).isEqualTo("k@1");
    assertThat(loader.calls).hasValue(1);
  }

  @Test
  void lateInTheFreshWindow_aReadRefreshesAhead_soAHealthySourceNeverServesStale() {
    QueryCache<String, String> cache = cache();
    cache.get("k");
    tick(clock, 9); // past 80% of freshFor
    assertThat(cache.lookup("k").state()).isEqualTo(Answer.State.FRESH);
    await().untilAsserted(() -> assertThat(loader.calls).hasValue(2));
    await().untilAsserted(() -> assertThat(cache.peek("k").orElseThrow().value()).isEqualTo("k@2"));
    tick(clock, 5); // 14 s after the first load, 5 s after the refresh
    assertThat(cache.lookup("k").state()).isEqualTo(Answer.State.FRESH);
  }

  @Test
  void staleWhileRevalidate_servesAtOnce_andRefreshesOnceForManyReads() throws Exception {
    QueryCache<String, String> cache = cache();
    cache.get("k");
    CountDownLatch gate = new CountDownLatch(1);
    loader.gate = gate;
    tick(clock, 12);
    for (int i = 0; i < 50; i++) {
      Answer<String> a = cache.lookup("k");
      assertThat(a.state()).isEqualTo(Answer.State.STALE);
      assertThat(a.age()).isEqualTo(Duration.ofSeconds(12));
    }
    gate.countDown();
    await().untilAsserted(() -> assertThat(cache.peek("k").orElseThrow().value()).isEqualTo("k@2"));
    assertThat(loader.callsFor("k")).as("one refresh for fifty stale reads").isEqualTo(2);
    assertThat(cache.lookup("k").state()).isEqualTo(Answer.State.FRESH);
  }

  @Test
  void pastStaleWhileRevalidate_healthySource_callerGetsAFreshLoad() {
    QueryCache<String, String> cache = cache();
    cache.get("k");
    tick(clock, 30);
    Answer<String> a = cache.lookup("k");
    assertThat(a.state()).isEqualTo(Answer.State.LOADED);
    assertThat(a.value()).isEqualTo("k@2");
  }

  @Test
  void pastStaleWhileRevalidate_failingSource_servesStaleWithItsAge() {
    QueryCache<String, String> cache = cache();
    cache.get("k");
    loader.failure = new ConnectException("Connection refused");
    tick(clock, 30);
    Answer<String> a = cache.lookup("k");
    assertThat(a.state()).isEqualTo(Answer.State.STALE);
    assertThat(a.value()).isEqualTo("k@1");
    assertThat(a.age()).isEqualTo(Duration.ofSeconds(30));
    assertThat(cache.stats().oldestStaleServed()).isEqualTo(Duration.ofSeconds(30));
  }

  @Test
  void pastServeStaleFor_failingSource_throwsNamingDependencyKeyAgeAndCause() {
    QueryCache<String, String> cache = cache();
    cache.get("k");
    loader.failure = new ConnectException("Connection refused");
    tick(clock, 61);
    assertThatThrownBy(() -> cache.get("k"))
        .isInstanceOf(NoUsableValueException.class)
        .hasMessageContaining("test:")
        .hasMessageContaining("key k")
        .hasMessageContaining("61 s old")
        .hasMessageContaining("mysql failed")
        .hasMessageContaining("Connection refused")
        .satisfies(
            e -> {
              NoUsableValueException n = (NoUsableValueException) e;
              assertThat(n.dependency()).isEqualTo("mysql");
              assertThat(n.age()).contains(Duration.ofSeconds(61));
            });
  }

  @Test
  void unknownKey_failingSource_failsFastWithTheCause() {
    QueryCache<String, String> cache = cache();
    loader.failure = new ConnectException("Connection refused");
    long start = System.nanoTime();
    assertThatThrownBy(() -> cache.get("never"))
        .isInstanceOf(NoUsableValueException.class)
        .hasMessageContaining("no value for key never")
        .hasRootCauseInstanceOf(ConnectException.class);
    assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofSeconds(1));
  }

  @Test
  void failedLoads_backOffPerKey_withoutAskingTheSourceMeanwhile() {
    QueryCache<String, String> cache = cache();
    loader.failure = new ConnectException("Connection refused");
    for (int i = 0; i < 20; i++) {
      assertThatThrownBy(() -> cache.get("k")).isInstanceOf(NoUsableValueException.class);
    }
    assertThat(loader.callsFor("k")).as("one attempt, then backoff").isEqualTo(1);
    tick(clock, 2); // past the first backoff (1 s, jittered to at most 1.5 s)
    assertThatThrownBy(() -> cache.get("k")).isInstanceOf(NoUsableValueException.class);
    assertThat(loader.callsFor("k")).isEqualTo(2);
    loader.failure = null;
    tick(clock, 4); // past the second backoff (2 s, at most 3 s)
    assertThat(cache.get("k")).isEqualTo("k@3");
  }

  @Test
  void openBreaker_noLoadReachesTheSource_staleIsServedAndUnknownKeysFailAtOnce() {
    QueryCache<String, String> cache = cache();
    for (int i = 0; i < 5; i++) {
      cache.get("warm" + i);
    }
    loader.failure = new ConnectException("Connection refused");
    tick(clock, 30);
    for (int i = 0; i < 5; i++) {
      assertThat(cache.lookup("warm" + i).state()).isEqualTo(Answer.State.STALE);
    }
    assertThat(guard.state()).isEqualTo(Guard.State.OPEN);
    int before = loader.calls.get();
    for (int round = 0; round < 100; round++) {
      tick(clock, 0);
      for (int i = 0; i < 5; i++) {
        assertThat(cache.get("warm" + i)).isEqualTo("warm" + i + "@1");
      }
      assertThatThrownBy(() -> cache.get("cold")).isInstanceOf(NoUsableValueException.class);
    }
    assertThat(loader.calls.get()).as("no load while the breaker is open").isEqualTo(before);
    assertThat(cache.stats().rejectedLoads()).isPositive();
  }

  /**
   * Regression: loads queued while the breaker was closed ran after it had opened (their permits
   * were taken at submission), sending 200 queries to a database known to be down.
   */
  @Test
  void loadsQueuedBeforeTheBreakerOpened_doNotRunAfterIt() throws Exception {
    QueryCache<String, String> cache = builder().loadConcurrency(1).build(loader);
    built.add(cache);
    CountDownLatch gate = new CountDownLatch(1);
    loader.gate = gate;
    for (int i = 0; i < 4; i++) {
      String key = "q" + i;
      assertThatThrownBy(() -> cache.get(key)).isInstanceOf(NoUsableValueException.class);
    }
    assertThat(loader.calls).as("one load runs, the rest are queued").hasValue(1);
    for (int i = 0; i < 5; i++) {
      java.util.Objects.requireNonNull(guard.tryEnter()).failure(1, new ConnectException("down"));
    }
    assertThat(guard.state()).isEqualTo(Guard.State.OPEN);
    gate.countDown();
    Thread.sleep(200);
    assertThat(loader.calls).as("the queued loads did not reach the source").hasValue(1);
  }

  @Test
  void queryErrors_areNotHiddenBehindStaleValues() {
    QueryCache<String, String> cache = cache();
    cache.get("k");
    loader.failure = new SQLSyntaxErrorException("Unknown column 'x'", "42S22");
    tick(clock, 30);
    assertThatThrownBy(() -> cache.get("k"))
        .isInstanceOf(NoUsableValueException.class)
        .hasMessageContaining("failed the query (not an outage, so nothing stale is served)")
        .hasMessageContaining("Unknown column");
    assertThat(guard.state())
        .as("a query error says nothing about the database's health")
        .isEqualTo(Guard.State.CLOSED);
  }

  @Test
  void loaderReturningNull_isAClearError() {
    QueryCache<String, String> cache = cache();
    loader.returnNull = true;
    assertThatThrownBy(() -> cache.get("k"))
        .isInstanceOf(NoUsableValueException.class)
        .hasMessageContaining("the loader returned null for key k")
        .hasMessageContaining("use Optional or a collection");
  }

  @Test
  void staleValues_areNeverStoredBackAsFresh() {
    QueryCache<String, String> cache = cache();
    cache.get("k");
    loader.failure = new ConnectException("Connection refused");
    tick(clock, 30);
    assertThat(cache.lookup("k").state()).isEqualTo(Answer.State.STALE);
    Answer<String> peeked = cache.peek("k").orElseThrow();
    assertThat(peeked.state()).isEqualTo(Answer.State.STALE);
    assertThat(peeked.loadedAt()).isEqualTo(clock.instant().minusSeconds(30));
  }

  @Test
  void negativeCaching_cachesEmptyAnswers_underTheirOwnFreshness() {
    ScriptedOptionalLoader absent = new ScriptedOptionalLoader();
    QueryCache<String, Optional<String>> cache =
        QueryCache.<String, Optional<String>>builder("negative")
            .guard(guard)
            .freshness(FRESHNESS)
            .negativeFreshness(
                Freshness.of(Duration.ofSeconds(2), Duration.ZERO, Duration.ofSeconds(2)))
            .clock(clock)
            .ticker(ClockTicker.of(clock))
            .build(absent);
    built.add(cache);
    assertThat(cache.get("missing")).isEmpty();
    assertThat(cache.get("missing")).isEmpty();
    assertThat(absent.calls).as("cached 'no such row'").isEqualTo(1);
    tick(clock, 3);
    cache.get("missing");
    assertThat(absent.calls).as("negative entries expire on their own, shorter TTL").isEqualTo(2);
  }

  @Test
  void tags_invalidateOnlyTheTaggedEntries() {
    QueryCache<String, String> cache =
        builder()
            .tags((k, v) -> k.startsWith("p") ? Set.of("product") : Set.of("user"))
            .build(loader);
    built.add(cache);
    cache.get("p1");
    cache.get("p2");
    cache.get("u1");
    cache.invalidateTag("product");
    assertThat(cache.peek("p1")).isEmpty();
    assertThat(cache.peek("p2")).isEmpty();
    assertThat(cache.peek("u1")).isPresent();
    cache.invalidateAll();
    assertThat(cache.peek("u1")).isEmpty();
  }

  @Test
  void invalidate_duringALoad_keepsTheLoadedValueOutOfTheCache() throws Exception {
    QueryCache<String, String> cache = cache();
    CountDownLatch gate = new CountDownLatch(1);
    loader.gate = gate;
    ExecutorService pool = Executors.newSingleThreadExecutor();
    try {
      Future<String> reader = pool.submit(() -> cache.get("k"));
      await().until(() -> loader.calls.get() == 1);
      cache.invalidate("k");
      gate.countDown();
      assertThat(reader.get()).as("the caller still gets its answer").isEqualTo("k@1");
      assertThat(cache.peek("k")).as("but it predates the invalidation: not stored").isEmpty();
    } finally {
      pool.shutdownNow();
    }
  }

  @Test
  void manyConcurrentCallers_ofOneMissingKey_causeOneLoad() throws Exception {
    QueryCache<String, String> cache = cache();
    CountDownLatch gate = new CountDownLatch(1);
    loader.gate = gate;
    ExecutorService pool = Executors.newFixedThreadPool(100);
    try {
      List<Future<String>> answers = new ArrayList<>();
      CountDownLatch started = new CountDownLatch(100);
      for (int i = 0; i < 100; i++) {
        answers.add(
            pool.submit(
                () -> {
                  started.countDown();
                  return cache.get("hot");
                }));
      }
      started.await();
      Thread.sleep(100); // let them all reach the load
      gate.countDown();
      for (Future<String> f : answers) {
        assertThat(f.get()).isEqualTo("hot@1");
      }
      assertThat(loader.callsFor("hot")).isEqualTo(1);
    } finally {
      pool.shutdownNow();
    }
  }

  @Test
  void aHungLoad_blocksNeitherOtherKeysNorItsCallersBeyondTheTimeout() throws Exception {
    HangingLoader hanging = new HangingLoader();
    QueryCache<String, String> cache = builder().loadConcurrency(2).build(hanging);
    built.add(cache);
    long start = System.nanoTime();
    assertThatThrownBy(() -> cache.get("hang"))
        .isInstanceOf(NoUsableValueException.class)
        .hasMessageContaining("did not answer within 750 ms");
    assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofSeconds(2));
    assertThat(cache.get("other")).isEqualTo("other");
    hanging.release.countDown();
  }

  @Test
  void perEntryFreshness_overridesTheDefault() {
    QueryCache<String, String> cache =
        builder()
            .freshnessOf(
                (k, v) ->
                    k.equals("short")
                        ? Freshness.of(Duration.ofSeconds(1), Duration.ZERO, Duration.ofSeconds(60))
                        : FRESHNESS)
            .build(loader);
    built.add(cache);
    cache.get("short");
    cache.get("long");
    tick(clock, 2);
    assertThat(cache.lookup("long").state()).isEqualTo(Answer.State.FRESH);
    assertThat(cache.lookup("short").state()).isEqualTo(Answer.State.LOADED);
  }

  @Test
  void badInput_getsClearErrors() {
    assertThatThrownBy(() -> Freshness.of(Duration.ofMinutes(5), Duration.ofMinutes(1)))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("serveStaleFor (PT1M) is shorter than freshFor (PT5M)");
    assertThatThrownBy(() -> QueryCache.<String, String>builder("x").build(loader))
        .hasMessageContaining("cache 'x' needs the guard of the dependency it loads from");
    assertThatThrownBy(() -> QueryCache.builder("bad name")).hasMessageContaining("'bad name'");
    assertThatThrownBy(() -> builder().loadConcurrency(0)).hasMessageContaining("was 0");
    assertThatThrownBy(() -> builder().refreshAhead(1.5)).hasMessageContaining("was 1.5");
    assertThatThrownBy(() -> builder().snapshotKey(new byte[8])).hasMessageContaining("was 8");
    QueryCache<String, String> cache = cache();
    assertThatThrownBy(() -> cache.get(nullKey()))
        .isInstanceOf(NullPointerException.class)
        .hasMessage("key");
  }

  @Test
  void closed_refusesToLoad_butStillAnswersFromMemory() {
    QueryCache<String, String> cache = cache();
    cache.get("k");
    cache.close();
    cache.close();
    assertThat(cache.get("k")).isEqualTo("k@1");
    assertThatThrownBy(() -> cache.get("other")).hasMessageContaining("test is closed");
  }

  @SuppressWarnings("NullAway") // testing the null check
  private static String nullKey() {
    return null;
  }

  /** Hangs on one key, answers the others. */
  private static final class HangingLoader implements Loader<String, String> {
    final CountDownLatch release = new CountDownLatch(1);

    @Override
    public String load(String key) throws Exception {
      if (key.equals("hang")) {
        release.await();
      }
      return key;
    }
  }

  /** Answers "no such row" for every key. */
  private static final class ScriptedOptionalLoader implements Loader<String, Optional<String>> {
    volatile int calls;

    @Override
    public synchronized Optional<String> load(String key) {
      calls++;
      return Optional.empty();
    }
  }
}
