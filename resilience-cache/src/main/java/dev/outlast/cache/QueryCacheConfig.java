package dev.outlast.cache;

import dev.outlast.core.Guard;
import dev.outlast.core.Ticker;
import dev.outlast.core.spi.Codec;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.Set;
import java.util.concurrent.Executor;
import java.util.concurrent.ScheduledExecutorService;
import java.util.function.BiFunction;
import java.util.function.Predicate;
import javax.crypto.spec.SecretKeySpec;
import org.jspecify.annotations.Nullable;

/**
 * Everything a {@link QueryCache} was built with, checked and resolved: what {@link
 * QueryCache.Builder#build} hands the cache's parts. The builder stays as the user left it, so a
 * second {@code build} after another setter starts from the user's own settings.
 *
 * <p>Immutable (the guard, loader, callbacks, codecs, clocks and threads are shared, not copied).
 *
 * @param executor the loads' threads if the user gave some (not shut down by the cache), else null
 *     and the cache makes and owns its own
 * @param scheduler the maintenance thread(s) if the user gave some (likewise), else null
 * @param coarseTicks whether fresh hits read the shared coarse tick ({@link CoarseClock}) instead
 *     of the ticker: only with the system ticker
 */
record QueryCacheConfig<K, V>(
    String name,
    Guard guard,
    Loader<K, V> loader,
    Freshness freshness,
    @Nullable BiFunction<? super K, ? super V, Freshness> freshnessOf,
    double refreshAhead,
    @Nullable Freshness negativeFreshness,
    Predicate<? super V> absentWhen,
    @Nullable BiFunction<? super K, ? super V, Set<String>> tagger,
    long maximumSize,
    long maximumWeight,
    QueryCache.@Nullable Weigher<? super K, ? super V> weigher,
    int loadConcurrency,
    int loadQueue,
    Duration maxStaleWait,
    Duration failureBackoff,
    Duration maxFailureBackoff,
    Duration loadTimeout,
    @Nullable SnapshotSettings<K, V> snapshot,
    Clock clock,
    Ticker ticker,
    @Nullable Executor executor,
    @Nullable ScheduledExecutorService scheduler,
    boolean coarseTicks) {

  /** Where and how the warm-start snapshot is kept. */
  record SnapshotSettings<K, V>(
      Path file,
      Codec<K> keys,
      Codec<V> values,
      @Nullable SecretKeySpec hmacKey,
      Duration interval) {}

  /**
   * How long a caller with nothing to serve waits for a load: the guard's call timeout for the
   * attempt, and a little for the hand-over.
   */
  Duration loadWait() {
    return guard.config().callTimeout().plusMillis(250);
  }
}
