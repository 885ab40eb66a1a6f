package dev.outlast.buffer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.outlast.buffer.spi.Delivery;
import dev.outlast.buffer.spi.EventId;
import dev.outlast.buffer.spi.Outcome;
import dev.outlast.buffer.spi.Sink;
import java.net.ConnectException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Spill-on-failure when a direct delivery fails with the journal too small for the batch the sink
 * was handed. Those events keep their numbers and are journaled past the byte bound: a sink that
 * holds its line at the first number it could not send (as the Pulsar sink does) would otherwise
 * wait for good for events the lane had failed back to their publishers.
 */
class DirectSpillTest {
  @TempDir Path dir;

  /**
   * Holds its line as the Pulsar sink does: after a failed call it answers retry to every call that
   * does not start at that call's first number. The first call is left open until the test answers
   * it, so that the second carries everything published meanwhile; the second fails.
   */
  static final class HoldingSink implements Sink<String> {
    final List<Long> firstOfEachCall = Collections.synchronizedList(new ArrayList<>());
    final List<String> stored = Collections.synchronizedList(new ArrayList<>());
    final CompletableFuture<List<Outcome>> firstAnswer = new CompletableFuture<>();
    final AtomicInteger calls = new AtomicInteger();
    volatile long holdAt;

    @Override
    public CompletionStage<List<Outcome>> deliver(List<Delivery<String>> batch) {
      int call = calls.incrementAndGet();
      long first = batch.get(0).id().sequence();
      firstOfEachCall.add(first);
      if (call == 1) {
        return firstAnswer.thenApply(
            ok -> {
              batch.forEach(d -> stored.add(d.event()));
              return ok;
            });
      }
      if (call == 2) {
        holdAt = first;
        return CompletableFuture.failedFuture(new ConnectException("the broker went away"));
      }
      List<Outcome> outcomes = new ArrayList<>();
      if (holdAt != 0 && first != holdAt) {
        batch.forEach(d -> outcomes.add(Outcome.retry("held at " + holdAt)));
        return CompletableFuture.completedFuture(outcomes);
      }
      holdAt = 0;
      batch.forEach(
          d -> {
            stored.add(d.event());
            outcomes.add(Outcome.ok());
          });
      return CompletableFuture.completedFuture(outcomes);
    }
  }

  @Test
  void aFailedDirectBatchLargerThanTheJournalsRoom_isJournaledUnderItsNumbers_andDelivered()
      throws Exception {
    HoldingSink sink = new HoldingSink();
    try (SpillQueue<String> q =
        SpillQueueTest.builder("direct", dir.resolve("q"), sink)
            .mode(SpillQueue.Mode.SPILL_ON_FAILURE)
            .segmentBytes(1 << 20)
            .maxDiskBytes(4 << 20)
            .batchSize(100)
            .build()) {
      String big = "x".repeat(200_000);
      List<CompletableFuture<EventId>> stages = new ArrayList<>();
      stages.add(q.publishAsync("e0-" + big));
      await().until(() -> sink.calls.get() == 1);
      // 30 events of 200 kB: twice what the journal's 4 MiB bound leaves room for.
      for (int i = 1; i <= 30; i++) {
        stages.add(q.publishAsync("e" + i + "-" + big));
      }
      sink.firstAnswer.complete(List.of(Outcome.ok()));
      for (CompletableFuture<EventId> s : stages) {
        // Before, the events past the bound failed here with SpillQueueFullException.
        assertThat(s).succeedsWithin(Duration.ofSeconds(20));
      }
      assertThat(q.awaitDrained(Duration.ofSeconds(30)))
          .as("drained (before, the sink held its line for good)")
          .isTrue();
      List<String> expected = new ArrayList<>();
      for (int i = 0; i <= 30; i++) {
        expected.add("e" + i + "-" + big);
      }
      assertThat(sink.stored).containsExactlyElementsOf(expected);
      long failedAt = sink.firstOfEachCall.get(1);
      assertThat(sink.firstOfEachCall.get(2))
          .as("the resend starts where it failed")
          .isEqualTo(failedAt);
      assertThat(stages.get(1).join().sequence()).isEqualTo(failedAt);
      // Back to direct delivery.
      await().until(() -> !q.metrics().spilling());
      assertThat(q.publish("after")).isNotNull();
      assertThat(sink.stored).last().isEqualTo("after");
    }
  }

