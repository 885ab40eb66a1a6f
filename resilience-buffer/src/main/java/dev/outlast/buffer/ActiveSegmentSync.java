package dev.outlast.buffer;

import java.io.IOException;
import java.nio.ByteOrder;
import java.nio.MappedByteBuffer;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.locks.ReentrantLock;
import java.util.stream.Stream;
import net.openhft.chronicle.core.io.IOTools;
import net.openhft.chronicle.wire.Wires;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What the group commit's sync keeps of the segment being appended to: its files open, so that a
 * sync writes only what a reader needs after a power cut, and only what changed since the last one.
 *
 * <p>What must be on disk for a record to be read back, file by file (Chronicle Queue 2026.4):
 *
 * <ul>
 *   <li><b>The roll file</b> ({@code .cq4}): the record's bytes and every document before it (the
 *       reader walks the documents from the file's start, header by header), with the file's size
 *       and block allocation. Each sync writes the range from the file's start to the end of the
 *       last complete document with {@code msync(MS_SYNC)} on a mapping of it, which on Linux is a
 *       ranged {@code fdatasync}: the dirty pages in the range, and the metadata needed to read
 *       them back (the size Chronicle grew the file to, the blocks {@code fallocate} reserved and a
 *       first write turned into written ones), but not the timestamps, which nothing reads.
 *       Chronicle's own header (its write position) and index pages lie in that range and go with
 *       it, so the file reads back as the appender left it when the sync began. Pages past that end
 *       are left alone: what is there is the document being written (no finished stage waits for
 *       it) and pages the journal faulted in ahead of the appender, zeros that a whole-file sync
 *       would write and, cleaning them, make the appender fault on each again.
 *   <li><b>The metadata file</b> ({@code metadata.cq4t}) must be whole (a cut one makes opening
 *       hang or throw), which it is from the first sync that sees it. What Chronicle writes into it
 *       later is not needed to read: the append lock's word (a stale lock is forced open at the
 *       next open, as after a {@code kill -9}) and the directory listing's cycle range and counter,
 *       which every queue open and new tailer rebuild from the directory. So it is not written
 *       again while the segment is appended to; the sync after the segment is sealed writes it once
 *       more with everything else.
 *   <li><b>Directory entries</b>: each file's name in the segment's directory, the segment's in the
 *       journal's. Synced once, after the files, when a file or the segment first appears (by the
 *       caller, told by {@link #sync}'s result).
 * </ul>
 *
 * <p>A file is written whole ({@code fsync}) the first time a sync sees it, which covers whatever
 * Chronicle wrote while making it. The segment is the active one when a sync sees it, so its files
 * were made whole before (the journal switches to a segment only once it is made). A new roll file
 * in the active segment (Chronicle starts one when the day changes inside an append) is found by
 * listing the directory: one {@code getdents}, far cheaper than the sync.
 *
 * <p>Where the complete documents end is found by walking their headers from where the last walk
 * stopped, reading each header word through the mapping (a plain aligned load, so a header the
 * appender is finishing at that moment is read whole: still incomplete, or final). The walk stops
 * at the first header that is zero (nothing written yet) or incomplete (being written, or a write
 * that failed, after which the journal appends to a new segment). Every record whose stage waits
 * for this sync was complete before the sync began, and documents are written one after the other,
 * so the walk passes all of them. If the mapping cannot be made or read, the file is written whole
 * with {@code fdatasync} instead: more than needed, never less.
 *
 * <p>Threading: {@link #sync} is called by the thread that runs {@link Journal#syncToDisk}, one
 * call at a time; {@link #close} by that thread, or by the journal's close after that thread has
 * stopped (or while it hangs on the disk: its waiters have been failed by then).
 */
final class ActiveSegmentSync implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(ActiveSegmentSync.class);

  final Segment segment;

  /** The segment's generation whose files this holds (see {@link Segment#generation}). */
  final int generation;

  /** Every regular file of the segment seen so far. */
  private final Map<Path, SyncedFile> files = new ConcurrentHashMap<>();

  /** Held by a sync; a close that finds it held leaves the files to that sync to release. */
  private final ReentrantLock syncing = new ReentrantLock();

  private volatile boolean closed;

  ActiveSegmentSync(Segment segment, int generation) {
    this.segment = segment;
    this.generation = generation;
  }

  /** One file of the segment, open for writing (forcing needs it). */
  private static final class SyncedFile {
    final FileChannel channel;
    final boolean rollFile;

    /** A mapping of the roll file from its start, for the walk and {@code msync}; null if none. */
    @Nullable MappedByteBuffer map;

    /** Where the next document's header is: every document before it is complete. */
    long walked;

    /** Where the complete documents ended at the last sync: everything before it is on disk. */
    long synced;

    /** The walk failed once: the file is written whole from then on. */
    boolean wholeOnly;

    SyncedFile(FileChannel channel, boolean rollFile) {
      this.channel = channel;
      this.rollFile = rollFile;
    }
  }

  /**
   * Writes what the segment's files hold now to the disk, as described above.
   *
   * @return whether a file appeared since the last sync: its directory entry must be synced next
   * @throws java.nio.file.NoSuchFileException if the segment's directory is gone
   * @throws IOException if a file cannot be opened or written
   */
  boolean sync() throws IOException {
    syncing.lock();
    try {
      if (closed) {
        throw new ClosedChannelException();
      }
      return syncFiles();
    } finally {
      syncing.unlock();
      if (closed) {
        release(); // closed while this sync ran: it released nothing then
      }
    }
  }

  private boolean syncFiles() throws IOException {
    boolean appeared = false;
    try (Stream<Path> list = Files.list(segment.dir)) {
      for (Path f : (Iterable<Path>) list::iterator) {
        SyncedFile file = files.get(f);
        if (file == null) {
          if (!Files.isRegularFile(f)) {
            continue;
          }
          file = open(f);
          appeared = true;
        } else if (file.rollFile) {
          syncWritten(file);
        }
      }
    }
    return appeared;
  }

  /** A file seen for the first time: written whole, and from then on kept open. */
  private SyncedFile open(Path f) throws IOException {
    boolean rollFile = f.getFileName().toString().endsWith(Segment.SUFFIX);
    SyncedFile file =
        new SyncedFile(
            FileChannel.open(f, StandardOpenOption.READ, StandardOpenOption.WRITE), rollFile);
    files.put(f, file);
    if (rollFile) {
      // Walked before the sync, so that what the walk passed is covered by it.
      file.synced = walk(file);
    }
    file.channel.force(true);
    return file;
  }

  /** Writes a roll file's range up to the end of its complete documents, if that moved. */
  private void syncWritten(SyncedFile file) throws IOException {
    long end = walk(file);
    if (end == file.synced) {
      return; // nothing appended since: no write, and no cache flush of the device
    }
    MappedByteBuffer map = file.map;
    if (file.wholeOnly || map == null) {
      file.channel.force(false);
    } else {
      map.force(0, (int) end);
    }
    file.synced = end;
  }

  /**
   * Walks the document headers from where the last walk stopped, and returns where the complete
   * documents end; the file's size if the walk cannot be done (the caller then writes it whole).
   */
  private static long walk(SyncedFile file) throws IOException {
    if (file.wholeOnly) {
      return file.channel.size();
    }
    try {
      long at = file.walked;
      MappedByteBuffer map = file.map;
      while (true) {
        if (map == null || at + 4 > map.capacity()) {
          map = remap(file, at + 4);
          if (map == null) {
            break; // the file ends before another header: nothing more was written
          }
        }
        int header = map.getInt((int) at);
        if (header == Wires.NOT_INITIALIZED || (header & Wires.NOT_COMPLETE) != 0) {
          break;
        }
        // Documents start at 4-byte boundaries.
        at = (at + 4 + (header & Wires.LENGTH_MASK) + 3) & -4L;
      }
      file.walked = at;
      return at;
    } catch (IOException | RuntimeException | InternalError e) {
      // A mapping refused, or a fault reading it: the whole file from now on (and this time).
      log.warn("cannot find where the documents of a roll file end ({}); syncing it whole", e, e);
      file.wholeOnly = true;
      unmap(file);
      return file.channel.size();
    }
  }

  /**
   * Maps the file from its start to its current size, if that reaches {@code needed}; else leaves
   * the mapping as it is and returns null. The file only grows while it is appended to.
   */
  private static @Nullable MappedByteBuffer remap(SyncedFile file, long needed) throws IOException {
    long size = file.channel.size();
    if (size < needed) {
      return null;
    }
    if (size > Integer.MAX_VALUE) {
      throw new IllegalStateException("a roll file of " + size + " bytes is past one mapping");
    }
    unmap(file);
    MappedByteBuffer map = file.channel.map(FileChannel.MapMode.READ_WRITE, 0, size);
    map.order(ByteOrder.LITTLE_ENDIAN);
    file.map = map;
    return map;
  }

  private static void unmap(SyncedFile file) {
    MappedByteBuffer map = file.map;
    file.map = null;
    if (map != null) {
      // At once, not when the collector gets to it: a deleted segment's blocks stay taken while a
      // mapping of its file is left.
      IOTools.clean(map);
    }
  }

  /**
   * Releases the files. A sync running meanwhile (one that hangs on the disk) releases them when it
   * ends instead: the mappings must not go while it may read them.
   */
  @Override
  public void close() {
    closed = true;
    release();
  }

  private void release() {
    if (!syncing.tryLock()) {
      return;
    }
    try {
      releaseFiles();
    } finally {
      syncing.unlock();
    }
  }

  private void releaseFiles() {
    for (SyncedFile file : files.values()) {
      unmap(file);
      try {
        file.channel.close();
      } catch (IOException e) {
        log.debug("closing a file of {}", segment, e);
      }
    }
    files.clear();
  }

  /** For tests: where the documents of a roll file ended at the last sync; -1 if not seen yet. */
  long syncedUpTo(Path file) {
    SyncedFile f = files.get(file);
    return f == null ? -1 : f.synced;
  }

  @Override
  public String toString() {
    return "sync of " + segment;
  }
}
