package dev.outlast.core;

import org.jspecify.annotations.Nullable;

/**
 * A call to a dependency did not produce an answer. Names the dependency; subclasses say whether
 * the call was made at all.
 */
public abstract class DependencyException extends OutlastException {
  private static final long serialVersionUID = 1L;

  /** The dependency's name. */
  private final String dependency;

  DependencyException(
      String dependency, String message, @Nullable Throwable cause, boolean stackTrace) {
    super(message, cause, stackTrace);
    this.dependency = dependency;
  }

  /** {@return the name of the dependency, as given to its {@link Guard}: "mysql", "pulsar", ...} */
  public String dependency() {
    return dependency;
  }
}
