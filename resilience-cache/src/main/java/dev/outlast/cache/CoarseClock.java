package dev.outlast.cache;

import java.util.concurrent.locks.LockSupport;
import org.jspecify.annotations.Nullable;

/**
 * {@link System#nanoTime()} for the hit path of caches built with {@link
 * QueryCache.Builder#coarseHitClock(boolean)}, read from a field that one daemon thread updates
 * every millisecond. Reading {@code System.nanoTime()} costs tens of nanoseconds on the virtual
 * machines Outlast is measured on, more than the whole Caffeine lookup; this costs a volatile read.
 *
 * <p>The value lags the system's by about a millisecond (more if the machine is starved of CPU), so
 * a hit may take a value for up to that much younger than it is: a fresh value counts as fresh a
 * little longer (the refresh-ahead point sits well inside the fresh window), and a stale one,
 * served while the guard refuses loads, may be served up to that lag past its {@code
 * serveStaleFor}. Everything else (loads, the slow read path, ages reported outside the fresh
 * window, the snapshot) reads the ticker.
 *
 * <p>The thread runs only while at least one cache uses it; {@link #retain()} and {@link
 * #release()} count users under the class's lock. Threadsafe.
 */
final class CoarseClock {
  private static volatile long nanos = System.nanoTime();
  private static int users;
  private static @Nullable Thread ticker;

  private CoarseClock() {}

  /** {@link System#nanoTime()}, give or take a millisecond. */
  static long nanos() {
    return nanos;
  }

  static synchronized void retain() {
    if (users++ == 0) {
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

  /** Whether the thread runs; for tests. */
  static synchronized boolean running() {
    return ticker != null;
  }

  private static void tick() {
    Thread self = Thread.currentThread();
    while (!self.isInterrupted()) {
      nanos = System.nanoTime();
      LockSupport.parkNanos(1_000_000);
    }
  }
}
