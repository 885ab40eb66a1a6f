package dev.outlast.buffer;

import dev.outlast.buffer.spi.EventId;
import dev.outlast.core.internal.PrivateFiles;
import dev.outlast.core.spi.Codec;
import java.io.ByteArrayOutputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.zip.CRC32C;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The dead-letter journal: events the sink rejected for good, appended to one file with plain
 * positional writes (a full disk fails the write instead of crashing the JVM). Each record is
 * {@code [length i32][crc32c i32][body]}, the body holding the event's id, times, reason and
 * encoded bytes. A damaged tail (a crash mid-write) is cut off when the journal opens. Damage
 * anywhere else (a bad sector, a stray write) is skipped, not cut: reading looks for the next
 * intact record, so the dead letters after it stay readable and the damaged bytes stay in the file.
 *
 * <p>When the queue is encrypted the reason and the bytes are sealed with its keys (format 2; the
 * id and times stay readable, and are bound to the seal): a sink's reason often quotes the event (a
 * search server's mapping error shows the field's value), so neither may reach the disk in clear.
 *
 * <p>Appends are made by the drainer thread; reads by anyone, under the same lock.
 */
final class DeadLetterLog implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(DeadLetterLog.class);
  private static final int PLAIN = 1;
  private static final int SEALED = 2;
  // format, producer id length, sequence, published, rejected: the least a record's body holds.
  private static final int MIN_BODY = 1 + 2 + 8 + 8 + 8;
  private static final int RESYNC_WINDOW = 64 * 1024;
  // Enough past a window's end to see a candidate's times behind an id of up to 4 KiB.
  private static final int RESYNC_OVERLAP = 8 + 3 + 4096 + 8 + 16;
  private static final long YEAR_2200_MILLIS = 7_258_118_400_000L;

  private final Path file;
  private final FileChannel channel;
  private final boolean sync;
  private final @Nullable Sealer sealer;
  private long count;
  private long damagedBytes;

  /**
   * Opens (or creates) the journal in {@code dir}; {@code keys}, if not null, seal what is appended
   * and open what was sealed.
   */
  DeadLetterLog(Path dir, boolean sync, @Nullable Keyring keys) throws IOException {
    PrivateFiles.createPrivateDirectory(dir);
    this.file = dir.resolve("dead-letters.log");
    if (Files.exists(file, LinkOption.NOFOLLOW_LINKS)) {
      PrivateFiles.checkFile(file);
    } else {
      PrivateFiles.createPrivateFile(file);
    }
    this.channel = FileChannel.open(file, StandardOpenOption.READ, StandardOpenOption.WRITE);
    this.sync = sync;
    this.sealer = keys == null ? null : new Sealer(keys);
    long valid = scan(null);
    if (damagedBytes > 0) {
      log.warn(
          "{}: {} damaged bytes between intact records are skipped; the {} intact dead letters"
              + " are kept, and so are the damaged bytes, for whoever wants to look at them",
          file,
          damagedBytes,
          count);
    }
    if (valid < channel.size()) {
      log.warn(
          "{}: {} bytes of a torn record at the end are cut off", file, channel.size() - valid);
      channel.truncate(valid);
    }
  }

  /** Appends a dead letter; throws if the disk refuses, so that the event is not dropped. */
  synchronized void append(
      EventId id, long publishedAt, long rejectedAt, String reason, byte[] payload)
      throws IOException {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream(payload.length + 128);
    Sealer seal = sealer;
    try (DataOutputStream out = new DataOutputStream(bytes)) {
      out.writeByte(seal == null ? PLAIN : SEALED);
      byte[] producer = id.producerId().getBytes(StandardCharsets.UTF_8);
      out.writeShort(producer.length);
      out.write(producer);
      out.writeLong(id.sequence());
      out.writeLong(publishedAt);
      out.writeLong(rejectedAt);
      byte[] secret = content(reason, payload);
      if (seal == null) {
        out.write(secret);
      } else {
        out.flush();
        byte[] sealed = seal.seal(secret, bytes.toByteArray());
        out.writeInt(sealed.length);
        out.write(sealed);
      }
    }
    byte[] body = bytes.toByteArray();
    CRC32C crc = new CRC32C();
    crc.update(body);
    ByteBuffer record = ByteBuffer.allocate(8 + body.length);
    record.putInt(body.length).putInt((int) crc.getValue()).put(body).flip();
    long position = channel.size();
    try {
      while (record.hasRemaining()) {
        position += channel.write(record, position);
      }
      if (sync) {
        channel.force(false);
      }
    } catch (IOException e) {
      // Leave no half record behind.
      channel.truncate(position - record.position());
      throw e;
    }
    count++;
  }

  /** The part of a dead letter that is sealed when the queue is encrypted. */
  private static byte[] content(String reason, byte[] payload) throws IOException {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream(payload.length + 64);
    try (DataOutputStream out = new DataOutputStream(bytes)) {
      byte[] why = reason.getBytes(StandardCharsets.UTF_8);
      out.writeInt(why.length);
      out.write(why);
      out.writeInt(payload.length);
      out.write(payload);
    }
    return bytes.toByteArray();
  }

  synchronized long count() {
    return count;
  }

  /** Every dead letter, oldest first. */
  synchronized <E> List<DeadLetter<E>> read(Codec<E> codec) throws IOException {
    List<DeadLetter<E>> out = new ArrayList<>();
    scan(
        (id, published, rejected, reason, payload, unopened) -> {
          E event;
          try {
            event = unopened ? null : codec.decode(payload);
          } catch (RuntimeException | LinkageError | StackOverflowError | AssertionError e) {
            event = null; // the raw payload is still there for whoever reads the dead letter
          }
          out.add(
              new DeadLetter<>(
                  id,
                  Instant.ofEpochMilli(published),
                  Instant.ofEpochMilli(rejected),
                  reason,
                  payload,
                  event));
        });
    return out;
  }

  private interface Visitor {
    /** {@code unopened} is true for a dead letter whose reason and bytes could not be opened. */
    void visit(
        EventId id, long published, long rejected, String reason, byte[] payload, boolean unopened);
  }

  /**
   * Reads records from the start; returns where the last intact one ends. Records are skipped over
   * damage: a crash tears only the last record, but a bad sector or a stray write can hit any, and
   * giving up at the first bad one would lose every dead letter written after it.
   */
  private long scan(@Nullable Visitor visitor) throws IOException {
    long size = channel.size();
    long position = 0;
    long end = 0;
    long n = 0;
    long skipped = 0;
    while (position + 8 <= size) {
      byte[] body = recordAt(position, size);
      if (body == null) {
        long next = nextRecord(position + 1, size);
        if (next < 0) {
          break;
        }
        skipped += next - position;
        position = next;
        continue;
      }
      if (visitor != null) {
        visit(body, visitor);
      }
      position += 8 + body.length;
      end = position;
      n++;
    }
    count = n;
    damagedBytes = skipped;
    return end;
  }

  /**
   * The body of the intact record at {@code position} (its checksum matches), or null if there is
   * none there. A record of a format this version does not know is intact: it is kept and shown as
   * unreadable, never cut as damage.
   */
  private byte @Nullable [] recordAt(long position, long size) throws IOException {
    ByteBuffer head = ByteBuffer.allocate(8);
    readFully(head, position);
    if (head.hasRemaining()) {
      return null;
    }
    head.flip();
    int length = head.getInt();
    int stored = head.getInt();
    if (length < MIN_BODY || position + 8 + length > size) {
      return null;
    }
    ByteBuffer body = ByteBuffer.allocate(length);
    readFully(body, position + 8);
    if (body.hasRemaining()) {
      return null;
    }
    CRC32C crc = new CRC32C();
    crc.update(body.array());
    return (int) crc.getValue() == stored ? body.array() : null;
  }

  private void readFully(ByteBuffer into, long position) throws IOException {
    while (into.hasRemaining() && channel.read(into, position + into.position()) > 0) {
      // keep reading
    }
  }

  /**
   * Where the next intact record starts, at or after {@code from}; -1 if none does. The damaged
   * stretch is read in windows and each offset is first checked in memory for what a record of ours
   * must look like there (a known format, an id that fits, two plausible times): random bytes
   * almost never pass, so a body is read and checksummed only where a record really starts, and
   * resyncing over a torn 16 MiB event costs one read of it, not one per byte.
   */
  private long nextRecord(long from, long size) throws IOException {
    ByteBuffer window = ByteBuffer.allocate(RESYNC_WINDOW + RESYNC_OVERLAP);
    for (long base = from; base + 8 + MIN_BODY <= size; base += RESYNC_WINDOW) {
      window.clear();
      window.limit((int) Math.min(window.capacity(), size - base));
      readFully(window, base);
      int have = window.position();
      for (int i = 0; i < Math.min(RESYNC_WINDOW, have); i++) {
        long p = base + i;
        if (plausibleStart(window, i, have, size - p) && recordAt(p, size) != null) {
          return p;
        }
      }
    }
    return -1;
  }

  /** Whether the bytes at {@code i} could start a record written by this version. */
  private static boolean plausibleStart(ByteBuffer w, int i, int have, long left) {
    if (i + 8 + 3 > have) {
      return false;
    }
    int length = w.getInt(i);
    int format = w.get(i + 8);
    int idLength = w.getShort(i + 9) & 0xFFFF;
    if (length < MIN_BODY + idLength
        || length > left - 8
        || (format != PLAIN && format != SEALED)) {
      return false;
    }
    int times = i + 8 + 3 + idLength + 8; // published, then rejected
    if (times + 16 > have) {
      return true; // a long id past the window: let the checksum decide
    }
    return plausibleTime(w.getLong(times)) && plausibleTime(w.getLong(times + 8));
  }

  private static boolean plausibleTime(long epochMillis) {
    return epochMillis >= 0 && epochMillis < YEAR_2200_MILLIS;
  }

  private void visit(byte[] body, Visitor visitor) {
    ByteBuffer b = ByteBuffer.wrap(body);
    int format = b.get();
    if (format != PLAIN && format != SEALED) {
      // Intact, but written by a newer version: kept as it is, shown without its contents.
      visitor.visit(
          new EventId("unknown", 1),
          0,
          0,
          "written in format " + format + " by a newer Outlast; read it with that version",
          new byte[0],
          true);
      return;
    }
    int idLength = b.getShort() & 0xFFFF;
    byte[] idBytes = new byte[idLength];
    b.get(idBytes);
    EventId id = new EventId(new String(idBytes, StandardCharsets.UTF_8), b.getLong());
    long published = b.getLong();
    long rejected = b.getLong();
    ByteBuffer content = b;
    if (format == SEALED) {
      int clear = b.position();
      int length = b.getInt();
      Sealer seal = sealer;
      String why;
      if (seal == null) {
        why =
            "sealed, and this queue has no key: build it with the key the journal was sealed with";
      } else {
        try {
          content =
              ByteBuffer.wrap(seal.open(body, b.position(), length, Arrays.copyOf(body, clear)));
          why = null;
        } catch (Sealer.OpenException e) {
          why = "sealed, and cannot be opened: " + e.getMessage();
        }
      }
      if (why != null) {
        visitor.visit(id, published, rejected, why, new byte[0], true);
        return;
      }
    }
    byte[] reason = new byte[content.getInt()];
    content.get(reason);
    byte[] payload = new byte[content.getInt()];
    content.get(payload);
    visitor.visit(
        id, published, rejected, new String(reason, StandardCharsets.UTF_8), payload, false);
  }

  @Override
  public synchronized void close() throws IOException {
    channel.close();
  }
}
