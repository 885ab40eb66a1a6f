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
 * sent again only by a later call, never beside this one, because the lane makes one call at a
 * time.
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

  /** Delivers a batch under a permit, reporting the call's outcome on the permit. */
  Result call(List<Delivery<E>> batch, Guard.Permit permit) {
    long start = System.nanoTime();
    List<Outcome> outcomes;
    try {
      outcomes = invoke(batch);
    } catch (Throwable t) {
      // Every failure of the call counts against the sink; a timeout is reported as one.
      long elapsed =
          report(
              permit, start, t instanceof TimeoutException ? t : new IOException(t.toString(), t));
      if (notifier.active()) {
        notifier.publish(
            new DeliveryObserver.SinkCall(batch.size(), 0, 0, batch.size(), true, elapsed, -1));
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
            permit,
            start,
            retries == outcomes.size()
                ? new IOException("sink asked to retry: " + DeliveryLane.clean(reason))
                : null);
    if (notifier.active()) {
      notifier.publish(summary(batch, outcomes, retries, elapsed));
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

  private List<Outcome> invoke(List<Delivery<E>> batch) throws Throwable {
    CompletionStage<List<Outcome>> stage = sink.deliver(batch);
    if (stage == null) {
      throw new IllegalStateException("sink " + sinkName() + " returned no stage");
    }
    CompletableFuture<List<Outcome>> future = toFuture(stage);
    List<Outcome> outcomes;
    try {
      outcomes = future.get(timeoutNanos, TimeUnit.NANOSECONDS);
    } catch (TimeoutException e) {
      future.cancel(true);
      throw new TimeoutException(
          "sink " + sinkName() + " did not answer within " + timeout + "; the call was cancelled");
    } catch (ExecutionException e) {
      throw e.getCause() == null ? e : e.getCause();
    } catch (InterruptedException e) {
      // Nobody interrupts the lane; if something did, the flag is cleared here so that the lane's
      // next waits still wait, and the batch is sent again.
      future.cancel(true);
      throw new IOException("interrupted while waiting for sink " + sinkName(), e);
    }
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
