package dev.outlast.benchmarks;

import dev.outlast.cache.Freshness;
import dev.outlast.cache.QueryCache;
import dev.outlast.core.Guard;
import dev.outlast.core.spi.Codec;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
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
 * How long a restarted pod takes to read its warm-start snapshot: building a cache from a snapshot
 * of 1,000,000 entries (8-byte keys, ~30-byte values), checksum verified. Single shot, per build.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.SingleShotTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 2)
@Measurement(iterations = 5)
@Fork(
    value = 1,
    jvmArgs = {"-Xms2g", "-Xmx2g"})
public class SnapshotRestoreBenchmark {
  @Param({"1000000"})
  int entries;

  private Path dir;
  private Path file;
  private @Nullable QueryCache<Long, String> restored;

  private QueryCache.Builder<Long, String> builder() {
    return QueryCache.<Long, String>builder("restore")
        .guard(Guard.ofDefaults("mysql"))
        .freshness(Freshness.of(Duration.ofMinutes(10), Duration.ofHours(6)))
        .maximumSize(entries * 2L)
        .snapshot(file, Codec.int64(), Codec.utf8())
        .snapshotInterval(Duration.ofHours(1));
  }

  @Setup(Level.Trial)
  public void writeSnapshot() throws IOException {
    dir = Files.createTempDirectory("outlast-restore-bench");
    file = dir.resolve("restore.snapshot");
    try (QueryCache<Long, String> cache = builder().build(k -> "product name number " + k)) {
      for (long i = 0; i < entries; i++) {
        cache.get(i);
      }
    }
  }

  @Benchmark
  public long restore() {
    QueryCache<Long, String> cache = builder().build(k -> "product name number " + k);
    restored = cache;
    long n = cache.stats().restoredFromSnapshot();
    if (n != entries) {
      throw new IllegalStateException("restored " + n + " of " + entries);
    }
    return n;
  }

  @TearDown(Level.Invocation)
  public void closeRestored() throws IOException {
    // Closing writes the snapshot back; the copy taken first keeps every invocation's input equal.
    Path keep = dir.resolve("keep");
    Files.copy(file, keep, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
    if (restored != null) {
      restored.close();
    }
    Files.move(keep, file, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
  }

  @TearDown(Level.Trial)
  public void deleteSnapshot() throws IOException {
    try (var files = Files.list(dir)) {
      for (Path p : (Iterable<Path>) files::iterator) {
        Files.delete(p);
      }
    }
    Files.delete(dir);
  }
}
