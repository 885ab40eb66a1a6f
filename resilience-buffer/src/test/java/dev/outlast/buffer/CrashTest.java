package dev.outlast.buffer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Nothing acknowledged is lost when the publishing process is killed with SIGKILL at a random
 * moment, while publishing and while draining. Every trial kills a child JVM, reopens its queue and
 * drains it, then checks: every event whose publish returned reached the sink; an event reached it
 * more than once only if its delivery was not yet acknowledged in the journal, and always under its
 * original id. The number of trials is the system property {@code outlast.crash.trials} (20 by
 * default; 1,000 when asked).
 */
class CrashTest {
  @TempDir Path work;

  @Test
  void killMinus9AtRandomMoments_losesNoAcknowledgedEvent_writeAhead() throws Exception {
    trials(SpillQueue.Mode.WRITE_AHEAD, SpillQueue.Durability.PROCESS_CRASH);
  }

  @Test
  void killMinus9AtRandomMoments_losesNoAcknowledgedEvent_spillOnFailure_encrypted()
      throws Exception {
    trials(SpillQueue.Mode.SPILL_ON_FAILURE, SpillQueue.Durability.PROCESS_CRASH);
  }

  private void trials(SpillQueue.Mode mode, SpillQueue.Durability durability) throws Exception {
    int trials = Integer.getInteger("outlast.crash.trials", 20);
    Path dir = work.resolve("queue-" + mode);
    Random random = new Random(Long.getLong("outlast.crash.seed", 4242L));
    // Across trials only sequence bits are kept, so that a 1,000-trial campaign stays small: every
    // trial's sink file is checked against that trial's acknowledgements, then deleted.
    BitSet everAcknowledged = new BitSet();
    BitSet everDelivered = new BitSet();
    long totalAcked = 0;
    long redelivered = 0;
    for (int trial = 0; trial < trials; trial++) {
      Path sinkFile = work.resolve("sink-" + mode + "-" + trial + ".log");
      Files.createFile(sinkFile);
      Map<String, String> acknowledged = new HashMap<>();
      List<String> lines =
          runAndKill(dir, sinkFile, trial, mode, durability, 300 + random.nextInt(1_200));
      for (String line : lines) {
        if (line.startsWith("ACK ")) {
          String[] f = line.split(" ", 3);
          if (f.length == 3) {
            int sequence = sequenceOf(f[1]);
            assertThat(everAcknowledged.get(sequence)).as("id %s issued twice", f[1]).isFalse();
            everAcknowledged.set(sequence);
            acknowledged.put(f[1], f[2]);
            totalAcked++;
          }
        }
      }
      long ackPosition = ackPosition(dir);
      // Reopen after the crash and drain into the same durable sink file.
      try (CrashPublisher.FileSink sink = new CrashPublisher.FileSink(sinkFile, null);
          SpillQueue<String> queue = CrashPublisher.builder(dir, sink, mode, durability).build()) {
        await()
            .atMost(Duration.ofSeconds(60))
            .until(
                () ->
                    queue.metrics().backlogEvents() == 0
                        && queue.metrics().oldestEventAge().isZero());
      }
      redelivered += checkSink(sinkFile, acknowledged, everDelivered, ackPosition, trial);
      Files.delete(sinkFile);
    }
    assertThat(totalAcked).as("events acknowledged over all trials").isGreaterThan(trials * 10L);
    System.out.printf(
        "crash test, %s: %d kills, %d events acknowledged, none lost; %d deliveries repeated"
            + " (each delivered before a kill, its acknowledgement not yet recorded)%n",
        mode, trials, totalAcked, redelivered);
  }

