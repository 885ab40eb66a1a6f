package dev.outlast.benchmarks;

import dev.outlast.cache.Freshness;
import dev.outlast.cache.QueryCache;
import dev.outlast.core.Guard;
import dev.outlast.core.GuardConfig;
import java.net.ConnectException;
import java.time.Duration;
import java.util.Objects;
import java.util.concurrent.TimeUnit;
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
 * A read served stale while the database is down (entries past their stale-while-revalidate window,
 * the guard's breaker open), beside a fresh hit of the same cache, in the same run.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 2)
@Fork(
    value = 3,
    jvmArgs = {"-Xms1g", "-Xmx1g"})
public class CacheStaleHitBenchmark {
  /** What the cache serves. */
  public enum Served {
    fresh,
    staleBreakerOpen
  }

  static final int ENTRIES = 10_000;

  @Param Served served;

  /** Whether hits read the coarse clock ({@code coarseHitClock}) or {@code System.nanoTime()}. */
  @Param({"false", "true"})
  boolean coarseHitClock;

  private QueryCache<Long, String> cache;
  private final Long[] keys = new Long[CacheHitBenchmark.MASK + 1];

  @Setup
  public void setUp() throws InterruptedException {
    // Fresh: values stay fresh for the whole run. Stale: they are fresh for 200 ms, then served
    // while revalidating for 200 ms, then only when the database fails, for up to six hours.
    Freshness freshness =
        served == Served.fresh
            ? Freshness.of(Duration.ofHours(1), Duration.ofHours(6))
            : Freshness.of(Duration.ofMillis(200), Duration.ofMillis(200), Duration.ofHours(6));
    Guard guard =
        Guard.of(
            "mysql",
            GuardConfig.custom()
                .openWait(Duration.ofHours(1))
                .maxOpenWait(Duration.ofHours(1))
                .build());
    cache =
        QueryCache.<Long, String>builder("bench")
            .guard(guard)
            .freshness(freshness)
            .maximumSize(ENTRIES * 2L)
            .coarseHitClock(coarseHitClock)
            .build(k -> "value-" + k);
    java.util.List<Long> shuffled = new java.util.ArrayList<>();
    for (long i = 0; i < ENTRIES; i++) {
      shuffled.add(i);
      cache.get(i);
    }
    java.util.Collections.shuffle(shuffled, new java.util.Random(42));
    for (int i = 0; i < keys.length; i++) {
      keys[i] = shuffled.get(i % ENTRIES);
    }
    Heap.ageLikeAService(CacheHitThreadsBenchmark.AGING_COLLECTIONS);
    if (served == Served.staleBreakerOpen) {
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
    if (served == Served.staleBreakerOpen && !cache.lookup(1L).state().name().equals("STALE")) {
      throw new IllegalStateException("the run did not serve stale values");
    }
    cache.close();
  }

  /** Per-thread position in the key sequence. */
  @State(Scope.Thread)
  public static class Cursor {
    int next;
  }

  @Benchmark
  public String get(Cursor cursor) {
    return cache.get(keys[cursor.next++ & CacheHitBenchmark.MASK]);
  }
}
