package dev.outlast.buffer;

import dev.outlast.buffer.spi.Delivery;
import dev.outlast.buffer.spi.EventId;
import dev.outlast.buffer.spi.Outcome;
import dev.outlast.buffer.spi.Sink;
import dev.outlast.core.spi.Codec;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import org.jspecify.annotations.Nullable;

/**
 * The process a crash test kills: publishes events as fast as it can into a sink that keeps going
 * down and up (so the drainer is often in the middle of a batch), and prints the id of every event
 * whose publish returned. The sink writes what it takes to a file, as a durable remote sink would
 * keep it. Arguments: queue directory, sink file, trial number, mode, durability.
 */
final class CrashPublisher {
  private CrashPublisher() {}

  /**
   * The queue as the publisher and the test that reopens it after the kill both build it. In
   * spill-on-failure mode the journal is encrypted, so that the kills also cover sealed records (a
   * new epoch at each open, a key check at each reopen).
   */
  static SpillQueue.Builder<String> builder(
      Path dir, FileSink sink, SpillQueue.Mode mode, SpillQueue.Durability durability) {
    SpillQueue.Builder<String> b = SpillQueue.<String>builder("crash");
    if (mode == SpillQueue.Mode.SPILL_ON_FAILURE) {
      b.encryption(new javax.crypto.spec.SecretKeySpec(new byte[32], "AES"));
    }
    return b.directory(dir)
        .codec(Codec.utf8())
        .sink(sink)
        .guard(SpillQueueTest.guard())
        .mode(mode)
        .durability(durability)
        .segmentBytes(1 << 20)
        .minFreeDiskBytes(0);
  }

  public static void main(String[] args) throws Exception {
    Path dir = Path.of(args[0]);
    Path sinkFile = Path.of(args[1]);
    int trial = Integer.parseInt(args[2]);
    SpillQueue.Mode mode = SpillQueue.Mode.valueOf(args[3]);
    SpillQueue.Durability durability = SpillQueue.Durability.valueOf(args[4]);
    PrintStream out =
        new PrintStream(
            new FileOutputStream(java.io.FileDescriptor.out), true, StandardCharsets.UTF_8);
    try (FileSink sink = new FileSink(sinkFile, new Random(trial));
        SpillQueue<String> queue =
            builder(dir, sink, mode, durability)
                .batchSize(100)
                .retryBackoff(Duration.ofMillis(5), Duration.ofMillis(20))
                .build()) {
      out.println("READY");
      for (long n = 0; ; n++) {
        String event = "t" + trial + "-e" + n;
        EventId id = queue.publish(event);
        out.println("ACK " + id + " " + event);
      }
    }
  }

  /**
   * Appends "id event" lines for what it takes; with a random source it is down now and then,
   * without one it is always up.
   */
  static final class FileSink implements Sink<String>, AutoCloseable {
    private final FileOutputStream file;
    private final @Nullable Random random;
    private boolean down;

    FileSink(Path path, @Nullable Random random) throws IOException {
      this.file = new FileOutputStream(path.toFile(), true);
      this.random = random;
    }

    @Override
    public synchronized CompletionStage<List<Outcome>> deliver(List<Delivery<String>> batch) {
      if (random != null && random.nextInt(20) == 0) {
        down = !down;
      }
      if (down) {
        return CompletableFuture.failedFuture(new IOException("sink down"));
      }
      StringBuilder lines = new StringBuilder();
      List<Outcome> outcomes = new ArrayList<>();
      for (Delivery<String> d : batch) {
        lines.append(d.id()).append(' ').append(d.event()).append('\n');
        outcomes.add(Outcome.ok());
      }
      try {
        // Written before the acknowledgement, like a sink that stores and then answers.
        file.write(lines.toString().getBytes(StandardCharsets.UTF_8));
      } catch (IOException e) {
        return CompletableFuture.failedFuture(e);
      }
      return CompletableFuture.completedFuture(outcomes);
    }

    @Override
    public void close() throws IOException {
      file.close();
    }
  }
}
