package dev.outlast.buffer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 14, item 5: group commit lists the segments' files while the drainer may delete a segment
 * whose records were all acknowledged. That segment needs no sync, and its deletion must not fail
 * the sync (and with it a batch of power-loss publishes whose records are safe).
 */
class SyncDeleteRaceTest {
  private static final byte[] EVENT = "s".repeat(900).getBytes(StandardCharsets.UTF_8);

  @TempDir Path dir;

  /** Appends records over several segments and reads them all: all but the active are finished. */
  private static long appendAndRead(Journal j, int records) throws Exception {
    RecordFormat format = new RecordFormat();
    for (int i = 0; i < records; i++) {
      j.append(format, EVENT, System.currentTimeMillis(), 0);
    }
    long last = 0;
    try (Journal.Reader reader = j.reader(format)) {
      for (Journal.Entry e = reader.next(); e != null; e = reader.next()) {
        last = e.sequence();
      }
    }
    return last;
  }

  @Test
  void segmentsDeletedByAnAcknowledgementWhileSynced_doNotFailTheSync() throws Exception {
    try (Journal j = CounterRepairTest.openJournal(dir.resolve("q"))) {
      long last = appendAndRead(j, 3_000);
      AtomicBoolean acknowledged = new AtomicBoolean();
      j.beforeSegmentSync(
          s -> {
            if (acknowledged.compareAndSet(false, true)) {
              try {
                j.acknowledge(last, 3_000); // deletes every finished segment, this one first
              } catch (java.io.IOException e) {
                throw new java.io.UncheckedIOException(e);
              }
            }
          });
      j.syncToDisk();
      assertThat(acknowledged).isTrue();
      assertThat(j.backlogRecords()).isZero();
      j.beforeSegmentSync(null);
      j.syncToDisk();
    }
  }

  /** The same race with real threads, no seam: syncs while acknowledgements delete segments. */
  @Test
  void syncsConcurrentWithAcknowledgementsAndDeletions_neverFail() throws Exception {
    for (int round = 0; round < 20; round++) {
      try (Journal j = CounterRepairTest.openJournal(dir.resolve("round-" + round))) {
        long last = appendAndRead(j, 4_000);
        java.util.concurrent.CyclicBarrier start = new java.util.concurrent.CyclicBarrier(2);
        java.util.concurrent.CompletableFuture<Void> deleting =
            java.util.concurrent.CompletableFuture.runAsync(
                () -> {
                  try {
                    start.await();
                    j.acknowledge(last, 4_000);
                  } catch (Exception e) {
                    throw new IllegalStateException(e);
                  }
                });
        start.await();
        j.syncToDisk(); // threw NoSuchFileException when a segment went while it was listed
        deleting.join();
        assertThat(j.backlogRecords()).isZero();
      }
    }
  }

  @Test
  void aSegmentDeletedBehindTheJournalsBack_stillFailsTheSync() throws Exception {
    try (Journal j = CounterRepairTest.openJournal(dir.resolve("q"))) {
      appendAndRead(j, 3_000);
      j.beforeSegmentSync(s -> Journal.deleteTree(s.dir)); // an operator, not the drainer
      assertThatThrownBy(j::syncToDisk).isInstanceOf(NoSuchFileException.class);
    }
  }
}
