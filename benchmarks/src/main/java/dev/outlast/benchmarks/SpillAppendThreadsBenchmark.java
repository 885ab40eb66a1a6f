package dev.outlast.benchmarks;

import dev.outlast.buffer.SpillQueue;
import java.io.IOException;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.ReentrantLock;
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

/**
 * Appending one 256-byte event from 2 and from 4 publishing threads at once ({@code twoThreads},
 * {@code fourThreads}; the score is the sum over the threads), write-ahead, process-crash
 * durability, the sink down: the single-thread append of {@link SpillAppendBenchmark} under
 * contention. Outlast's {@code publish} takes its writer's lock itself. The raw Chronicle peers
 * share one appender behind one {@link ReentrantLock} (the same kind of lock Outlast's writer
 * holds), which is what a service must do to append to one Chronicle queue from many threads in
 * order: {@code chronicle} writes the 256-byte event, {@code chronicleRecordSize} as many bytes as
 * Outlast's record of it.
 *
 * <p>On a 2-core machine, four publishers are oversubscribed for every impl alike: the figures then
 * include the scheduler's handovers of the lock holder's core.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(
    value = 2,
    jvmArgs = {"-Xms1g", "-Xmx1g"})
public class SpillAppendThreadsBenchmark {
  /** Which queue appends. */
  public enum Impl {
    outlast,
    /** One raw Chronicle appender behind one lock, writing the 256-byte event. */
    chronicle,
    /** The same, writing as many bytes as Outlast's record of the event. */
    chronicleRecordSize
  }

  @Param Impl impl;

  private final ReentrantLock peerLock = new ReentrantLock();
  private Path dir;
  private SpillTarget target;

  /** A fresh directory per iteration: the journal of a 2-second iteration is a few GB. */
  @Setup(Level.Iteration)
  public void open() throws IOException {
    dir = SpillTarget.newDirectory("outlast-append-threads-bench");
    Path q = dir.resolve("q");
    target =
        switch (impl) {
          case outlast ->
              SpillTarget.open(
                  SpillAppendBenchmark.Impl.outlast, q, SpillQueue.Durability.PROCESS_CRASH);
          case chronicle -> new SpillTarget.ChronicleJournal(q, 0, true);
          case chronicleRecordSize ->
              new SpillTarget.ChronicleJournal(q, SpillTarget.RECORD_OVERHEAD, true);
        };
  }

  @TearDown(Level.Iteration)
  public void close() throws IOException {
    target.close();
    SpillTarget.deleteTree(dir);
  }

  @Benchmark
  @Threads(2)
  public @Nullable Object twoThreads() throws IOException {
    return append();
  }

  @Benchmark
  @Threads(4)
  public @Nullable Object fourThreads() throws IOException {
    return append();
  }

  private @Nullable Object append() throws IOException {
    if (impl == Impl.outlast) {
      return target.append();
    }
    peerLock.lock();
    try {
      return target.append();
    } finally {
      peerLock.unlock();
    }
  }
}
