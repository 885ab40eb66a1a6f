package dev.outlast.buffer;

import dev.outlast.buffer.spi.Delivery;
import dev.outlast.buffer.spi.Outcome;
import dev.outlast.buffer.spi.Sink;
import dev.outlast.core.Guard;
import java.io.IOException;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.jspecify.annotations.Nullable;

/**
 * One bounded call into the sink: whatever the sink does (throws an {@code Error}, returns null,
 * never completes, answers with the wrong number of outcomes), the call ends within the time limit
 * with outcomes or a failure, and the guard's permit gets exactly one report.
 *
 * <p>A stage that does not complete in time is cancelled ({@code cancel(true)}), so that a sink
 * whose future aborts its request (the JDK's HTTP client, for one) stops sending; the batch is then
 * sent again only by a later call, never beside this one: after a failure the lane waits until
 * every call it has in flight is finished before it sends anything again.
 *
 * <p>Two ways to call: {@link #call} waits for the answer (direct delivery, one call at a time);
 * {@link #start} and {@link #finish} let the lane keep several calls in flight (draining the
 * journal into a sink that takes several batches). Either way each call is reported once.
 *
 * <p>Threading: used by the delivery lane's thread only.
 */
final class SinkCaller<E> {
  private final Sink<E> sink;
  private final long timeoutNanos;
  private final Duration timeout;
  private final Clock clock;
  private final DeliveryNotifier notifier;

  /** Outcomes, one per delivery in order; or why there are none (then the whole batch retries). */
  record Result(@Nullable List<Outcome> outcomes, @Nullable Throwable failure) {
    boolean failed() {
      return outcomes == null;
    }
  }

  /**
   * @param clock the wall clock of publish times, for the delivery latency observers are told
   * @param notifier where each call is reported, if anyone observes
   */
  SinkCaller(Sink<E> sink, Duration timeout, Clock clock, DeliveryNotifier notifier) {
    this.sink = sink;
    this.timeout = timeout;
    this.timeoutNanos = timeout.toNanos();
    this.clock = clock;
    this.notifier = notifier;
  }

  String sinkName() {
    try {
      return String.valueOf(sink.name());
    } catch (RuntimeException e) {
      return sink.getClass().getName();
    }
  }

  /**
   * A call handed to the sink and not yet finished: its stage (or why there is none), when it
   * began, and the permit it reports on. Touched by the lane's thread only; the stage completes on
   * whatever thread the sink completes it.
   */
  static final class InFlight<E> {
    final List<Delivery<E>> batch;
    final Guard.Permit permit;
    final long startNanos;
    final long deadlineNanos;
    private final @Nullable CompletableFuture<List<Outcome>> future;
    private final @Nullable Throwable startFailure;
    private boolean interrupted;

    private InFlight(
        List<Delivery<E>> batch,
        Guard.Permit permit,
        long startNanos,
        long deadlineNanos,
        @Nullable CompletableFuture<List<Outcome>> future,
        @Nullable Throwable startFailure) {
      this.batch = batch;
      this.permit = permit;
      this.startNanos = startNanos;
      this.deadlineNanos = deadlineNanos;
      this.future = future;
      this.startFailure = startFailure;
    }

    /** Whether the sink has answered (or failed to start the call): finish it without waiting. */
    boolean answered() {
      CompletableFuture<List<Outcome>> f = future;
      return f == null || f.isDone();
    }

    /** Whether its time is up: finishing it now cancels the stage. */
    boolean overdue(long now) {
      return now - deadlineNanos >= 0;
    }
  }

  /**
   * Delivers a batch under a permit and waits for it, reporting the call's outcome on the permit.
   */
  Result call(List<Delivery<E>> batch, Guard.Permit permit) {
    InFlight<E> c = start(batch, permit, null);
    CompletableFuture<List<Outcome>> f = c.future;
    if (f != null) {
      try {
        f.get(Math.max(0, c.deadlineNanos - System.nanoTime()), TimeUnit.NANOSECONDS);
      } catch (InterruptedException e) {
        // Nobody interrupts the lane; if something did, the flag is cleared here so that the
        // lane's next waits still wait, and the batch is sent again.
        c.interrupted = true;
      } catch (ExecutionException
          | TimeoutException
          | java.util.concurrent.CancellationException e) {
        // finish() reads the stage again and says what became of it.
      }
    }
    return finish(c);
  }

