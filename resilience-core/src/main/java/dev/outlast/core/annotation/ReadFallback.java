package dev.outlast.core.annotation;

import java.lang.annotation.Documented;
import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;

/**
 * When this method's dependency is out (its guard refuses the call, or the call fails with what the
 * guard counts as an infrastructure failure), the same call is answered by the next source: a
 * method of the same interface or implementation ({@link #method}), or another implementation of
 * the interface registered under a name ({@link #source}). Exactly one of the two must be given.
 *
 * <p>Errors of the call itself (a bad argument, a constraint the database reports) are thrown as
 * they are: a fallback would only hide them. For that the method must also be {@link Guarded}:
 * without a guard there is no way to tell an outage from an error, and wiring fails.
 *
 * <p>A fallback method declared on the interface is called through the proxy, so its own
 * annotations apply (it may be {@code @Guarded} by the ledger, and fall back further). One declared
 * only on the implementation is called on it directly. Either way it must take the same parameters
 * and return a type the caller can use in place of this method's.
 *
 * <p>Properties: {@code outlast.fallback.<Interface>.<method>.method}, {@code .source} and {@code
 * .dependency} replace the attributes (setting one of method and source clears the other).
 */
@Documented
@Retention(RetentionPolicy.RUNTIME)
@Target(ElementType.METHOD)
public @interface ReadFallback {
  /**
   * {@return the name of the method that answers instead: same parameters, compatible return type}
   * Empty (the default) when {@link #source} is given.
   */
  String method() default "";

  /**
   * {@return the name of another implementation of the interface, registered with {@link
   * Outlast.Builder#resource}} The same method is called on it. Empty (the default) when {@link
   * #method} is given.
   */
  String source() default "";

  /**
   * {@return the dependency of {@link #source}, whose guard its calls go through; empty to call it
   * unguarded} Not used with {@link #method}: annotate that method instead.
   */
  String dependency() default "";
}
