package dev.outlast.buffer.spi;

import java.util.List;
import java.util.concurrent.CompletionStage;

/**
 * Where a spill queue delivers events: a broker, a search cluster, a service.
 *
 * <p>The queue calls {@link #deliver} from one thread at a time, with batches in publish order, and
 * waits for the outcome before it sends the next batch; events that come back {@link Outcome#retry}
 * are sent again, in order, before anything newer. An exception thrown, a stage completed
 * exceptionally, or a stage that does not complete within the queue's delivery timeout counts as
 * {@code retry} for the whole batch.
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

  /** A name for logs and metrics: "pulsar", "elasticsearch". */
  default String name() {
    return getClass().getSimpleName();
  }
}
