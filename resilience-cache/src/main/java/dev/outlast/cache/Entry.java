package dev.outlast.cache;

import java.util.Set;

/**
 * A cached value, the time it was loaded, and the policy its deadlines come from. Immutable: a
 * refreshed value is a new entry, so a stale value can never be stored back as fresh.
 *
 * <p>The deadlines are offsets in a {@link Policy} shared by every entry with the same freshness,
 * so an entry costs its value, one long and two references (32 bytes with compressed oops); the
 * policy's fields stay in the CPU cache, so a read adds no memory access.
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

  /** Reads after this start a background refresh while the value is still fresh. */
  long refreshAt() {
    return loadedAt + policy.refreshAfter;
  }

  long freshUntil() {
    return loadedAt + policy.freshFor;
  }

  long staleUntil() {
    return loadedAt + policy.staleFor;
  }

  long usableUntil() {
    return loadedAt + policy.usableFor;
  }

  boolean absent() {
    return policy.absent;
  }

  /** A freshness contract turned into millisecond offsets from the load time. */
  static final class Policy {
    final long refreshAfter;
    final long freshFor;
    final long staleFor;
    final long usableFor;
    final boolean absent;
    private final Policy restored;

    Policy(Freshness freshness, double refreshAhead, boolean absent) {
      this.freshFor = freshness.freshFor().toMillis();
      this.refreshAfter = (long) (freshFor * refreshAhead);
      this.staleFor = freshFor + freshness.staleWhileRevalidate().toMillis();
      this.usableFor = freshness.serveStaleFor().toMillis();
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
  }
}
