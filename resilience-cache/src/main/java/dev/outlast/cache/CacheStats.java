package dev.outlast.cache;

import java.time.Duration;
import java.time.Instant;
import org.jspecify.annotations.Nullable;

/**
 * Counters of a {@link QueryCache} since it was built.
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
 * @param oldestStaleServed the greatest age of a stale value served since the cache was built
 * @param lastStaleServedAt when a stale value was last served, or null if never
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
    @Nullable Instant lastStaleServedAt) {}
