package dev.outlast.benchmarks;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import dev.outlast.cache.Freshness;
import dev.outlast.cache.QueryCache;
import dev.outlast.core.Guard;
import java.time.Duration;
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
import org.openjdk.jmh.annotations.Warmup;

/**
 * A fresh hit: Outlast's query cache (as built by default, and with {@code coarseHitClock(true)})
 * beside raw Caffeine with the same size bound and the expiry a hand-made TTL cache would use
 * ({@code expireAfterWrite(freshFor)}), and beside Caffeine with no expiry at all (the floor: a
 * bare hash lookup), and beside Caffeine holding each value in an object with its load time ({@code
 * caffeineHolder}). Keys are read in a shuffled order, in a heap aged by young collections after
 * the fill ({@link Heap#ageLikeAService}).
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 2)
@Fork(
    value = 3,
    jvmArgs = {"-Xms1g", "-Xmx1g"})
public class CacheHitBenchmark {
  /** Which cache answers. */
  public enum Impl {
    outlast,
    outlastCoarseClock,
    caffeine,
    caffeineNoExpiry,
    /** As {@link CacheHitThreadsBenchmark.Impl#caffeineHolder}. */
    caffeineHolder
  }

  static final int MASK = 128 * 1024 - 1;

  @Param Impl impl;

  /** 10,000 entries stay in the CPU caches; 100,000 make most lookups a memory access. */
  @Param({"10000", "100000"})
  int entries;

  private QueryCache<Long, String> outlast;
  private Cache<Long, String> caffeine;
  private Cache<Long, CacheHitThreadsBenchmark.Holder> holders;
  private long freshNanos;
  private final Long[] keys = new Long[MASK + 1];

  @Setup
  public void setUp() {
    Freshness freshness = Freshness.of(Duration.ofMinutes(10), Duration.ofHours(6));
    outlast =
        QueryCache.<Long, String>builder("bench")
            .guard(Guard.ofDefaults("mysql"))
            .freshness(freshness)
            .maximumSize(entries * 2L)
            .coarseHitClock(impl == Impl.outlastCoarseClock)
            .build(k -> "value-" + k);
    Caffeine<Object, Object> raw = Caffeine.newBuilder().maximumSize(entries * 2L);
    if (impl == Impl.caffeine) {
      raw.expireAfterWrite(freshness.freshFor());
    }
    caffeine = raw.build();
    holders = Caffeine.newBuilder().maximumSize(entries * 2L).build();
    freshNanos = freshness.freshFor().toNanos();
    java.util.List<Long> shuffled = new java.util.ArrayList<>();
    for (long i = 0; i < entries; i++) {
      shuffled.add(i);
      outlast.get(i);
      caffeine.put(i, "value-" + i);
      if (impl == Impl.caffeineHolder) {
        holders.put(i, new CacheHitThreadsBenchmark.Holder("value-" + i, System.nanoTime()));
      }
    }
    java.util.Collections.shuffle(shuffled, new java.util.Random(42));
    for (int i = 0; i <= MASK; i++) {
      keys[i] = shuffled.get(i % entries);
    }
    // Both caches were filled side by side; age them as a service's heap would be.
    Heap.ageLikeAService(CacheHitThreadsBenchmark.AGING_COLLECTIONS);
  }

  @TearDown
  public void tearDown() {
    outlast.close();
  }

  /** Per-thread position in the key sequence. */
  @State(Scope.Thread)
  public static class Cursor {
    int next;
  }

  @Benchmark
  public @Nullable String get(Cursor cursor) {
    Long key = keys[cursor.next++ & MASK];
    if (impl == Impl.caffeineHolder) {
      CacheHitThreadsBenchmark.Holder held = holders.getIfPresent(key);
      return held != null && System.nanoTime() - held.loadedAt < freshNanos ? held.value : null;
    }
    return impl == Impl.outlast || impl == Impl.outlastCoarseClock
        ? outlast.get(key)
        : caffeine.getIfPresent(key);
  }
}
