package dev.outlast.core;

/**
 * A monotonic time source, in nanoseconds, for every deadline, backoff, timeout and open wait: it
 * never steps when the wall clock is set, so a clock that jumps an hour back or forth does not make
 * a breaker wait an hour or a backoff end at once. The wall {@link java.time.Clock} is kept for
 * timestamps that must outlive the process (the age of a cached value, when a state began).
 *
 * <p>Tests inject their own to move time without sleeping. Implementations must be threadsafe.
 */
@FunctionalInterface
public interface Ticker {

  /**
   * {@return nanoseconds since an arbitrary origin, which may be negative} Only differences between
   * two readings mean anything.
   */
  long read();

  /** {@return the system's monotonic clock, {@link System#nanoTime()}; one shared instance} */
  static Ticker system() {
    return SystemTicker.INSTANCE;
  }
}

/** The system's monotonic clock; an enum so that it is one instance, comparable by identity. */
enum SystemTicker implements Ticker {
  INSTANCE;

  @Override
  public long read() {
    return System.nanoTime();
  }
}
