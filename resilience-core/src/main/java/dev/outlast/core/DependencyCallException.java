package dev.outlast.core;

/**
 * The call was made and failed with a checked exception, which is the cause. Unchecked exceptions
 * from a call are rethrown as they are; checked ones are wrapped in this, so that guarded calls can
 * be used from code that does not declare them.
 */
public final class DependencyCallException extends DependencyException {
  private static final long serialVersionUID = 1L;

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
   * Whether the guard's classifier counted the failure against the dependency's health (connection
   * refused, timeout, ...), as opposed to an error of the request itself.
   */
  public boolean isInfrastructureFailure() {
    return infrastructure;
  }
}
