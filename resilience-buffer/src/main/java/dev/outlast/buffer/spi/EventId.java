package dev.outlast.buffer.spi;

import java.util.Objects;

/**
 * The stable identity of a published event: the queue's producer id (fixed for the queue's
 * directory, kept across restarts) and the event's sequence number (increasing, never reused). A
 * re-delivered event carries the same id.
 *
 * @param producerId the queue's producer id
 * @param sequence the event's sequence number, from 1
 */
public record EventId(String producerId, long sequence) {
  /**
   * Validates the parts.
   *
   * @param producerId the queue's producer id; not null
   * @param sequence the event's sequence number; positive
   * @throws IllegalArgumentException if the sequence is below 1
   */
  public EventId {
    Objects.requireNonNull(producerId, "producerId");
    if (sequence < 1) {
      throw new IllegalArgumentException("sequence must be positive, was " + sequence);
    }
  }

  /** {@code <producerId>-<sequence>}: usable as a document id or a message key. */
  @Override
  public String toString() {
    return producerId + "-" + sequence;
  }
}
