package dev.outlast.core;

/**
 * A call to a dependency that a {@link Guard} runs.
 *
 * @param <T> what the call returns
 */
@FunctionalInterface
public interface GuardedCall<T> {
  /**
   * Calls the dependency.
   *
   * @return the answer; never null
   * @throws Exception whatever the dependency's client throws
   */
  T call() throws Exception;
}
