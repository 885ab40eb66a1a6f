package dev.outlast.core;

/**
 * The call was made and failed with a checked exception, which is the cause. Unchecked exceptions
 * from a call are rethrown as they are; checked ones are wrapped in this, so that guarded calls can
 * be used from code that does not declare them.
 */
public final class DependencyCallException extends DependencyException {
  private static final long serialVersionUID = 1L;

  /** Whether the classifier counted the failure against the dependency. */
  private final boolean infrastructure;

  DependencyCallException(String dependency, Exception cause, boolean infrastructure) {
    super(
        dependency,
        dependency
            + " call failed"
            + (infrastructure ? " (infrastructure failure)" : "")
            + ": "
            + cause,
        cause,
        true);
    this.infrastructure = infrastructure;
  }

  /**
   * {@return whether the guard's classifier counted the failure against the dependency's health}
   * True for connection refused, a timeout and the like; false for an error of the request itself,
   * and for a caller interrupted while waiting.
   */
  public boolean isInfrastructureFailure() {
    return infrastructure;
  }
}
