package dev.outlast.benchmarks;

import com.squareup.tape2.QueueFile;
import dev.outlast.buffer.SpillQueue;
import dev.outlast.buffer.spi.Delivery;
import dev.outlast.buffer.spi.EventId;
import dev.outlast.buffer.spi.Outcome;
import dev.outlast.buffer.spi.Sink;
import dev.outlast.core.Guard;
import dev.outlast.core.spi.Codec;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;
import java.util.stream.Stream;
import net.openhft.chronicle.bytes.Bytes;
import net.openhft.chronicle.queue.ChronicleQueue;
import net.openhft.chronicle.queue.ExcerptTailer;
import net.openhft.chronicle.queue.RollCycles;
import net.openhft.chronicle.queue.impl.single.SingleChronicleQueueBuilder;
import net.openhft.chronicle.wire.DocumentContext;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * Draining a backlog of 256-byte events into an in-process sink that takes batches of 500: one shot
 * opens the journal a previous run left and delivers every event. Outlast's drainer checks each
 * record's CRC and sequence, delivers through the sink's Guard, records the acknowledged position
 * after every batch and deletes drained segments. The raw Chronicle peer opens a tailer and hands
 * the same batches to the same sink, with no position kept (a restart would deliver it all again);
 * Tape peeks a batch, hands it over and removes it. Scores are milliseconds per backlog; events per
 * second = backlog / score × 1,000.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.SingleShotTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 5)
@Measurement(iterations = 20)
@Fork(
    value = 2,
    jvmArgs = {"-Xms1g", "-Xmx1g"})
public class SpillDrainBenchmark {
  static final int BATCH = 500;

  @Param({"outlast", "chronicle", "tape"})
  SpillAppendBenchmark.Impl impl;

  /**
   * Events in the backlog. Tape writes every add through to the device (about 3,000 a second here),
   * so the backlog is written once per fork and copied back before every shot.
   */
  @Param({"200000"})
  int backlog;

  private Path template;
  private Path dir;
  private Path queueDir;

  /** Writes the backlog, with the sink down, and closes the journal. Not measured. */
  @Setup(Level.Trial)
  public void fill() throws IOException {
    template = SpillTarget.newDirectory("outlast-drain-template");
    try (SpillTarget target =
        SpillTarget.open(impl, template.resolve("q"), SpillQueue.Durability.PROCESS_CRASH)) {
      for (int i = 0; i < backlog; i++) {
        target.append();
      }
    } catch (IOException | RuntimeException e) {
      SpillTarget.deleteTree(template);
      throw e;
    }
  }

  /** A fresh copy of the backlog for each shot (from the page cache: a copy, not a disk read). */
  @Setup(Level.Iteration)
  public void copy() throws IOException {
    dir = SpillTarget.newDirectory("outlast-drain-bench");
    queueDir = dir.resolve("q");
    try (Stream<Path> all = Files.walk(template.resolve("q"))) {
      for (Path from : (Iterable<Path>) all::iterator) {
        Path to = queueDir.resolve(template.resolve("q").relativize(from).toString());
        Files.copy(from, to, StandardCopyOption.COPY_ATTRIBUTES);
        if (Files.isRegularFile(to)) {
          // On disk before the shot: writing back the copy must not run during the drain.
          try (FileChannel ch = FileChannel.open(to, StandardOpenOption.WRITE)) {
            ch.force(true);
          }
        }
      }
    }
  }

  @TearDown(Level.Iteration)
  public void delete() throws IOException {
    SpillTarget.deleteTree(dir);
  }

  @TearDown(Level.Trial)
  public void deleteTemplate() throws IOException {
    SpillTarget.deleteTree(template);
  }

  @Benchmark
  public long drain() throws Exception {
    CountingSink sink = new CountingSink(backlog);
    switch (impl) {
      case outlast -> {
        try (SpillQueue<byte[]> queue =
            SpillQueue.<byte[]>builder("bench")
                .directory(queueDir)
                .codec(Codec.bytes())
                .sink(sink)
                .guard(Guard.ofDefaults("sink"))
                .batchSize(BATCH)
                .retryBackoff(Duration.ofMillis(10), Duration.ofMillis(100))
                .maxDiskBytes(48L << 30)
                .build()) {
          if (!sink.done.await(10, TimeUnit.MINUTES)) {
            throw new IllegalStateException("drained " + sink.events.get() + " of " + backlog);
          }
          // Done when the last acknowledgement is recorded, not only delivered.
          while (queue.metrics().backlogEvents() > 0) {
            LockSupport.parkNanos(50_000); // leave the CPU to the drainer
          }
        }
      }
      case outlastEncrypted -> throw new IllegalArgumentException("drain is measured unencrypted");
      case chronicle, chronicleRecordSize -> {
        try (ChronicleQueue queue =
                SingleChronicleQueueBuilder.binary(queueDir)
                    .rollCycle(RollCycles.FAST_DAILY)
                    .blockSize(4L << 20)
                    .build();
            ExcerptTailer tailer = queue.createTailer()) {
          List<Delivery<byte[]>> batch = new ArrayList<>(BATCH);
          long n = 0;
          while (true) {
            try (DocumentContext dc = tailer.readingDocument()) {
              if (!dc.isPresent()) {
                break;
              }
              Bytes<?> bytes = dc.wire().bytes();
              byte[] event = new byte[(int) bytes.readRemaining()];
              bytes.read(event);
              batch.add(new Delivery<>(new EventId("raw", ++n), event, 0L, 1));
            }
            if (batch.size() == BATCH) {
              sink.deliver(batch).toCompletableFuture().join();
              batch = new ArrayList<>(BATCH);
            }
          }
          if (!batch.isEmpty()) {
            sink.deliver(batch).toCompletableFuture().join();
          }
        }
      }
      case tape -> {
        try (QueueFile queue =
            new QueueFile.Builder(queueDir.resolve("tape").toFile()).zero(false).build()) {
          long n = 0;
          while (!queue.isEmpty()) {
            List<Delivery<byte[]>> batch = new ArrayList<>(BATCH);
            for (byte[] event : queue) {
              batch.add(new Delivery<>(new EventId("tape", ++n), event, 0L, 1));
              if (batch.size() == BATCH) {
                break;
              }
            }
            sink.deliver(batch).toCompletableFuture().join();
            queue.remove(batch.size());
          }
        }
      }
    }
    if (sink.events.get() != backlog) {
      throw new IllegalStateException("delivered " + sink.events.get() + " of " + backlog);
    }
    return sink.bytes.get();
  }

  /** Counts events and bytes, and acknowledges every one at once. */
  static final class CountingSink implements Sink<byte[]> {
    final AtomicLong events = new AtomicLong();
    final AtomicLong bytes = new AtomicLong();
    final CountDownLatch done = new CountDownLatch(1);
    private final long expected;

    CountingSink(long expected) {
      this.expected = expected;
    }

    @Override
    public CompletionStage<List<Outcome>> deliver(List<Delivery<byte[]>> batch) {
      long size = 0;
      for (Delivery<byte[]> d : batch) {
        size += d.event().length;
      }
      bytes.addAndGet(size);
      if (events.addAndGet(batch.size()) >= expected) {
        done.countDown();
      }
      return CompletableFuture.completedFuture(Collections.nCopies(batch.size(), Outcome.ok()));
    }
  }
}
