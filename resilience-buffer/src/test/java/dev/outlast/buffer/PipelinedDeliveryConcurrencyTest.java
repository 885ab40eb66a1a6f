package dev.outlast.buffer;

import static org.assertj.core.api.Assertions.assertThat;

import dev.outlast.buffer.spi.Delivery;
import dev.outlast.buffer.spi.Outcome;
import dev.outlast.buffer.spi.Sink;
import dev.outlast.core.Guard;
import dev.outlast.core.GuardConfig;
import dev.outlast.core.spi.Codec;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executor;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Eight publishers into a queue whose sink takes three batches in flight and answers them out of
 * order on other threads, through an outage: the sink is never given more calls at once than it
 * takes, it is given more than one (the backlog is drained pipelined), every acknowledged event
 * arrives, and each publisher's events are first handed over in the order it published them.
 */
class PipelinedDeliveryConcurrencyTest {
  private static final int PUBLISHERS = 8;
  private static final int EVENTS = 2_000;
  private static final int LIMIT = 3;

  /**
   * Keeps no lock: counts calls from {@code deliver} to the end of its stage with an atomic, so two
   * calls too many cannot hide behind a lock of its own. Down while {@code down} is set.
   */
  private static final class CountingSink implements Sink<String> {
    final AtomicInteger inFlight = new AtomicInteger();
    final AtomicInteger most = new AtomicInteger();
    final ConcurrentLinkedQueue<String> handed = new ConcurrentLinkedQueue<>();
    final ConcurrentLinkedQueue<String> stored = new ConcurrentLinkedQueue<>();
    volatile boolean down;

    @Override
    public int maxBatchesInFlight() {
      return LIMIT;
    }

    @Override
    public CompletionStage<List<Outcome>> deliver(List<Delivery<String>> batch) {
      most.accumulateAndGet(inFlight.incrementAndGet(), Math::max);
      for (Delivery<String> d : batch) {
        handed.add(d.event());
      }
      boolean fail = down;
      CompletableFuture<List<Outcome>> stage = new CompletableFuture<>();
      Executor later =
          CompletableFuture.delayedExecutor(
              ThreadLocalRandom.current().nextInt(2_000), TimeUnit.MICROSECONDS);
      later.execute(
          () -> {
            // Ended before it is answered: the queue may call again once the stage is complete.
            inFlight.decrementAndGet();
            if (fail) {
              stage.completeExceptionally(new IOException("down (scripted)"));
              return;
            }
            List<Outcome> outcomes = new ArrayList<>(batch.size());
            for (Delivery<String> d : batch) {
              stored.add(d.event());
              outcomes.add(Outcome.ok());
            }
            stage.complete(outcomes);
          });
      return stage;
    }
  }

  @ParameterizedTest
  @EnumSource(SpillQueue.Mode.class)
  void eightPublishers_sinkTakingThree_neverMoreInFlight_everyEventInOrder(
      SpillQueue.Mode mode, @TempDir Path dir) throws Exception {
    CountingSink sink = new CountingSink();
    sink.down = true;
    List<ConcurrentLinkedQueue<Integer>> acknowledged = new ArrayList<>();
    ConcurrentLinkedQueue<Throwable> failures = new ConcurrentLinkedQueue<>();
    try (SpillQueue<String> queue =
        SpillQueue.<String>builder("pipelined")
            .directory(dir)
            .codec(Codec.utf8())
            .sink(sink)
            .guard(
                Guard.of(
                    "pipelined",
                    GuardConfig.from(GuardConfig.broker())
                        .openWait(Duration.ofMillis(20))
                        .maxOpenWait(Duration.ofMillis(50))
                        .build()))
            .mode(mode)
            .batchSize(20)
            .retryBackoff(Duration.ofMillis(2), Duration.ofMillis(20))
            .build()) {
      CountDownLatch start = new CountDownLatch(1);
      List<Thread> threads = new ArrayList<>();
      for (int p = 0; p < PUBLISHERS; p++) {
        ConcurrentLinkedQueue<Integer> mine = new ConcurrentLinkedQueue<>();
        acknowledged.add(mine);
        int publisher = p;
        Thread t =
            new Thread(
                () -> {
                  try {
                    start.await();
                    for (int i = 0; i < EVENTS; i++) {
                      queue.publish(publisher + ":" + i);
                      mine.add(i);
                      if (i == EVENTS / 4 && publisher == 0) {
                        sink.down = false; // the outage ends while everyone publishes
                      }
                    }
                  } catch (Throwable e) {
                    failures.add(e);
                  }
                },
                "publisher-" + p);
        t.start();
        threads.add(t);
      }
      start.countDown();
      for (Thread t : threads) {
        t.join(TimeUnit.MINUTES.toMillis(2));
        assertThat(t.isAlive()).as("%s still publishing", t.getName()).isFalse();
      }
      sink.down = false;
      assertThat(queue.awaitDrained(Duration.ofMinutes(1))).as("drained").isTrue();
    }
    assertThat(failures).as("publish calls that failed").isEmpty();
    assertThat(sink.most.get()).as("calls in flight at once").isBetween(2, LIMIT);
    Map<Integer, List<Integer>> firstHanded = new HashMap<>();
    Map<Integer, Integer> highest = new HashMap<>();
    for (String e : sink.handed) {
      int colon = e.indexOf(':');
      int p = Integer.parseInt(e.substring(0, colon));
      int i = Integer.parseInt(e.substring(colon + 1));
      if (i > highest.getOrDefault(p, -1)) {
        highest.put(p, i);
        firstHanded.computeIfAbsent(p, k -> new ArrayList<>()).add(i);
      }
    }
    java.util.Set<String> stored = new java.util.HashSet<>(sink.stored);
    for (int p = 0; p < PUBLISHERS; p++) {
      assertThat(firstHanded.get(p))
          .as("publisher %d's events, first handed over in its order, none skipped", p)
          .containsExactlyElementsOf(acknowledged.get(p));
      for (int i : acknowledged.get(p)) {
        assertThat(stored).as("acknowledged and stored").contains(p + ":" + i);
      }
    }
  }
}
