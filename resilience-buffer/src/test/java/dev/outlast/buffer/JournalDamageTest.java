package dev.outlast.buffer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.outlast.core.spi.Codec;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Damage to closed journal files: truncations and bit flips at random offsets of the written part
 * of a random journal file. For every case the queue must open (no crash, no hang, no loop),
 * deliver every intact record once and in order, and report what it lost, with the damaged files
 * moved to quarantine. The number of cases is the system property {@code outlast.damage.cases} (200
 * by default).
 */
class JournalDamageTest {
  private static final int EVENTS = 3_000;
  private static final String PAD = "x".repeat(900);

  @TempDir static Path work;
  private static Path pristine;

  @BeforeAll
  static void writeJournal() {
    pristine = work.resolve("pristine");
    TestSink down = new TestSink();
    down.state = TestSink.State.DOWN;
    try (SpillQueue<String> q = builder(pristine, down).build()) {
      for (int i = 0; i < EVENTS; i++) {
        q.publish(event(i));
      }
    }
  }

  private static String event(int i) {
    return String.format("%05d", i) + PAD;
  }

  private static int number(String event) {
    return Integer.parseInt(event.substring(0, 5));
  }

  static SpillQueue.Builder<String> builder(Path dir, TestSink sink) {
    return SpillQueue.<String>builder("damage")
        .directory(dir)
        .codec(Codec.utf8())
        .sink(sink)
        .guard(SpillQueueTest.guard())
        .segmentBytes(1 << 20)
        .batchSize(200)
        .retryBackoff(Duration.ofMillis(10), Duration.ofMillis(50))
        .minFreeDiskBytes(0);
  }

  @Test
  void randomTruncationsAndBitFlips_areFoundQuarantinedAndReported_andTheRestIsDelivered()
      throws Exception {
    int cases = Integer.getInteger("outlast.damage.cases", 200);
    Random random = new Random(Long.getLong("outlast.damage.seed", 20261121L));
    int losses = 0;
    for (int c = 0; c < cases; c++) {
      Path dir = work.resolve("case-" + c);
      copy(pristine, dir);
      List<Path> files = journalFiles(dir);
      Path victim = files.get(random.nextInt(files.size()));
      Path victimSegment = java.util.Objects.requireNonNull(victim.getParent());
      byte[] bytes = Files.readAllBytes(victim);
      int written = lastNonZero(bytes) + 1;
      String damage;
      if (random.nextBoolean()) {
        int at = random.nextInt(written);
        bytes[at] ^= (byte) (1 << random.nextInt(8));
        Files.write(victim, bytes);
        damage =
            "bit flip at "
                + at
                + " of "
                + victim.getFileName()
                + " in "
                + victimSegment.getFileName();
      } else {
        int length = random.nextInt(written);
        Files.write(victim, Arrays.copyOf(bytes, length));
        damage =
            "truncated to "
                + length
                + " bytes: "
                + victim.getFileName()
                + " in "
                + victimSegment.getFileName();
      }
      long[] victimRange = rangeOf(dir, victimSegment);
      losses += check(dir, damage, victimRange);
      deleteTree(dir);
    }
    assertThat(losses).as("cases where records were lost: the damage was real").isPositive();
  }

  /** Opens the damaged journal, drains it, checks the outcome; returns 1 if records were lost. */
  private static int check(Path dir, String damage, long[] victimRange) throws IOException {
    TestSink sink = new TestSink();
    java.util.concurrent.atomic.AtomicReference<SpillQueue<String>> opened =
        new java.util.concurrent.atomic.AtomicReference<>();
    org.junit.jupiter.api.Assertions.assertTimeoutPreemptively(
        Duration.ofSeconds(30),
        () -> {
          SpillQueue<String> q = builder(dir, sink).build();
          opened.set(q);
          await()
              .atMost(Duration.ofSeconds(25))
              .pollInterval(Duration.ofMillis(20))
              .until(
                  () -> q.metrics().backlogEvents() == 0 && q.metrics().oldestEventAge().isZero());
          Thread.sleep(50);
        },
        damage + ": open and drain must finish");
    SpillQueue<String> q = java.util.Objects.requireNonNull(opened.get());
    List<LostRange> lost = q.metrics().lost();
    q.close();

    List<Integer> delivered = new ArrayList<>();
    for (String e : new ArrayList<>(sink.events)) {
      delivered.add(number(e));
    }
    assertThat(delivered).as(damage + ": in order, no repeats").isSorted().doesNotHaveDuplicates();
    for (int i = 0; i < EVENTS; i++) {
      if (!delivered.contains(i)) {
        long sequence = i + 1L; // the pristine journal was written with sequences 1..EVENTS
        assertThat(sequence)
            .as(damage + ": event %d is missing; only records of the damaged segment may be", i)
            .isBetween(victimRange[0], victimRange[1]);
        assertThat(lost)
            .as(damage + ": event %d is missing and must be in a reported range", i)
            .anyMatch(r -> r.from() <= sequence && (r.to() < 0 || sequence <= r.to()));
      }
    }
    if (delivered.size() < EVENTS) {
      try (Stream<Path> q2 = Files.list(dir.resolve("quarantine"))) {
        assertThat(q2.count()).as(damage + ": damaged files moved to quarantine").isPositive();
      }
      return 1;
    }
    return 0;
  }

  /** The sequence range a segment of the pristine journal held (it was written in one run). */
  private static long[] rangeOf(Path dir, Path segment) throws IOException {
    long first = Long.parseLong(segment.getFileName().toString());
    long next = EVENTS + 1;
    try (Stream<Path> segs = Files.list(dir.resolve("journal"))) {
      for (Path s : (Iterable<Path>) segs::iterator) {
        long f = Long.parseLong(s.getFileName().toString());
        if (f > first && f < next) {
          next = f;
        }
      }
    }
    return new long[] {first, next - 1};
  }

  private static List<Path> journalFiles(Path dir) throws IOException {
    try (Stream<Path> all = Files.walk(dir.resolve("journal"))) {
      return all.filter(p -> p.toString().endsWith(".cq4") && sizeOf(p) > 0).sorted().toList();
    }
  }

  private static long sizeOf(Path p) {
    try {
      return Files.size(p);
    } catch (IOException e) {
      return 0;
    }
  }

  private static int lastNonZero(byte[] b) {
    for (int i = b.length - 1; i >= 0; i--) {
      if (b[i] != 0) {
        return i;
      }
    }
    return 0;
  }

  static void copy(Path from, Path to) throws IOException {
    try (Stream<Path> all = Files.walk(from)) {
      for (Path p : (Iterable<Path>) all::iterator) {
        Path target = to.resolve(from.relativize(p).toString());
        if (Files.isDirectory(p)) {
          Files.createDirectories(target);
        } else if (!p.getFileName().toString().equals("lock")) {
          Files.copy(p, target, StandardCopyOption.REPLACE_EXISTING);
        }
      }
    }
  }

  static void deleteTree(Path dir) {
    Journal.deleteTree(dir);
  }
}
