package dev.outlast.micrometer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import dev.outlast.cache.Answer;
import dev.outlast.cache.Freshness;
import dev.outlast.cache.NoUsableValueException;
import dev.outlast.cache.QueryCache;
import dev.outlast.core.Guard;
import dev.outlast.core.GuardConfig;
import dev.outlast.core.spi.Codec;
import dev.outlast.testkit.ManualClock;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.net.ConnectException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Objects;
import java.util.concurrent.TimeUnit;
import org.jspecify.annotations.Nullable;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class QueryCacheMetricsTest {
  private final ManualClock clock = new ManualClock();
  private final SimpleMeterRegistry registry = new SimpleMeterRegistry();
  private volatile @Nullable Exception failure;

  private final Guard guard =
      Guard.of(
          "mysql",
          GuardConfig.custom()
              .clock(clock)
              .ticker(clock::nanos)
              .maxAttempts(1)
              .slidingWindowSize(10)
              .minimumNumberOfCalls(5)
              .callTimeout(Duration.ofMillis(500))
              .openWait(Duration.ofSeconds(1))
              .jitter(0)
              .build());

  private QueryCache.Builder<String, String> builder() {
    return QueryCache.<String, String>builder("products")
        .guard(guard)
        // fresh 10 s, then 10 s stale-while-revalidate, servable stale up to 60 s
        .freshness(
            Freshness.of(Duration.ofSeconds(10), Duration.ofSeconds(10), Duration.ofSeconds(60)))
        .maxStaleWait(Duration.ofMillis(200))
        .clock(clock)
        .ticker(clock::nanos);
  }

  private String load(String key) throws Exception {
    Exception f = failure;
    if (f != null) {
      throw f;
    }
    return key.toUpperCase(java.util.Locale.ROOT);
  }

  private double counter(String name, String... tags) {
    return registry.get(name).tags("cache", "products").tags(tags).functionCounter().count();
  }

  private double gauge(String name, String... tags) {
    return registry.get(name).tags("cache", "products").tags(tags).gauge().value();
  }

  private double seconds(String name) {
    return registry.get(name).tags("cache", "products").timeGauge().value(TimeUnit.SECONDS);
  }

  @Test
  void everyMeter_movesWithTheCache_freshStaleRefusedEvicted() {
    PrometheusMeterRegistry prometheus = Scrape.registry();
    try (QueryCache<String, String> cache = builder().maximumSize(2).build(this::load)) {
      QueryCacheMetrics metrics = new QueryCacheMetrics(cache, Tags.empty(), Duration.ZERO);
      metrics.bindTo(registry);
      metrics.bindTo(prometheus);

      assertThat(cache.lookup("a").state()).isEqualTo(Answer.State.LOADED); // miss, load
      assertThat(cache.lookup("a").state()).isEqualTo(Answer.State.FRESH); // hit
      assertThat(cache.lookup("b").state()).isEqualTo(Answer.State.LOADED); // miss, load
      assertThat(counter("cache.gets", "result", "hit")).isEqualTo(1);
      assertThat(counter("cache.gets", "result", "miss")).isEqualTo(2);
      assertThat(counter("cache.puts")).isEqualTo(2);
      assertThat(counter("cache.load", "result", "success")).isEqualTo(2);
      assertThat(gauge("cache.size")).isEqualTo(2);

      // The database fails; 30 s later "a" is past its stale-while-revalidate window: the load
      // fails and the stale value is served.
      failure = new ConnectException("Connection refused");
      clock.advance(Duration.ofSeconds(30));
      Answer<String> stale = cache.lookup("a");
      assertThat(stale.state()).isEqualTo(Answer.State.STALE);
      assertThat(counter("cache.load", "result", "failure")).isEqualTo(1);
      assertThat(counter("outlast.cache.stale.answers")).isEqualTo(1);
      assertThat(seconds("outlast.cache.stale.age.max")).isEqualTo(30);

      // The breaker opens: "b" is served stale, its load refused, and a key never loaded has no
      // value to serve (no load is tried: the guard refused one a moment ago).
      while (guard.state() != Guard.State.OPEN) {
        Objects.requireNonNull(guard.tryEnter()).failure(0, new ConnectException("refused"));
      }
      assertThat(guard.state()).isEqualTo(Guard.State.OPEN);
      assertThat(cache.lookup("b").state()).isEqualTo(Answer.State.STALE);
      assertThat(counter("outlast.cache.loads.refused")).isEqualTo(1);
      assertThatThrownBy(() -> cache.get("never-loaded"))
          .isInstanceOf(NoUsableValueException.class);
      assertThat(counter("outlast.cache.no.value")).isEqualTo(1);
      assertThat(counter("outlast.cache.stale.answers")).isEqualTo(2);
      assertThat(counter("cache.gets", "result", "hit")).as("fresh + 2 stale").isEqualTo(3);
      assertThat(counter("cache.gets", "result", "miss")).as("2 loaded + no value").isEqualTo(3);
      assertThat(counter("cache.load", "result", "failure")).isEqualTo(1);
      assertThat(counter("cache.evictions")).isZero();

      // The database is back, and after the open wait the breaker lets probes through: two more
      // keys in a cache of two evict two entries.
      failure = null;
      clock.advance(Duration.ofSeconds(5));
      cache.get("c");
      cache.get("d");
      // Caffeine evicts in its maintenance, on the cache's scheduler; maintenance left unfinished
      // by a write that came meanwhile waits for the next access to the cache, so look.
      await()
          .untilAsserted(
              () -> {
                var unused = cache.peek("d");
                assertThat(counter("cache.evictions")).isEqualTo(2);
              });
      assertThat(gauge("cache.size")).isEqualTo(2);
      assertThat(counter("cache.puts")).isEqualTo(4);
      assertThat(counter("cache.load", "result", "success")).isEqualTo(4);
      assertThat(gauge("outlast.cache.restored")).isZero();

      Scrape s = Scrape.of(prometheus);
      String[] cacheTags = {"cache=\"products\""};
      String[] tags = {"name=\"products\"", "cache=\"products\""};
      assertThat(s.value("cache_gets_total", with(cacheTags, "result=\"hit\""))).isEqualTo(3);
      assertThat(s.value("cache_gets_total", with(cacheTags, "result=\"miss\""))).isEqualTo(5);
      assertThat(s.value("cache_puts_total", cacheTags)).isEqualTo(4);
      assertThat(s.value("cache_load_total", with(cacheTags, "result=\"success\""))).isEqualTo(4);
      assertThat(s.value("cache_load_total", with(cacheTags, "result=\"failure\""))).isEqualTo(1);
      assertThat(s.value("cache_evictions_total", cacheTags)).isEqualTo(2);
      assertThat(s.value("cache_size", cacheTags)).isEqualTo(2);
      assertThat(s.value("outlast_cache_stale_answers_total", tags)).isEqualTo(2);
      assertThat(s.value("outlast_cache_stale_age_max_seconds", tags)).isEqualTo(30);
      assertThat(s.value("outlast_cache_loads_refused_total", tags)).isEqualTo(1);
      assertThat(s.value("outlast_cache_no_value_total", tags)).isEqualTo(1);
      assertThat(s.value("outlast_cache_restored", tags)).isZero();
      assertThat(registry.getMeters())
          .as("2 gets, puts, 2 load, evictions, size and Outlast's 5")
          .hasSize(12);
      // Micrometer's cache meters carry the tag keys its own cache binders use, and no more: a
      // Prometheus registry drops a meter whose tag keys differ from another's of the same name
      // (Spring's cache meters beside these). Outlast's own meters carry "name" too.
      for (var m : registry.getMeters()) {
        var keys = m.getId().getTags().stream().map(io.micrometer.core.instrument.Tag::getKey);
        if (m.getId().getName().startsWith("cache.")) {
          assertThat(keys.toList()).as(m.getId().toString()).isSubsetOf("cache", "result");
        } else {
          assertThat(keys.toList()).as(m.getId().toString()).contains("name", "cache");
        }
      }
    }
  }

  private static String[] with(String[] tags, String more) {
    String[] all = java.util.Arrays.copyOf(tags, tags.length + 1);
    all[tags.length] = more;
    return all;
  }

  @Test
  void restored_countsTheEntriesOfTheSnapshot_andAClosedCacheKeepsAnswering(@TempDir Path dir) {
    Path file = dir.resolve("products.snapshot");
    try (QueryCache<String, String> first =
        builder().snapshot(file, Codec.utf8(), Codec.utf8()).build(this::load)) {
      first.get("a");
      first.get("b");
      first.get("c");
    }
    QueryCache<String, String> second =
        builder().snapshot(file, Codec.utf8(), Codec.utf8()).build(this::load);
    new QueryCacheMetrics(second, Tags.of("app", "shop"), Duration.ZERO).bindTo(registry);
    assertThat(gauge("outlast.cache.restored", "app", "shop")).isEqualTo(3);
    assertThat(second.get("a")).isEqualTo("A");
    second.close();
    assertThat(gauge("outlast.cache.restored")).isEqualTo(3);
    assertThat(gauge("cache.size")).isEqualTo(3);
    assertThat(counter("cache.gets", "result", "hit")).isEqualTo(1);
  }
}
