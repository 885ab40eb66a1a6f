package dev.outlast.core.spi;

import java.util.Arrays;
import java.util.Objects;

/**
 * One event of an event stream, as a source holds it: the stream's name, the event's sequence
 * number in the stream (from 1, increasing, the same in every source) and its bytes.
 *
 * <p>Immutable: the payload is copied in and out.
 */
public final class StreamEvent {
  private final String stream;
  private final long sequence;
  private final byte[] payload;

  /**
   * Creates an event.
   *
   * @param stream the stream's name
   * @param sequence the event's position in the stream, from 1
   * @param payload the event's bytes; copied, may be empty
   * @throws IllegalArgumentException if the sequence is below 1
   */
  public StreamEvent(String stream, long sequence, byte[] payload) {
    this.stream = Objects.requireNonNull(stream, "stream");
    if (sequence < 1) {
      throw new IllegalArgumentException("sequence must be at least 1, was " + sequence);
    }
    this.sequence = sequence;
    this.payload = Objects.requireNonNull(payload, "payload").clone();
  }

  /** {@return the name of the stream it belongs to} */
  public String stream() {
    return stream;
  }

  /** {@return its position in the stream, from 1} */
  public long sequence() {
    return sequence;
  }

  /** {@return a copy of its bytes} */
  public byte[] payload() {
    return payload.clone();
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof StreamEvent e
        && sequence == e.sequence
        && stream.equals(e.stream)
        && Arrays.equals(payload, e.payload);
  }

  @Override
  public int hashCode() {
    return Objects.hash(stream, sequence) * 31 + Arrays.hashCode(payload);
  }

  @Override
  public String toString() {
    return stream + "#" + sequence + " (" + payload.length + " bytes)";
  }
}