  /**
   * Hands a batch to the sink without waiting for the answer. Whatever {@code deliver} throws or
   * returns, the call is in flight afterwards, to be ended by {@link #finish} exactly once.
   *
   * @param answered run (on the sink's thread) when the stage completes; may be null
   */
  InFlight<E> start(List<Delivery<E>> batch, Guard.Permit permit, @Nullable Runnable answered) {
    long start = System.nanoTime();
    CompletableFuture<List<Outcome>> future = null;
    Throwable failure = null;
    try {
      CompletionStage<List<Outcome>> stage = sink.deliver(batch);
      if (stage == null) {
        throw new IllegalStateException("sink " + sinkName() + " returned no stage");
      }
      future = toFuture(stage);
    } catch (Throwable t) {
      failure = t;
    }
    if (future != null && answered != null) {
      var unused = future.whenComplete((v, t) -> answered.run());
    }
    return new InFlight<>(batch, permit, start, start + timeoutNanos, future, failure);
  }

  /**
   * Ends a call: reads the sink's answer if there is one, else (its time is up) cancels the stage;
   * reports on the permit and to observers.
   */
  Result finish(InFlight<E> c) {
    List<Outcome> outcomes;
    try {
      outcomes = outcomes(c);
    } catch (Throwable t) {
      // Every failure of the call counts against the sink; a timeout is reported as one.
      long elapsed =
          report(
              c.permit,
              c.startNanos,
              t instanceof TimeoutException ? t : new IOException(t.toString(), t));
      if (notifier.active()) {
        notifier.publish(
            new DeliveryObserver.SinkCall(c.batch.size(), 0, 0, c.batch.size(), true, elapsed, -1));
      }
      return new Result(null, t);
    }
    int retries = 0;
    String reason = "";
    for (Outcome o : outcomes) {
      if (o.kind() == Outcome.Kind.RETRY) {
        retries++;
        reason = o.reason();
      }
    }
    long elapsed =
        report(
            c.permit,
            c.startNanos,
            retries == outcomes.size()
                ? new IOException("sink asked to retry: " + DeliveryLane.clean(reason))
                : null);
    if (notifier.active()) {
      notifier.publish(summary(c.batch, outcomes, retries, elapsed));
    }
    return new Result(outcomes, null);
  }

  /** What observers are told of a call the sink answered. */
  private DeliveryObserver.SinkCall summary(
      List<Delivery<E>> batch, List<Outcome> outcomes, int retries, long elapsed) {
    int delivered = 0;
    int rejected = 0;
    long oldest = Long.MAX_VALUE;
    for (int i = 0; i < outcomes.size(); i++) {
      switch (outcomes.get(i).kind()) {
        case OK -> {
          delivered++;
          oldest = Math.min(oldest, batch.get(i).publishedAtMillis());
        }
        case REJECT -> rejected++;
        case RETRY -> {}
      }
    }
    long age = delivered == 0 ? -1 : Math.max(0, clock.millis() - oldest);
    return new DeliveryObserver.SinkCall(
        batch.size(), delivered, rejected, retries, false, elapsed, age);
  }

  private List<Outcome> outcomes(InFlight<E> c) throws Throwable {
    Throwable failed = c.startFailure;
    if (failed != null) {
      throw failed;
    }
    CompletableFuture<List<Outcome>> future = java.util.Objects.requireNonNull(c.future);
    if (!future.isDone()) {
      future.cancel(true);
      if (c.interrupted) {
        throw new IOException("interrupted while waiting for sink " + sinkName());
      }
      throw new TimeoutException(
          "sink " + sinkName() + " did not answer within " + timeout + "; the call was cancelled");
    }
    List<Outcome> outcomes;
    try {
      outcomes = future.get();
    } catch (ExecutionException e) {
      throw e.getCause() == null ? e : e.getCause();
    }
    List<Delivery<E>> batch = c.batch;
    if (outcomes == null || outcomes.size() != batch.size()) {
      throw new IllegalStateException(
          "sink "
              + sinkName()
              + " returned "
              + (outcomes == null ? "null" : outcomes.size() + " outcomes")
              + " for "
              + batch.size()
              + " events");
    }
    for (Outcome o : outcomes) {
      if (o == null) {
        throw new IllegalStateException("sink " + sinkName() + " returned a null outcome");
      }
    }
    return outcomes;
  }

  private static <T> CompletableFuture<T> toFuture(CompletionStage<T> stage) {
    if (stage instanceof CompletableFuture<T> f) {
      return f;
    }
    try {
      return stage.toCompletableFuture();
    } catch (UnsupportedOperationException e) {
      CompletableFuture<T> f = new CompletableFuture<>();
      stage.whenComplete(
          (v, t) -> {
            if (t != null) {
              f.completeExceptionally(t);
            } else {
              f.complete(v);
            }
          });
      return f;
    }
  }

  /**
   * Reports success (failure null) or failure; a classifier that throws still frees the permit.
   *
   * @return how long the call took
   */
  private static long report(Guard.Permit permit, long start, @Nullable Throwable failure) {
    long elapsed = System.nanoTime() - start;
    try {
      if (failure == null) {
        permit.success(elapsed);
      } else {
        permit.failure(elapsed, failure);
      }
    } catch (Throwable t) {
      permit.release();
    }
    return elapsed;
  }
}
