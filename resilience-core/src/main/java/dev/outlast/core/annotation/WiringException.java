package dev.outlast.core.annotation;

import dev.outlast.core.OutlastException;

/**
 * An annotated interface cannot be wired as written: a fallback method missing or of the wrong
 * shape, an unknown dependency or queue, a return type the annotation cannot work with, a bad
 * property. Thrown by {@link Outlast#wrap} and {@link Outlast.Builder#build}, never later: Outlast
 * does not let an annotation silently do nothing. The message names the method and what to change.
 */
public final class WiringException extends OutlastException {
  private static final long serialVersionUID = 1L;

  /**
   * Creates the exception.
   *
   * @param message where, what is wrong, and what to change
   */
  public WiringException(String message) {
    super(message);
  }
}
