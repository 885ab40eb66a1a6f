package dev.outlast.buffer.spi;

import java.util.List;
import java.util.concurrent.CompletionStage;

/**
 * Where a spill queue delivers events: a broker, a search cluster, a service.
 *
 * <p>The queue calls {@link #deliver} from one thread, its delivery lane, with batches in sequence
 * order, in both modes and however many threads publish. By default it waits for the outcome of a
 * batch before it sends the next; a sink that declares {@link #maxBatchesInFlight()} above 1 gets
 * up to that many batches before the first is answered (see there for what the lane promises then).
 * Events that come back {@link Outcome#retry} are sent again, in order, before anything newer. So a
 * sink needs no locking of its own for one batch in flight, and a sink that deduplicates by
 * sequence number never sees a lower number after a higher one unless it is a repeat, provided it
 * answers retry for every event after the first one it could not take (as an ordered producer
 * does).
 *
 * <p>An exception or {@code Error} thrown, a null stage, a stage completed exceptionally, the wrong
 * number of outcomes, or a stage that does not complete within the guard's call timeout counts as
 * {@code retry} for the whole batch. A stage that times out is cancelled ({@code cancel(true)}): a
 * sink whose stage can abort its request should do so then; the batch is sent again, under the same
 * ids, only after that. A cancelled stage means "send nothing more of this batch": the queue has
 * given up on it and will resend its events itself, so a sink that sends a batch in parts (several
 * requests, a producer's queue) must not send the parts still waiting, or they could land after the
 * resend, out of order (a sink that orders by sequence id would then refuse or reorder them). Parts
 * already sent cannot be recalled; the resend repeats them under the same ids.
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
   * How many batches this sink takes in flight: the delivery lane hands over the next batch before
   * the earlier ones are answered, up to this many unanswered, while it drains its journal. 1 by
   * default: one batch, then its answer, then the next. A sink whose protocol pipelines (a
   * producer's pending messages, several HTTP requests) declares more to keep the pipeline full.
   *
   * <p>What the lane promises a sink that takes several:
   *
   * <ul>
   *   <li>Batches are handed over in sequence order, each batch's events in order, from the lane's
   *       one thread; a later batch may be handed over before an earlier one is answered, and the
   *       stages may complete in any order and on any thread.
   *   <li>The queue's acknowledged position moves strictly in order: over an event only once it and
   *       every event before it are answered {@code ok} (or rejected into the dead-letter journal).
   *       A later batch answered first does not move it past an earlier one.
   *   <li>After any failure (a stage failed or timed out, an exception, a {@code retry} outcome)
   *       the lane hands over nothing new; it waits until every batch in flight is answered or has
   *       timed out, then sends again from the first event not answered {@code ok}, in order. An
   *       event is never skipped and never handed over for the first time before an event with a
   *       lower sequence number; repeats of events already sent are possible (at least once), with
   *       the same ids.
   *   <li>Direct delivery (spill-on-failure while nothing is journaled) stays one call at a time.
   * </ul>
   *
   * <p>Values above 16 count as 16, below 1 as 1; the lane reads this once, when the queue opens.
   * Each batch in flight holds its events on the heap: the lane keeps at most this many batches
   * plus three in memory.
   *
   * @return the most batches in flight at once, from 1
   */
  default int maxBatchesInFlight() {
    return 1;
  }

  /**
   * {@return a name for logs and metrics: "pulsar", "elasticsearch"; by default the class's simple
   * name}
   */
  default String name() {
    return getClass().getSimpleName();
  }
}
