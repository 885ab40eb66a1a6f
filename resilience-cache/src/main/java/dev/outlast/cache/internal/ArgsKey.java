package dev.outlast.cache.internal;

import java.util.Arrays;
import org.jspecify.annotations.Nullable;

/**
 * The arguments of one call, as a cache key: equal when the arguments are, by {@code equals}. Used
 * for methods of several parameters (or a null argument); a single argument is its own key.
 *
 * <p>The array is kept, not copied: the proxy makes a new one for every call and nobody else holds
 * it.
 */
final class ArgsKey {
  private final @Nullable Object[] args;
  private final int hash;

  ArgsKey(@Nullable Object @Nullable [] args) {
    this.args = args == null ? new Object[0] : args;
    this.hash = Arrays.hashCode(this.args);
  }

  @Nullable Object[] args() {
    return args;
  }

  @Override
  public boolean equals(@Nullable Object o) {
    return o instanceof ArgsKey k && hash == k.hash && Arrays.equals(args, k.args);
  }

  @Override
  public int hashCode() {
    return hash;
  }

  /** "(42, EUR)": how the key shows in the cache's messages. */
  @Override
  public String toString() {
    StringBuilder s = new StringBuilder("(");
    for (int i = 0; i < args.length; i++) {
      s.append(i == 0 ? "" : ", ").append(args[i]);
    }
    return s.append(')').toString();
  }
}
