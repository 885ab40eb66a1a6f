package dev.outlast.cache;

import java.util.Set;

/**
 * A cached value with its absolute deadlines, computed once when it is loaded so that a read
 * compares the clock with one number. Immutable: a refreshed value is a new entry, so a stale value
 * can never be stored back as fresh.
 */
final class Entry<V> {
  final V value;
  final long loadedAt;

  /** Reads after this start a background refresh while the value is still fresh. */
  final long refreshAt;

  final long freshUntil;
  final long staleUntil;
  final long usableUntil;
  final boolean absent;
  final Set<String> tags;

  Entry(
      V value,
      long loadedAt,
      Freshness freshness,
      double refreshAhead,
      boolean absent,
      Set<String> tags) {
    this.value = value;
    this.loadedAt = loadedAt;
    long fresh = freshness.freshFor().toMillis();
    this.refreshAt = loadedAt + (long) (fresh * refreshAhead);
    this.freshUntil = loadedAt + fresh;
    this.staleUntil = freshUntil + freshness.staleWhileRevalidate().toMillis();
    this.usableUntil = loadedAt + freshness.serveStaleFor().toMillis();
    this.absent = absent;
    this.tags = tags;
  }
}
