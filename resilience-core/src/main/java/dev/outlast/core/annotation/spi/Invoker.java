package dev.outlast.core.annotation.spi;

import org.jspecify.annotations.Nullable;

/**
 * One step of a wired method call: takes the call's arguments, returns its result. Throws what the
 * call threw, unchanged, checked exceptions included (a {@code Throwable} that is neither an {@code
 * Exception} nor an {@code Error} comes wrapped in an {@link
 * java.lang.reflect.UndeclaredThrowableException}, once, where the implementation is called).
 */
@FunctionalInterface
public interface Invoker {
  /**
   * Makes the call.
   *
   * @param args the arguments, as the proxy got them (null for a method without parameters)
   * @return the result; null for {@code void}
   * @throws Exception whatever the call threw
   */
  @Nullable Object invoke(@Nullable Object @Nullable [] args) throws Exception;
}
