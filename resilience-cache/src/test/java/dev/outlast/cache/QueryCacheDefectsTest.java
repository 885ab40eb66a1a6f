package dev.outlast.cache;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import dev.outlast.core.Guard;
import dev.outlast.core.GuardConfig;
import dev.outlast.core.health.Importance;
import dev.outlast.core.spi.Codec;
import dev.outlast.testkit.ManualClock;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Objects;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.logging.Logger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 15's defects of the query cache, each reproduced as it was found; named after what broke.
 */
class QueryCacheDefectsTest {
  private static final Freshness FRESHNESS =
      Freshness.of(Duration.ofSeconds(10), Duration.ofSeconds(10), Duration.ofSeconds(60));

  private final ManualClock clock = new ManualClock();
  private final ScriptedLoader loader = new ScriptedLoader();
  private final List<QueryCache<?, ?>> built = new ArrayList<>();
  private final ExecutorService pool = Executors.newCachedThreadPool();

  private Guard guard(int maxConcurrentCalls) {
    return Guard.of(
        "mysql",
        GuardConfig.custom()
            .clock(clock)
            .ticker(ClockTicker.of(clock))
            .maxAttempts(1)
            .slidingWindowSize(10)
            .minimumNumberOfCalls(5)
            .maxConcurrentCalls(maxConcurrentCalls)
            .callTimeout(Duration.ofMillis(500))
            .build());
  }

  private QueryCache.Builder<String, String> builder(Guard guard) {
    return QueryCache.<String, String>builder("defects")
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
    pool.shutdownNow();
  }

  /** Every permit of the guard can be taken: none is held by a load that ended. */
  private static void assertAllPermitsFree(Guard guard, int maxConcurrentCalls) {
    await()
        .atMost(Duration.ofSeconds(5))
        .untilAsserted(
            () -> {
              List<Guard.Permit> permits = new ArrayList<>();
              try {
                for (int i = 0; i < maxConcurrentCalls; i++) {
                  permits.add(Objects.requireNonNull(guard.tryEnter(), "permit " + i));
                }
              } finally {
                permits.forEach(Guard.Permit::release);
              }
            });
  }

  /**
   * The store checked the tag's invalidation number, then indexed the key under the tag: an
   * invalidateTag in between removed the tag's old key set and the store put the key in a new one,
   * so the value loaded before the invalidation stayed. Many tags per entry widen that window.
   */
  @Test
  void invalidateTag_racingTheStore_neverKeepsAValueLoadedBeforeIt() throws Exception {
    Set<String> manyTags = new HashSet<>();
    manyTags.add("t");
    for (int i = 0; i < 3_000; i++) {
      manyTags.add("x" + i);
    }
    Set<String> tags = Set.copyOf(manyTags);
    QueryCache<String, String> cache = track(builder(guard(32)).tags((k, v) -> tags).build(loader));
    Random random = new Random(15);
    List<String> kept = new ArrayList<>();
    for (int round = 0; round < 200; round++) {
      String key = "k" + round;
      CountDownLatch gate = new CountDownLatch(1);
      loader.gate = gate;
      Future<String> reader = pool.submit(() -> cache.get(key));
      await().pollInterval(Duration.ofMillis(1)).until(() -> loader.callsFor(key) == 1);
      gate.countDown();
      long spin = random.nextInt(450_000);
      long until = System.nanoTime() + spin;
      while (System.nanoTime() < until) {
        Thread.onSpinWait();
      }
      cache.invalidateTag("t");
      reader.get();
      // The only load of the key started before the invalidation: its value must be gone.
      if (cache.peek(key).isPresent()) {
        kept.add(key + " (invalidated " + spin / 1_000 + " us after the load returned)");
      }
    }
    assertThat(kept).as("values loaded before invalidateTag, kept after it").isEmpty();
  }

