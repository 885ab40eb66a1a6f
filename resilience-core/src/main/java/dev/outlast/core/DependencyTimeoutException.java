package dev.outlast.core;

import java.time.Duration;
import java.util.concurrent.TimeoutException;

/**
 * The call was made and did not answer within the guard's {@link GuardConfig#callTimeout()}: the
 * caller was released, the call counted as failed and was interrupted (or, if configured so, left
 * to finish with its result dropped). Its cause is a {@link TimeoutException}, so classifiers that
 * look for timeouts in the cause chain count it as an infrastructure failure.
 */
public final class DependencyTimeoutException extends DependencyException {
  private static final long serialVersionUID = 1L;

  /** The call timeout that ran out. */
  private final Duration timeout;

  DependencyTimeoutException(String dependency, Duration timeout, int attempts) {
    super(
        dependency,
        dependency
            + " did not answer within the call timeout of "
            + DependencyUnavailableException.seconds(timeout)
            + (attempts > 1 ? " (" + attempts + " attempts)" : "")
            + "; the call was abandoned. Serve a fallback; if the dependency is only slow, raise"
            + " GuardConfig.callTimeout.",
        new TimeoutException(dependency + " call timeout " + timeout),
        true);
    this.timeout = timeout;
  }

  /** {@return the call timeout that ran out, {@link GuardConfig#callTimeout()}} */
  public Duration timeout() {
    return timeout;
  }
}
