package dev.outlast.buffer;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 14, item 3: a process killed after an acknowledgement was written but before the segments
 * it finished were deleted. The files are left exactly as such a kill leaves them (the journal, and
 * an acknowledged position past some of its segments); the reopened queue must count only what is
 * left to deliver.
 */
class PhantomBacklogTest {
  private static final int EVENTS = 3_000;
  private static final String PAD = "p".repeat(900);

  @TempDir Path dir;

  private Path fill() {
    Path q = dir.resolve("q");
    TestSink down = new TestSink();
    down.state = TestSink.State.DOWN;
    try (SpillQueue<String> queue = JournalDamageTest.builder(q, down).build()) {
      for (int i = 0; i < EVENTS; i++) {
        queue.publish(String.format("%05d", i) + PAD);
      }
    }
    return q;
  }

  private static void acknowledgeOnDisk(Path q, long sequence) throws Exception {
    try (CounterFile ack = CounterFile.open(q.resolve("ack.position"), 0)) {
      ack.write(sequence, true);
    }
  }

  private static List<Path> segments(Path q) throws Exception {
    try (Stream<Path> s = Files.list(q.resolve("journal"))) {
      return s.sorted().toList();
    }
  }

  @Test
  void killedAfterAcknowledgingEverything_beforeDeleting_reopensWithNoBacklog() throws Exception {
    Path q = fill();
    acknowledgeOnDisk(q, EVENTS);
    TestSink sink = new TestSink();
    try (SpillQueue<String> queue = JournalDamageTest.builder(q, sink).build()) {
      assertThat(queue.metrics().backlogEvents()).as("right after the open").isZero();
      assertThat(queue.metrics().backlogBytes()).as("right after the open").isZero();
      Thread.sleep(500);
      SpillQueueMetrics m = queue.metrics();
      assertThat(m.backlogEvents()).isZero();
      assertThat(m.backlogBytes()).isZero();
      assertThat(m.lost()).isEmpty();
      assertThat(sink.events).isEmpty();
    }
  }

  @Test
  void killedAfterAcknowledgingSomeSegments_beforeDeleting_countsExactlyTheRest() throws Exception {
    Path q = fill();
    List<Path> segs = segments(q);
    assertThat(segs.size()).isGreaterThanOrEqualTo(3);
    long done = Long.parseLong(segs.get(2).getFileName().toString()) - 1;
    acknowledgeOnDisk(q, done);
    TestSink sink = new TestSink();
    sink.state = TestSink.State.DOWN;
    try (SpillQueue<String> queue = JournalDamageTest.builder(q, sink).build()) {
      assertThat(queue.metrics().backlogEvents()).isEqualTo(EVENTS - done);
      Thread.sleep(500);
      assertThat(queue.metrics().backlogEvents()).isEqualTo(EVENTS - done);
      sink.state = TestSink.State.UP;
      org.awaitility.Awaitility.await()
          .atMost(java.time.Duration.ofSeconds(30))
          .until(() -> sink.events.size() == EVENTS - done);
      org.awaitility.Awaitility.await().until(() -> queue.metrics().backlogEvents() == 0);
      assertThat(sink.events.get(0)).startsWith(String.format("%05d", done));
    }
  }
}
