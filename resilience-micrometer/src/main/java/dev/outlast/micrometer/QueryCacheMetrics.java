package dev.outlast.micrometer;

import dev.outlast.cache.CacheStats;
import dev.outlast.cache.QueryCache;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tag;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.TimeGauge;
import io.micrometer.core.instrument.binder.MeterBinder;
import java.time.Duration;
import java.util.Objects;
import java.util.concurrent.TimeUnit;

/**
 * The meters of one {@link QueryCache}: Micrometer's cache meters where they mean the same ({@code
 * cache.gets}, {@code cache.size}, {@code cache.evictions}, {@code cache.puts}, {@code cache.load},
 * as {@code CaffeineCacheMetrics} has them, so that cache dashboards work unchanged), and Outlast's
 * own: stale answers, the oldest stale value served lately, loads refused, calls that found no
 * usable value, entries restored from the snapshot. Every meter carries the tags {@code name} and
 * {@code cache}, both the cache's name (Micrometer's cache binders tag {@code cache}; Outlast's
 * meters tag {@code name}), and the extra tags given.
 *
 * <pre>{@code
 * new QueryCacheMetrics(products).bindTo(registry);
 * }</pre>
 *
 * <table>
 *   <caption>Meters</caption>
 *   <tr><th>name</th><th>type</th><th>tags</th><th>meaning</th></tr>
 *   <tr><td>cache.gets</td><td>counter</td><td>result = hit</td><td>answers from the cache,
 *       fresh or stale</td></tr>
 *   <tr><td>cache.gets</td><td>counter</td><td>result = miss</td><td>answers that waited for a
 *       load, and calls that failed for want of a usable value</td></tr>
 *   <tr><td>cache.puts</td><td>counter</td><td></td><td>values loaded into the cache, background
 *       refreshes included</td></tr>
 *   <tr><td>cache.load</td><td>counter</td><td>result = success, failure</td><td>loads that
 *       succeeded, loads that failed</td></tr>
 *   <tr><td>cache.evictions</td><td>counter</td><td></td><td>entries dropped by the size bound or
 *       past their servable age</td></tr>
 *   <tr><td>cache.size</td><td>gauge</td><td></td><td>entries held (approximate)</td></tr>
 *   <tr><td>outlast.cache.stale.answers</td><td>counter</td><td></td><td>answers served
 *       stale</td></tr>
 *   <tr><td>outlast.cache.stale.age.max</td><td>time gauge</td><td></td><td>the age of the
 *       oldest stale value served within about the last minute; 0 if none</td></tr>
 *   <tr><td>outlast.cache.loads.refused</td><td>counter</td><td></td><td>loads not attempted:
 *       the guard's breaker was open or the load pool full</td></tr>
 *   <tr><td>outlast.cache.no.value</td><td>counter</td><td></td><td>calls that ended in {@code
 *       NoUsableValueException}</td></tr>
 *   <tr><td>outlast.cache.restored</td><td>gauge</td><td></td><td>entries restored from the
 *       snapshot at start</td></tr>
 * </table>
 *
 * <p>The meters read {@link QueryCache#stats()} when scraped (a reading is reused for 100 ms, so
 * that one scrape takes one); nothing is added to the read path. They hold the cache weakly, as
 * Micrometer's meters do, and keep answering after the cache is closed.
 *
 * <p>Threadsafe; may be bound to several registries.
 */
public final class QueryCacheMetrics implements MeterBinder {
  private final QueryCache<?, ?> cache;
  private final Tags cacheTags;
  private final Tags tags;
  private final Recent<QueryCache<?, ?>, CacheStats> stats;

  /**
   * The meters of a cache.
   *
   * @param cache the cache to measure; its name is the {@code cache} and {@code name} tags
   * @throws NullPointerException if the cache is null
   */
  public QueryCacheMetrics(QueryCache<?, ?> cache) {
    this(cache, Tags.empty());
  }

  /**
   * The meters of a cache, with extra tags on each; {@code name} and {@code cache} tags among them
   * are replaced by the cache's name.
   *
   * @param cache the cache to measure; its name is the {@code cache} and {@code name} tags
   * @param extraTags tags added to every meter; may be empty
   * @throws NullPointerException if an argument is null
   */
  public QueryCacheMetrics(QueryCache<?, ?> cache, Iterable<Tag> extraTags) {
    this(cache, extraTags, Recent.DEFAULT_REUSE);
  }

