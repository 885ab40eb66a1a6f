package dev.outlast.benchmarks;

import dev.outlast.buffer.FullPolicy;
import dev.outlast.buffer.SpillQueue;
import dev.outlast.buffer.SpillQueueMetrics;
import dev.outlast.buffer.spi.Delivery;
import dev.outlast.buffer.spi.EventId;
import dev.outlast.buffer.spi.Outcome;
import dev.outlast.buffer.spi.Sink;
import dev.outlast.core.Guard;
import dev.outlast.core.GuardConfig;
import dev.outlast.core.spi.Codec;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.ReentrantLock;
import java.util.zip.CRC32C;
import org.jspecify.annotations.Nullable;
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
import org.openjdk.jmh.annotations.Threads;
import org.openjdk.jmh.annotations.Warmup;
import org.openjdk.jmh.infra.Blackhole;

/**
 * Publishing a 256-byte event into a healthy in-process sink from one thread ({@code oneThread})
 * and from four ({@code fourThreads}); an operation is one event published, and the four-thread
 * score is the sum over the threads. {@code direct} is the service without Outlast: each thread
 * builds its {@link Delivery} and calls {@code sink.deliver(List.of(delivery))} itself, under one
 * shared lock (one call at a time, as the lane makes them), and waits for the stage. {@code
 * spillOnFailure} publishes through the queue's delivery lane: the publisher hands the event over
 * and waits while the lane thread delivers it, batching what other publishers handed over
 * meanwhile. {@code writeAhead} appends to the journal and returns; the lane drains it
 * concurrently, on the same two cores.
 *
 * <p>The sink does the same work in every case: a fixed cost per call ({@code callTokens} of {@link
 * Blackhole#consumeCPU}: 7,000 is about 10 µs here, 70,000 about 100 µs) and, per event, an encode
 * of id, time and payload into a request buffer with a CRC32C over the request. A real sink call is
 * a network round trip (tens of µs on loopback, hundreds across hosts); a sink that cost nothing
 * per call would measure only the handoff between threads, which is not what a service pays. 10 µs
 * is the low end, and hard on the lane; 100 µs is a round trip to another host. The cost is spent
 * on the CPU rather than waited for, so that it is the same work for every impl and no timer's
 * granularity enters the figures.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(
    value = 2,
    jvmArgs = {"-Xms1g", "-Xmx1g"})
public class SpillPublishBenchmark {
  /** The queue's batch size, and the most events the sink's request buffer holds. */
  static final int BATCH = 500;

  /** Who calls the sink. */
  public enum Impl {
    /** Every publisher calls the sink itself, one call at a time under a shared lock. */
    direct,
    /** Outlast, write-ahead: the publisher journals, the lane drains. */
    writeAhead,
    /** Outlast, spill-on-failure, sink healthy: the publisher hands over to the lane and waits. */
    spillOnFailure
  }

  @Param Impl impl;

  /** The sink's fixed cost per call, in {@link Blackhole#consumeCPU} tokens (1.45 ns each here). */
  @Param({"7000", "70000"})
  int callTokens;

  private final byte[] event = new byte[SpillTarget.EVENT_BYTES];
  private final ReentrantLock directLock = new ReentrantLock();
  private long directSequence; // guarded by directLock

  private WorkSink sink;
  private @Nullable Path dir;
  private @Nullable SpillQueue<byte[]> queue;

  public SpillPublishBenchmark() {
    new Random(42).nextBytes(event);
  }

  /** A fresh sink and queue per iteration: write-ahead journals a few hundred MB per iteration. */
  @Setup(Level.Iteration)
  public void open() throws IOException {
    sink = new WorkSink(callTokens);
    if (impl != Impl.direct) {
      Path dir = SpillTarget.newDirectory("outlast-publish-bench");
      this.dir = dir;
      queue =
          SpillQueue.<byte[]>builder("bench")
              .directory(dir.resolve("q"))
              .codec(Codec.bytes())
              .sink(sink)
              .guard(Guard.of("sink", GuardConfig.broker()))
              .mode(
                  impl == Impl.writeAhead
                      ? SpillQueue.Mode.WRITE_AHEAD
                      : SpillQueue.Mode.SPILL_ON_FAILURE)
              .batchSize(BATCH)
              .maxDiskBytes(48L << 30)
              .whenFull(FullPolicy.fail())
              .build();
    }
  }

  /**
   * Closes the queue and prints what the sink saw: events per call (how much the lane batched) and,
   * for write-ahead, how far the drain was behind the publishers when the iteration ended.
   */
  @TearDown(Level.Iteration)
  public void close() throws IOException {
    String behind = "";
    SpillQueue<byte[]> q = queue;
    if (q != null) {
      SpillQueueMetrics m = q.metrics();
      behind = "; not yet delivered at the end: " + (m.published() - m.delivered());
      q.close();
      queue = null;
    }
    Path d = dir;
    if (d != null) {
      SpillTarget.deleteTree(d);
      dir = null;
    }
    System.out.printf(
        "%n  sink: %,d calls, %.2f events per call%s%n",
        sink.calls, sink.calls == 0 ? 0.0 : (double) sink.events / sink.calls, behind);
  }

  @Benchmark
  @Threads(1)
  public Object oneThread() {
    return publish();
  }

  @Benchmark
  @Threads(4)
  public Object fourThreads() {
    return publish();
  }

  private Object publish() {
    SpillQueue<byte[]> q = queue;
    return q == null ? deliverDirectly() : q.publish(event);
  }

  private List<Outcome> deliverDirectly() {
    directLock.lock();
    try {
      Delivery<byte[]> d =
          new Delivery<>(
              new EventId("bench", ++directSequence), event, System.currentTimeMillis(), 1);
      return sink.deliver(List.of(d)).toCompletableFuture().join();
    } finally {
      directLock.unlock();
    }
  }

  /**
   * The in-process sink: a fixed cost per call, an encode per event, every event acknowledged. Not
   * threadsafe: every impl calls it one call at a time (the lane's thread, or under the lock).
   */
  static final class WorkSink implements Sink<byte[]> {
    private static final int HEADER_BYTES = Long.BYTES + Long.BYTES + Integer.BYTES;

    private final ByteBuffer request =
        ByteBuffer.allocate(BATCH * (HEADER_BYTES + SpillTarget.EVENT_BYTES));
    private final CRC32C crc = new CRC32C();
    private final int callTokens;
    long calls;
    long events;
    long checksum;

    WorkSink(int callTokens) {
      this.callTokens = callTokens;
    }

    @Override
    public CompletionStage<List<Outcome>> deliver(List<Delivery<byte[]>> batch) {
      Blackhole.consumeCPU(callTokens);
      request.clear();
      for (Delivery<byte[]> d : batch) {
        byte[] payload = d.event();
        request.putLong(d.id().sequence()).putLong(d.publishedAtMillis()).putInt(payload.length);
        request.put(payload);
      }
      request.flip();
      crc.reset();
      crc.update(request);
      checksum += crc.getValue();
      calls++;
      events += batch.size();
      return CompletableFuture.completedFuture(Collections.nCopies(batch.size(), Outcome.ok()));
    }

    @Override
    public String name() {
      return "work";
    }
  }
}
