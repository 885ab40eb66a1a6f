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
 * Wraps a sink and records the most {@code deliver} calls ever in flight at once: from the call
 * until the stage it returned completes (a stage the queue cancels completes then). Holds no lock,
 * so it cannot hide two calls that overlap.
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
    // Registered on the sink's own future, which is what the queue waits on and cancels.
    CompletableFuture<List<Outcome>> unused = f.whenComplete((v, t) -> inFlight.decrementAndGet());
    return f;
  }

  @Override
  public String name() {
    return delegate.name();
  }
}
