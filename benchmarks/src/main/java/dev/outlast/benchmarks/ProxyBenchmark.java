package dev.outlast.benchmarks;

import dev.outlast.cache.Freshness;
import dev.outlast.cache.QueryCache;
import dev.outlast.core.Guard;
import dev.outlast.core.annotation.CachedQuery;
import dev.outlast.core.annotation.Guarded;
import dev.outlast.core.annotation.Outlast;
import java.lang.reflect.Proxy;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
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
 * What the annotation proxy costs. {@code unannotated}: a method without annotations through the
 * proxy ({@code outlast}) beside the same call on the implementation ({@code direct}). {@code
 * cachedHit}: a fresh hit of a {@code @CachedQuery} method through the proxy ({@code outlast})
 * beside the same hit on a {@link QueryCache} built by hand with the same settings ({@code
 * direct}), which is what a service would write without the annotation. 10,000 keys, read in a
 * shuffled order.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(
    value = 2,
    jvmArgs = {"-Xms1g", "-Xmx1g"})
public class ProxyBenchmark {
  /** Who answers. */
  public enum Impl {
    outlast,
    direct,
    /** The floor of any proxy: a bare JDK proxy whose handler calls the method reflectively. */
    jdkProxy
  }

  private static final int KEYS = 10_000;
  private static final int MASK = 16 * 1024 - 1;

  /** A repository as a service declares it. */
  public interface Catalog {
    @Guarded("mysql")
    @CachedQuery(freshFor = "10m", serveStaleFor = "6h", maximumSize = 2 * KEYS)
    String price(long sku);

    String label(long sku);
  }

  /** Its implementation: answers from memory, so only the call itself is measured. */
  static final class MemoryCatalog implements Catalog {
    @Override
    public String price(long sku) {
      return "price-" + sku;
    }

    @Override
    public String label(long sku) {
      return "label";
    }
  }

  @Param Impl impl;

  private Outlast outlast;
  private Catalog catalog;
  private QueryCache<Long, String> cache;
  private final long[] keys = new long[MASK + 1];
  private int next;

  @Setup(Level.Trial)
  public void setUp() {
    MemoryCatalog real = new MemoryCatalog();
    outlast = Outlast.builder().guard(Guard.ofDefaults("mysql")).build();
    cache =
        QueryCache.<Long, String>builder("direct")
            .guard(Guard.ofDefaults("mysql"))
            .freshness(Freshness.of(Duration.ofMinutes(10), Duration.ofHours(6)))
            .maximumSize(2 * KEYS)
            .build(real::price);
    catalog =
        switch (impl) {
          case outlast -> outlast.wrap(Catalog.class, real);
          case direct -> real;
          case jdkProxy -> handWired(real, cache);
        };
    List<Long> shuffled = new ArrayList<>();
    for (long i = 0; i < KEYS; i++) {
      shuffled.add(i);
      // Fill only the cache this run reads: two caches would double the memory it touches.
      if (impl == Impl.direct) {
        cache.get(i);
      } else {
        catalog.price(i);
      }
    }
    Collections.shuffle(shuffled, new Random(42));
    for (int i = 0; i <= MASK; i++) {
      keys[i] = shuffled.get(i % KEYS);
    }
  }

  @TearDown(Level.Trial)
  public void tearDown() {
    cache.close();
    outlast.close();
  }

  @Benchmark
  public String unannotated() {
    return catalog.label(keys[next++ & MASK]);
  }

  @Benchmark
  public String cachedHit() {
    long key = keys[next++ & MASK];
    return impl == Impl.direct ? cache.get(key) : catalog.price(key);
  }

  /** A proxy written by hand: price from the cache, everything else reflectively. */
  private static Catalog handWired(Catalog real, QueryCache<Long, String> cache) {
    return (Catalog)
        Proxy.newProxyInstance(
            Catalog.class.getClassLoader(),
            new Class<?>[] {Catalog.class},
            (proxy, method, args) ->
                method.getName().equals("price")
                    ? cache.get((Long) args[0])
                    : method.invoke(real, args));
  }
}