  /**
   * The first record after a day (here: a second) passed with nothing appended needs new files,
   * numbered as the empty segment the queue started at open. A new segment used to take the empty
   * one's name: its directory was moved aside under the open appender, the reader, waiting at the
   * old one, skipped the new one, and an empty seal was written into it (after a crash, its records
   * would have counted as acknowledged and been deleted). Now the empty segment is started again in
   * place, and the reader and (with power-loss durability) the sync open its new files.
   */
  /**
   * The events handed over behind a failed call, which the sink has not seen, are journaled by the
   * lane without waiting for room, whatever the full policy: the lane is what makes room, and it
   * holds publishers off while it journals. It used to wait the policy's 30 s for each of them.
   */
  @Test
  void eventsBehindAFailedCall_thatDoNotFit_areRefusedAtOnce_evenWithTheBlockPolicy()
      throws Exception {
    HoldingSink sink = new HoldingSink();
    try (SpillQueue<String> q =
        SpillQueueTest.builder("behind", dir.resolve("behind"), sink)
            .mode(SpillQueue.Mode.SPILL_ON_FAILURE)
            .segmentBytes(1 << 20)
            .maxDiskBytes(4 << 20)
            .batchSize(10)
            .whenFull(FullPolicy.block(Duration.ofSeconds(30)))
            .build()) {
      String big = "x".repeat(200_000);
      List<CompletableFuture<EventId>> stages = new ArrayList<>();
      stages.add(q.publishAsync("e0-" + big));
      await().until(() -> sink.calls.get() == 1);
      // The second call takes 10 of these and fails; 30 wait behind it, 6 MB for a 4 MiB bound.
      for (int i = 1; i <= 40; i++) {
        stages.add(q.publishAsync("e" + i + "-" + big));
      }
      long start = System.nanoTime();
      sink.firstAnswer.complete(List.of(Outcome.ok()));
      int acknowledged = 0;
      int refused = 0;
      for (CompletableFuture<EventId> s : stages) {
        try {
          s.get(20, java.util.concurrent.TimeUnit.SECONDS);
          acknowledged++;
        } catch (java.util.concurrent.ExecutionException e) {
          assertThat(e.getCause()).isInstanceOf(SpillQueueFullException.class);
          refused++;
        }
      }
      long millis = (System.nanoTime() - start) / 1_000_000;
      assertThat(millis).as("ms until every publisher had its answer").isLessThan(10_000);
      assertThat(refused).as("refused for want of room").isPositive();
      // The first 11 (delivered, then seen by the sink) are never refused.
      for (int i = 0; i <= 10; i++) {
        assertThat(stages.get(i)).isCompleted().isNotCompletedExceptionally();
      }
      assertThat(q.awaitDrained(Duration.ofSeconds(30))).isTrue();
      assertThat(sink.stored).hasSize(acknowledged);
    }
  }

  @org.junit.jupiter.params.ParameterizedTest
  @org.junit.jupiter.params.provider.EnumSource(SpillQueue.Durability.class)
  void aNewSegmentNumberedAsTheEmptyActiveOne_startsItAgainInPlace_andItsRecordsAreDelivered(
      SpillQueue.Durability durability) throws Exception {
    TestSink sink = new TestSink();
    Path q = dir.resolve("days-" + durability);
    try (SpillQueue<String> queue =
        SpillQueueTest.builder("days", q, sink)
            .durability(durability)
            .rollCycle(net.openhft.chronicle.queue.rollcycles.TestRollCycles.TEST_SECONDLY)
            .build()) {
      // The lane reads the empty segment of the open meanwhile.
      Thread.sleep(1_500);
      for (int i = 0; i < 10; i++) {
        queue.publish("day-two-" + i); // with POWER_LOSS: synced from the new files
      }
      assertThat(queue.awaitDrained(Duration.ofSeconds(10))).as("delivered").isTrue();
      assertThat(sink.events).hasSize(10);
      assertThat(queue.metrics().backlogEvents()).isZero();
      assertThat(queue.metrics().lost()).isEmpty();
      queue.publish("after");
      assertThat(queue.awaitDrained(Duration.ofSeconds(10))).isTrue();
      assertThat(sink.events).hasSize(11);
    }
    assertThat(java.nio.file.Files.exists(q.resolve("quarantine")))
        .as("nothing moved aside")
        .isFalse();
  }
}
