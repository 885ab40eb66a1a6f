package dev.outlast.cache;

import dev.outlast.core.Ticker;
import java.time.Clock;
import java.time.Instant;

/**
 * A ticker that follows a test's manual clock, for tests that move both together (ages and
 * deadlines as well as dates). Tests of a wall clock that steps on its own use a separate {@link
 * ManualTicker}.
 */
final class ClockTicker {
  private ClockTicker() {}

  /** Nanoseconds of the clock's instant; monotonic as long as the test only moves it forward. */
  static Ticker of(Clock clock) {
    return () -> {
      Instant now = clock.instant();
      return now.getEpochSecond() * 1_000_000_000L + now.getNano();
    };
  }
}
