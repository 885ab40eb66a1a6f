package dev.outlast.testkit;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.Objects;

/**
 * A clock that moves only when a test moves it, for code that takes a {@link Clock} (Outlast's
 * guards and caches do), so that tests about time never sleep.
 *
 * <p>Threadsafe: any thread may read it while the test advances it.
 */
public final class ManualClock extends Clock {
  private volatile Instant now;

  /** A clock at 2026-11-21T12:00:00Z. */
  public ManualClock() {
    this(Instant.parse("2026-11-21T12:00:00Z"));
  }

  /** A clock at the given instant. */
  public ManualClock(Instant start) {
    this.now = Objects.requireNonNull(start, "start");
  }

  /** Moves the clock forward (or back, with a negative duration). */
  public void advance(Duration d) {
    Objects.requireNonNull(d, "d");
    synchronized (this) {
      now = now.plus(d);
    }
  }

  /** Sets the clock to an instant. */
  public void set(Instant instant) {
    now = Objects.requireNonNull(instant, "instant");
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
