package dev.outlast.core.annotation;

import java.lang.annotation.Documented;
import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;

/**
 * Calls to this method go through the {@link dev.outlast.core.Guard} of a dependency: timeout,
 * retries of infrastructure failures, circuit breaker, bulkhead. The guard must be registered with
 * {@link Outlast.Builder#guard}; wiring fails otherwise.
 *
 * <p>Property: {@code outlast.guarded.<Interface>.<method>.dependency} replaces {@link #value()}.
 */
@Documented
@Retention(RetentionPolicy.RUNTIME)
@Target(ElementType.METHOD)
public @interface Guarded {
  /** {@return the dependency's name, as given to its guard: "mysql", "ledger"} */
  String value();
}
