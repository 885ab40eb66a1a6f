package dev.outlast.core.fallback;

import static dev.outlast.core.fallback.EventDatabases.execute;
import static dev.outlast.core.fallback.EventDatabases.insert;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.outlast.core.Guard;
import dev.outlast.core.GuardConfig;
import dev.outlast.core.jdbc.JdbcEventSource;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Reconciliation of a real PostgreSQL event store against a real MariaDB ledger: divergences
 * planted at known sequence numbers are found exactly; identical streams and a store that only lags
 * report none; a second compare reads only what is new.
 */
class ReconcilerTest {
  private static EventDatabases dbs;

  @BeforeAll
  static void start() throws Exception {
    dbs = EventDatabases.start();
  }

  @AfterAll
  static void stop() {
    if (dbs != null) {
      dbs.close();
    }
  }

  private static void both(String stream, long from, long to) throws Exception {
    insert(dbs.storeDs, stream, from, to);
    insert(dbs.ledgerDs, stream, from, to);
  }

  private static Reconciler reconciler() {
    return Reconciler.builder()
        .left(
            "event-store",
            JdbcEventSource.builder(dbs.storeDs).build(),
            Guard.of("event-store", GuardConfig.database()))
        .right(
            "ledger",
            JdbcEventSource.builder(dbs.ledgerDs).build(),
            Guard.of("ledger", GuardConfig.database()))
        .rangeSize(1_000)
        .build();
  }

  @Test
  void identicalStreams_noDivergence_andASecondCompareReadsOnlyWhatIsNew() throws Exception {
    both("same", 1, 2_500);
    Reconciler r = reconciler();

    Reconciler.Report first = r.compare("same");
    assertThat(first.diverged()).isFalse();
    assertThat(first.verifiedUpTo()).isEqualTo(2_500);
    assertThat(first.rangesCompared()).isEqualTo(3);

    both("same", 2_501, 2_600);
    Reconciler.Report second = r.compare("same");
    assertThat(second.diverged()).isFalse();
    assertThat(second.verifiedUpTo()).isEqualTo(2_600);
    assertThat(second.rangesCompared()).isEqualTo(1);
    assertThat(r.compare("same").rangesCompared()).isZero();
  }

  @Test
  void aStoreThatOnlyLags_isLag_notDivergence() throws Exception {
    both("lagging", 1, 1_000);
    insert(dbs.ledgerDs, "lagging", 1_001, 1_050);
    Reconciler.Report report = reconciler().compare("lagging");
    assertThat(report.diverged()).isFalse();
    assertThat(report.verifiedUpTo()).isEqualTo(1_000);
    assertThat(report.lag()).isEqualTo(50);
  }

  @Test
  void aChangedPayload_isFoundAtItsSequence_andStaysReportedUntilRepaired() throws Exception {
    both("changed", 1, 3_000);
    execute(
        dbs.storeDs,
        "UPDATE event SET payload = '\\xdead'::bytea WHERE stream = 'changed' AND seq = 2222");
    Reconciler r = reconciler();
    Reconciler.Report report = r.compare("changed");
    assertThat(report.firstDivergence()).isEqualTo(2_222);
    assertThat(report.divergence()).isEqualTo("payload differs");
    assertThat(report.verifiedUpTo()).isEqualTo(2_221);
    assertThat(r.compare("changed").firstDivergence()).isEqualTo(2_222);

    execute(dbs.storeDs, "DELETE FROM event WHERE stream = 'changed' AND seq = 2222");
    insert(dbs.storeDs, "changed", 2_222, 2_222);
    Reconciler.Report repaired = r.compare("changed");
    assertThat(repaired.diverged()).isFalse();
    assertThat(repaired.verifiedUpTo()).isEqualTo(3_000);
  }

  @Test
  void aMissingEvent_isFoundAtItsSequence_sayingWhereItIsMissing() throws Exception {
    both("holed", 1, 2_000);
    execute(dbs.storeDs, "DELETE FROM event WHERE stream = 'holed' AND seq IN (1234, 1500)");
    Reconciler.Report report = reconciler().compare("holed");
    assertThat(report.firstDivergence()).isEqualTo(1_234);
    assertThat(report.divergence()).isEqualTo("missing in event-store");
  }

  @Test
  void resumeFrom_startsAfterTheGivenPoint() throws Exception {
    both("resumed", 1, 1_500);
    Reconciler r =
        Reconciler.builder()
            .left("a", JdbcEventSource.builder(dbs.storeDs).build(), Guard.ofDefaults("a"))
            .right("b", JdbcEventSource.builder(dbs.ledgerDs).build(), Guard.ofDefaults("b"))
            .resumeFrom(Map.of("resumed", 1_400L))
            .build();
    Reconciler.Report report = r.compare("resumed");
    assertThat(report.rangesCompared()).isEqualTo(1);
    assertThat(report.verifiedUpTo()).isEqualTo(1_500);
  }

  @Test
  void badSettings_failAtBuildTime() {
    assertThatThrownBy(() -> Reconciler.builder().build()).hasMessageContaining("left(...)");
    assertThatThrownBy(() -> Reconciler.builder().rangeSize(0)).hasMessageContaining("rangeSize");
  }
}
