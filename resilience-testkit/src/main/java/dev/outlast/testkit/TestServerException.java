package dev.outlast.testkit;

import org.jspecify.annotations.Nullable;

/**
 * A test server could not be started, prepared or signalled. The message says which server and, for
 * start failures, holds the end of its log.
 */
public final class TestServerException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  TestServerException(String message) {
    super(message);
  }

  TestServerException(String message, @Nullable Throwable cause) {
    super(message, cause);
  }
}
