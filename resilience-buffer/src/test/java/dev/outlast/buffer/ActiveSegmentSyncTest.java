package dev.outlast.buffer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import net.openhft.chronicle.queue.ChronicleQueue;
import net.openhft.chronicle.queue.ExcerptAppender;
import net.openhft.chronicle.queue.RollCycles;
import net.openhft.chronicle.wire.DocumentContext;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 19: the group commit writes a roll file only up to the end of its last complete document.
 * That end must be past every record appended before the sync (else a power cut loses an
 * acknowledged record), and must not pass a document still being written.
 */
class ActiveSegmentSyncTest {
  @TempDir Path dir;

  private static final byte[] RECORD = new byte[300];

  private static void append(ExcerptAppender a, int records) {
    for (int i = 0; i < records; i++) {
      try (DocumentContext dc = a.writingDocument()) {
        dc.wire().bytes().write(RECORD);
      }
    }
  }

  private static int headerAt(Path file, long position) throws Exception {
    ByteBuffer word = ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN);
    try (FileChannel ch = FileChannel.open(file)) {
      ch.read(word, position);
    }
    return word.getInt(0);
  }

  @Test
  void sync_reachesTheLastCompleteDocument_andStopsAtOneBeingWritten() throws Exception {
    Segment segment = new Segment(1, dir.resolve(Segment.name(1)));
    Files.createDirectories(segment.dir);
    try (ChronicleQueue q = segment.open(RollCycles.FAST_DAILY, 1L << 20, false);
        ExcerptAppender a = q.createAppender();
        ActiveSegmentSync sync = new ActiveSegmentSync(segment, 0)) {
      append(a, 1_000); // past the first 256 KiB, over several index arrays
      Path roll = java.util.Objects.requireNonNull(a.currentFile()).toPath();

      assertThat(sync.sync()).as("files seen for the first time").isTrue();
      long first = sync.syncedUpTo(roll);
      assertThat(Segment.documentsReach(roll, first)).isTrue();
      assertThat(headerAt(roll, first)).as("nothing written past it").isZero();
      assertThat(first).isGreaterThan(1_000L * RECORD.length);

      append(a, 10);
      assertThat(sync.sync()).as("no new file").isFalse();
      long second = sync.syncedUpTo(roll);
      assertThat(second).isGreaterThanOrEqualTo(first + 10L * (RECORD.length + 4));
      assertThat(Segment.documentsReach(roll, second)).isTrue();

      try (DocumentContext open = a.writingDocument()) {
        open.wire().bytes().write(RECORD);
        sync.sync();
        assertThat(sync.syncedUpTo(roll)).as("a document being written").isEqualTo(second);
      }
      sync.sync();
      long third = sync.syncedUpTo(roll);
      assertThat(third).isGreaterThanOrEqualTo(second + 4 + RECORD.length);
      assertThat(Segment.documentsReach(roll, third)).isTrue();
      assertThat(headerAt(roll, third)).isZero();
    }
  }

  @Test
  void sync_coversEveryRecordOfAnySize_uptoWhereItsBytesEnd() throws Exception {
    Segment segment = new Segment(1, dir.resolve(Segment.name(1)));
    Files.createDirectories(segment.dir);
    java.util.Random random = new java.util.Random(19);
    try (ChronicleQueue q = segment.open(RollCycles.FAST_DAILY, 1L << 20, false);
        ExcerptAppender a = q.createAppender();
        ActiveSegmentSync sync = new ActiveSegmentSync(segment, 0)) {
      long lastEnd = 0;
      for (int round = 0; round < 50; round++) {
        // Sizes of every remainder mod 4 and up to past a page, so that padding and documents
        // across page and index-array boundaries are all walked.
        int records = 1 + random.nextInt(200);
        for (int i = 0; i < records; i++) {
          byte[] record = new byte[1 + random.nextInt(round % 10 == 9 ? 70_000 : 700)];
          try (DocumentContext dc = a.writingDocument()) {
            dc.wire().bytes().write(record);
            lastEnd = dc.wire().bytes().writePosition();
          }
        }
        sync.sync();
        Path roll = java.util.Objects.requireNonNull(a.currentFile()).toPath();
        long synced = sync.syncedUpTo(roll);
        assertThat(synced)
            .as("round %d: synced to past the last record's bytes", round)
            .isGreaterThanOrEqualTo(lastEnd);
        assertThat(synced - lastEnd).as("round %d: at most padding past them", round).isLessThan(4);
        assertThat(headerAt(roll, synced)).as("round %d: nothing written past it", round).isZero();
      }
    }
  }

  @Test
  void aFileAppearingInTheSegment_isReportedOnce_forItsDirectoryEntry() throws Exception {
    Segment segment = new Segment(1, dir.resolve(Segment.name(1)));
    Files.createDirectories(segment.dir);
    try (ChronicleQueue q = segment.open(RollCycles.FAST_DAILY, 1L << 20, false);
        ExcerptAppender a = q.createAppender();
        ActiveSegmentSync sync = new ActiveSegmentSync(segment, 0)) {
      append(a, 1);
      assertThat(sync.sync()).isTrue();
      assertThat(sync.sync()).isFalse();
      // As when Chronicle starts the next day's roll file inside an append.
      Path next = segment.dir.resolve("20991231" + Segment.SUFFIX);
      Files.write(next, new byte[8192]);
      assertThat(sync.sync()).isTrue();
      assertThat(sync.syncedUpTo(next)).as("no documents in it").isZero();
      assertThat(sync.sync()).isFalse();
    }
  }

  @Test
  void afterClose_aSyncIsRefused() throws Exception {
    Segment segment = new Segment(1, dir.resolve(Segment.name(1)));
    Files.createDirectories(segment.dir);
    try (ChronicleQueue q = segment.open(RollCycles.FAST_DAILY, 1L << 20, false);
        ExcerptAppender a = q.createAppender()) {
      append(a, 1);
      ActiveSegmentSync sync = new ActiveSegmentSync(segment, 0);
      sync.sync();
      sync.close();
      sync.close(); // idempotent
      assertThatThrownBy(sync::sync).isInstanceOf(ClosedChannelException.class);
    }
  }
}