  /** 100,000 per-row tags, each invalidated once, kept 100,000 invalidation numbers for good. */
  @Test
  void tagInvalidationNumbers_arePruned_whenNoLoadCanNeedThem() {
    QueryCache<String, String> cache =
        track(builder(guard(32)).tags((k, v) -> Set.of("row:" + k)).build(loader));
    cache.get("a");
    for (int i = 0; i < 100_000; i++) {
      cache.invalidateTag("row:" + i);
    }
    assertThat(cache.tagEpochs()).as("invalidation numbers kept").isLessThan(5_000);
  }

  /**
   * Found by {@link QueryCacheModelTest}: invalidateTag took the tag's keys out of the index, so a
   * second invalidateTag of the same tag, running while the first still removed entries, found no
   * keys and returned while old entries were still served.
   */
  @Test
  void concurrentInvalidationsOfOneTag_eachReturnsOnlyOnceItsEntriesAreGone() throws Exception {
    QueryCache<String, String> cache =
        track(builder(guard(32)).maximumSize(100_000).tags((k, v) -> Set.of("t")).build(loader));
    List<String> seen = new ArrayList<>();
    for (int round = 0; round < 20; round++) {
      for (int i = 0; i < 2_000; i++) {
        cache.get("k" + i);
      }
      CountDownLatch go = new CountDownLatch(1);
      List<Future<List<String>>> invalidators = new ArrayList<>();
      for (int t = 0; t < 2; t++) {
        invalidators.add(
            pool.submit(
                () -> {
                  go.await();
                  cache.invalidateTag("t");
                  List<String> left = new ArrayList<>();
                  for (int i = 0; i < 2_000; i++) {
                    if (cache.peek("k" + i).isPresent()) {
                      left.add("k" + i);
                    }
                  }
                  return left;
                }));
      }
      go.countDown();
      for (Future<List<String>> f : invalidators) {
        List<String> left = f.get();
        if (!left.isEmpty()) {
          seen.add("round " + round + ": " + left.size() + " entries left, e.g. " + left.get(0));
        }
      }
    }
    assertThat(seen).as("entries still there after an invalidateTag returned").isEmpty();
  }

  /** Pruning must not forget a number a load in flight still needs. */
  @Test
  void tagNumberPruning_keepsTheNumbersALoadInFlightNeeds() throws Exception {
    QueryCache<String, String> cache =
        track(builder(guard(32)).tags((k, v) -> Set.of("row:" + k)).build(loader));
    CountDownLatch gate = new CountDownLatch(1);
    loader.gate = gate;
    Future<String> slow = pool.submit(() -> cache.get("p"));
    await().until(() -> loader.callsFor("p") == 1);
    cache.invalidateTag("row:p");
    for (int i = 0; i < 100_000; i++) {
      cache.invalidateTag("row:" + i); // many prunes run meanwhile
    }
    gate.countDown();
    assertThat(slow.get()).isEqualTo("p@1");
    assertThat(cache.peek("p")).as("the value loaded before its tag was invalidated").isEmpty();
    cache.sweepNow();
    assertThat(cache.tagEpochs()).as("numbers kept once no load needs them").isZero();
  }

  /**
   * invalidate() during a slow load took the load out of the single-flight map: the next read of
   * the key started a second query for it while the first still ran.
   */
  @Test
  void invalidate_duringASlowLoad_startsNoSecondQuery_andLaterReadsGetNewerValues()
      throws Exception {
    ConcurrencyCountingLoader counting = new ConcurrencyCountingLoader();
    QueryCache<String, String> cache =
        track(builder(guard(32)).maxStaleWait(Duration.ZERO).build(counting));
    CountDownLatch firstLoad = new CountDownLatch(1);
    counting.gate = firstLoad;
    Future<String> before = pool.submit(() -> cache.get("k"));
    await().until(() -> counting.calls.get() == 1);
    cache.invalidate("k");
    Thread[] afterThread = new Thread[1];
    Future<String> after =
        pool.submit(
            () -> {
              afterThread[0] = Thread.currentThread();
              return cache.get("k");
            });
    // The later reader is waiting (for a load of its own in the old code, for the chained one now).
    await()
        .until(
            () ->
                afterThread[0] != null
                    && (afterThread[0].getState() == Thread.State.TIMED_WAITING
                        || counting.calls.get() > 1));
    counting.gate = null;
    firstLoad.countDown();
    assertThat(before.get()).as("the read that began before the invalidation").isEqualTo("k@1");
    assertThat(after.get())
        .as("a read that began after the invalidation gets a value loaded after it")
        .isEqualTo("k@2");
    assertThat(counting.maxConcurrent.get()).as("queries of one key at once").isEqualTo(1);
  }

