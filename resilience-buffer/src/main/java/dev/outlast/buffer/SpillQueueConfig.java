package dev.outlast.buffer;

import dev.outlast.buffer.spi.Sink;
import dev.outlast.core.Guard;
import dev.outlast.core.spi.Codec;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import javax.crypto.SecretKey;
import net.openhft.chronicle.queue.RollCycle;
import org.jspecify.annotations.Nullable;

/**
 * Everything a {@link SpillQueue} was built with, checked and resolved: what {@link
 * SpillQueue.Builder#build()} hands the queue's parts. The builder stays as the user left it, so a
 * second {@code build()} after another setter starts from the user's own settings.
 *
 * <p>Immutable (the sink, guard, codec and key are shared, not copied).
 */
record SpillQueueConfig<E>(
    String name,
    Path directory,
    Codec<E> codec,
    Sink<E> sink,
    Guard guard,
    SpillQueue.Mode mode,
    SpillQueue.Durability durability,
    FullPolicy fullPolicy,
    long maxDiskBytes,
    long minFreeDiskBytes,
    int maxEventBytes,
    boolean allowEmpty,
    int batchSize,
    double drainRate,
    Duration retryBackoff,
    Duration maxRetryBackoff,
    RollCycle rollCycle,
    boolean fallocate,
    long blockSize,
    long segmentBytes,
    @Nullable String producerId,
    @Nullable SecretKey key,
    List<SecretKey> retiredKeys,
    Clock clock) {

  boolean powerLossDurable() {
    return durability == SpillQueue.Durability.POWER_LOSS;
  }

  /** The sink's time limit per call: the guard's call timeout. */
  Duration callTimeout() {
    return guard.config().callTimeout();
  }

  Journal.Settings journalSettings() {
    return new Journal.Settings(
        rollCycle,
        blockSize,
        segmentBytes,
        maxDiskBytes,
        minFreeDiskBytes,
        powerLossDurable(),
        fallocate);
  }
}
