package dev.outlast.cache;

import dev.outlast.core.DependencyUnavailableException;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import org.jspecify.annotations.Nullable;

/**
 * When a load may be tried again: per key after it failed (doubling, with jitter), and for every
 * key shortly after the guard refused one. Every deadline is a reading of the monotonic ticker, so
 * a wall clock set back an hour does not refuse loads for an hour, nor does one set forward end
 * every backoff at once. Deadlines are compared as differences ({@code now - deadline < 0}), which
 * stays right where the ticker's readings overflow.
 *
 * <p>Threadsafe: readers check, loader threads record failures, invalidating threads and the
 * maintenance sweep clear; per-key records are immutable and replaced through the concurrent map,
 * the guard cooldown is two volatile fields written together by whichever thread saw the refusal (a
 * reader may pair the new deadline with the previous refusal for a moment, which only changes the
 * message it throws).
 */
final class Backoffs<K> {
  /** After the guard refuses a load, reads stop asking it for this long. */
  static final long GUARD_COOLDOWN_NANOS = TimeUnit.MILLISECONDS.toNanos(100);

  private final long initial;
  private final long maximum;
  private final Map<K, Backoff> byKey = new ConcurrentHashMap<>();
  private volatile long guardRetryAt;
  private volatile @Nullable DependencyUnavailableException lastRefusal;

  Backoffs(Duration initial, Duration maximum, long now) {
    this.initial = Entry.Policy.nanos(initial);
    this.maximum = Entry.Policy.nanos(maximum);
    this.guardRetryAt = now;
  }

  /** A key's failed loads: the next attempt waits until {@code retryAt}. */
  record Backoff(int failures, long retryAt, Throwable failure, boolean infrastructure) {}

  /** The key's backoff if it is still running at {@code now}, else null. */
  @Nullable Backoff active(K key, long now) {
    Backoff b = byKey.get(key);
    return b != null && now - b.retryAt < 0 ? b : null;
  }

  /** Backs the key off after a failed load. */
  void failed(K key, Throwable failure, boolean infrastructure, long now) {
    byKey.compute(
        key,
        (k, old) -> {
          int failures = old == null ? 1 : old.failures + 1;
          double nominal =
              Math.min((double) maximum, initial * Math.pow(2, Math.min(failures - 1, 30)));
          // 50% to 150% of the nominal wait, so that keys and pods do not retry in lockstep.
          long wait = Math.round(nominal * (0.5 + ThreadLocalRandom.current().nextDouble()));
          return new Backoff(failures, now + wait, failure, infrastructure);
        });
  }

  /** The key's data changed, or it loaded: a failure before says nothing about the next load. */
  void clear(K key) {
    byKey.remove(key);
  }

  void clearAll() {
    byKey.clear();
  }

  /**
   * The guard closed: backoffs that an outage caused end now, and so does the cooldown after a
   * refusal; backoffs of queries that failed on their own (a syntax error) stay.
   */
  void dependencyRecovered(long now) {
    byKey.values().removeIf(Backoff::infrastructure);
    guardRetryAt = now;
  }

  /** Whether the guard refused a load less than the cooldown ago. */
  boolean guardCoolingDown(long now) {
    return now - guardRetryAt < 0;
  }

  /** The guard's last refusal, if it is still cooling down at {@code now}. */
  @Nullable DependencyUnavailableException refusal(long now) {
    return guardCoolingDown(now) ? lastRefusal : null;
  }

  /** Records that the guard refused a load: reads leave it alone for a moment. */
  DependencyUnavailableException guardRefused(DependencyUnavailableException refusal, long now) {
    lastRefusal = refusal;
    guardRetryAt = now + GUARD_COOLDOWN_NANOS;
    return refusal;
  }

  /** Forgets backoffs that ended longer ago than the longest backoff. */
  void sweep(long now) {
    byKey.values().removeIf(b -> now - b.retryAt >= maximum);
  }

  /** How many keys are backed off or remembered; for tests. */
  int size() {
    return byKey.size();
  }
}
