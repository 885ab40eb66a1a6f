package dev.outlast.buffer;

import dev.outlast.core.internal.PrivateFiles;
import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import net.openhft.chronicle.bytes.SyncMode;
import net.openhft.chronicle.queue.ChronicleQueue;
import net.openhft.chronicle.queue.RollCycle;
import net.openhft.chronicle.queue.impl.StoreFileListener;
import net.openhft.chronicle.queue.impl.single.SingleChronicleQueueBuilder;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One segment of the journal: a Chronicle Queue of its own, in a directory named after the sequence
 * number of its first record (19 digits, so that names sort as numbers). Damage stays inside one
 * segment, and a deleted segment's range follows from its neighbours.
 *
 * <p>Chronicle Queue trusts its files: on this build an empty roll file or a damaged {@code
 * metadata.cq4t} makes opening hang, a short one makes it throw. {@link #prepare} checks what can
 * be checked before Chronicle sees a segment; {@link #open} makes Chronicle time out instead of
 * waiting for a header that will never come.
 */
final class Segment {
  private static final Logger log = LoggerFactory.getLogger(Segment.class);
  static final String SUFFIX = ".cq4";
  private static final int MIN_ROLL_FILE = 4096;
  private static final byte[] HEADER_MARK = "header".getBytes(StandardCharsets.US_ASCII);

  final long firstSequence;
  final Path dir;

  /**
   * Moved by the appender when it starts this (empty, active) segment again with new files: odd
   * while it does (its files are not to be opened), even again once they are whole. Whoever holds
   * its files open (the reader, the sync) opens them again when it changed.
   */
  final java.util.concurrent.atomic.AtomicInteger generation =
      new java.util.concurrent.atomic.AtomicInteger();

  Segment(long firstSequence, Path dir) {
    this.firstSequence = firstSequence;
    this.dir = dir;
  }

  static String name(long firstSequence) {
    return String.format(java.util.Locale.ROOT, "%019d", firstSequence);
  }

  /** The segment a directory holds, or null if its name is not a segment's. */
  static @Nullable Segment of(Path dir) {
    String name = dir.getFileName().toString();
    if (name.length() != 19 || !name.chars().allMatch(Character::isDigit)) {
      return null;
    }
    return new Segment(Long.parseLong(name), dir);
  }

  /**
   * Opens the Chronicle queue of this segment. Chronicle creates its files with the process's
   * umask; each is made 0600 when Chronicle takes it (its directory is 0700 from creation, so no
   * other user can open one in between).
   */
  ChronicleQueue open(RollCycle rollCycle, long blockSize, boolean sync) {
    SingleChronicleQueueBuilder b =
        SingleChronicleQueueBuilder.binary(dir)
            .rollCycle(rollCycle)
            .blockSize(blockSize)
            .storeFileListener(PRIVATE)
            // A header that never comes (an empty or cut file) fails after this, not never.
            .timeoutMS(500);
    if (sync) {
      b.syncMode(SyncMode.SYNC);
    }
    ChronicleQueue q = b.build();
    try (Stream<Path> files = Files.list(dir)) {
      for (Path f : (Iterable<Path>) files::iterator) {
        if (f.getFileName().toString().endsWith(".cq4t")) {
          PrivateFiles.makePrivate(f);
        }
      }
    } catch (IOException e) {
      log.warn("cannot make the files of {} private: {}", this, e.getMessage());
    }
    return q;
  }

  /** Makes each roll file private as Chronicle takes it. */
  private static final StoreFileListener PRIVATE =
      new StoreFileListener() {
        @Override
        public void onAcquired(int cycle, File file) {
          try {
            PrivateFiles.makePrivate(file.toPath());
          } catch (IOException e) {
            log.warn("cannot make {} private: {}", file, e.getMessage());
          }
        }

        @Override
        public void onReleased(int cycle, File file) {}
      };

  /**
   * Checks a segment's files before Chronicle opens it, for reading only. Roll files too short or
   * without a header are taken out (into {@code aside}); a damaged metadata file is deleted, as
   * Chronicle rebuilds it and the queue keeps nothing in it that it needs.
   *
   * @return the roll files taken out, empty if none
   */
  List<Path> prepare(Path aside) throws IOException {
    List<Path> removed = new ArrayList<>();
    try (Stream<Path> files = Files.list(dir)) {
      for (Path f : (Iterable<Path>) files::iterator) {
        String name = f.getFileName().toString();
        if (name.endsWith(SUFFIX) && !looksValid(f)) {
          PrivateFiles.createPrivateDirectory(aside);
          Path to = aside.resolve(name);
          Files.move(f, to);
          removed.add(to);
        } else if (name.endsWith(".cq4t") && !looksValid(f)) {
          Files.delete(f);
        }
      }
    }
    return removed;
  }

  /**
   * Checks that this segment's files can be opened as Chronicle opens them (read and write) and
   * read: what fails here is a file that cannot be read now (permissions, an I/O error), not
   * damage.
   *
   * @throws IOException if one cannot
   */
  void checkReadable() throws IOException {
    ByteBuffer one = ByteBuffer.allocate(1);
    try (Stream<Path> files = Files.list(dir)) {
      for (Path f : (Iterable<Path>) files::iterator) {
        if (Files.isRegularFile(f)) {
          try (FileChannel ch =
              FileChannel.open(f, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
            one.clear();
            ch.read(one, 0);
          }
        }
      }
    }
  }

  /** Whether a Chronicle file is long enough and starts with a header document. */
  static boolean looksValid(Path file) throws IOException {
    if (Files.size(file) < MIN_ROLL_FILE) {
      return false;
    }
    byte[] head = new byte[64];
    int n;
    try (InputStream in = Files.newInputStream(file)) {
      n = in.readNBytes(head, 0, head.length);
    }
    if (n < 16) {
      return false;
    }
    // A document header word (length and flags), then the "header" field name.
    int word =
        (head[0] & 0xFF) | (head[1] & 0xFF) << 8 | (head[2] & 0xFF) << 16 | (head[3] & 0xFF) << 24;
    int length = word & 0x3FFFFFFF;
    if (length == 0 || length > MIN_ROLL_FILE * 16) {
      return false;
    }
    for (int i = 4; i + HEADER_MARK.length <= n; i++) {
      boolean match = true;
      for (int j = 0; j < HEADER_MARK.length && match; j++) {
        match = head[i + j] == HEADER_MARK[j];
      }
      if (match) {
        return true;
      }
    }
    return false;
  }

  /**
   * Whether the documents at the start of a roll file, read with plain reads (never through a
   * mapping, so a page the file system could not back reads as zeros instead of faulting), are all
   * there and complete up to {@code headerPosition}, where the next document's header goes.
   * Chronicle writes a new roll file's header and index documents through its mapping; a write that
   * faulted left zeros, which this finds.
   */
  static boolean documentsReach(Path file, long headerPosition) throws IOException {
    java.nio.ByteBuffer word =
        java.nio.ByteBuffer.allocate(4).order(java.nio.ByteOrder.LITTLE_ENDIAN);
    try (java.nio.channels.FileChannel ch = java.nio.channels.FileChannel.open(file)) {
      long at = 0;
      while (at < headerPosition) {
        word.clear();
        while (word.hasRemaining()) {
          if (ch.read(word, at + word.position()) < 0) {
            return false;
          }
        }
        int header = word.getInt(0);
        if (header == 0 || header < 0) {
          return false; // nothing there, or a document never completed
        }
        // Documents start at 4-byte boundaries.
        at = (at + 4 + (header & 0x3FFFFFFF) + 3) & -4L;
      }
      return at == headerPosition;
    }
  }

  /** Bytes this segment takes on disk, as its files' lengths (an upper bound: they are sparse). */
  long bytes() {
    long total = 0;
    try (Stream<Path> files = Files.list(dir)) {
      for (Path f : (Iterable<Path>) files::iterator) {
        if (Files.isRegularFile(f)) {
          total += Files.size(f);
        }
      }
    } catch (IOException e) {
      return 0;
    }
    return total;
  }

  @Override
  public String toString() {
    return "segment " + dir.getFileName();
  }
}
