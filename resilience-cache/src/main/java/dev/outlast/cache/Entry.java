package dev.outlast.cache;

import java.time.Duration;
import java.util.Set;

/**
 * A cached value, the moment it was loaded, and the policy its deadlines come from. Immutable: a
 * refreshed value is a new entry, so a stale value can never be stored back as fresh.
 *
 * <p>The load moment is a reading of the cache's monotonic {@link dev.outlast.core.Ticker}, not the
 * wall clock: ages are differences of two readings, so a wall clock set an hour back or forth
 * changes no age. The wall clock comes in only where an age must outlive the process (the snapshot
 * turns ages into wall-clock load times and back) and where a caller is told when a value was
 * loaded.
 *
 * <p>The deadlines are offsets in a {@link Policy} shared by every entry with the same freshness,
 * so an entry costs its value, one long and two references (32 bytes with compressed oops); the
 * policy's fields stay in the CPU cache, so a read adds no memory access. Compare ages ({@code now
 * - loadedAt}) with the offsets, never sums with the reading: tickers may start anywhere and
 * overflow.
 */
final class Entry<V> {
  final V value;
  final long loadedAt;
  final Policy policy;
  final Set<String> tags;

  Entry(V value, long loadedAt, Policy policy, Set<String> tags) {
    this.value = value;
    this.loadedAt = loadedAt;
    this.policy = policy;
    this.tags = tags;
  }

  /** Nanoseconds since the load, as of the ticker reading {@code now}. */
  long age(long now) {
    return now - loadedAt;
  }

  boolean absent() {
    return policy.absent;
  }

  /** A freshness contract turned into nanosecond offsets from the load. */
  static final class Policy {
    /** Reads after this start a background refresh while the value is still fresh. */
    final long refreshAfter;

    final long freshFor;
    final long staleFor;
    final long usableFor;
    final boolean absent;
    private final Policy restored;

    Policy(Freshness freshness, double refreshAhead, boolean absent) {
      this.freshFor = nanos(freshness.freshFor());
      this.refreshAfter = (long) (freshFor * refreshAhead);
      this.staleFor = saturatedAdd(freshFor, nanos(freshness.staleWhileRevalidate()));
      this.usableFor = nanos(freshness.serveStaleFor());
      this.absent = absent;
      this.restored = new Policy(this);
    }

    /**
     * The twin of a policy for entries restored from a snapshot: never fresh, see {@link
     * #restored}.
     */
    private Policy(Policy of) {
      this.freshFor = 0;
      this.refreshAfter = 0;
      this.staleFor = of.staleFor;
      this.usableFor = of.usableFor;
      this.absent = of.absent;
      this.restored = this;
    }

    /**
     * The policy for the same entry when it comes from a snapshot: served as stale from the start
     * and refreshed on its first read, however young it is, since invalidations made after the
     * snapshot was written were lost with the process.
     */
    Policy restored() {
      return restored;
    }

    /** A duration in nanoseconds; a contract of centuries means "for ever", not an overflow. */
    static long nanos(Duration d) {
      try {
        return d.toNanos();
      } catch (ArithmeticException tooLong) {
        return Long.MAX_VALUE;
      }
    }

    private static long saturatedAdd(long a, long b) {
      long sum = a + b;
      return sum < 0 ? Long.MAX_VALUE : sum;
    }
  }
}
