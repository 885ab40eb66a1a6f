package dev.outlast.cache;

/**
 * Loads the value of a key from the database: the query behind a {@link QueryCache}. It runs on the
 * cache's loader threads, one load per key at a time, behind the dependency's guard.
 *
 * <p>A loader should give up on its own after the guard's call timeout: the cache's callers stop
 * waiting for it then. The JDBC loader sets the driver's query and network timeouts for this. A
 * load still running at the cache's {@code loadTimeout} is abandoned and its thread interrupted; an
 * answer it gives later is dropped. Whatever a loader throws, an {@link Error} too, fails that load
 * only.
 *
 * @param <K> the key type
 * @param <V> the value type
 */
@FunctionalInterface
public interface Loader<K, V> {
  /**
   * Loads the current value of a key.
   *
   * @param key never null
   * @return the value; never null. To cache "no such row", use an {@code Optional} or a collection
   *     as the value type and return it empty (see {@link QueryCache.Builder#negativeFreshness}).
   * @throws Exception whatever the database client throws
   */
  V load(K key) throws Exception;
}
