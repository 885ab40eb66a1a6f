package dev.outlast.buffer;

import static org.assertj.core.api.Assertions.assertThat;

import dev.outlast.buffer.spi.EventId;
import dev.outlast.core.spi.Codec;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The dead-letter journal keeps every intact record, whatever damage sits between them. */
class DeadLetterLogTest {
  @TempDir Path dir;

  private Path file() {
    return dir.resolve("dead-letters").resolve("dead-letters.log");
  }

  private void write(String... events) throws IOException {
    try (DeadLetterLog log = new DeadLetterLog(dir.resolve("dead-letters"), false, null)) {
      for (String e : events) {
        log.append(
            new EventId("p", Long.parseLong(e.substring(1))),
            1L,
            2L,
            "rejected " + e,
            e.getBytes(StandardCharsets.UTF_8));
      }
    }
  }

  private List<String> events() throws IOException {
    try (DeadLetterLog log = new DeadLetterLog(dir.resolve("dead-letters"), false, null)) {
      return log.read(Codec.utf8()).stream().map(DeadLetter::event).toList();
    }
  }

  /** Where each record starts: [length i32][crc i32][body]. */
  private long[] offsets() throws IOException {
    byte[] all = Files.readAllBytes(file());
    long[] starts = new long[64];
    int n = 0;
    for (int p = 0; p + 8 <= all.length; n++) {
      starts[n] = p;
      int length =
          ((all[p] & 0xFF) << 24)
              | ((all[p + 1] & 0xFF) << 16)
              | ((all[p + 2] & 0xFF) << 8)
              | (all[p + 3] & 0xFF);
      p += 8 + length;
    }
    return java.util.Arrays.copyOf(starts, n);
  }

  private void overwrite(long position, byte... bytes) throws IOException {
    try (RandomAccessFile raf = new RandomAccessFile(file().toFile(), "rw")) {
      raf.seek(position);
      raf.write(bytes);
    }
  }

  @Test
  void aDamagedRecordInTheMiddle_isSkipped_andTheOnesAfterItAreKept() throws IOException {
    write("e1", "e2", "e3");
    long[] at = offsets();
    long size = Files.size(file());
    overwrite(at[1] + 20, (byte) 0x55, (byte) 0xAA); // inside e2's body: its checksum fails

    assertThat(events()).containsExactly("e1", "e3");
    assertThat(Files.size(file())).as("nothing cut").isEqualTo(size);

    write("e4");
    assertThat(events()).containsExactly("e1", "e3", "e4");
  }

  @Test
  void aDamagedLengthInTheMiddle_isSkipped_andTheOnesAfterItAreKept() throws IOException {
    write("e1", "e2", "e3", "e4");
    long[] at = offsets();
    overwrite(at[1], (byte) 0x7F, (byte) 0, (byte) 0, (byte) 0); // e2 claims 2 GB

    assertThat(events()).containsExactly("e1", "e3", "e4");
  }

  @Test
  void aTornLastRecord_isCutOff_andAppendsContinueBehindTheIntactOnes() throws IOException {
    write("e1", "e2");
    long[] at = offsets();
    try (RandomAccessFile raf = new RandomAccessFile(file().toFile(), "rw")) {
      raf.setLength(at[1] + 12); // a crash in the middle of writing e2
    }

    assertThat(events()).containsExactly("e1");
    assertThat(Files.size(file())).isEqualTo(at[1]);
    write("e3");
    assertThat(events()).containsExactly("e1", "e3");
  }

  /**
   * A large event torn in the middle of the file: resyncing reads past it in windows, checking each
   * offset in memory first, instead of reading and checksumming a body at every byte (which took
   * minutes and could run out of memory on random payloads).
   */
  @Test
  void aLargeRandomRecordDamagedInTheMiddle_isSkippedQuickly() throws IOException {
    byte[] noise = new byte[8 << 20];
    new java.util.Random(42).nextBytes(noise);
    try (DeadLetterLog log = new DeadLetterLog(dir.resolve("dead-letters"), false, null)) {
      log.append(new EventId("p", 1), 1L, 2L, "r", "e1".getBytes(StandardCharsets.UTF_8));
      log.append(new EventId("p", 2), 1L, 2L, "r", noise);
      log.append(new EventId("p", 3), 1L, 2L, "r", "e3".getBytes(StandardCharsets.UTF_8));
    }
    long[] at = offsets();
    overwrite(at[1] + (4 << 20), (byte) 1, (byte) 2, (byte) 3);

    List<String> found =
        org.junit.jupiter.api.Assertions.assertTimeoutPreemptively(
            java.time.Duration.ofSeconds(20), this::events);
    assertThat(found).containsExactly("e1", "e3");
  }

  /** A record this version cannot read but whose checksum holds is kept, never cut as damage. */
  @Test
  void anIntactRecordOfANewerFormat_isKeptAndShown_notCut() throws IOException {
    write("e1");
    byte[] body = new byte[40];
    body[0] = 3; // a format this version does not know
    java.util.zip.CRC32C crc = new java.util.zip.CRC32C();
    crc.update(body);
    java.nio.ByteBuffer record = java.nio.ByteBuffer.allocate(8 + body.length);
    record.putInt(body.length).putInt((int) crc.getValue()).put(body);
    long size = Files.size(file());
    overwrite(size, record.array());

    try (DeadLetterLog log = new DeadLetterLog(dir.resolve("dead-letters"), false, null)) {
      List<DeadLetter<String>> all = log.read(Codec.utf8());
      assertThat(all).hasSize(2);
      assertThat(all.get(1).event()).isNull();
      assertThat(all.get(1).reason()).contains("format 3 by a newer Outlast");
    }
    assertThat(Files.size(file())).isEqualTo(size + 8 + body.length);
  }
}
