package dev.outlast.benchmarks;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import dev.outlast.cache.Freshness;
import dev.outlast.cache.QueryCache;
import dev.outlast.core.Guard;
import dev.outlast.core.GuardConfig;
import java.net.ConnectException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Objects;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.jspecify.annotations.Nullable;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Threads;
import org.openjdk.jmh.annotations.Warmup;

/**
 * Cache hits from two reader threads at once (the score is the sum over both): Outlast's query
 * cache serving fresh hits ({@code outlast}) beside raw Caffeine with the settings of {@link
 * CacheHitBenchmark}'s peer ({@code maximumSize}, {@code expireAfterWrite(freshFor)}), and the same
 * cache serving every read stale with its guard's breaker open ({@code outlastStaleBreakerOpen}),
 * as {@link CacheStaleHitBenchmark} does from one thread; and raw Caffeine holding each value in an
 * object with its load time ({@code caffeineHolder}), the least a cache with its own ages does.
 * Each thread reads the same shuffled keys from its own starting point, so that the two do not walk
 * the table in step.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 2)
@Fork(
    value = 3,
    jvmArgs = {"-Xms1g", "-Xmx1g"})
public class CacheHitThreadsBenchmark {
  /** Which cache answers, and what. */
  public enum Impl {
    /** Outlast, every read a fresh hit. */
    outlast,
    /** Outlast, every read served stale: values past their windows, the breaker open. */
    outlastStaleBreakerOpen,
    /** Raw Caffeine, {@code maximumSize} and {@code expireAfterWrite(freshFor)}. */
    caffeine,
    /**
     * Raw Caffeine with {@code maximumSize} only, holding each value in a small object with its
     * load time, checked against the ticker on every hit: what a cache that keeps its own ages
     * costs at least, and what Outlast's fresh hit is (an entry object beside Caffeine's node).
     */
    caffeineHolder
  }

  /** A value and when it was loaded, as a hand-made cache with its own ages would hold it. */
  static final class Holder {
    final String value;
    final long loadedAt;

    Holder(String value, long loadedAt) {
      this.value = value;
      this.loadedAt = loadedAt;
    }
  }

  /**
   * Young collections after the fill, for every impl alike: enough that the entries have been
   * copied through the survivor spaces into the old generation, where a service's cache lives.
   */
  static final int AGING_COLLECTIONS = 20;

  @Param Impl impl;

  /** 10,000 entries stay in the CPU caches; 100,000 make most lookups a memory access. */
  @Param({"10000"})
  int entries;

  private @Nullable QueryCache<Long, String> outlast;
  private @Nullable Cache<Long, String> caffeine;
  private @Nullable Cache<Long, Holder> holders;
  private long freshNanos;
  private final Long[] keys = new Long[CacheHitBenchmark.MASK + 1];

  @Setup
  public void setUp() throws InterruptedException {
    // Fresh: as CacheHitBenchmark. Stale: fresh for 200 ms, then served while revalidating for
    // 200 ms, then only when the database fails, for up to six hours.
    Freshness freshness =
        impl == Impl.outlastStaleBreakerOpen
            ? Freshness.of(Duration.ofMillis(200), Duration.ofMillis(200), Duration.ofHours(6))
            : Freshness.of(Duration.ofMinutes(10), Duration.ofHours(6));
    Guard guard =
        Guard.of(
            "mysql",
            GuardConfig.custom()
                .openWait(Duration.ofHours(1))
                .maxOpenWait(Duration.ofHours(1))
                .build());
    List<Long> shuffled = new ArrayList<>();
    for (long i = 0; i < entries; i++) {
      shuffled.add(i);
    }
    Collections.shuffle(shuffled, new Random(42));
    for (int i = 0; i <= CacheHitBenchmark.MASK; i++) {
      keys[i] = shuffled.get(i % entries);
    }
    freshNanos = freshness.freshFor().toNanos();
    if (impl == Impl.caffeineHolder) {
      Cache<Long, Holder> raw = Caffeine.newBuilder().maximumSize(entries * 2L).build();
      for (long i = 0; i < entries; i++) {
        raw.put(i, new Holder("value-" + i, System.nanoTime()));
      }
      holders = raw;
      Heap.ageLikeAService(AGING_COLLECTIONS);
      return;
    }
    if (impl == Impl.caffeine) {
      Cache<Long, String> raw =
          Caffeine.newBuilder()
              .maximumSize(entries * 2L)
              .expireAfterWrite(freshness.freshFor())
              .build();
      for (long i = 0; i < entries; i++) {
        raw.put(i, "value-" + i);
      }
      caffeine = raw;
      Heap.ageLikeAService(AGING_COLLECTIONS);
      return;
    }
    QueryCache<Long, String> cache =
        QueryCache.<Long, String>builder("bench")
            .guard(guard)
            .freshness(freshness)
            .maximumSize(entries * 2L)
            .build(k -> "value-" + k);
    for (long i = 0; i < entries; i++) {
      cache.get(i);
    }
    outlast = cache;
    Heap.ageLikeAService(AGING_COLLECTIONS);
    if (impl == Impl.outlastStaleBreakerOpen) {
      // Open the breaker for the rest of the run, as an outage would, and let the values age.
      while (guard.state() != Guard.State.OPEN) {
        Objects.requireNonNull(guard.tryEnter()).failure(1_000, new ConnectException("down"));
      }
      Thread.sleep(500);
      String probe = cache.lookup(0L).state().name();
      if (!probe.equals("STALE")) {
        throw new IllegalStateException("expected a stale answer, got " + probe);
      }
    }
  }

  @TearDown
  public void tearDown() {
    QueryCache<Long, String> cache = outlast;
    if (cache == null) {
      return;
    }
    if (impl == Impl.outlastStaleBreakerOpen && !cache.lookup(1L).state().name().equals("STALE")) {
      throw new IllegalStateException("the run did not serve stale values");
    }
    if (impl == Impl.outlast && cache.stats().staleHits() != 0) {
      throw new IllegalStateException("the fresh run served stale values");
    }
    cache.close();
  }

  /** Per-thread position in the key sequence; threads start far apart. */
  @State(Scope.Thread)
  public static class Cursor {
    private static final java.util.concurrent.atomic.AtomicInteger STARTS =
        new java.util.concurrent.atomic.AtomicInteger();

    int next = STARTS.getAndIncrement() * 40_503;
  }

  @Benchmark
  @Threads(2)
  public @Nullable String twoThreads(Cursor cursor) {
    Long key = keys[cursor.next++ & CacheHitBenchmark.MASK];
    QueryCache<Long, String> cache = outlast;
    if (cache != null) {
      return cache.get(key);
    }
    Cache<Long, Holder> h = holders;
    if (h == null) {
      return Objects.requireNonNull(caffeine).getIfPresent(key);
    }
    Holder held = h.getIfPresent(key);
    return held != null && System.nanoTime() - held.loadedAt < freshNanos ? held.value : null;
  }
}
