package dev.outlast.buffer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The seed's retention: "if an index from a previous period is deleted, only data from that period
 * will be unavailable". An operator may delete journal files at any time; the queue reports the gap
 * with its exact sequence range and delivers the rest.
 */
class JournalGapTest {
  private static final int EVENTS = 3_000;
  private static final String PAD = "y".repeat(900);

  @TempDir Path dir;

  private static String event(int i) {
    return String.format("%05d", i) + PAD;
  }

  private List<Path> segments(Path q) throws Exception {
    try (Stream<Path> s = Files.list(q.resolve("journal"))) {
      return s.sorted().toList();
    }
  }

  private void fill(Path q) {
    TestSink down = new TestSink();
    down.state = TestSink.State.DOWN;
    try (SpillQueue<String> queue = JournalDamageTest.builder(q, down).build()) {
      for (int i = 0; i < EVENTS; i++) {
        queue.publish(event(i));
      }
    }
  }

  @Test
  void aSegmentDeletedWhileStopped_isReportedWithItsExactRange() throws Exception {
    Path q = dir.resolve("stopped");
    fill(q);
    List<Path> segs = segments(q);
    assertThat(segs.size()).as("a journal of several segments").isGreaterThanOrEqualTo(3);
    long first = Long.parseLong(segs.get(1).getFileName().toString());
    long last = Long.parseLong(segs.get(2).getFileName().toString()) - 1;
    JournalDamageTest.deleteTree(segs.get(1));

    TestSink sink = new TestSink();
    try (SpillQueue<String> queue = JournalDamageTest.builder(q, sink).build()) {
      await().atMost(Duration.ofSeconds(30)).until(() -> queue.metrics().backlogEvents() == 0);
      assertThat(queue.metrics().lost())
          .singleElement()
          .satisfies(
              r -> {
                assertThat(r.from()).isEqualTo(first);
                assertThat(r.to()).isEqualTo(last);
              });
    }
    assertThat(sink.events).hasSize((int) (EVENTS - (last - first + 1)));
    List<Integer> numbers = new ArrayList<>();
    sink.events.forEach(e -> numbers.add(Integer.parseInt(e.substring(0, 5))));
    assertThat(numbers).isSorted().doesNotHaveDuplicates();
    for (long s = first; s <= last; s++) {
      assertThat(numbers).doesNotContain((int) (s - 1));
    }
  }

  @Test
  void aSegmentDeletedWhileRunning_isReportedWithItsExactRange_andTheQueueGoesOn()
      throws Exception {
    Path q = dir.resolve("running");
    fill(q);
    TestSink sink = new TestSink();
    sink.state = TestSink.State.DOWN;
    try (SpillQueue<String> queue = JournalDamageTest.builder(q, sink).build()) {
      List<Path> segs = segments(q);
      long first = Long.parseLong(segs.get(2).getFileName().toString());
      // The last segment of the filling run: it ends with that run's last event. (The segment after
      // it, this run's, starts at the next leased number, not at the next event.)
      long last = EVENTS;
      assertThat(Long.parseLong(segs.get(3).getFileName().toString())).isGreaterThan(EVENTS);
      JournalDamageTest.deleteTree(segs.get(2));
      sink.state = TestSink.State.UP;
      await().atMost(Duration.ofSeconds(30)).until(() -> queue.metrics().backlogEvents() == 0);
      assertThat(queue.metrics().lost())
          .singleElement()
          .satisfies(
              r -> {
                assertThat(r.from()).isEqualTo(first);
                assertThat(r.to()).isEqualTo(last);
                assertThat(r.reason()).contains("was deleted");
              });
      queue.publish(event(99_999));
      await().untilAsserted(() -> assertThat(sink.events).last().isEqualTo(event(99_999)));
      assertThat(sink.events).hasSize((int) (EVENTS - (last - first + 1)) + 1);
    }
  }

  @Test
  void aDamagedMetadataFile_orAnEmptyRollFile_neitherHangsNorLosesTheRest() throws Exception {
    Path q = dir.resolve("metadata");
    fill(q);
    List<Path> segs = segments(q);
    Files.write(segs.get(0).resolve("metadata.cq4t"), new byte[] {1, 2, 3});
    try (Stream<Path> files = Files.list(segs.get(1))) {
      Path roll = files.filter(p -> p.toString().endsWith(".cq4")).findFirst().orElseThrow();
      Files.write(roll, new byte[0]);
    }
    TestSink sink = new TestSink();
    org.junit.jupiter.api.Assertions.assertTimeoutPreemptively(
        Duration.ofSeconds(30),
        () -> {
          try (SpillQueue<String> queue = JournalDamageTest.builder(q, sink).build()) {
            await()
                .atMost(Duration.ofSeconds(25))
                .until(() -> queue.metrics().backlogEvents() == 0);
            long second = Long.parseLong(segs.get(1).getFileName().toString());
            long third = Long.parseLong(segs.get(2).getFileName().toString());
            assertThat(queue.metrics().lost())
                .as("the empty roll file's records, exactly")
                .singleElement()
                .satisfies(
                    r ->
                        assertThat(new long[] {r.from(), r.to()})
                            .containsExactly(second, third - 1));
          }
        });
    long second = Long.parseLong(segs.get(1).getFileName().toString());
    long third = Long.parseLong(segs.get(2).getFileName().toString());
    assertThat(sink.events).hasSize((int) (EVENTS - (third - second)));
  }
}
