package dev.outlast.buffer;

import dev.outlast.buffer.spi.Delivery;
import dev.outlast.buffer.spi.Outcome;
import dev.outlast.buffer.spi.Sink;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Wraps a sink (declaring the batches in flight it declares) and records the most {@code deliver}
 * calls ever in flight at once: from the call until the stage it returned completes (a stage the
 * queue cancels completes then). Holds no lock, so it cannot hide two calls that overlap.
 *
 * <p>The queue gets a stage of the probe's own, completed only after the count went down: a
 * CompletableFuture wakes a thread waiting in {@code get} before it runs callbacks registered
 * earlier, so a count taken in a callback on the sink's stage would still be up when the queue's
 * next call starts, a second call in flight that is only the probe's (seen with a sink that
 * completes its stage on another thread). Cancelling the probe's stage cancels the sink's.
 */
final class InFlightProbe<E> implements Sink<E> {
  private final Sink<E> delegate;
  private final AtomicInteger inFlight = new AtomicInteger();
  private final AtomicInteger most = new AtomicInteger();
  final AtomicLong calls = new AtomicLong();

  InFlightProbe(Sink<E> delegate) {
    this.delegate = delegate;
  }

  int mostInFlight() {
    return most.get();
  }

  @Override
  public CompletionStage<List<Outcome>> deliver(List<Delivery<E>> batch) {
    calls.incrementAndGet();
    most.accumulateAndGet(inFlight.incrementAndGet(), Math::max);
    CompletableFuture<List<Outcome>> f;
    try {
      f = delegate.deliver(batch).toCompletableFuture();
    } catch (RuntimeException | Error e) {
      inFlight.decrementAndGet();
      throw e;
    }
    CompletableFuture<List<Outcome>> seen =
        new CompletableFuture<>() {
          @Override
          public boolean cancel(boolean mayInterruptIfRunning) {
            f.cancel(mayInterruptIfRunning); // the sink's callback below counts the call as ended
            return super.cancel(mayInterruptIfRunning);
          }
        };
    CompletableFuture<List<Outcome>> unused =
        f.whenComplete(
            (v, t) -> {
              inFlight.decrementAndGet();
              if (t != null) {
                seen.completeExceptionally(t);
              } else {
                seen.complete(v);
              }
            });
    return seen;
  }

  @Override
  public int maxBatchesInFlight() {
    return delegate.maxBatchesInFlight();
  }

  @Override
  public String name() {
    return delegate.name();
  }
}
