package dev.outlast.cache;

import java.time.Duration;
import java.time.Instant;

/**
 * A value from a {@link QueryCache} with what the caller may need to know about it: whether it is
 * fresh, stale (and how old), or was just loaded.
 *
 * <p>Immutable and threadsafe.
 *
 * @param <V> the value type
 */
public final class Answer<V> {
  /** Where the value came from. */
  public enum State {
    /** From the cache, younger than its {@link Freshness#freshFor()}. */
    FRESH,
    /**
     * From the cache, older than its {@code freshFor}: served while it is refreshed, or because the
     * database failed. Never stored back as fresh.
     */
    STALE,
    /** Just loaded from the database for this call. */
    LOADED
  }

  private final V value;
  private final State state;
  private final long loadedAtMillis;
  private final long ageMillis;

  Answer(V value, State state, long loadedAtMillis, long ageMillis) {
    this.value = value;
    this.state = state;
    this.loadedAtMillis = loadedAtMillis;
    this.ageMillis = Math.max(0, ageMillis);
  }

  /** {@return the value, as the loader returned it} */
  public V value() {
    return value;
  }

  /** {@return whether the value is fresh, stale or just loaded} */
  public State state() {
    return state;
  }

  /**
   * {@return how old the value is: the time since its query started, never negative; for a value
   * just loaded, about the time the query took}
   */
  public Duration age() {
    return Duration.ofMillis(ageMillis);
  }

  /**
   * {@return when the value was loaded from the database, by the cache's wall clock}
   *
   * <p>Kept across restarts by the snapshot.
   */
  public Instant loadedAt() {
    return Instant.ofEpochMilli(loadedAtMillis);
  }

  @Override
  public String toString() {
    return state + " (age " + age() + "): " + value;
  }
}