  /**
   * close() did not wait for loads in flight: they stored after the final snapshot, so the snapshot
   * missed what the cache held.
   */
  @Test
  void close_waitsForLoadsInFlight_thenWritesTheSnapshot_andNothingIsStoredAfterIt(
      @TempDir Path dir) throws Exception {
    Path file = dir.resolve("defects.snapshot");
    QueryCache.Builder<String, String> b =
        builder(guard(32)).snapshot(file, Codec.utf8(), Codec.utf8());
    QueryCache<String, String> cache = b.build(loader);
    cache.get("early");
    CountDownLatch gate = new CountDownLatch(1);
    loader.gate = gate;
    Future<String> inFlight = pool.submit(() -> cache.get("late"));
    await().until(() -> loader.callsFor("late") == 1);
    Thread[] closer = new Thread[1];
    Future<?> closing =
        pool.submit(
            () -> {
              closer[0] = Thread.currentThread();
              cache.close();
            });
    // The load answers while close waits for it (well within the bound).
    await().until(() -> closer[0] != null && closer[0].getState() == Thread.State.TIMED_WAITING);
    gate.countDown();
    closing.get();
    assertThat(inFlight.get()).isEqualTo("late@1");
    boolean heldLate = cache.peek("late").isPresent();
    try (QueryCache<String, String> restarted = b.build(loader)) {
      assertThat(restarted.peek("late").isPresent())
          .as("the snapshot holds what the cache held when it closed")
          .isEqualTo(heldLate);
      assertThat(restarted.peek("late")).as("a load that answered in time is kept").isPresent();
    }
  }

  /**
   * A load that ignores interrupts is abandoned at close's bound: close returns, the permit is
   * back, and when the load finally returns nothing is stored.
   */
  @Test
  void close_isBounded_aLoadThatReturnsLaterNeverStores_andItsPermitIsBack() throws Exception {
    Guard guard = guard(4);
    CountDownLatch gate = new CountDownLatch(1);
    CountDownLatch entered = new CountDownLatch(1);
    QueryCache<String, String> cache =
        builder(guard)
            .loadTimeout(Duration.ofMillis(300))
            .build(
                k -> {
                  entered.countDown();
                  awaitIgnoringInterrupts(gate);
                  return k + "@late";
                });
    var unused = pool.submit(() -> cache.get("hung"));
    entered.await();
    long start = System.nanoTime();
    cache.close();
    assertThat(Duration.ofNanos(System.nanoTime() - start))
        .as("close with a load that ignores interrupts")
        .isLessThan(Duration.ofSeconds(3));
    assertAllPermitsFree(guard, 4);
    assertThat(cache.loadsInFlight()[2]).as("its slot, held until the thread returns").isEqualTo(1);
    gate.countDown();
    await().until(() -> cache.loadsInFlight()[2] == 0);
    assertThat(cache.peek("hung")).as("stored after close").isEmpty();
    assertThat(cache.loadsInFlight()).containsExactly(0, 0, 0);
  }

  private static void awaitIgnoringInterrupts(CountDownLatch latch) {
    boolean interrupted = false;
    while (true) {
      try {
        latch.await();
        break;
      } catch (InterruptedException e) {
        interrupted = true;
      }
    }
    if (interrupted) {
      Thread.currentThread().interrupt();
    }
  }

