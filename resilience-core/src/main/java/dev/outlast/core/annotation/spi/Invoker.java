package dev.outlast.core.annotation.spi;

import org.jspecify.annotations.Nullable;

/**
 * One step of a wired method call: takes the call's arguments, returns its result. Throws what the
 * call threw, unchanged, checked exceptions included.
 */
@FunctionalInterface
public interface Invoker {
  /**
   * Makes the call.
   *
   * @param args the arguments, as the proxy got them (null for a method without parameters)
   * @return the result; null for {@code void}
   * @throws Throwable whatever the call threw
   */
  @Nullable Object invoke(@Nullable Object @Nullable [] args) throws Throwable;
}
