package dev.outlast.buffer;

import java.io.IOException;
import java.nio.ByteOrder;
import java.nio.MappedByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.stream.Stream;
import org.jspecify.annotations.Nullable;

/**
 * Checks, before a queue changes anything on disk, that its keys open the journal it finds: every
 * record not yet acknowledged names a key the queue has (by the key id in clear), and the oldest
 * and the newest of them open. A queue opened with the wrong key (or none, or with encryption newly
 * turned on over a plain backlog) would otherwise report its whole backlog lost and quarantine it;
 * this makes {@code build()} fail instead, naming the key ids, with the files as they were.
 *
 * <p>It reads Chronicle's roll files itself, through read-only mappings, because opening them
 * through Chronicle writes to them. A roll file is a run of documents, each a 4-byte little-endian
 * header word (length in the low 30 bits, bit 30 set for Chronicle's own metadata, bit 31 while
 * being written) and its bytes, 4-byte aligned; a journal record is a whole data document.
 *
 * <p>Only records whose CRC matches are checked: a damaged record is the reader's business, as
 * before. A CRC that matches but a seal that does not open is the wrong key (or a deliberate
 * change), which is what this is for.
 *
 * <p>Static; called once while a queue is built, under its directory lock.
 */
final class KeyCheck {
  private static final int LENGTH_MASK = 0x3FFFFFFF;
  private static final int META_DATA = 0x40000000;
  private static final int NOT_COMPLETE = 0x80000000;

  private KeyCheck() {}

  /** The keys do not fit the journal; nothing was changed. */
  static final class WrongKeyException extends IOException {
    private static final long serialVersionUID = 1L;

    WrongKeyException(String message) {
      super(message);
    }
  }

  /**
   * Checks the journal under {@code root} against {@code format}.
   *
   * @throws WrongKeyException naming the record, what is wrong and what to do
   */
  static void verify(Path root, RecordFormat format) throws IOException {
    Path journal = root.resolve("journal");
    if (!Files.isDirectory(journal)) {
      return;
    }
    long acknowledged = acknowledged(root.resolve("ack.position"));
    List<Path> segments = new ArrayList<>();
    try (Stream<Path> dirs = Files.list(journal)) {
      dirs.filter(d -> Segment.of(d) != null)
          .sorted(Comparator.comparing(d -> d.getFileName().toString()))
          .forEach(segments::add);
    }
    // A segment's records are all sealed with one key: a queue starts a new segment at each open,
    // and its key cannot change while it is open. So the first record of each segment still to be
    // delivered is opened whole: a key dropped too early shows wherever its segments are, at the
    // cost of one record per segment, not a read of the whole backlog at every start.
    for (Path s : segments) {
      for (Path f : rollFiles(s)) {
        byte[] first = firstAfter(f, acknowledged);
        if (first != null) {
          String why = format.whyNotOpened(first);
          if (why != null) {
            throw refusal(root, why);
          }
          break;
        }
      }
    }
  }

  private static WrongKeyException refusal(Path root, String why) {
    return new WrongKeyException(
        "the journal in "
            + root
            + " cannot be opened with this queue's keys: "
            + why
            + ". Nothing on disk was changed. Build the queue with the key its backlog was"
            + " sealed with; after rotating a key, pass the old one as retired,"
            + " encryption(newKey, oldKey), until the backlog is delivered");
  }

  private static long acknowledged(Path file) {
    try (CounterFile f = CounterFile.openExisting(file)) {
      return f == null ? 0 : f.value();
    } catch (IOException e) {
      return 0; // damaged: the open rebuilds it from the journal, which this then checks whole
    }
  }

  private static List<Path> rollFiles(Path segment) throws IOException {
    List<Path> files = new ArrayList<>();
    try (Stream<Path> all = Files.list(segment)) {
      all.filter(f -> f.getFileName().toString().endsWith(Segment.SUFFIX))
          .filter(Files::isRegularFile)
          .sorted(Comparator.comparing(f -> f.getFileName().toString()))
          .forEach(files::add);
    }
    return files;
  }

  /**
   * The first record in a roll file whose CRC matches and whose sequence is above {@code after}, or
   * null if none.
   */
  private static byte @Nullable [] firstAfter(Path file, long after) throws IOException {
    RecordFormat crcOnly = new RecordFormat();
    try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
      long size = Math.min(ch.size(), Integer.MAX_VALUE);
      if (size < 8) {
        return null;
      }
      MappedByteBuffer map = ch.map(FileChannel.MapMode.READ_ONLY, 0, size);
      map.order(ByteOrder.LITTLE_ENDIAN);
      long at = 0;
      while (at + 4 <= size) {
        int word = map.getInt((int) at);
        if (word == 0 || (word & NOT_COMPLETE) != 0) {
          break;
        }
        int length = word & LENGTH_MASK;
        if (at + 4 + length > size) {
          break;
        }
        if ((word & META_DATA) == 0 && length >= RecordFormat.OVERHEAD) {
          byte[] record = new byte[length];
          map.get((int) at + 4, record);
          if (crcOnly.headerSequence(record) > after) {
            return record;
          }
        }
        at = (at + 4 + length + 3) & -4L;
      }
    }
    return null;
  }
}