  /**
   * Every event acknowledged in this trial is in this trial's sink file; an event is delivered more
   * than once (here or in an earlier trial) only if its delivery was not yet acknowledged in the
   * journal when the killed process stopped.
   *
   * @return how many deliveries were repeats
   */
  private static long checkSink(
      Path sinkFile,
      Map<String, String> acknowledged,
      BitSet everDelivered,
      long ackPosition,
      int trial)
      throws Exception {
    Map<String, Integer> seen = new HashMap<>();
    Map<String, String> contents = new HashMap<>();
    for (String line : Files.readAllLines(sinkFile, StandardCharsets.UTF_8)) {
      String[] f = line.split(" ", 2);
      if (f.length < 2) {
        continue; // a line cut by the kill
      }
      seen.merge(f[0], 1, Integer::sum);
      contents.put(f[0], f[1]);
    }
    List<String> missing = new ArrayList<>();
    for (Map.Entry<String, String> e : acknowledged.entrySet()) {
      if (!seen.containsKey(e.getKey())) {
        missing.add(e.getKey());
      } else {
        assertThat(contents.get(e.getKey()))
            .as("the event under id %s", e.getKey())
            .isEqualTo(e.getValue());
      }
    }
    if (!missing.isEmpty()) {
      long[] seqs = missing.stream().mapToLong(CrashTest::sequenceOf).sorted().toArray();
      org.assertj.core.api.Assertions.fail(
          "trial %d: %d acknowledged events lost, sequences %d..%d (ack position before reopen %d)",
          trial, seqs.length, seqs[0], seqs[seqs.length - 1], ackPosition);
    }
    long repeats = 0;
    for (Map.Entry<String, Integer> e : seen.entrySet()) {
      int sequence = sequenceOf(e.getKey());
      int times = e.getValue() + (everDelivered.get(sequence) ? 1 : 0);
      if (times > 1) {
        repeats += times - 1;
        assertThat((long) sequence)
            .as(
                "trial %d: %s delivered %d times, but its delivery was acknowledged in the journal",
                trial, e.getKey(), times)
            .isGreaterThan(ackPosition);
      }
      everDelivered.set(sequence);
    }
    return repeats;
  }

  /** The sequence part of an id; a campaign stays far below 2^31 events. */
  private static int sequenceOf(String id) {
    return Math.toIntExact(Long.parseLong(id.substring(id.lastIndexOf('-') + 1)));
  }

  /** The acknowledged position the killed process left, read before the queue is reopened. */
  private static long ackPosition(Path dir) throws Exception {
    try (CounterFile f = CounterFile.open(dir.resolve("ack.position"), 0)) {
      return f.value();
    }
  }

  private static List<String> runAndKill(
      Path dir,
      Path sinkFile,
      int trial,
      SpillQueue.Mode mode,
      SpillQueue.Durability durability,
      long runMillis)
      throws Exception {
    List<String> command =
        ChildJvm.command(
            true,
            List.of("-Xmx256m", "-Dorg.slf4j.simpleLogger.defaultLogLevel=warn"),
            CrashPublisher.class,
            dir.toString(),
            sinkFile.toString(),
            Integer.toString(trial),
            mode.name(),
            durability.name());
    Process child =
        new ProcessBuilder(command).redirectError(ProcessBuilder.Redirect.DISCARD).start();
    // A plain synchronized list: a copy-on-write list made each trial quadratic in its events.
    List<String> lines = Collections.synchronizedList(new ArrayList<>());
    AtomicBoolean ready = new AtomicBoolean();
    Thread reader =
        new Thread(
            () -> {
              try (BufferedReader in =
                  new BufferedReader(
                      new InputStreamReader(child.getInputStream(), StandardCharsets.UTF_8))) {
                for (String line = in.readLine(); line != null; line = in.readLine()) {
                  if (line.equals("READY")) {
                    ready.set(true);
                  }
                  lines.add(line);
                }
              } catch (java.io.IOException e) {
                // the process is gone
              }
            });
    reader.start();
    try {
      await().atMost(Duration.ofSeconds(60)).until(() -> ready.get() || !child.isAlive());
      assertThat(child.isAlive()).as("the publisher started").isTrue();
      Thread.sleep(runMillis);
    } finally {
      child.destroyForcibly(); // SIGKILL
      child.waitFor(30, TimeUnit.SECONDS);
      reader.join(10_000);
    }
    // The last line may be cut mid-way by the kill: only whole ACK lines count (checked above).
    List<String> whole;
    synchronized (lines) {
      whole = new ArrayList<>(lines);
    }
    if (!whole.isEmpty() && !whole.get(whole.size() - 1).matches("ACK \\S+ \\S+")) {
      whole.remove(whole.size() - 1);
    }
    return whole;
  }
}
