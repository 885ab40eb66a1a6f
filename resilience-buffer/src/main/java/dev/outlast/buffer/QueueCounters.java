package dev.outlast.buffer;

import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;

/**
 * The figures the queue's parts count for {@link SpillQueueMetrics}.
 *
 * <p>Threadsafe: each field says who writes it; anyone reads.
 */
final class QueueCounters {
  /** Events accepted: journaled by the writer, or taken directly by the lane. */
  final LongAdder published = new LongAdder();

  /** Events journaled; written under the writer's lock only. */
  final AtomicLong journaled = new AtomicLong();

  /** Events the sink acknowledged; written by the lane. */
  final LongAdder delivered = new LongAdder();

  /**
   * When the oldest event not yet delivered was published, epoch millis; 0 if none. Set by the
   * writer when it appends to an empty journal, moved by the lane as it acknowledges.
   */
  volatile long oldestUndelivered;
}
