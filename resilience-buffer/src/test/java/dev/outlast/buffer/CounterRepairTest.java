package dev.outlast.buffer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.outlast.buffer.spi.EventId;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Issue 14, item 2: a damaged or missing {@code ack.position} or {@code sequence.lease} is rebuilt
 * from the journal. The queue opens, delivers every event on disk (again, if it may have been
 * delivered: at least once), and never issues a sequence number twice.
 */
class CounterRepairTest {
  private static final int EVENTS = 5_000;
  private static final String PAD = "r".repeat(900);

  @TempDir static Path work;
  private static Path pristine;

  enum Damage {
    ZEROED,
    FEW_BYTES,
    EMPTY,
    DELETED
  }

  @BeforeAll
  static void writeJournal() {
    pristine = work.resolve("pristine");
    TestSink down = new TestSink();
    down.state = TestSink.State.DOWN;
    try (SpillQueue<String> q = JournalDamageTest.builder(pristine, down).build()) {
      for (int i = 0; i < EVENTS; i++) {
        q.publish(event(i));
      }
    }
  }

  private static String event(int i) {
    return String.format("%05d", i) + PAD;
  }

  static void damage(Path file, Damage how) throws Exception {
    switch (how) {
      case ZEROED -> Files.write(file, new byte[(int) Files.size(file)]);
      case FEW_BYTES -> Files.write(file, new byte[] {7, 0, 0});
      case EMPTY -> Files.write(file, new byte[0]);
      case DELETED -> Files.delete(file);
    }
  }

  @ParameterizedTest(name = "{0} {1}")
  @CsvSource({
    "ack.position, ZEROED",
    "ack.position, FEW_BYTES",
    "ack.position, EMPTY",
    "ack.position, DELETED",
    "sequence.lease, ZEROED",
    "sequence.lease, FEW_BYTES",
    "sequence.lease, EMPTY",
    "sequence.lease, DELETED"
  })
  void aDamagedCounterFile_isRebuiltFromTheJournal_andEveryEventOnDiskIsDelivered(
      String file, Damage how) throws Exception {
    Path dir = work.resolve(file + "-" + how);
    JournalDamageTest.copy(pristine, dir);
    damage(dir.resolve(file), how);

    TestSink sink = new TestSink();
    try (SpillQueue<String> q = JournalDamageTest.builder(dir, sink).build()) {
      await()
          .atMost(Duration.ofSeconds(60))
          .until(() -> q.metrics().backlogEvents() == 0 && sink.events.size() >= EVENTS);
      List<String> expected = new ArrayList<>();
      for (int i = 0; i < EVENTS; i++) {
        expected.add(event(i));
      }
      assertThat(sink.events).containsExactlyElementsOf(expected);
      assertThat(q.metrics().lost()).isEmpty();
      long highest = sink.ids.stream().mapToLong(EventId::sequence).max().orElseThrow();
      EventId next = q.publish("after the repair");
      assertThat(next.sequence()).as("a number never issued before").isGreaterThan(highest);
    }
  }

  @Test
  void aRepair_isNotedForHealth_andPersisted() throws Exception {
    Path dir = work.resolve("noted");
    JournalDamageTest.copy(pristine, dir);
    damage(dir.resolve("ack.position"), Damage.ZEROED);
    damage(dir.resolve("sequence.lease"), Damage.DELETED);
    try (Journal j = openJournal(dir)) {
      assertThat(j.repairs()).hasSize(2);
      assertThat(j.repairs().get(0))
          .startsWith("ack.position was damaged")
          .contains("rebuilt as 0");
      assertThat(j.repairs().get(1)).startsWith("sequence.lease was missing");
      assertThat(j.acknowledged()).isZero();
    }
    try (Journal j = openJournal(dir)) {
      assertThat(j.repairs()).as("the rebuilt files were written").isEmpty();
    }
  }

  static Journal openJournal(Path dir) throws Exception {
    return Journal.open(
        dir,
        new Journal.Settings(
            net.openhft.chronicle.queue.RollCycles.FAST_DAILY,
            2L << 20,
            1L << 20,
            1L << 30,
            0,
            false,
            true),
        java.time.Clock.systemUTC(),
        (from, to, reason, quarantined) -> {},
        new RecordFormat());
  }

  /**
   * Spill-on-failure delivers directly under numbers it leased but never journaled: when the lease
   * is rebuilt, the next number must be past every number the lease block in use could have issued.
   */
  @Test
  void aDamagedLease_afterDirectDeliveries_neverReusesTheirNumbers() throws Exception {
    for (Damage how : List.of(Damage.ZEROED, Damage.DELETED)) {
      Path dir = work.resolve("direct-" + how);
      TestSink sink = new TestSink();
      long highestDirect;
      try (SpillQueue<String> q =
          JournalDamageTest.builder(dir, sink).mode(SpillQueue.Mode.SPILL_ON_FAILURE).build()) {
        sink.state = TestSink.State.DOWN;
        for (int i = 0; i < 3_000; i++) {
          q.publish(event(i));
        }
        sink.state = TestSink.State.UP;
        await()
            .atMost(Duration.ofSeconds(60))
            .until(() -> q.metrics().backlogEvents() == 0 && !q.metrics().spilling());
        highestDirect = 0;
        for (int i = 0; i < 200; i++) {
          EventId id = q.publish("direct-" + i);
          assertThat(sink.events).as("delivered directly").last().isEqualTo("direct-" + i);
          highestDirect = Math.max(highestDirect, id.sequence());
        }
      }
      damage(dir.resolve("sequence.lease"), how);
      try (SpillQueue<String> q =
          JournalDamageTest.builder(dir, sink).mode(SpillQueue.Mode.SPILL_ON_FAILURE).build()) {
        EventId next = q.publish("after the repair");
        assertThat(next.sequence())
            .as(how + ": a number no direct delivery had")
            .isGreaterThan(highestDirect);
      }
    }
  }
}
