package dev.outlast.spring;

import dev.outlast.core.OutlastException;
import org.jspecify.annotations.Nullable;

/**
 * The {@code outlast.*} properties, or the beans they name, cannot work as written: an unknown
 * property, a queue without a directory, a sink whose module is missing, a bean that cannot be
 * proxied. Thrown while the application starts, never later; the message says what is wrong and,
 * after "Fix:", what to change. Spring Boot's start-up report shows both.
 */
public final class OutlastConfigurationException extends OutlastException {
  private static final long serialVersionUID = 1L;

  /**
   * Creates the exception.
   *
   * @param problem what is wrong, naming the property or bean
   * @param fix what to change
   */
  public OutlastConfigurationException(String problem, String fix) {
    super(problem + ". Fix: " + fix);
  }

  /**
   * Creates the exception with the failure behind it.
   *
   * @param problem what is wrong, naming the property or bean
   * @param fix what to change
   * @param cause what failed
   */
  public OutlastConfigurationException(String problem, String fix, @Nullable Throwable cause) {
    super(problem + ". Fix: " + fix, cause);
  }
}
