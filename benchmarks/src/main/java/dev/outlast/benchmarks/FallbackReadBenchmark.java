package dev.outlast.benchmarks;

import dev.outlast.core.Guard;
import dev.outlast.core.GuardConfig;
import dev.outlast.core.fallback.FallbackChain;
import dev.outlast.core.fallback.StitchedReader;
import dev.outlast.core.spi.EventSource;
import dev.outlast.core.spi.StreamEvent;
import java.net.ConnectException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * A read of 10 events of a stream while the event store's breaker is open, so the ledger serves it
 * through the {@link StitchedReader} ({@code outlast}: store skipped by its guard, ledger asked for
 * its high-water mark and the events through its own guard, parts checked and stitched), beside
 * reading the same events from the ledger directly ({@code direct}). Both sources are in memory:
 * the difference is what Outlast adds to every fallback read, which a real ledger's network round
 * trip (hundreds of microseconds) would hide.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(
    value = 2,
    jvmArgs = {"-Xms1g", "-Xmx1g"})
public class FallbackReadBenchmark {
  /** Who reads. */
  public enum Impl {
    outlast,
    direct
  }

  private static final String STREAM = "order-42";
  private static final int EVENTS = 1_000;

  @Param Impl impl;

  private EventSource ledger;
  private StitchedReader reader;
  private long from;

  /** A ledger in memory: a list of events, sliced. */
  private static final class MemoryLedger implements EventSource {
    private final List<StreamEvent> events = new ArrayList<>();

    MemoryLedger() {
      for (long seq = 1; seq <= EVENTS; seq++) {
        events.add(new StreamEvent(STREAM, seq, new byte[64]));
      }
    }

    @Override
    public List<StreamEvent> read(String stream, long fromSequence, int limit) {
      int start = (int) Math.min(events.size(), fromSequence - 1);
      return events.subList(start, Math.min(events.size(), start + limit));
    }

    @Override
    public long highWaterMark(String stream) {
      return events.size();
    }
  }

  @Setup
  public void setUp() {
    ledger = new MemoryLedger();
    EventSource store =
        new EventSource() {
          @Override
          public List<StreamEvent> read(String stream, long fromSequence, int limit)
              throws ConnectException {
            throw new ConnectException("Connection refused");
          }

          @Override
          public long highWaterMark(String stream) throws ConnectException {
            throw new ConnectException("Connection refused");
          }
        };
    Guard storeGuard =
        Guard.of(
            "event-store",
            GuardConfig.custom()
                .maxAttempts(1)
                .openWait(Duration.ofHours(1))
                .maxOpenWait(Duration.ofHours(1))
                .build());
    reader =
        StitchedReader.over(
            FallbackChain.<EventSource>builder("bench")
                .source("event-store", store, storeGuard)
                .source("ledger", ledger, Guard.of("ledger", GuardConfig.database()))
                .build());
    // Open the store's breaker: its failures are counted until it opens, for an hour.
    for (int i = 0; i < 50 && storeGuard.state() != Guard.State.OPEN; i++) {
      reader.read(STREAM, 1, 10);
    }
    if (storeGuard.state() != Guard.State.OPEN) {
      throw new IllegalStateException("the store's breaker did not open");
    }
  }

  @Benchmark
  public List<StreamEvent> read() throws Exception {
    from = from >= EVENTS - 10 ? 1 : from + 1;
    return impl == Impl.outlast
        ? reader.read(STREAM, from, 10).events()
        : ledger.read(STREAM, from, 10);
  }
}
