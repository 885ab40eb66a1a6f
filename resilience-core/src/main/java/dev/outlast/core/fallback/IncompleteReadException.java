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

  private final String stream;
  private final long missingFrom;
  private final long missingTo;

  @SuppressWarnings("serial") // never serialised: Outlast uses no Java serialization
  private final List<StreamEvent> before;

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

  /** The stream read. */
  public String stream() {
    return stream;
  }

  /** The first missing sequence number. */
  public long missingFrom() {
    return missingFrom;
  }

  /**
   * The last sequence number known to be missing: the highest any source reported, within the
   * read's range ({@link Long#MAX_VALUE} when the sources that would know failed).
   */
  public long missingTo() {
    return missingTo;
  }

  /** The events read before the missing range, in order, without gaps. */
  public List<StreamEvent> eventsBefore() {
    return before;
  }

  /** The sources that failed during the read. */
  public List<SourceFailure> failures() {
    return failures;
  }
}
