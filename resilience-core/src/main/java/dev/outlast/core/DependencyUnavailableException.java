package dev.outlast.core;

import java.time.Duration;

/**
 * The call was not made: the dependency's circuit breaker is open, or as many calls as its bulkhead
 * allows are already in flight. Thrown at once, without a stack trace: while a dependency is down
 * this is the common path, and it must cost next to nothing.
 */
public final class DependencyUnavailableException extends DependencyException {
  private static final long serialVersionUID = 1L;

  /** Why the call was not made. */
  public enum Reason {
    /** The circuit breaker is open (or half-open with all its probes out). */
    BREAKER_OPEN,
    /**
     * The bulkhead's concurrent-call limit is reached, or the guard's executor has no thread for
     * the call.
     */
    BULKHEAD_FULL
  }

  /** Why the call was not made. */
  private final Reason reason;

  // The message is built when asked for: on the hot path most of these are caught and never read.
  private final transient java.util.function.Supplier<String> detail;
  private transient volatile @org.jspecify.annotations.Nullable String message;

  DependencyUnavailableException(
      String dependency, Reason reason, java.util.function.Supplier<String> detail) {
    super(dependency, "", null, false);
    this.reason = reason;
    this.detail = detail;
  }

  @Override
  public String getMessage() {
    String m = message;
    if (m == null) {
      m = String.valueOf(Redaction.redact(message(dependency(), reason, detail.get())));
      message = m;
    }
    return m;
  }

  private static String message(String dependency, Reason reason, String detail) {
    return switch (reason) {
      case BREAKER_OPEN ->
          dependency
              + " is unavailable: its circuit breaker is open ("
              + detail
              + "); no call was made. Serve a fallback; the guard probes again by itself.";
      case BULKHEAD_FULL -> dependency + " is saturated: " + detail + "; no call was made.";
    };
  }

  /** {@return why the call was not made} */
  public Reason reason() {
    return reason;
  }

  /** Formats a duration for messages: "4.2 s". */
  static String seconds(Duration d) {
    return String.format(java.util.Locale.ROOT, "%.1f s", d.toMillis() / 1000.0);
  }
}
