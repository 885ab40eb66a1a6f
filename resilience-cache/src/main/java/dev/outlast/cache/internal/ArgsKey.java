package dev.outlast.cache.internal;

import java.util.Arrays;
import org.jspecify.annotations.Nullable;

/**
 * The arguments of one call, as a cache key: equal when the arguments are, by {@code equals}. The
 * array is copied, so a caller reusing its array cannot change a key in the cache.
 */
final class ArgsKey {
  private final @Nullable Object[] args;
  private final int hash;

  ArgsKey(@Nullable Object @Nullable [] args) {
    this.args = args == null ? new Object[0] : args.clone();
    this.hash = Arrays.hashCode(this.args);
  }

  @Nullable Object[] args() {
    return args.clone();
  }

  @Nullable Object arg(int i) {
    return args[i];
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