  /**
   * Operations after close made Caffeine log WARNING and SEVERE: its maintenance and removal
   * notifications went to the cache's executor, shut down by close.
   */
  @Test
  void operationsAfterClose_logNothingFromCaffeine_andLoadsFailClearly() {
    List<LogRecord> records = new ArrayList<>();
    Handler capture =
        new Handler() {
          @Override
          public void publish(LogRecord r) {
            synchronized (records) {
              records.add(r);
            }
          }

          @Override
          public void flush() {}

          @Override
          public void close() {}
        };
    Logger caffeine = Logger.getLogger("com.github.benmanes.caffeine");
    caffeine.addHandler(capture);
    try {
      QueryCache<String, String> cache = builder(guard(32)).build(loader);
      for (int i = 0; i < 100; i++) {
        cache.get("k" + i);
      }
      cache.close();
      for (int i = 0; i < 100; i++) {
        cache.invalidate("k" + i);
        cache.peek("k" + (i + 1));
      }
      assertThatThrownBy(() -> cache.get("never-loaded"))
          .isInstanceOf(IllegalStateException.class)
          .hasMessageContaining("defects is closed");
    } finally {
      caffeine.removeHandler(capture);
    }
    synchronized (records) {
      assertThat(records)
          .as("Caffeine's log after close")
          .filteredOn(r -> r.getLevel().intValue() >= Level.WARNING.intValue())
          .isEmpty();
    }
  }

  /** oldestStaleServed kept the oldest age ever served: health said "30 s old" hours later. */
  @Test
  void oldestStaleServed_describesTheLastMinute_notTheCachesLifetime() {
    QueryCache<String, String> cache = track(builder(guard(32)).build(loader));
    cache.get("k");
    loader.failure = new java.net.ConnectException("Connection refused");
    clock.advance(Duration.ofSeconds(30));
    assertThat(cache.lookup("k").state()).isEqualTo(Answer.State.STALE);
    assertThat(cache.stats().oldestStaleServed()).isEqualTo(Duration.ofSeconds(30));
    clock.advance(Duration.ofSeconds(61));
    assertThat(cache.stats().oldestStaleServed())
        .as("a minute after the last stale answer")
        .isEqualTo(Duration.ZERO);
  }

  /** A tagger that threw an Error left the key's load in flight for good. */
  @Test
  void aTaggerThrowingAnError_freesTheLoad_theKeyLoadsAgain_andHealthSaysSo() {
    Guard guard = guard(4);
    AtomicBoolean broken = new AtomicBoolean(true);
    QueryCache<String, String> cache =
        track(
            builder(guard)
                .tags(
                    (k, v) -> {
                      if (broken.get()) {
                        throw new AssertionError("tagger bug");
                      }
                      return Set.of("t");
                    })
                .build(loader));
    assertThatThrownBy(() -> cache.get("k")).isInstanceOf(NoUsableValueException.class);
    assertAllPermitsFree(guard, 4);
    assertThat(cache.health(Importance.DEPENDENT).check().reason()).contains("tagger");
    broken.set(false);
    clock.advance(Duration.ofSeconds(2)); // past the key's backoff
    assertThat(cache.get("k")).isEqualTo("k@2");
  }

  /** A loader whose queries are counted, with how many ran at once per key; not synchronized. */
  static final class ConcurrencyCountingLoader implements Loader<String, String> {
    final AtomicInteger calls = new AtomicInteger();
    final AtomicInteger maxConcurrent = new AtomicInteger();
    private final ConcurrentHashMap<String, AtomicInteger> running = new ConcurrentHashMap<>();
    private final ConcurrentHashMap<String, AtomicInteger> done = new ConcurrentHashMap<>();
    volatile @org.jspecify.annotations.Nullable CountDownLatch gate;

    @Override
    public String load(String key) throws Exception {
      calls.incrementAndGet();
      AtomicInteger now = running.computeIfAbsent(key, k -> new AtomicInteger());
      maxConcurrent.accumulateAndGet(now.incrementAndGet(), Math::max);
      try {
        CountDownLatch g = gate;
        if (g != null) {
          g.await();
        }
        return key + "@" + done.computeIfAbsent(key, k -> new AtomicInteger()).incrementAndGet();
      } finally {
        now.decrementAndGet();
      }
    }
  }
}
