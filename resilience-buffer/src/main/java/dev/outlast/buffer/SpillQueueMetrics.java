package dev.outlast.buffer;

import dev.outlast.core.Guard;
import java.time.Duration;
import java.util.List;

/**
 * A spill queue at one moment.
 *
 * @param name the queue's name
 * @param spilling whether events are being journaled because the sink failed (spill-on-failure
 *     mode; always true in write-ahead mode while there is a backlog)
 * @param backlogEvents journaled events not yet delivered (approximate while a crash-time segment
 *     is being recounted)
 * @param backlogBytes bytes the journal takes on disk (its files' lengths: an upper bound)
 * @param oldestEventAge the age of the oldest event not yet delivered; zero if none
 * @param appendRate events journaled per second over the last one to two seconds (since the queue
 *     opened, if that is less)
 * @param deliverRate events delivered per second over the same time
 * @param published events accepted since the queue was opened
 * @param delivered events the sink acknowledged since the queue was opened
 * @param deadLetters events in the dead-letter journal
 * @param sinkState the state of the sink's guard
 * @param lost ranges of journal records lost to damage or deletion, since the queue was opened
 * @param bytesLeft bytes that may still be journaled before the bound or the disk reserve is
 *     reached
 */
public record SpillQueueMetrics(
    String name,
    boolean spilling,
    long backlogEvents,
    long backlogBytes,
    Duration oldestEventAge,
    double appendRate,
    double deliverRate,
    long published,
    long delivered,
    long deadLetters,
    Guard.State sinkState,
    List<LostRange> lost,
    long bytesLeft) {
  /**
   * Copies the list.
   *
   * @param name the queue's name
   * @param spilling whether events are held in the journal (see the record)
   * @param backlogEvents journaled events not yet delivered
   * @param backlogBytes bytes the journal takes on disk
   * @param oldestEventAge the age of the oldest event not yet delivered; zero if none
   * @param appendRate events journaled per second
   * @param deliverRate events delivered per second
   * @param published events accepted since the queue was opened
   * @param delivered events the sink acknowledged since the queue was opened
   * @param deadLetters events in the dead-letter journal
   * @param sinkState the state of the sink's guard
   * @param lost ranges of journal records lost; copied, must not be or contain null
   * @param bytesLeft bytes that may still be journaled
   */
  public SpillQueueMetrics {
    lost = List.copyOf(lost);
  }
}
