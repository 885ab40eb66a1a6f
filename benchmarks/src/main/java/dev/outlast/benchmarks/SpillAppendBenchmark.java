package dev.outlast.benchmarks;

import dev.outlast.buffer.SpillQueue;
import java.io.IOException;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
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
import org.openjdk.jmh.annotations.Warmup;

/**
 * Appending one 256-byte event, write-ahead, process-crash durability: Outlast's {@code publish}
 * (record header with sequence and CRC, bound and free-space checks, block preallocation) beside a
 * raw Chronicle appender writing the same 256 bytes ({@code chronicle}) or as many bytes as
 * Outlast's record of them ({@code chronicleRecordSize}, 292), and beside Tape's {@code
 * QueueFile.add}. The sink is down for the whole run, so the drainer only waits: this is the spill
 * path of an outage.
 *
 * <p>Tape opens its file in {@code rwd} mode: every add is synchronously written to the device, so
 * it is measured here at its only durability level, which is stronger than the others'.
 */
@State(Scope.Benchmark)
@BenchmarkMode({Mode.Throughput, Mode.SampleTime})
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(
    value = 2,
    jvmArgs = {"-Xms1g", "-Xmx1g"})
public class SpillAppendBenchmark {
  /** Which queue appends. */
  public enum Impl {
    outlast,
    /** Outlast with {@code encryption(key)}: each record sealed with AES-GCM under a subkey. */
    outlastEncrypted,
    /** A raw Chronicle appender writing the 256-byte event. */
    chronicle,
    /** A raw Chronicle appender writing as many bytes as Outlast's record of the event. */
    chronicleRecordSize,
    tape
  }

  @Param Impl impl;

  private Path dir;
  private SpillTarget target;

  /** A fresh directory per iteration: the journal of a 2-second iteration is a few GB. */
  @Setup(Level.Iteration)
  public void open() throws IOException {
    dir = SpillTarget.newDirectory("outlast-append-bench");
    target = SpillTarget.open(impl, dir.resolve("q"), SpillQueue.Durability.PROCESS_CRASH);
  }

  @TearDown(Level.Iteration)
  public void close() throws IOException {
    target.close();
    SpillTarget.deleteTree(dir);
  }

  @Benchmark
  public @Nullable Object append() throws IOException {
    return target.append();
  }
}
