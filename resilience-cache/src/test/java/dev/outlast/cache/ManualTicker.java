package dev.outlast.cache;

import dev.outlast.core.Ticker;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicLong;

/** A monotonic ticker that moves only when a test moves it, and only forward. Threadsafe. */
final class ManualTicker implements Ticker {
  private final AtomicLong nanos = new AtomicLong(1_000_000_000_000L);

  @Override
  public long read() {
    return nanos.get();
  }

  void advance(Duration d) {
    if (d.isNegative()) {
      throw new IllegalArgumentException("a monotonic ticker cannot go back: " + d);
    }
    nanos.addAndGet(d.toNanos());
  }
}
