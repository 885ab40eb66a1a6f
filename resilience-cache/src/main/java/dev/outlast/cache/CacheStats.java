package dev.outlast.cache;

import java.time.Duration;
import java.time.Instant;
import org.jspecify.annotations.Nullable;

/**
 * Counters of a {@link QueryCache} since it was built, and what it served lately. Immutable.
 *
 * @param freshHits answers served fresh from the cache
 * @param staleHits answers served stale from the cache
 * @param loadedAnswers answers that waited for a load
 * @param loads loads that succeeded (including background refreshes)
 * @param loadFailures loads that failed
 * @param rejectedLoads loads not attempted: the guard's breaker was open or the loader pool full
 * @param noValueErrors calls that ended in {@link NoUsableValueException}
 * @param size entries held now (approximate)
 * @param restoredFromSnapshot entries restored at start from the snapshot
 * @param oldestStaleServed the greatest age of a stale value served within about the last minute
 *     (the last 50 to 60 seconds: ages are kept in 10-second buckets, sampled at most every 100
 *     ms), or zero if none was; a recent window, so that it shows an outage now, not the worst one
 *     since the cache was built
 * @param lastStaleServedAt when a stale value was last served, or null if never
 * @param evictions entries dropped to keep within {@code maximumSize} or {@code maximumWeight}, or
 *     by the periodic sweep once past their servable age; invalidations are not counted
 */
public record CacheStats(
    long freshHits,
    long staleHits,
    long loadedAnswers,
    long loads,
    long loadFailures,
    long rejectedLoads,
    long noValueErrors,
    long size,
    long restoredFromSnapshot,
    Duration oldestStaleServed,
    @Nullable Instant lastStaleServedAt,
    long evictions) {}
