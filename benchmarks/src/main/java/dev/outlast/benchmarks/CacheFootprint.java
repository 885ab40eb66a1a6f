package dev.outlast.benchmarks;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import dev.outlast.cache.Freshness;
import dev.outlast.cache.QueryCache;
import dev.outlast.core.Guard;
import java.lang.management.ManagementFactory;
import java.time.Duration;
import java.util.Locale;

/**
 * Heap bytes per entry of Outlast's query cache beside raw Caffeine with the same size bound and
 * {@code expireAfterWrite}, for 1,000,000 entries of Long keys and short String values that both
 * hold (the key and value objects are counted in both). Not a JMH benchmark: it measures memory.
 *
 * <p>Run: {@code java -Xmx2g -cp benchmarks/target/benchmarks.jar
 * dev.outlast.benchmarks.CacheFootprint}
 */
public final class CacheFootprint {
  private static final int ENTRIES = 1_000_000;

  private CacheFootprint() {}

  public static void main(String[] args) {
    Long[] keys = new Long[ENTRIES];
    String[] values = new String[ENTRIES];
    for (int i = 0; i < ENTRIES; i++) {
      keys[i] = (long) i;
      values[i] = "value-" + i;
    }
    long caffeineBytes =
        measure(
            () -> {
              Cache<Long, String> c =
                  Caffeine.newBuilder()
                      .maximumSize(ENTRIES * 2L)
                      .expireAfterWrite(Duration.ofMinutes(10))
                      .build();
              for (int i = 0; i < ENTRIES; i++) {
                c.put(keys[i], values[i]);
              }
              return c;
            });
    long outlastBytes =
        measure(
            () -> {
              QueryCache<Long, String> c =
                  QueryCache.<Long, String>builder("footprint")
                      .guard(Guard.ofDefaults("mysql"))
                      .freshness(Freshness.of(Duration.ofMinutes(10), Duration.ofHours(6)))
                      .maximumSize(ENTRIES * 2L)
                      .build(k -> values[(int) (long) k]);
              for (int i = 0; i < ENTRIES; i++) {
                c.get(keys[i]);
              }
              return c;
            });
    System.out.printf(
        Locale.ROOT,
        "entries=%d caffeine=%.1f B/entry outlast=%.1f B/entry ratio=%.2f%n",
        ENTRIES,
        caffeineBytes / (double) ENTRIES,
        outlastBytes / (double) ENTRIES,
        outlastBytes / (double) caffeineBytes);
  }

  private interface Fill {
    Object fill();
  }

  private static long measure(Fill fill) {
    long before = usedAfterGc();
    Object cache = fill.fill();
    long after = usedAfterGc();
    if (cache instanceof AutoCloseable closeable) {
      try {
        closeable.close();
      } catch (Exception e) {
        throw new IllegalStateException(e);
      }
    }
    return after - before;
  }

  private static long usedAfterGc() {
    for (int i = 0; i < 5; i++) {
      System.gc();
      try {
        Thread.sleep(100);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
    return ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed();
  }
}
