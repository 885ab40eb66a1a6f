package dev.outlast.core.fallback;

import static org.assertj.core.api.Assertions.assertThat;

import dev.outlast.core.Guard;
import dev.outlast.core.GuardConfig;
import dev.outlast.core.spi.EventSource;
import dev.outlast.core.spi.StreamEvent;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/**
 * What a source may return besides one row per sequence: repeats (a replayed insert with no unique
 * key), rows outside the range asked for, and a history that shrank after it was verified. Pure
 * logic over in-memory sources (the real databases are in {@link ReconcilerTest}); rows are
 * returned as a SQL source returns them, ordered by sequence and cut at the limit.
 */
class ReconcilerRepeatsTest {
  /** Rows in the order given; read returns those with sequence >= from, sorted, at most limit. */
  static final class Rows implements EventSource {
    final List<StreamEvent> rows = new ArrayList<>();
    final AtomicInteger reads = new AtomicInteger();

    Rows add(long from, long to) {
      for (long s = from; s <= to; s++) {
        add(s, "payload-" + s);
      }
      return this;
    }

    Rows add(long sequence, String payload) {
      rows.add(new StreamEvent("s", sequence, payload.getBytes(StandardCharsets.UTF_8)));
      return this;
    }

    @Override
    public List<StreamEvent> read(String stream, long fromSequence, int limit) {
      reads.incrementAndGet();
      return rows.stream()
          .filter(e -> e.sequence() >= fromSequence)
          .sorted((a, b) -> Long.compare(a.sequence(), b.sequence()))
          .limit(limit)
          .toList();
    }

    @Override
    public long highWaterMark(String stream) {
      return rows.stream().mapToLong(StreamEvent::sequence).max().orElse(0);
    }
  }

  private static Reconciler reconciler(Rows store, Rows ledger, int rangeSize) {
    return Reconciler.builder()
        .left("event-store", store, Guard.of("event-store", GuardConfig.database()))
        .right("ledger", ledger, Guard.of("ledger", GuardConfig.database()))
        .rangeSize(rangeSize)
        .build();
  }

  @Test
  void aSequenceReturnedTwiceWithTheSamePayload_isOneEvent_evenWhereItFillsThePage() {
    Rows store = new Rows().add(1, 100).add(40, "payload-40").add(40, "payload-40");
    Rows ledger = new Rows().add(1, 100);
    // Ranges of 50: the store's first page of 50 rows ends at 48 because of the repeat.
    Reconciler.Report report = reconciler(store, ledger, 50).compare("s");
    assertThat(report.diverged()).as(report.divergence()).isFalse();
    assertThat(report.verifiedUpTo()).isEqualTo(100);
    assertThat(report.rangesCompared()).isEqualTo(2);
  }

  @Test
  void aSequenceReturnedTwiceWithAnotherPayload_isADivergenceThere() {
    Rows store = new Rows().add(1, 100);
    Rows ledger = new Rows().add(1, 100).add(77, "replayed differently");
    Reconciler.Report report = reconciler(store, ledger, 1_000).compare("s");
    assertThat(report.firstDivergence()).isEqualTo(77);
    assertThat(report.divergence()).isEqualTo("held twice with different payloads in ledger");
    assertThat(report.verifiedUpTo()).isEqualTo(76);
  }

  @Test
  void aSourceThatLostEventsAfterTheyWereVerified_isADivergence_notLag() {
    Rows store = new Rows().add(1, 100);
    Rows ledger = new Rows().add(1, 100);
    Reconciler r = reconciler(store, ledger, 1_000);
    assertThat(r.compare("s").verifiedUpTo()).isEqualTo(100);
    store.rows.removeIf(e -> e.sequence() > 60); // restored from an older backup
    Reconciler.Report report = r.compare("s");
    assertThat(report.diverged()).isTrue();
    assertThat(report.firstDivergence()).isEqualTo(61);
    assertThat(report.divergence())
        .isEqualTo("missing in event-store: it held events up to 100 when last compared");
    assertThat(report.verifiedUpTo()).isEqualTo(60);
    assertThat(r.verifiedUpTo("s")).isEqualTo(60);
    // Once the store has them again, the compare goes on from the lower point.
    store.add(61, 100);
    Reconciler.Report repaired = r.compare("s");
    assertThat(repaired.diverged()).isFalse();
    assertThat(repaired.verifiedUpTo()).isEqualTo(100);
  }

  @Test
  void aMissingEventIsStillFound_whenTheOtherSourceRepeatsOne() {
    Rows store = new Rows().add(1, 29).add(31, 60);
    Rows ledger = new Rows().add(1, 60).add(10, "payload-10");
    Reconciler.Report report = reconciler(store, ledger, 1_000).compare("s");
    assertThat(report.firstDivergence()).isEqualTo(30);
    assertThat(report.divergence()).isEqualTo("missing in event-store");
  }
}
