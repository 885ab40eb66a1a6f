package dev.outlast.testkit;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.Objects;

/**
 * A clock that moves only when a test moves it, for code that takes a {@link Clock} (Outlast's
 * guards and caches do), so that tests about time never sleep. It is two clocks in one, as a
 * machine has: the wall clock ({@link #instant()}) and a monotonic one ({@link #nanos()}, to pass
 * as a ticker: {@code clock::nanos}). {@link #advance} moves both, as time passing does; {@link
 * #step} and {@link #set} move only the wall clock, as an administrator or NTP setting the time
 * does.
 *
 * <p>Threadsafe: any thread may read it while the test advances it.
 */
public final class ManualClock extends Clock {
  private volatile Instant now;
  private volatile long nanos = 1_000_000_000L;

  /** A clock at 2026-11-21T12:00:00Z. */
  public ManualClock() {
    this(Instant.parse("2026-11-21T12:00:00Z"));
  }

  /**
   * A clock at the given instant.
   *
   * @param start the wall clock's first reading; the monotonic reading starts at 1 s
   */
  public ManualClock(Instant start) {
    this.now = Objects.requireNonNull(start, "start");
  }

  /**
   * Lets time pass: moves the wall clock and the monotonic reading forward. A negative duration
   * moves the wall clock back and leaves the monotonic reading where it is (it never goes back).
   *
   * @param d how much time passes
   */
  public void advance(Duration d) {
    Objects.requireNonNull(d, "d");
    synchronized (this) {
      now = now.plus(d);
      if (!d.isNegative()) {
        nanos += d.toNanos();
      }
    }
  }

  /**
   * Steps the wall clock only (forward or back), as setting the system time does.
   *
   * @param d how far to step; negative steps back
   */
  public void step(Duration d) {
    Objects.requireNonNull(d, "d");
    synchronized (this) {
      now = now.plus(d);
    }
  }

  /** {@return the monotonic reading, in nanoseconds: moved only by {@link #advance}, never back} */
  public long nanos() {
    return nanos;
  }

  /**
   * Sets the wall clock to an instant, as setting the system time does; the monotonic reading does
   * not move.
   *
   * @param instant the wall clock's new reading
   */
  public void set(Instant instant) {
    Objects.requireNonNull(instant, "instant");
    // Under the lock advance and step take: one of them in progress would otherwise put back the
    // reading it started from, plus its step, over this one.
    synchronized (this) {
      now = instant;
    }
  }

  @Override
  public ZoneId getZone() {
    return ZoneOffset.UTC;
  }

  @Override
  public Clock withZone(ZoneId zone) {
    return this;
  }

  @Override
  public Instant instant() {
    return now;
  }

  @Override
  public long millis() {
    return now.toEpochMilli();
  }

  @Override
  public String toString() {
    return "ManualClock[" + now + "]";
  }
}
