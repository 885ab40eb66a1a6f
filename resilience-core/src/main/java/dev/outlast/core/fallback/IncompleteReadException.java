package dev.outlast.core.fallback;

import dev.outlast.core.OutlastException;
import dev.outlast.core.spi.StreamEvent;
import java.util.List;

/**
 * A stitched read could not return every event it should have: a range of sequence numbers that a
 * source says exists was delivered by none, or the sources that could have it failed. The read is
 * never returned short in silence; this says what is missing and carries what was read before it.
 */
public final class IncompleteReadException extends OutlastException {
  private static final long serialVersionUID = 1L;

  /** The stream read. */
  private final String stream;

  /** The first missing sequence number. */
  private final long missingFrom;

  /** The last sequence number known to be missing, or {@link Long#MAX_VALUE} if unknown. */
  private final long missingTo;

  /** The events read before the missing range. */
  @SuppressWarnings("serial") // never serialised: Outlast uses no Java serialization
  private final List<StreamEvent> before;

  /** The sources that failed during the read. */
  @SuppressWarnings("serial")
  private final List<SourceFailure> failures;

  IncompleteReadException(
      String message,
      String stream,
      long missingFrom,
      long missingTo,
      List<StreamEvent> before,
      List<SourceFailure> failures) {
    super(message, null);
    this.stream = stream;
    this.missingFrom = missingFrom;
    this.missingTo = missingTo;
    this.before = List.copyOf(before);
    this.failures = List.copyOf(failures);
    for (SourceFailure f : failures) {
      addSuppressed(f.failure());
    }
  }

  /** {@return the name of the stream read} */
  public String stream() {
    return stream;
  }

  /** {@return the first missing sequence number} */
  public long missingFrom() {
    return missingFrom;
  }

  /**
   * {@return the last sequence number known to be missing} It is the highest any source reported,
   * within the read's range, or {@link Long#MAX_VALUE} when the sources that would know failed.
   */
  public long missingTo() {
    return missingTo;
  }

  /**
   * {@return the events read before the missing range, in order, without gaps; unmodifiable} They
   * run from the read's first sequence number up to {@link #missingFrom()} - 1; empty if the very
   * first was missing.
   */
  public List<StreamEvent> eventsBefore() {
    return before;
  }

  /**
   * {@return the sources that failed during the read, in chain order; unmodifiable, empty if none
   * failed (the events were missing from every source that answered)}
   */
  public List<SourceFailure> failures() {
    return failures;
  }
}
