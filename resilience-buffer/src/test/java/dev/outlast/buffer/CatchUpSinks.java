package dev.outlast.buffer;

import dev.outlast.buffer.spi.Delivery;
import dev.outlast.buffer.spi.Outcome;
import dev.outlast.buffer.spi.Sink;
import java.io.IOException;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.CountDownLatch;

/**
 * Sinks for the catch-up harnesses of the sink modules: one that is down (the outage, while a
 * backlog builds up), and one that holds the first delivery until a latch opens (the moment the
 * server is back, when the clock starts).
 */
public final class CatchUpSinks {
  private CatchUpSinks() {}

  /** {@return a sink whose every call fails, as during an outage} */
  public static <E> Sink<E> down() {
    return batch -> CompletableFuture.failedFuture(new IOException("down"));
  }

  /**
   * The sink, once the latch is open: the first delivery waits for it. It takes as many batches in
   * flight as the sink does.
   *
   * @param sink the real sink
   * @param open opened when the sink is back
   * @return the gated sink
   */
  public static <E> Sink<E> gated(Sink<E> sink, CountDownLatch open) {
    return new Sink<>() {
      @Override
      public CompletionStage<List<Outcome>> deliver(List<Delivery<E>> batch) {
        try {
          open.await();
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          return CompletableFuture.failedFuture(e);
        }
        return sink.deliver(batch);
      }

      @Override
      public int maxBatchesInFlight() {
        return sink.maxBatchesInFlight();
      }
    };
  }
}
