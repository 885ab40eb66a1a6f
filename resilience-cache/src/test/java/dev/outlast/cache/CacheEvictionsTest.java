package dev.outlast.cache;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.outlast.core.Guard;
import dev.outlast.core.GuardConfig;
import dev.outlast.testkit.ManualClock;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/** {@link CacheStats#evictions()}: the size bound and the sweep count, invalidations do not. */
class CacheEvictionsTest {
  private final ManualClock clock = new ManualClock();
  private final ScriptedLoader loader = new ScriptedLoader();

  private QueryCache<String, String> cache(long maximumSize) {
    Guard guard =
        Guard.of(
            "mysql",
            GuardConfig.custom().clock(clock).ticker(ClockTicker.of(clock)).maxAttempts(1).build());
    return QueryCache.<String, String>builder("evictions")
        .guard(guard)
        .freshness(
            Freshness.of(Duration.ofSeconds(10), Duration.ofSeconds(10), Duration.ofSeconds(60)))
        .maximumSize(maximumSize)
        .clock(clock)
        .ticker(ClockTicker.of(clock))
        .build(loader);
  }

  @Test
  void evictions_countWhatTheSizeBoundDrops_notInvalidations() {
    try (QueryCache<String, String> cache = cache(2)) {
      for (String k : new String[] {"a", "b", "c", "d"}) {
        cache.get(k);
      }
      // Caffeine evicts in its maintenance, on the cache's scheduler: a moment later. Maintenance
      // left unfinished by a write that came meanwhile waits for the next access, so look.
      await()
          .untilAsserted(
              () -> {
                var unused = cache.peek("d");
                assertThat(cache.stats().evictions()).isEqualTo(2);
              });
      assertThat(cache.stats().size()).isEqualTo(2);
      cache.invalidateAll();
      cache.get("e");
      cache.invalidate("e");
      assertThat(cache.stats().size()).isZero();
      assertThat(cache.stats().evictions()).isEqualTo(2);
    }
  }

  @Test
  void evictions_countWhatTheSweepDrops_pastTheServableAge() {
    try (QueryCache<String, String> cache = cache(100)) {
      cache.get("old");
      clock.advance(Duration.ofSeconds(90));
      cache.get("young");
      clock.advance(Duration.ofSeconds(40)); // "old" is 130 s old: past 60 s servable + 60 s kept
      cache.sweepNow();
      assertThat(cache.stats().evictions()).isEqualTo(1);
      assertThat(cache.peek("young")).isPresent();
      assertThat(cache.stats().size()).isEqualTo(1);
    }
  }
}
