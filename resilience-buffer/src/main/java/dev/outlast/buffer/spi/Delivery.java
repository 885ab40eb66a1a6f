package dev.outlast.buffer.spi;

import java.util.Objects;

/**
 * One event handed to a {@link Sink}, with its stable id and the time it was published.
 *
 * @param id the event's id; the same on every delivery of the event
 * @param event the event, decoded by the queue's codec
 * @param publishedAtMillis when {@code publish} accepted it, epoch milliseconds
 * @param attempt 1 on the first delivery, one more on each retry; counted by this process, so a
 *     delivery after a restart starts again at 1
 * @param <E> the event type
 */
public record Delivery<E>(EventId id, E event, long publishedAtMillis, int attempt) {
  /**
   * Validates the parts.
   *
   * @param id the event's id; not null
   * @param event the event; not null
   * @param publishedAtMillis when {@code publish} accepted it, epoch milliseconds
   * @param attempt which delivery of the event this is, from 1
   */
  public Delivery {
    Objects.requireNonNull(id, "id");
    Objects.requireNonNull(event, "event");
  }
}
