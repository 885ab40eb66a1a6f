package dev.outlast.buffer.spi;

import java.util.List;
import java.util.concurrent.CompletionStage;

/**
 * Where a spill queue delivers events: a broker, a search cluster, a service.
 *
 * <p>The queue calls {@link #deliver} from one thread, its delivery lane, with batches in sequence
 * order, in both modes and however many threads publish, and waits for the outcome before it sends
 * the next batch; events that come back {@link Outcome#retry} are sent again, in order, before
 * anything newer. So a sink needs no locking of its own, and a sink that deduplicates by sequence
 * number never sees a lower number after a higher one unless it is a repeat, provided it answers
 * retry for every event after the first one it could not take (as an ordered producer does).
 *
 * <p>An exception or {@code Error} thrown, a null stage, a stage completed exceptionally, the wrong
 * number of outcomes, or a stage that does not complete within the guard's call timeout counts as
 * {@code retry} for the whole batch. A stage that times out is cancelled ({@code cancel(true)}): a
 * sink whose stage can abort its request should do so then; the batch is sent again, under the same
 * ids, only after that.
 *
 * <p>Every delivery carries a stable {@link EventId}: a sink that can deduplicate by it (an
 * Elasticsearch {@code _id}, a Pulsar producer name and sequence id, Kafka's idempotent producer)
 * turns the queue's at-least-once delivery into effectively-once.
 *
 * @param <E> the event type
 */
public interface Sink<E> {
  /**
   * Delivers a batch.
   *
   * @param batch one or more events, in publish order; the list and its deliveries must not be kept
   *     after the stage completes
   * @return one outcome per delivery, in the same order
   */
  CompletionStage<List<Outcome>> deliver(List<Delivery<E>> batch);

  /**
   * {@return a name for logs and metrics: "pulsar", "elasticsearch"; by default the class's simple
   * name}
   */
  default String name() {
    return getClass().getSimpleName();
  }
}
