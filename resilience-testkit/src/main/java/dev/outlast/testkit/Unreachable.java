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
