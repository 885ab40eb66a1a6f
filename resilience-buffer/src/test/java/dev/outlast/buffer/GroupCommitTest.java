package dev.outlast.buffer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.outlast.buffer.spi.EventId;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 19: when the group commit's sync begins. At once when someone blocks on a waiting stage; at
 * a pause of the appends; at the latest after the longest delay; and at stop, for what is left.
 */
class GroupCommitTest {
  private static final long HOUR = TimeUnit.HOURS.toNanos(1);
  private static final byte[] EVENT = new byte[256];

  @TempDir Path dir;

  private final RecordFormat format = new RecordFormat();
  private final Object appendLock = new Object();

  /** Appends one record and queues its waiter, as the writer does under its lock. */
  private CompletableFuture<EventId> append(Journal j, GroupCommit commit) throws Exception {
    synchronized (appendLock) {
      long sequence = j.append(format, EVENT, System.currentTimeMillis(), 0);
      return commit.durable(new EventId("p", sequence));
    }
  }

  @Test
  @Timeout(60)
  void blockingOnAStage_startsTheSync_withoutWaitingForAPause() throws Exception {
    try (Journal j = CounterRepairTest.openJournal(dir.resolve("q"))) {
      // Neither a pause nor the delay would start a sync within the test's time.
      GroupCommit commit = new GroupCommit("t", j, HOUR, HOUR);
      try {
        CompletableFuture<EventId> stage = append(j, commit);
        await().during(Duration.ofMillis(200)).until(() -> !stage.isDone());
        assertThat(stage.get(30, TimeUnit.SECONDS).sequence()).isPositive();
        CompletableFuture<EventId> next = append(j, commit);
        assertThat(next.join().sequence()).isGreaterThan(stage.join().sequence());
      } finally {
        commit.stop();
      }
    }
  }

  @Test
  void aStageNobodyBlocksOn_isSyncedAfterThePause() throws Exception {
    try (Journal j = CounterRepairTest.openJournal(dir.resolve("q"))) {
      GroupCommit commit = new GroupCommit("t", j);
      try {
        CompletableFuture<EventId> stage = append(j, commit);
        await().atMost(Duration.ofSeconds(10)).until(stage::isDone);
        assertThat(stage).isCompleted();
      } finally {
        commit.stop();
      }
    }
  }

  @Test
  void aSteadyStreamNobodyBlocksOn_isSyncedInBatchesWithinTheDelay() throws Exception {
    try (Journal j = CounterRepairTest.openJournal(dir.resolve("q"))) {
      AtomicInteger syncs = new AtomicInteger();
      j.beforeSegmentSync(s -> syncs.incrementAndGet());
      // No pause counts: only the delay starts a sync while appends go on.
      GroupCommit commit = new GroupCommit("t", j, HOUR, TimeUnit.MILLISECONDS.toNanos(5));
      try {
        List<CompletableFuture<EventId>> stages = new ArrayList<>();
        long until = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(100);
        while (System.nanoTime() - until < 0) {
          stages.add(append(j, commit));
        }
        CompletableFuture<EventId> last = stages.get(stages.size() - 1);
        // The stream stopped, and no pause counts: only the delay syncs the rest.
        await().atMost(Duration.ofSeconds(10)).until(last::isDone);
        assertThat(stages).allMatch(s -> s.isDone() && !s.isCompletedExceptionally());
        assertThat(syncs.get()).isBetween(1, stages.size() / 10);
      } finally {
        commit.stop();
      }
    }
  }

  @Test
  void stop_syncsWhatWaits_withoutWaitingForThePauseOrTheDelay() throws Exception {
    try (Journal j = CounterRepairTest.openJournal(dir.resolve("q"))) {
      GroupCommit commit = new GroupCommit("t", j, HOUR, HOUR);
      CompletableFuture<EventId> stage = append(j, commit);
      commit.stop();
      assertThat(stage).isCompleted();
      assertThat(stage.join().sequence()).isPositive();
    }
  }

  @Test
  @Timeout(120)
  void eightPublishersBlockingOnTheirOwnRecords_allComplete_andShareSyncs() throws Exception {
    try (Journal j = CounterRepairTest.openJournal(dir.resolve("q"))) {
      AtomicInteger syncs = new AtomicInteger();
      j.beforeSegmentSync(s -> syncs.incrementAndGet());
      // Only blocking starts syncs here: each publisher waits for its own record.
      GroupCommit commit = new GroupCommit("t", j, HOUR, HOUR);
      ExecutorService pool = Executors.newFixedThreadPool(8);
      int each = 200;
      try {
        List<Future<Long>> publishers = new ArrayList<>();
        for (int t = 0; t < 8; t++) {
          publishers.add(
              pool.submit(
                  () -> {
                    long last = 0;
                    for (int i = 0; i < each; i++) {
                      long sequence = append(j, commit).get().sequence();
                      assertThat(sequence).isGreaterThan(last);
                      last = sequence;
                    }
                    return last;
                  }));
        }
        for (Future<Long> p : publishers) {
          assertThat(p.get(60, TimeUnit.SECONDS)).isPositive();
        }
        assertThat(syncs.get()).isPositive().isLessThan(8 * each);
      } finally {
        pool.shutdownNow();
        commit.stop();
      }
    }
  }
}
