package dev.outlast.buffer;

import static org.assertj.core.api.Assertions.assertThat;

import dev.outlast.buffer.spi.Sink;
import dev.outlast.core.Guard;
import dev.outlast.core.GuardConfig;
import dev.outlast.core.spi.Codec;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * The {@link Sink} contract as a spill queue relies on it, run against each sink: eight publishers
 * at once, in each mode, while the sink's server is killed and restarted, then frozen and thawed.
 * Every event whose {@code publish} returned must be stored once (a sink that deduplicates by the
 * event's id turns at-least-once into once), each publisher's events in its order where the sink
 * keeps order, and the queue must never have had more calls into the sink in flight than the sink
 * declares it takes ({@link Sink#maxBatchesInFlight()}; an {@link InFlightProbe} without locks
 * counts them).
 *
 * <p>Events are small JSON documents {@code {"p":3,"i":17}} (publisher, index), so that every sink
 * can store them and the test can read them back.
 */
public abstract class SinkContract {
  private static final Pattern EVENT = Pattern.compile("\\{\"p\":(\\d+),\"i\":(\\d+)}");
  private static final int PUBLISHERS = 8;

  /** A new sink writing to a stream (topic, index) of this name, which no other test uses. */
  protected abstract Sink<byte[]> newSink(String stream) throws Exception;

  /** Closes what {@link #newSink} opened. */
  protected void closeSink(Sink<byte[]> sink) throws Exception {
    if (sink instanceof AutoCloseable c) {
      c.close();
    }
  }

  /** Every event stored in the stream, in the order the server keeps them. */
  protected abstract List<String> stored(String stream) throws Exception;

  /** Whether the server keeps events in the order they were sent (a topic does, an index not). */
  protected abstract boolean keepsOrder();

  /** SIGKILL of the sink's server. */
  protected abstract void kill() throws Exception;

  /** Starts it again after {@link #kill}. */
  protected abstract void restart() throws Exception;

  /** SIGSTOP: calls hang. */
  protected abstract void freeze() throws Exception;

  /** SIGCONT after {@link #freeze}. */
  protected abstract void thaw() throws Exception;

  /** The guard's call timeout: the queue's time limit on one sink call. */
  protected Duration callTimeout() {
    return Duration.ofSeconds(5);
  }

  /** How long each phase (healthy, killed, healthy, frozen, healthy) lasts. */
  protected Duration phase() {
    return Duration.ofSeconds(3);
  }

  /** A folder of this test's own, under the test JVM's temp folder. */
  private static Path workDir() throws Exception {
    return Files.createTempDirectory("sink-contract");
  }

  private static byte[] event(int publisher, int index) {
    return ("{\"p\":" + publisher + ",\"i\":" + index + "}").getBytes(StandardCharsets.UTF_8);
  }

  @ParameterizedTest
  @EnumSource(SpillQueue.Mode.class)
  public void eightPublishers_throughAKillAndAFreeze_everyAcknowledgedEventStoredOnce(
      SpillQueue.Mode mode) throws Exception {
    String stream =
        "contract-" + mode.name().toLowerCase(java.util.Locale.ROOT) + "-" + System.nanoTime();
    Sink<byte[]> sink = newSink(stream);
    InFlightProbe<byte[]> probe = new InFlightProbe<>(sink);
    int limit = DeliveryLane.batchesInFlight(sink);
    Guard guard =
        Guard.of(
            "sink",
            GuardConfig.from(GuardConfig.broker())
                .callTimeout(callTimeout())
                .openWait(Duration.ofMillis(500))
                .maxOpenWait(Duration.ofSeconds(2))
                .build());
    List<ConcurrentLinkedQueue<Integer>> acknowledged = new ArrayList<>();
    ConcurrentLinkedQueue<String> failures = new ConcurrentLinkedQueue<>();
    AtomicLong slowestNanos = new AtomicLong();
    AtomicBoolean stop = new AtomicBoolean();
    try (SpillQueue<byte[]> queue =
        SpillQueue.<byte[]>builder("contract")
            .directory(workDir().resolve("journal"))
            .codec(Codec.bytes())
            .sink(probe)
            .guard(guard)
            .mode(mode)
            .batchSize(200)
            .retryBackoff(Duration.ofMillis(100), Duration.ofSeconds(1))
            .build()) {
      List<Thread> publishers = new ArrayList<>();
      for (int p = 0; p < PUBLISHERS; p++) {
        ConcurrentLinkedQueue<Integer> mine = new ConcurrentLinkedQueue<>();
        acknowledged.add(mine);
        int publisher = p;
        Thread t =
            new Thread(
                () -> {
                  for (int i = 0; !stop.get(); i++) {
                    long start = System.nanoTime();
                    try {
                      queue.publish(event(publisher, i));
                      mine.add(i);
                    } catch (RuntimeException e) {
                      failures.add(e.toString());
                    }
                    slowestNanos.accumulateAndGet(System.nanoTime() - start, Math::max);
                    try {
                      Thread.sleep(4); // about 250 events a second per publisher
                    } catch (InterruptedException e) {
                      return;
                    }
                  }
                },
                "publisher-" + p);
        t.start();
        publishers.add(t);
      }
      long phaseMillis = phase().toMillis();
      try {
        Thread.sleep(phaseMillis);
        kill();
        Thread.sleep(phaseMillis);
        restart();
        Thread.sleep(phaseMillis);
        freeze();
        Thread.sleep(phaseMillis);
        thaw();
        Thread.sleep(phaseMillis);
      } finally {
        stop.set(true);
        for (Thread t : publishers) {
          t.join(TimeUnit.MINUTES.toMillis(1));
          assertThat(t.isAlive()).as("%s still publishing a minute later", t.getName()).isFalse();
        }
      }
      assertThat(queue.awaitDrained(Duration.ofMinutes(2))).as("drained").isTrue();
    } finally {
      closeSink(sink);
    }

    List<String> inStream = stored(stream);
    Map<Integer, List<Integer>> storedByPublisher = new HashMap<>();
    Set<String> seen = new HashSet<>();
    List<String> duplicates = new ArrayList<>();
    for (String s : inStream) {
      if (!seen.add(s)) {
        duplicates.add(s);
      }
      Matcher m = EVENT.matcher(s);
      assertThat(m.matches()).as("stored event %s", s).isTrue();
      storedByPublisher
          .computeIfAbsent(Integer.parseInt(m.group(1)), k -> new ArrayList<>())
          .add(Integer.parseInt(m.group(2)));
    }
    long acknowledgedCount = acknowledged.stream().mapToLong(ConcurrentLinkedQueue::size).sum();
    long missing = 0;
    for (int p = 0; p < PUBLISHERS; p++) {
      Set<Integer> got = new HashSet<>(storedByPublisher.getOrDefault(p, List.of()));
      for (int i : acknowledged.get(p)) {
        if (!got.contains(i)) {
          missing++;
        }
      }
    }
    System.out.printf(
        "sink contract, %s, %s: %d publishers, %d acknowledged, %d stored, %d missing, %d"
            + " duplicates, %d failed publishes, slowest publish %d ms, %d sink calls, most in"
            + " flight %d%n",
        getClass().getSimpleName(),
        mode,
        PUBLISHERS,
        acknowledgedCount,
        inStream.size(),
        missing,
        duplicates.size(),
        failures.size(),
        TimeUnit.NANOSECONDS.toMillis(slowestNanos.get()),
        probe.calls.get(),
        probe.mostInFlight());
    assertThat(failures).as("publish calls that failed").isEmpty();
    assertThat(missing).as("acknowledged events never stored").isZero();
    assertThat(duplicates).as("events stored twice").isEmpty();
    assertThat(inStream)
        .as("stored events that were never acknowledged")
        .hasSize((int) acknowledgedCount);
    // One call at a time, or as many as the sink declares it takes (never more).
    assertThat(probe.mostInFlight())
        .as("sink calls in flight at once; the sink takes %d", limit)
        .isBetween(1, limit);
    // Spill-on-failure: a publisher waits for the lane's call in flight and then at most for the
    // call that carries its own event, each bounded by the call timeout; write-ahead: the journal.
    assertThat(Duration.ofNanos(slowestNanos.get()))
        .as("slowest publish")
        .isLessThan(callTimeout().multipliedBy(2).plusSeconds(2));
    if (keepsOrder()) {
      for (int p = 0; p < PUBLISHERS; p++) {
        assertThat(storedByPublisher.getOrDefault(p, List.of()))
            .as("publisher %d's events in the stream, in its order", p)
            .containsExactlyElementsOf(acknowledged.get(p));
      }
    }
  }
}
