package dev.outlast.benchmarks;

import com.squareup.tape2.QueueFile;
import dev.outlast.buffer.FullPolicy;
import dev.outlast.buffer.SpillQueue;
import dev.outlast.buffer.spi.EventId;
import dev.outlast.buffer.spi.Outcome;
import dev.outlast.core.Guard;
import dev.outlast.core.spi.Codec;
import java.io.File;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.Collections;
import java.util.Comparator;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.stream.Stream;
import javax.crypto.spec.SecretKeySpec;
import net.openhft.chronicle.queue.ChronicleQueue;
import net.openhft.chronicle.queue.ExcerptAppender;
import net.openhft.chronicle.queue.RollCycles;
import net.openhft.chronicle.queue.impl.single.SingleChronicleQueueBuilder;
import net.openhft.chronicle.wire.DocumentContext;
import org.jspecify.annotations.Nullable;

/** One of the three queues compared, appending the same 256-byte event. */
abstract class SpillTarget implements AutoCloseable {
  static final int EVENT_BYTES = 256;

  /**
   * What Outlast's record adds to an event (length, sequence, previous sequence, time, CRC): the
   * {@code chronicleRecordSize} peer writes that many bytes more, so that both write as much.
   */
  static final int RECORD_OVERHEAD = 36;

  final byte[] event = new byte[EVENT_BYTES];

  SpillTarget() {
    new Random(42).nextBytes(event);
  }

  abstract @Nullable Object append() throws IOException;

  /** Makes everything appended so far durable against power loss; returns when it is. */
  abstract void sync() throws IOException;

  /** An append whose durability {@link #sync} awaits; by default the plain append. */
  void appendAsync() throws IOException {
    append();
  }

  @Override
  public abstract void close() throws IOException;

  static SpillTarget open(
      SpillAppendBenchmark.Impl impl, Path dir, SpillQueue.Durability durability)
      throws IOException {
    return switch (impl) {
      case outlast -> new OutlastJournal(dir, durability, false);
      case outlastEncrypted -> new OutlastJournal(dir, durability, true);
      case chronicle -> new ChronicleJournal(dir, 0);
      case chronicleRecordSize -> new ChronicleJournal(dir, RECORD_OVERHEAD);
      case tape -> new TapeJournal(dir);
    };
  }

  /**
   * A new directory for a journal under {@code -Doutlast.bench.dir} (default: the temp directory).
   * A tmpfs is refused: there fsync and Tape's synchronous writes cost nothing, and the comparison
   * would be meaningless.
   */
  static Path newDirectory(String prefix) throws IOException {
    Path base =
        Path.of(System.getProperty("outlast.bench.dir", System.getProperty("java.io.tmpdir")));
    Files.createDirectories(base);
    String type = Files.getFileStore(base).type();
    if (type.equals("tmpfs") || type.equals("ramfs")) {
      throw new IllegalStateException(
          base
              + " is on a "
              + type
              + ": the spill-queue benchmarks need a real disk; set -Doutlast.bench.dir=<a"
              + " directory on one>");
    }
    return Files.createTempDirectory(base, prefix);
  }

  static void deleteTree(Path dir) throws IOException {
    try (Stream<Path> all = Files.walk(dir)) {
      for (Path p : (Iterable<Path>) all.sorted(Comparator.reverseOrder())::iterator) {
        Files.deleteIfExists(p);
      }
    }
  }

  /** Write-ahead, with a sink that is down all along, so that the drainer only waits. */
  static final class OutlastJournal extends SpillTarget {
    private final SpillQueue<byte[]> queue;
    private @Nullable CompletableFuture<EventId> last;

    OutlastJournal(Path dir, SpillQueue.Durability durability, boolean encrypted) {
      SpillQueue.Builder<byte[]> b = SpillQueue.builder("bench");
      if (encrypted) {
        b.encryption(new SecretKeySpec(new byte[32], "AES"));
      }
      queue =
          b.directory(dir)
              .codec(Codec.bytes())
              .sink(batch -> CompletableFuture.completedFuture(down(batch.size())))
              .guard(Guard.ofDefaults("sink"))
              .retryBackoff(Duration.ofMinutes(1), Duration.ofMinutes(1))
              .durability(durability)
              .maxDiskBytes(48L << 30)
              .whenFull(FullPolicy.fail())
              .build();
    }

    private static List<Outcome> down(int n) {
      return Collections.nCopies(n, Outcome.retry("the benchmark's sink is down"));
    }

    @Override
    Object append() {
      return queue.publish(event);
    }

    /** Group commit: appends return at once, the sync thread completes them after its fsync. */
    @Override
    void appendAsync() {
      // Syncs complete in sequence order: the last one done means the whole window is.
      last = queue.publishAsync(event);
    }

    @Override
    void sync() {
      CompletableFuture<EventId> f = last;
      if (f != null) {
        f.join();
      }
    }

    @Override
    public void close() {
      queue.close();
    }
  }

  /** A raw Chronicle appender on the same roll cycle and block size as Outlast's segments. */
  static final class ChronicleJournal extends SpillTarget {
    private final ChronicleQueue queue;
    private final ExcerptAppender appender;
    private final byte[] padding;

    ChronicleJournal(Path dir, int extraBytes) {
      this(dir, extraBytes, false);
    }

    /**
     * @param shared whether several threads take turns with the appender (behind a lock of the
     *     caller's): Chronicle's check that one thread uses it is then turned off, as Outlast's
     *     journal does for its appender
     */
    ChronicleJournal(Path dir, int extraBytes, boolean shared) {
      padding = new byte[extraBytes];
      queue =
          SingleChronicleQueueBuilder.binary(dir)
              .rollCycle(RollCycles.FAST_DAILY)
              .blockSize(4L << 20)
              .build();
      appender = queue.createAppender();
      if (shared) {
        appender.singleThreadedCheckDisabled(true);
      }
    }

    @Override
    @Nullable Object append() {
      try (DocumentContext dc = appender.writingDocument()) {
        dc.wire().bytes().write(event);
        if (padding.length > 0) {
          dc.wire().bytes().write(padding);
        }
      }
      return null;
    }

    /** The same primitive Outlast's group commit uses: fsync of the file being written. */
    @Override
    void sync() throws IOException {
      File f = appender.currentFile();
      if (f != null) {
        try (FileChannel ch = FileChannel.open(f.toPath(), StandardOpenOption.WRITE)) {
          ch.force(true);
        }
      }
    }

    @Override
    public void close() {
      appender.close();
      queue.close();
    }
  }

  /** Square's Tape: a single file opened in {@code rwd} mode, so every add reaches the device. */
  static final class TapeJournal extends SpillTarget {
    private final QueueFile queue;

    TapeJournal(Path dir) throws IOException {
      Files.createDirectories(dir);
      // zero(false): removed elements are not overwritten with zeros, Tape's cheaper setting.
      queue = new QueueFile.Builder(dir.resolve("tape").toFile()).zero(false).build();
    }

    @Override
    @Nullable Object append() throws IOException {
      queue.add(event);
      return null;
    }

    @Override
    void sync() {
      // Every add was already written through.
    }

    @Override
    public void close() throws IOException {
      queue.close();
    }
  }
}
