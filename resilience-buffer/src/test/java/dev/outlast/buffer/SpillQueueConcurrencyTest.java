package dev.outlast.buffer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.outlast.buffer.spi.EventId;
import dev.outlast.core.Guard;
import dev.outlast.core.GuardConfig;
import dev.outlast.core.spi.Codec;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Many publishers at once, against sinks that are not synchronized: one sink call at a time, in
 * sequence order, so that a sink which deduplicates by sequence number (as Pulsar's broker does)
 * stores every event whose {@code publish} returned; and a close that strands no caller.
 */
class SpillQueueConcurrencyTest {
  private static final int PUBLISHERS = 8;

  @TempDir Path dir;

  private static Guard guard(Duration callTimeout) {
    return Guard.of(
        "sink",
        GuardConfig.from(GuardConfig.broker())
            .callTimeout(callTimeout)
            .openWait(Duration.ofMillis(50))
            .maxOpenWait(Duration.ofMillis(100))
            .build());
  }

  private SpillQueue.Builder<String> builder(Path queueDir, InFlightProbe<String> sink) {
    return SpillQueue.<String>builder("concurrent")
        .directory(queueDir)
        .codec(Codec.utf8())
        .sink(sink)
        .guard(guard(Duration.ofMillis(300)))
        .batchSize(50)
        .retryBackoff(Duration.ofMillis(5), Duration.ofMillis(20))
        .minFreeDiskBytes(0);
  }

  /** What the publishers were told: the ids of the events they were told are safe. */
  private static List<List<String>> publishConcurrently(
      SpillQueue<String> q, int perPublisher, ConcurrentLinkedQueue<EventId> acknowledged)
      throws InterruptedException {
    List<List<String>> accepted = new ArrayList<>();
    List<Thread> threads = new ArrayList<>();
    CountDownLatch start = new CountDownLatch(1);
    for (int p = 0; p < PUBLISHERS; p++) {
      List<String> mine = new ArrayList<>();
      accepted.add(mine);
      int publisher = p;
      Thread t =
          new Thread(
              () -> {
                try {
                  start.await();
                } catch (InterruptedException e) {
                  return;
                }
                for (int i = 0; i < perPublisher; i++) {
                  String event = "p" + publisher + "-" + i;
                  acknowledged.add(q.publish(event));
                  mine.add(event);
                }
              });
      t.start();
      threads.add(t);
    }
    start.countDown();
    for (Thread t : threads) {
      t.join(TimeUnit.SECONDS.toMillis(120));
      assertThat(t.isAlive()).as("publisher still running after 120 s").isFalse();
    }
    return accepted;
  }

  @ParameterizedTest
  @EnumSource(SpillQueue.Mode.class)
  void eightPublishers_aDedupSinkStoresEveryAcknowledgedEvent_oneCallAtATime(SpillQueue.Mode mode)
      throws Exception {
    DedupSink dedup = new DedupSink();
    dedup.failPerMille = 30;
    InFlightProbe<String> probe = new InFlightProbe<>(dedup);
    ConcurrentLinkedQueue<EventId> acknowledged = new ConcurrentLinkedQueue<>();
    List<List<String>> accepted;
    try (SpillQueue<String> q = builder(dir.resolve("q"), probe).mode(mode).build()) {
      accepted = publishConcurrently(q, 2_500, acknowledged);
      assertThat(q.awaitDrained(Duration.ofSeconds(60))).as("drained").isTrue();
    }
    Set<EventId> stored = new HashSet<>(dedup.storedIds);
    List<EventId> missing = acknowledged.stream().filter(id -> !stored.contains(id)).toList();
    System.out.printf(
        "%s: %d publishers, %d acknowledged, %d stored, %d missing, %d sink calls, most in flight"
            + " %d%n",
        mode,
        PUBLISHERS,
        acknowledged.size(),
        stored.size(),
        missing.size(),
        probe.calls.get(),
        probe.mostInFlight());
    assertThat(acknowledged).hasSize(PUBLISHERS * 2_500);
    assertThat(missing).as("acknowledged events the sink never stored").isEmpty();
    assertThat(probe.mostInFlight()).as("sink calls in flight at once").isEqualTo(1);
    List<String> order = new ArrayList<>(dedup.stored);
    for (int p = 0; p < PUBLISHERS; p++) {
      String prefix = "p" + p + "-";
      assertThat(order.stream().filter(e -> e.startsWith(prefix)).toList())
          .as("publisher %d's events, in its order", p)
          .containsExactlyElementsOf(accepted.get(p));
    }
  }

  @Test
  void aSinkThatThrowsErrorsAndHangs_neverStopsTheLane_andEverythingArrives() throws Exception {
    DedupSink dedup = new DedupSink();
    dedup.errorPerMille = 100;
    dedup.hangPerMille = 50;
    InFlightProbe<String> probe = new InFlightProbe<>(dedup);
    ConcurrentLinkedQueue<EventId> acknowledged = new ConcurrentLinkedQueue<>();
    try (SpillQueue<String> q =
        builder(dir.resolve("q"), probe)
            .mode(SpillQueue.Mode.SPILL_ON_FAILURE)
            .guard(guard(Duration.ofMillis(100)))
            .build()) {
      publishConcurrently(q, 300, acknowledged);
      dedup.errorPerMille = 0;
      dedup.hangPerMille = 0;
      assertThat(q.awaitDrained(Duration.ofSeconds(60))).as("drained").isTrue();
      assertThat(q.guard().tryEnter()).as("no permit leaked: the guard lets calls in").isNotNull();
      assertThat(q.health(dev.outlast.core.health.Importance.CORE).check().reason())
          .doesNotContain("delivery lane");
    }
    Set<EventId> stored = new HashSet<>(dedup.storedIds);
    assertThat(acknowledged).hasSize(PUBLISHERS * 300).allMatch(stored::contains);
    assertThat(probe.mostInFlight()).isEqualTo(1);
  }

  @Test
  void build_leavesTheBuilderAsTheUserSetIt() {
    InFlightProbe<String> probe = new InFlightProbe<>(new DedupSink());
    SpillQueue.Builder<String> b = builder(dir.resolve("q"), probe).segmentBytes(64L << 20);
    b.build().close();
    // The first build resolved maxEventBytes to 1 MiB; a smaller segment must pick its own default.
    b.segmentBytes(1L << 20);
    try (SpillQueue<String> q = b.build()) {
      assertThat(q.publish("x")).isNotNull();
    }
  }

  @Test
  void publishAsync_inSpillOnFailure_completesWhenTheSinkHasIt() throws Exception {
    DedupSink dedup = new DedupSink();
    InFlightProbe<String> probe = new InFlightProbe<>(dedup);
    try (SpillQueue<String> q =
        builder(dir.resolve("q"), probe).mode(SpillQueue.Mode.SPILL_ON_FAILURE).build()) {
      List<CompletableFuture<EventId>> all = new ArrayList<>();
      for (int i = 0; i < 1_000; i++) {
        all.add(q.publishAsync("e" + i));
      }
      CompletableFuture.allOf(all.toArray(CompletableFuture[]::new)).get(30, TimeUnit.SECONDS);
      assertThat(new ArrayList<>(dedup.stored)).hasSize(1_000).startsWith("e0", "e1", "e2");
    }
  }

  /** How many close-during-publish rounds each mode and durability gets. */
  private static int closeRounds() {
    return Integer.getInteger("outlast.closeRaces.rounds", 1_000);
  }

  @ParameterizedTest
  @EnumSource(SpillQueue.Durability.class)
  void closeDuringPublishing_strandsNoCaller_andLosesNoAcknowledgedEvent(
      SpillQueue.Durability durability) throws Exception {
    int rounds = closeRounds();
    int hung = 0;
    long acknowledgedTotal = 0;
    long refusedTotal = 0;
    List<EventId> lost = new ArrayList<>();
    int mostInFlight = 0;
    for (int round = 0; round < rounds; round++) {
      SpillQueue.Mode mode =
          round % 2 == 0 ? SpillQueue.Mode.WRITE_AHEAD : SpillQueue.Mode.SPILL_ON_FAILURE;
      Path queueDir = dir.resolve("q" + round);
      DedupSink dedup = new DedupSink();
      dedup.failPerMille = round % 3 == 0 ? 200 : 0;
      InFlightProbe<String> probe = new InFlightProbe<>(dedup);
      ConcurrentLinkedQueue<EventId> acknowledged = new ConcurrentLinkedQueue<>();
      AtomicInteger refused = new AtomicInteger();
      AtomicInteger unexpected = new AtomicInteger();
      SpillQueue<String> q =
          builder(queueDir, probe).mode(mode).durability(durability).batchSize(20).build();
      List<Thread> threads = new ArrayList<>();
      for (int p = 0; p < PUBLISHERS; p++) {
        boolean async = p % 2 == 1;
        Thread t =
            new Thread(
                () -> {
                  for (int i = 0; ; i++) {
                    try {
                      if (async) {
                        acknowledged.add(q.publishAsync("e" + i).get(30, TimeUnit.SECONDS));
                      } else {
                        acknowledged.add(q.publish("e" + i));
                      }
                    } catch (IllegalStateException e) {
                      refused.incrementAndGet();
                      return;
                    } catch (java.util.concurrent.ExecutionException e) {
                      if (e.getCause() instanceof IllegalStateException) {
                        refused.incrementAndGet();
                      } else {
                        unexpected.incrementAndGet();
                        e.printStackTrace();
                      }
                      return;
                    } catch (Exception e) {
                      unexpected.incrementAndGet();
                      e.printStackTrace();
                      return;
                    }
                  }
                });
        t.start();
        threads.add(t);
      }
      Thread.sleep(ThreadLocalRandom.current().nextInt(1, 15));
      q.close();
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
      for (Thread t : threads) {
        t.join(Math.max(1, TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime())));
        if (t.isAlive()) {
          hung++;
          t.interrupt();
        }
      }
      assertThat(unexpected.get()).as("round %d: unexpected failures", round).isZero();
      // Whatever was acknowledged and not yet delivered is in the journal for the next open.
      dedup.failPerMille = 0;
      try (SpillQueue<String> reopened = builder(queueDir, probe).build()) {
        assertThat(reopened.awaitDrained(Duration.ofSeconds(30))).isTrue();
      }
      Set<EventId> stored = new HashSet<>(dedup.storedIds);
      acknowledged.stream().filter(id -> !stored.contains(id)).forEach(lost::add);
      // A round closed before its first publish calls the sink not at all.
      assertThat(probe.mostInFlight())
          .as("round %d: sink calls at once", round)
          .isLessThanOrEqualTo(1);
      mostInFlight = Math.max(mostInFlight, probe.mostInFlight());
      acknowledgedTotal += acknowledged.size();
      Journal.deleteTree(queueDir); // a round can journal a million events: keep the disk free
      refusedTotal += refused.get();
    }
    System.out.printf(
        "close races, %s: %d rounds, %d acknowledged, %d refused as closed, %d hung, %d lost%n",
        durability, rounds, acknowledgedTotal, refusedTotal, hung, lost.size());
    assertThat(hung).as("publishers still waiting 10 s after close").isZero();
    assertThat(lost).as("acknowledged events never delivered").isEmpty();
    assertThat(acknowledgedTotal).as("the rounds published something").isPositive();
    assertThat(mostInFlight).as("sink calls at once, over all rounds").isEqualTo(1);
  }

  @Test
  void afterClose_everyPublishIsRefusedClearly() {
    InFlightProbe<String> probe = new InFlightProbe<>(new DedupSink());
    SpillQueue<String> q =
        builder(dir.resolve("q"), probe).mode(SpillQueue.Mode.SPILL_ON_FAILURE).build();
    q.close();
    assertThatThrownBy(() -> q.publish("x"))
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("closed");
    assertThatThrownBy(() -> q.publishAsync("x"))
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("closed");
  }
}
