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

  /** The event's id. */
  public EventId id() {
    return id;
  }

  /** When it was published. */
  public Instant publishedAt() {
    return publishedAt;
  }

  /** When it was moved to the dead-letter journal. */
  public Instant rejectedAt() {
    return rejectedAt;
  }

  /** The sink's reason, or the codec's error. */
  public String reason() {
    return reason;
  }

  /** The event's encoded bytes, as the codec wrote them (a copy). */
  public byte[] payload() {
    return payload.clone();
  }

  /** The event decoded, or null if the codec cannot read the bytes. */
  public @Nullable E event() {
    return event;
  }

  @Override
  public String toString() {
    return "DeadLetter[" + id + ", " + reason + "]";
  }
}
