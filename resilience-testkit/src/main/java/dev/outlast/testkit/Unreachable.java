package dev.outlast.testkit;

import java.lang.reflect.Proxy;

/**
 * An implementation of an interface that must never be called: for tests where wiring is expected
 * to fail before any call, so that a call would itself be the failure.
 */
public final class Unreachable {
  private Unreachable() {}

  /**
   * An instance of the interface whose every method throws {@link AssertionError}.
   *
   * @param type the interface
   * @param <T> the interface's type
   * @return a proxy whose every method, {@code equals}, {@code hashCode} and {@code toString}
   *     included, throws an {@link AssertionError} naming the method
   * @throws IllegalArgumentException if {@code type} is not an interface
   */
  public static <T> T implementation(Class<T> type) {
    return type.cast(
        Proxy.newProxyInstance(
            type.getClassLoader(),
            new Class<?>[] {type},
            (proxy, method, args) -> {
              throw new AssertionError(type.getSimpleName() + "." + method.getName() + " called");
            }));
  }
}
