package dev.outlast.buffer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import net.openhft.chronicle.bytes.Bytes;
import net.openhft.chronicle.queue.ChronicleQueue;
import net.openhft.chronicle.queue.ExcerptAppender;
import net.openhft.chronicle.queue.ExcerptTailer;
import net.openhft.chronicle.wire.DocumentContext;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The build gives every test JVM what Chronicle Queue needs on JDK 17+ (module exports and opens)
 * and keeps its usage analytics off; this proves both in a real queue round trip. It also pins down
 * facts of Chronicle's file layout the journal depends on.
 */
class ChronicleRuntimeTest {

  @Test
  void queueRoundTrip_worksWithTheBuildsJvmFlags(@TempDir Path dir) {
    try (ChronicleQueue queue = ChronicleQueue.singleBuilder(dir).build();
        ExcerptAppender appender = queue.createAppender()) {
      for (int i = 0; i < 1_000; i++) {
        appender.writeText("event-" + i);
      }
      ExcerptTailer tailer = queue.createTailer();
      for (int i = 0; i < 1_000; i++) {
        assertThat(tailer.readText()).isEqualTo("event-" + i);
      }
      assertThat(tailer.readText()).isNull();
    }
  }

  /**
   * What the journal's preallocation relies on: a document's bytes are addressed by file offset,
   * and past the last document the file holds zeros, so space there can be allocated (or zeros
   * written) without touching anything Chronicle wrote.
   */
  @Test
  void writePosition_isTheFileOffset_andTheFileIsZeroPastIt(@TempDir Path dir) throws Exception {
    byte[] record = "0123456789abcdef".repeat(20).getBytes(StandardCharsets.US_ASCII);
    long end = 0;
    java.io.File file;
    try (ChronicleQueue queue = ChronicleQueue.singleBuilder(dir).blockSize(256 << 10).build();
        ExcerptAppender appender = queue.createAppender()) {
      for (int i = 0; i < 5_000; i++) { // past the first index array
        try (DocumentContext dc = appender.writingDocument()) {
          dc.wire().bytes().write(record);
          end = dc.wire().bytes().writePosition();
        }
      }
      file = java.util.Objects.requireNonNull(appender.currentFile());
      byte[] onDisk = Files.readAllBytes(file.toPath());
      assertThat(Arrays.copyOfRange(onDisk, (int) end - record.length, (int) end))
          .isEqualTo(record);
      for (int i = (int) end; i < onDisk.length; i++) {
        assertThat(onDisk[i]).as("byte %d past the last record at %d", i, end).isZero();
      }
    }
  }

  /**
   * Prefaulting maps the pages ahead of the appender writable without changing the file: records
   * read back as written and the file is still zeros past the last one.
   */
  @Test
  void prefault_mapsPagesAhead_andChangesNoByte(@TempDir Path dir) throws Exception {
    java.util.regex.Matcher release =
        java.util.regex.Pattern.compile("(\\d+)\\.(\\d+)")
            .matcher(System.getProperty("os.version"));
    assumeTrue(
        System.getProperty("os.name").equals("Linux")
            && release.lookingAt()
            && Integer.parseInt(release.group(1)) * 1000 + Integer.parseInt(release.group(2))
                >= 5014,
        "MADV_POPULATE_WRITE needs Linux 5.14");
    byte[] record = "0123456789abcdef".repeat(16).getBytes(StandardCharsets.US_ASCII);
    Preallocator pre = new Preallocator(1 << 20, true);
    long end = 0;
    long maxAhead = 0;
    java.io.File file;
    int count = 10_000; // 2.6 MB: many prefault steps
    try (ChronicleQueue queue = ChronicleQueue.singleBuilder(dir).build();
        ExcerptAppender appender = queue.createAppender()) {
      for (int i = 0; i < count; i++) {
        Bytes<?> bytes;
        try (DocumentContext dc = appender.writingDocument()) {
          bytes = dc.wire().bytes();
          pre.ensure(appender.currentFile(), bytes.writePosition(), record.length + 8L, 64L << 20);
          bytes.write(record);
          bytes.writeInt(i);
          end = bytes.writePosition();
        }
        pre.written(appender.currentFile(), end);
        pre.prefault(bytes);
        maxAhead = Math.max(maxAhead, pre.prefaultedAhead());
      }
      assertThat(maxAhead).isGreaterThan(Preallocator.PREFAULT / 2);
      file = java.util.Objects.requireNonNull(appender.currentFile());
      ExcerptTailer tailer = queue.createTailer();
      for (int i = 0; i < count; i++) {
        try (DocumentContext dc = tailer.readingDocument()) {
          assertThat(dc.isPresent()).isTrue();
          byte[] read = new byte[record.length];
          dc.wire().bytes().read(read);
          assertThat(read).isEqualTo(record);
          assertThat(dc.wire().bytes().readInt()).isEqualTo(i);
        }
      }
    }
    byte[] onDisk = Files.readAllBytes(file.toPath());
    for (int i = (int) end; i < onDisk.length; i++) {
      assertThat(onDisk[i]).as("byte %d past the last record at %d", i, end).isZero();
    }
  }

  @Test
  void analytics_areOffAndNotOnTheClassPath() {
    assertThat(System.getProperty("chronicle.analytics.disable")).isEqualTo("true");
    assertThatThrownBy(() -> Class.forName("net.openhft.chronicle.analytics.Analytics"))
        .isInstanceOf(ClassNotFoundException.class);
  }
}
