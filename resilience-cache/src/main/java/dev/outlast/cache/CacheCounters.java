package dev.outlast.cache;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.LongAdder;
import org.jspecify.annotations.Nullable;

/**
 * What a cache counts, for {@link QueryCache#stats()} and its health.
 *
 * <p>Threadsafe. Readers on the hit path only increment striped counters ({@link LongAdder}); the
 * oldest stale age is sampled at most once per {@link #SAMPLE_EVERY_NANOS} by whichever reader
 * serves a stale value then, under this object's lock, so that a stale hit costs about what a fresh
 * one does. Stats and health read under the same lock.
 *
 * <p>The oldest stale age describes a recent window, not the cache's lifetime: ages are kept in six
 * buckets of ten seconds on the monotonic ticker, and {@link #oldestStaleServed} is the greatest of
 * the buckets of the last minute.
 */
final class CacheCounters {
  static final long SAMPLE_EVERY_NANOS = TimeUnit.MILLISECONDS.toNanos(100);
  private static final long BUCKET_NANOS = TimeUnit.SECONDS.toNanos(10);
  private static final int BUCKETS = 6;

  /** How long after the last stale answer the cache counts as working around an outage. */
  static final long RECENT_STALE_NANOS = TimeUnit.MINUTES.toNanos(1);

  final LongAdder freshHits = new LongAdder();
  final LongAdder staleHits = new LongAdder();
  final LongAdder loadedAnswers = new LongAdder();
  final LongAdder loadsOk = new LongAdder();
  final LongAdder loadFailures = new LongAdder();
  final LongAdder rejectedLoads = new LongAdder();
  final LongAdder noValueErrors = new LongAdder();

  private final long origin;

  /** The ticker reading of the last sample; volatile so that the stale path can skip the lock. */
  private volatile long lastSampleAt;

  // Guarded by this.
  private final long[] bucketIndex = new long[BUCKETS];
  private final long[] bucketOldest = new long[BUCKETS];
  private boolean staleEver;
  private long lastStaleAt;
  private long lastStaleWallMillis;
  private boolean recovered;
  private long recoveredAt;

  /** When a call last ended with no value to serve; only read and written on failing paths. */
  private boolean noValueEver;

  private long lastNoValueAt;

  CacheCounters(long now) {
    this.origin = now;
    this.lastSampleAt = now - 2 * SAMPLE_EVERY_NANOS;
    java.util.Arrays.fill(bucketIndex, Long.MIN_VALUE);
  }

  /** Counts a stale answer of this age; samples the age now and then. */
  void staleServed(long now, long ageNanos, Clock wall) {
    staleHits.increment();
    if (now - lastSampleAt >= SAMPLE_EVERY_NANOS) {
      sample(now, ageNanos, wall);
    }
  }

  private synchronized void sample(long now, long ageNanos, Clock wall) {
    lastSampleAt = now;
    staleEver = true;
    lastStaleAt = now;
    lastStaleWallMillis = wall.millis();
    long index = Math.floorDiv(now - origin, BUCKET_NANOS);
    int slot = (int) Math.floorMod(index, (long) BUCKETS);
    if (bucketIndex[slot] != index) {
      bucketIndex[slot] = index;
      bucketOldest[slot] = 0;
    }
    bucketOldest[slot] = Math.max(bucketOldest[slot], ageNanos);
  }

  /** The greatest stale age served within about the last minute; zero if none. */
  synchronized Duration oldestStaleServed(long now) {
    long current = Math.floorDiv(now - origin, BUCKET_NANOS);
    long oldest = 0;
    for (int i = 0; i < BUCKETS; i++) {
      if (bucketIndex[i] > current - BUCKETS && bucketIndex[i] <= current) {
        oldest = Math.max(oldest, bucketOldest[i]);
      }
    }
    return Duration.ofNanos(oldest).truncatedTo(java.time.temporal.ChronoUnit.MILLIS);
  }

  /**
   * Whether a stale value was served within the last minute, and after the database last recovered:
   * an outage that is over no longer makes the cache DEGRADED.
   */
  synchronized boolean staleRecently(long now) {
    return staleEver
        && now - lastStaleAt < RECENT_STALE_NANOS
        && (!recovered || lastStaleAt - recoveredAt > 0);
  }

  /** Counts a call that ended with no value to serve. */
  void noValue(long now) {
    noValueErrors.increment();
    synchronized (this) {
      noValueEver = true;
      lastNoValueAt = now;
    }
  }

  /**
   * Whether a call ended with no value to serve within the last minute, and after the database last
   * recovered: with no stale answer in that time either, the cache cannot answer at all.
   */
  synchronized boolean noValueRecently(long now) {
    return noValueEver
        && now - lastNoValueAt < RECENT_STALE_NANOS
        && (!recovered || lastNoValueAt - recoveredAt > 0);
  }

  /** The database is back (its guard closed). */
  synchronized void dependencyRecovered(long now) {
    recovered = true;
    recoveredAt = now;
  }

  /** When (wall clock) a stale value was last served, or null if never. */
  synchronized @Nullable Instant lastStaleServedAt() {
    return staleEver ? Instant.ofEpochMilli(lastStaleWallMillis) : null;
  }

  CacheStats snapshot(long now, long size, long restored, long evictions) {
    return new CacheStats(
        freshHits.sum(),
        staleHits.sum(),
        loadedAnswers.sum(),
        loadsOk.sum(),
        loadFailures.sum(),
        rejectedLoads.sum(),
        noValueErrors.sum(),
        size,
        restored,
        oldestStaleServed(now),
        lastStaleServedAt(),
        evictions);
  }
}
