package dev.outlast.testkit;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicIntegerArray;
import java.util.concurrent.locks.LockSupport;
import org.jspecify.annotations.Nullable;

/**
 * A crowd of callers for tests that break a server under load: each of {@code threads} threads
 * makes one call after another (a few milliseconds apart) until {@link #stop}, and every call is
 * timed on the monotonic clock, so that a test can say how long the slowest caller was held, and
 * which calls were in flight when the server froze.
 *
 * <p>This class is threadsafe.
 */
public final class Callers {
  private static final long PAUSE_NANOS = TimeUnit.MILLISECONDS.toNanos(5);

  /** One call of caller {@code thread} (from 0); what it throws is recorded, not rethrown. */
  @FunctionalInterface
  public interface Call {
    /**
     * Makes the call.
     *
     * @param thread which caller makes it, from 0
     * @throws Exception any failure, recorded as the call's outcome
     */
    void run(int thread) throws Exception;
  }

  /**
   * One call's timing and outcome.
   *
   * @param thread which caller made it
   * @param startNanos when it started, {@link System#nanoTime()}
   * @param nanos how long it took
   * @param failure what it threw, or null if it returned
   */
  public record Timing(int thread, long startNanos, long nanos, @Nullable Throwable failure) {
    /** {@return how long the call took} */
    public Duration duration() {
      return Duration.ofNanos(nanos);
    }

    /**
     * Whether the call was running at a moment: for "which calls were in flight when the server
     * froze".
     *
     * @param nanoTime the moment, a {@link System#nanoTime()} reading of this JVM
     * @return whether the call had started and not yet ended then (both ends included)
     */
    public boolean spans(long nanoTime) {
      return startNanos <= nanoTime && nanoTime <= startNanos + nanos;
    }

    @Override
    public String toString() {
      return "caller "
          + thread
          + ": "
          + TimeUnit.NANOSECONDS.toMillis(nanos)
          + " ms, "
          + (failure == null ? "ok" : failure.toString());
    }
  }

  private final Call call;
  private final List<Thread> threads = new ArrayList<>();
  private final ConcurrentLinkedQueue<Timing> timings = new ConcurrentLinkedQueue<>();
  private final AtomicIntegerArray successes;
  private volatile boolean stopping;

  private Callers(String name, int count, Call call) {
    this.call = call;
    this.successes = new AtomicIntegerArray(count);
    for (int i = 0; i < count; i++) {
      int index = i;
      threads.add(new Thread(() -> run(index), name + "-" + i));
    }
  }

  /**
   * Starts the callers.
   *
   * @param name the threads' name prefix
   * @param count how many callers, at least 1
   * @param call what each of them calls, again and again, about 5 ms apart
   * @return the running crowd; {@link #stop} it
   * @throws IllegalArgumentException if count is below 1
   */
  public static Callers start(String name, int count, Call call) {
    Objects.requireNonNull(name, "name");
    Objects.requireNonNull(call, "call");
    if (count < 1) {
      throw new IllegalArgumentException("count must be at least 1, was " + count);
    }
    Callers c = new Callers(name, count, call);
    c.threads.forEach(Thread::start);
    return c;
  }

  private void run(int index) {
    while (!stopping) {
      long t0 = System.nanoTime();
      Throwable failure = null;
      try {
        call.run(index);
      } catch (Exception | Error e) { // an error in a call is its outcome, as is any failure
        failure = e;
      }
      timings.add(new Timing(index, t0, System.nanoTime() - t0, failure));
      if (failure == null) {
        successes.incrementAndGet(index);
      }
      LockSupport.parkNanos(PAUSE_NANOS);
    }
  }

  /**
   * Waits until every caller has had a call succeed: the crowd is warm.
   *
   * @param within how long to wait at most
   * @throws AssertionError if one has not within the time, with the last failures
   * @throws InterruptedException if interrupted
   */
  public void awaitEverySucceeded(Duration within) throws InterruptedException {
    long deadline = System.nanoTime() + within.toNanos();
    while (true) {
      boolean all = true;
      for (int i = 0; i < successes.length(); i++) {
        all &= successes.get(i) > 0;
      }
      if (all) {
        return;
      }
      if (System.nanoTime() > deadline) {
        throw new AssertionError(
            "not every caller had a call succeed within " + within + "; recent: " + recent());
      }
      Thread.sleep(10);
    }
  }

  private List<Timing> recent() {
    List<Timing> all = new ArrayList<>(timings);
    return all.subList(Math.max(0, all.size() - 5), all.size());
  }

  /**
   * Lets each caller finish its call and stop, and waits for them.
   *
   * @param within how long to wait for all of them together
   * @return every call made, in the order they ended
   * @throws AssertionError if a caller is still in a call after {@code within}
   * @throws InterruptedException if interrupted
   */
  public List<Timing> stop(Duration within) throws InterruptedException {
    stopping = true;
    long deadline = System.nanoTime() + within.toNanos();
    for (Thread t : threads) {
      long left = deadline - System.nanoTime();
      if (left > 0) {
        TimeUnit.NANOSECONDS.timedJoin(t, left);
      }
      if (t.isAlive()) {
        throw new AssertionError(
            t.getName() + " is still in a call " + within + " after it was asked to stop");
      }
    }
    return List.copyOf(timings);
  }

  /**
   * The slowest of these calls: how long the worst-held caller was held.
   *
   * @param timings calls, as {@link #stop} returned them or a part of them
   * @return the call that took longest
   * @throws AssertionError if there are none
   */
  public static Timing slowest(List<Timing> timings) {
    return timings.stream()
        .max(Comparator.comparingLong(Timing::nanos))
        .orElseThrow(() -> new AssertionError("no calls were made"));
  }
}
