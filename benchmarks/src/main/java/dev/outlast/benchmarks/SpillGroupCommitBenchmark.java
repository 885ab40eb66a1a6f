package dev.outlast.benchmarks;

import dev.outlast.buffer.SpillQueue;
import java.io.IOException;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * Power-loss durability with group commit: a window of {@value #WINDOW} 256-byte events is appended
 * and the operation ends when all of them are on the disk, as when many producers each wait for
 * their own event. Outlast uses {@code publishAsync} with {@code Durability.POWER_LOSS} (its sync
 * thread syncs once for everything appended before the sync begins: when the window's last stage is
 * joined, or the appends pause); the raw Chronicle peer appends the window and fsyncs the file
 * once; Tape writes every add through to the device, its only mode. Scores are events per second.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 2, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(
    value = 2,
    jvmArgs = {"-Xms1g", "-Xmx1g"})
public class SpillGroupCommitBenchmark {
  static final int WINDOW = 1_000;

  @Param({"outlast", "chronicle", "tape"})
  SpillAppendBenchmark.Impl impl;

  private Path dir;
  private SpillTarget target;

  @Setup(Level.Iteration)
  public void open() throws IOException {
    dir = SpillTarget.newDirectory("outlast-sync-bench");
    target = SpillTarget.open(impl, dir.resolve("q"), SpillQueue.Durability.POWER_LOSS);
  }

  @TearDown(Level.Iteration)
  public void close() throws IOException {
    target.close();
    SpillTarget.deleteTree(dir);
  }

  @Benchmark
  @OperationsPerInvocation(WINDOW)
  public void appendWindowAndSync() throws IOException {
    for (int i = 0; i < WINDOW; i++) {
      target.appendAsync();
    }
    target.sync();
  }
}
