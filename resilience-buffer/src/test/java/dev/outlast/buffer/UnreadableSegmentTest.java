package dev.outlast.buffer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 14, item 4: a segment that cannot be read now (permissions, an I/O error) is kept and tried
 * again, across reopens, and delivered whole once it can be read; only proven damage is
 * quarantined. The tests run as root, which ignores file modes, so the roll files are made
 * immutable ({@code chattr +i}): then no process, root included, can open them for writing, as
 * Chronicle does to read them.
 */
class UnreadableSegmentTest {
  private static final int EVENTS = 3_000;
  private static final String PAD = "u".repeat(900);

  @TempDir Path dir;

  private static String event(int i) {
    return String.format("%05d", i) + PAD;
  }

  @Test
  void aSegmentUnreadableForAWhile_isKeptAndRetried_thenDeliveredWhole() throws Exception {
    Path q = dir.resolve("q");
    TestSink down = new TestSink();
    down.state = TestSink.State.DOWN;
    try (SpillQueue<String> queue = JournalDamageTest.builder(q, down).build()) {
      for (int i = 0; i < EVENTS; i++) {
        queue.publish(event(i));
      }
    }
    List<Path> segs;
    try (Stream<Path> s = Files.list(q.resolve("journal"))) {
      segs = s.sorted().toList();
    }
    Path victim = segs.get(1);
    long first = Long.parseLong(victim.getFileName().toString());
    List<Path> rollFiles;
    try (Stream<Path> files = Files.list(victim)) {
      rollFiles = files.filter(f -> f.toString().endsWith(".cq4")).toList();
    }
    Assumptions.assumeTrue(chattr("+i", rollFiles), "chattr +i works here (root, ext4)");
    TestSink sink = new TestSink();
    try {
      for (int open = 0; open < 2; open++) {
        try (SpillQueue<String> queue = JournalDamageTest.builder(q, sink).build()) {
          await().atMost(Duration.ofSeconds(30)).until(() -> sink.events.size() == first - 1);
          Thread.sleep(1_000);
          SpillQueueMetrics m = queue.metrics();
          assertThat(sink.events)
              .as("nothing past the unreadable segment")
              .hasSize((int) first - 1);
          assertThat(m.lost()).as("nothing is lost: it cannot be read now").isEmpty();
          assertThat(m.backlogEvents()).isEqualTo(EVENTS - (first - 1));
          assertThat(victim).as("kept in place").isDirectory();
          assertThat(q.resolve("quarantine")).doesNotExist();
        }
      }
      try (SpillQueue<String> queue = JournalDamageTest.builder(q, sink).build()) {
        Thread.sleep(300);
        assertThat(chattr("-i", rollFiles)).isTrue();
        await()
            .atMost(Duration.ofSeconds(30))
            .until(() -> queue.metrics().backlogEvents() == 0 && sink.events.size() >= EVENTS);
        List<String> expected = new ArrayList<>();
        for (int i = 0; i < EVENTS; i++) {
          expected.add(event(i));
        }
        assertThat(sink.events).containsExactlyElementsOf(expected);
        assertThat(queue.metrics().lost()).isEmpty();
      }
    } finally {
      chattr("-i", rollFiles);
    }
  }

  private static boolean chattr(String flag, List<Path> files) throws Exception {
    boolean ok = true;
    for (Path f : files) {
      Process p =
          new ProcessBuilder("chattr", flag, f.toString())
              .redirectErrorStream(true)
              .redirectOutput(ProcessBuilder.Redirect.DISCARD)
              .start();
      ok &= p.waitFor(10, TimeUnit.SECONDS) && p.exitValue() == 0;
    }
    return ok;
  }
}