  QueryCacheMetrics(QueryCache<?, ?> cache, Iterable<Tag> extraTags, Duration reuse) {
    this.cache = Objects.requireNonNull(cache, "cache");
    // Micrometer's cache meters carry exactly the tag "cache" (and what the application adds): a
    // meter of the same name with other tag keys is dropped by the Prometheus registry of the
    // Micrometer versions Spring Boot 4.0 ships, beside Spring's own cache meters. Outlast's own
    // meters carry "name" as every Outlast meter does.
    this.cacheTags =
        Tags.of(Objects.requireNonNull(extraTags, "extraTags")).and("cache", cache.name());
    this.tags = cacheTags.and("name", cache.name());
    this.stats = new Recent<>(QueryCache::stats, reuse, "cache " + cache.name());
  }

  @Override
  public void bindTo(MeterRegistry registry) {
    Objects.requireNonNull(registry, "registry");
    // A local, so that no meter's function holds this binder (and through it the cache).
    Recent<QueryCache<?, ?>, CacheStats> s = stats;
    String gets =
        "The number of times cache lookup methods have returned a cached (hit) or uncached (newly"
            + " loaded or failed) value (miss)";
    FunctionCounter.builder(
            "cache.gets", cache, c -> s.figure(c, st -> st.freshHits() + st.staleHits()))
        .description(gets)
        .tags(cacheTags)
        .tag("result", "hit")
        .register(registry);
    FunctionCounter.builder(
            "cache.gets", cache, c -> s.figure(c, st -> st.loadedAnswers() + st.noValueErrors()))
        .description(gets)
        .tags(cacheTags)
        .tag("result", "miss")
        .register(registry);
    FunctionCounter.builder("cache.puts", cache, c -> s.figure(c, CacheStats::loads))
        .description("The number of values loaded into the cache, background refreshes included")
        .tags(cacheTags)
        .register(registry);
    FunctionCounter.builder("cache.load", cache, c -> s.figure(c, CacheStats::loads))
        .description("The number of loads that succeeded (success) or failed (failure)")
        .tags(cacheTags)
        .tag("result", "success")
        .register(registry);
    FunctionCounter.builder("cache.load", cache, c -> s.figure(c, CacheStats::loadFailures))
        .description("The number of loads that succeeded (success) or failed (failure)")
        .tags(cacheTags)
        .tag("result", "failure")
        .register(registry);
    FunctionCounter.builder("cache.evictions", cache, c -> s.figure(c, CacheStats::evictions))
        .description(
            "The number of entries dropped to keep within the size bound or past their servable"
                + " age")
        .tags(cacheTags)
        .register(registry);
    Gauge.builder("cache.size", cache, c -> s.figure(c, CacheStats::size))
        .description("The number of entries in this cache (approximate)")
        .tags(cacheTags)
        .register(registry);
    FunctionCounter.builder(
            "outlast.cache.stale.answers", cache, c -> s.figure(c, CacheStats::staleHits))
        .description("Answers served stale")
        .tags(tags)
        .register(registry);
    TimeGauge.builder(
            "outlast.cache.stale.age.max",
            cache,
            TimeUnit.MILLISECONDS,
            c -> s.figure(c, st -> st.oldestStaleServed().toMillis()))
        .description("The age of the oldest stale value served within about the last minute")
        .tags(tags)
        .register(registry);
    FunctionCounter.builder(
            "outlast.cache.loads.refused", cache, c -> s.figure(c, CacheStats::rejectedLoads))
        .description("Loads not attempted: the guard's breaker was open or the load pool full")
        .tags(tags)
        .register(registry);
    FunctionCounter.builder(
            "outlast.cache.no.value", cache, c -> s.figure(c, CacheStats::noValueErrors))
        .description("Calls that found no value the cache may serve and could not load one")
        .tags(tags)
        .register(registry);
    Gauge.builder(
            "outlast.cache.restored", cache, c -> s.figure(c, CacheStats::restoredFromSnapshot))
        .description("Entries restored from the snapshot when the cache was built")
        .tags(tags)
        .register(registry);
  }

  @Override
  public String toString() {
    return "QueryCacheMetrics[" + cache.name() + "]";
  }
}
