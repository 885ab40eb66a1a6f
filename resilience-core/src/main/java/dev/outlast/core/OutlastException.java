package dev.outlast.core;

import org.jspecify.annotations.Nullable;

/**
 * The root of every unchecked exception Outlast throws. Subclasses carry the context a caller needs
 * to act: which dependency, in which state, and what to do about it.
 *
 * <p>Messages go through {@link Redaction#redact(String)}: a message that quotes a failure (a JDBC
 * URL, an HTTP request) carries no password, token or {@code Authorization} value. The cause is
 * kept as it was thrown.
 *
 * <p>Instances are immutable once thrown and safe to share between threads.
 */
public class OutlastException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  /**
   * Creates an exception with a message that says what went wrong and what to do.
   *
   * @param message the description, never empty
   */
  public OutlastException(String message) {
    super(Redaction.redact(message));
  }

  /**
   * Creates an exception with a message and the failure that caused it.
   *
   * @param message the description, never empty
   * @param cause the underlying failure, or {@code null} if there is none
   */
  public OutlastException(String message, @Nullable Throwable cause) {
    super(Redaction.redact(message), cause);
  }

  /**
   * Creates an exception for a hot path, where a stack trace would cost more than it tells. The
   * message and cause are kept; the stack trace is not filled in.
   *
   * @param message the description, never empty
   * @param cause the underlying failure, or {@code null} if there is none
   * @param writableStackTrace whether to fill in the stack trace
   */
  protected OutlastException(
      String message, @Nullable Throwable cause, boolean writableStackTrace) {
    super(Redaction.redact(message), cause, /* enableSuppression= */ true, writableStackTrace);
  }
}
