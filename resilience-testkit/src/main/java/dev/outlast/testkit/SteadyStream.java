package dev.outlast.testkit;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;
import java.util.function.LongFunction;
import org.jspecify.annotations.Nullable;

/**
 * A steady stream of calls on a thread of its own, for tests that break a server under load: call n
 * (from 0) is {@code send.apply(n)}, with a pause of {@code pace} after each call (so a slow call
 * delays the next), until {@link #finish} is called and at least the asked number were made.
 * Records each call's result, each failure, and the slowest call.
 *
 * <p>{@link #failures()} and {@link #slowest()} may be read from any thread while it runs; the
 * results only come with {@link #finish}.
 *
 * @param <T> what a call returns
 */
public final class SteadyStream<T> {
  private final LongFunction<T> send;
  private final long paceNanos;
  private final Thread thread;
  private final List<T> results = new ArrayList<>(); // the stream's thread only, until joined
  private final ConcurrentLinkedQueue<Throwable> failures = new ConcurrentLinkedQueue<>();
  private final AtomicLong slowestNanos = new AtomicLong();
  private volatile long atLeast = Long.MAX_VALUE;
  private volatile @Nullable Error stoppedBy;

  private SteadyStream(String name, LongFunction<T> send, Duration pace) {
    this.send = Objects.requireNonNull(send, "send");
    this.paceNanos = Objects.requireNonNull(pace, "pace").toNanos();
    this.thread = new Thread(this::run, name);
  }

  /**
   * Starts a stream.
   *
   * @param name the stream's thread's name
   * @param send makes call n, from 0; what it returns is kept, a {@link RuntimeException} it throws
   *     is recorded as a failure, an {@link Error} (a failed assertion) stops the stream and is
   *     thrown again by {@link #finish}
   * @param pace the pause after each call
   * @param <T> what a call returns
   * @return the running stream; {@link #finish} it
   */
  public static <T> SteadyStream<T> start(String name, LongFunction<T> send, Duration pace) {
    SteadyStream<T> s = new SteadyStream<>(name, send, pace);
    s.thread.start();
    return s;
  }

  private void run() {
    for (long n = 0; n < atLeast; n++) {
      long t0 = System.nanoTime();
      try {
        results.add(send.apply(n));
      } catch (RuntimeException e) {
        failures.add(e);
      } catch (Error e) {
        // Not a failure of the server under test: the test's own check, or the JVM. The stream
        // cannot make its calls any more; finish says so instead of returning fewer results.
        failures.add(e);
        stoppedBy = e;
        return;
      }
      slowestNanos.accumulateAndGet(System.nanoTime() - t0, Math::max);
      LockSupport.parkNanos(paceNanos);
    }
  }

  /**
   * Lets the stream end once it has made at least this many calls, and waits for it.
   *
   * @param calls the fewest calls to make in all; more may have been made already
   * @return what the calls that succeeded returned, in order
   * @throws InterruptedException if interrupted while waiting; the stream goes on
   * @throws AssertionError if a call threw an {@code Error}, which stopped the stream (the error is
   *     its cause)
   */
  public List<T> finish(long calls) throws InterruptedException {
    atLeast = calls;
    thread.join();
    Error e = stoppedBy;
    if (e != null) {
      throw new AssertionError(
          "the stream stopped after " + results.size() + " results: a call threw " + e, e);
    }
    return List.copyOf(results);
  }

  /** {@return what the calls that threw so far threw, in order} */
  public List<Throwable> failures() {
    return List.copyOf(failures);
  }

  /** {@return how long the slowest call so far took; zero before the first ends} */
  public Duration slowest() {
    return Duration.ofNanos(slowestNanos.get());
  }
}
