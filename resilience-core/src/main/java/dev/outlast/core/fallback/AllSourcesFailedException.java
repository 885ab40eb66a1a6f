package dev.outlast.core.fallback;

import dev.outlast.core.OutlastException;
import java.util.List;
import java.util.stream.Collectors;

/**
 * No source of a fallback chain could answer. Carries each source's failure, in chain order, also
 * as suppressed exceptions so that logs show every stack.
 */
public final class AllSourcesFailedException extends OutlastException {
  private static final long serialVersionUID = 1L;

  /** Each source's failure, in chain order. */
  @SuppressWarnings("serial") // never serialised: Outlast uses no Java serialization
  private final List<SourceFailure> failures;

  AllSourcesFailedException(String what, List<SourceFailure> failures) {
    super(
        what
            + ": every source failed ("
            + failures.stream().map(SourceFailure::toString).collect(Collectors.joining("; "))
            + ")",
        null);
    this.failures = List.copyOf(failures);
    for (SourceFailure f : failures) {
      addSuppressed(f.failure());
    }
  }

  /** {@return each source's failure, in chain order; unmodifiable} */
  public List<SourceFailure> failures() {
    return failures;
  }
}
