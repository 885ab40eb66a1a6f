package dev.outlast.buffer;

import dev.outlast.buffer.spi.EventId;
import java.time.Instant;
import java.util.Objects;
import org.jspecify.annotations.Nullable;

/**
 * An event the sink rejected for good (or that the queue's codec could no longer read), kept in the
 * dead-letter journal so that it does not block the events behind it and is not lost.
 *
 * <p>Immutable and threadsafe.
 *
 * @param <E> the event type
 */
public final class DeadLetter<E> {
  private final EventId id;
  private final Instant publishedAt;
  private final Instant rejectedAt;
  private final String reason;
  private final byte[] payload;
  private final @Nullable E event;

  DeadLetter(
      EventId id,
      Instant publishedAt,
      Instant rejectedAt,
      String reason,
      byte[] payload,
      @Nullable E event) {
    this.id = Objects.requireNonNull(id, "id");
    this.publishedAt = publishedAt;
    this.rejectedAt = rejectedAt;
    this.reason = Objects.requireNonNull(reason, "reason");
    this.payload = payload.clone();
    this.event = event;
  }

  /** {@return the event's id, as the sink saw it on every delivery} */
  public EventId id() {
    return id;
  }

  /** {@return when the event was published, by the queue's clock} */
  public Instant publishedAt() {
    return publishedAt;
  }

  /** {@return when the event was moved to the dead-letter journal, by the queue's clock} */
  public Instant rejectedAt() {
    return rejectedAt;
  }

  /**
   * {@return why the event is here: the sink's reason, or the codec's error, credentials masked}
   *
   * <p>For a sealed dead letter the queue's keys cannot open, it says so instead, and the payload
   * is empty.
   */
  public String reason() {
    return reason;
  }

  /**
   * {@return the event's encoded bytes, as the codec wrote them; a copy at each call; empty if the
   * dead letter is sealed and cannot be opened}
   */
  public byte[] payload() {
    return payload.clone();
  }

  /**
   * {@return the event decoded, or null if the codec cannot read the bytes (or they could not be
   * opened)}
   */
  public @Nullable E event() {
    return event;
  }

  @Override
  public String toString() {
    return "DeadLetter[" + id + ", " + reason + "]";
  }
}
