package dev.outlast.cache;

import java.time.Duration;
import java.util.Objects;

/**
 * How long a cached value may be served, by its age (the time since it was loaded), after the HTTP
 * world's {@code max-age}, {@code stale-while-revalidate} and {@code stale-if-error} (RFC 5861):
 *
 * <ol>
 *   <li>younger than {@link #freshFor()}: served as it is ({@link Answer.State#FRESH});
 *   <li>then, for {@link #staleWhileRevalidate()} more: served at once while one background refresh
 *       runs ({@link Answer.State#STALE});
 *   <li>then, up to an age of {@link #serveStaleFor()}: a caller waits briefly for a fresh value
 *       and is served the stale one only if the database fails;
 *   <li>older than that: never served.
 * </ol>
 *
 * <p>Immutable and threadsafe.
 */
public final class Freshness {
  private final Duration freshFor;
  private final Duration staleWhileRevalidate;
  private final Duration serveStaleFor;

  private Freshness(Duration freshFor, Duration staleWhileRevalidate, Duration serveStaleFor) {
    this.freshFor = freshFor;
    this.staleWhileRevalidate = staleWhileRevalidate;
    this.serveStaleFor = serveStaleFor;
  }

  /**
   * A contract with all three windows.
   *
   * @param freshFor how long a value is served without asking the database; positive
   * @param staleWhileRevalidate how long after that it is served while it is refreshed; not
   *     negative, zero for none
   * @param serveStaleFor the greatest age at which a value may be served when the database fails;
   *     at least {@code freshFor + staleWhileRevalidate}
   * @return the contract
   * @throws IllegalArgumentException if {@code freshFor} is not positive, {@code
   *     staleWhileRevalidate} is negative, or {@code serveStaleFor} ends before {@code freshFor +
   *     staleWhileRevalidate}
   */
  public static Freshness of(
      Duration freshFor, Duration staleWhileRevalidate, Duration serveStaleFor) {
    Objects.requireNonNull(freshFor, "freshFor");
    Objects.requireNonNull(staleWhileRevalidate, "staleWhileRevalidate");
    Objects.requireNonNull(serveStaleFor, "serveStaleFor");
    if (freshFor.isNegative() || freshFor.isZero()) {
      throw new IllegalArgumentException("freshFor must be positive, was " + freshFor);
    }
    if (staleWhileRevalidate.isNegative()) {
      throw new IllegalArgumentException(
          "staleWhileRevalidate must not be negative, was " + staleWhileRevalidate);
    }
    if (serveStaleFor.compareTo(freshFor) < 0) {
      throw new IllegalArgumentException(
          "serveStaleFor ("
              + serveStaleFor
              + ") is shorter than freshFor ("
              + freshFor
              + "): a value would stop being servable while still fresh; make serveStaleFor at"
              + " least freshFor");
    }
    if (serveStaleFor.compareTo(freshFor.plus(staleWhileRevalidate)) < 0) {
      throw new IllegalArgumentException(
          "serveStaleFor ("
              + serveStaleFor
              + ") ends before freshFor + staleWhileRevalidate ("
              + freshFor.plus(staleWhileRevalidate)
              + "): shorten staleWhileRevalidate or lengthen serveStaleFor");
    }
    return new Freshness(freshFor, staleWhileRevalidate, serveStaleFor);
  }

  /**
   * A contract whose stale-while-revalidate window is as long as {@code freshFor}, or shorter if
   * {@code serveStaleFor} ends first.
   *
   * @param freshFor how long a value is served without asking the database; positive
   * @param serveStaleFor the greatest age at which a value may be served when the database fails;
   *     at least {@code freshFor}
   * @return the contract
   * @throws IllegalArgumentException if {@code freshFor} is not positive or {@code serveStaleFor}
   *     is shorter than it
   */
  public static Freshness of(Duration freshFor, Duration serveStaleFor) {
    Objects.requireNonNull(freshFor, "freshFor");
    Objects.requireNonNull(serveStaleFor, "serveStaleFor");
    Duration room = serveStaleFor.minus(freshFor);
    Duration swr = room.isNegative() ? Duration.ZERO : min(freshFor, room);
    return of(freshFor, swr, serveStaleFor);
  }

  /** {@return how long a value is served without asking the database} */
  public Duration freshFor() {
    return freshFor;
  }

  /**
   * {@return how long after {@link #freshFor()} a value is served at once while it is refreshed;
   * zero for no such window}
   */
  public Duration staleWhileRevalidate() {
    return staleWhileRevalidate;
  }

  /** {@return the greatest age at which a value may be served, when the database fails} */
  public Duration serveStaleFor() {
    return serveStaleFor;
  }

  private static Duration min(Duration a, Duration b) {
    return a.compareTo(b) <= 0 ? a : b;
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof Freshness f
        && freshFor.equals(f.freshFor)
        && staleWhileRevalidate.equals(f.staleWhileRevalidate)
        && serveStaleFor.equals(f.serveStaleFor);
  }

  @Override
  public int hashCode() {
    return Objects.hash(freshFor, staleWhileRevalidate, serveStaleFor);
  }

  @Override
  public String toString() {
    return "Freshness{fresh "
        + freshFor
        + ", stale-while-revalidate "
        + staleWhileRevalidate
        + ", stale-if-error up to "
        + serveStaleFor
        + "}";
  }
}
