package dev.outlast.cache;

import java.util.concurrent.locks.LockSupport;
import org.jspecify.annotations.Nullable;

/**
 * Wall-clock milliseconds for the fresh-hit path, read from a field that one daemon thread updates
 * every millisecond. Reading {@code System.currentTimeMillis()} costs about 24 ns on the machines
 * Outlast is measured on, as much as the whole Caffeine lookup; this costs a volatile read.
 *
 * <p>The value lags the system clock by about a millisecond (more if the machine is starved of
 * CPU). Hit paths use it: a fresh value counts as fresh a little longer (the refresh-ahead point
 * sits well inside the fresh window), and a stale one, served while the guard refuses loads, may be
 * served up to that lag past its {@code serveStaleFor}. Loads, the slow read path, ages reported by
 * {@code lookup} outside the fresh window, and the snapshot use the precise clock.
 *
 * <p>The thread runs only while at least one cache uses it.
 */
final class CoarseClock {
  private static volatile long now = System.currentTimeMillis();
  private static volatile long nanos = System.nanoTime();
  private static int users;
  private static @Nullable Thread ticker;

  private CoarseClock() {}

  /** The current time in milliseconds, give or take one. */
  static long millis() {
    return now;
  }

  /** {@link System#nanoTime()}, give or take a millisecond. */
  static long nanos() {
    return nanos;
  }

  static synchronized void retain() {
    if (users++ == 0) {
      now = System.currentTimeMillis();
      nanos = System.nanoTime();
      Thread t = new Thread(CoarseClock::tick, "outlast-coarse-clock");
      t.setDaemon(true);
      ticker = t;
      t.start();
    }
  }

  static synchronized void release() {
    if (users > 0 && --users == 0) {
      Thread t = ticker;
      ticker = null;
      if (t != null) {
        t.interrupt();
      }
    }
  }

  private static void tick() {
    Thread self = Thread.currentThread();
    while (!self.isInterrupted()) {
      now = System.currentTimeMillis();
      nanos = System.nanoTime();
      LockSupport.parkNanos(1_000_000);
    }
  }
}
