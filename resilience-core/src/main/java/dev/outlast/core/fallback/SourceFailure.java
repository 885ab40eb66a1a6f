package dev.outlast.core.fallback;

import dev.outlast.core.Redaction;
import java.util.Objects;

/**
 * Why one source of a fallback chain gave no answer.
 *
 * @param source the source's name
 * @param failure what its guard or its call threw
 */
public record SourceFailure(String source, Throwable failure) {
  /**
   * Validates the parts.
   *
   * @param source the source's name
   * @param failure what its guard or its call threw
   */
  public SourceFailure {
    Objects.requireNonNull(source, "source");
    Objects.requireNonNull(failure, "failure");
  }

  @Override
  public String toString() {
    return String.valueOf(Redaction.redact(source + ": " + failure));
  }
}
