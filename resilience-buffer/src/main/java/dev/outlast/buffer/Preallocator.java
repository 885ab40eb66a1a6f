package dev.outlast.buffer;

import java.io.File;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import net.openhft.chronicle.bytes.Bytes;
import net.openhft.chronicle.bytes.MappedBytesStore;
import net.openhft.posix.PosixAPI;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Keeps the file blocks ahead of the journal's appender allocated, so that a write through
 * Chronicle's memory mapping never lands on a page the file system cannot back (which is SIGBUS, a
 * dead JVM) but an allocation that fails here first, as an ordinary error, before anything is
 * written. A free-space check alone cannot promise that: another process can take the space between
 * the check and the write.
 *
 * <p>Allocation is {@code fallocate(2)}, which never changes bytes already in the file; where it is
 * missing (no native library, a file system without it) zeros are written instead, only past the
 * last document, where Chronicle's file holds zeros anyway. The space for a record is made sure of
 * inside the record's open document, once Chronicle has said where it goes, so that the first
 * record of a roll file is covered too; a new segment's roll file is allocated when the journal
 * creates it ({@link #begin}). At a day's roll the step before it was allocated in the old file,
 * past its end: up to a step of space wasted once a day.
 *
 * <p>Not threadsafe: used under the journal's append lock.
 */
final class Preallocator {
  private static final Logger log = LoggerFactory.getLogger(Preallocator.class);

  /**
   * Room for what Chronicle may write before a record besides the record itself: an index array, or
   * an entry in the index of index arrays.
   */
  static final long SLACK = 256 << 10;

  private static final long PAGE = 4096;

  private static final ByteBuffer ZEROS = ByteBuffer.allocateDirect(64 << 10).asReadOnlyBuffer();

  /**
   * Bytes of Chronicle's mapping made writable ahead of the appender in one call. A write to a page
   * of a shared file mapping that is not yet mapped traps into the kernel: once per 4 KiB page,
   * about every 14 records of 256 bytes, and that trap was most of an append's time. One {@code
   * madvise(MADV_POPULATE_WRITE)} maps up to 64 pages with one entry into the kernel instead.
   */
  static final long PREFAULT = 256 << 10;

  /** {@code MADV_POPULATE_WRITE}, Linux 5.14 and later. */
  private static final int MADV_POPULATE_WRITE = 23;

  private final long ahead;
  private final boolean useFallocate;
  private boolean prefault;
  private @Nullable File file;
  private long end;
  private long allocatedUntil;
  private long prefaultedUntil;

  /**
   * @param ahead bytes to allocate past what the next record needs, so that allocation happens once
   *     per this many bytes written
   * @param useFallocate false to write zeros always (for tests of that path)
   */
  Preallocator(long ahead, boolean useFallocate) {
    this.ahead = ahead;
    this.useFallocate = useFallocate && Native.POSIX != null;
    this.prefault = Native.POSIX != null;
  }

  /** Bytes allocated past the last record of the active roll file. */
  long allocatedAhead() {
    return file == null ? 0 : Math.max(0, allocatedUntil - end);
  }

  /** Bytes past the last record that are mapped writable already. */
  long prefaultedAhead() {
    return Math.max(0, prefaultedUntil - end);
  }

  /** A new segment: nothing is known of its file until its first record is written. */
  void reset() {
    file = null;
    end = 0;
    allocatedUntil = 0;
    prefaultedUntil = 0;
  }

  /**
   * Bytes that must still be allocated before a record of this many bytes can be written; 0 if the
   * space is there. For a roll file not known yet, what its first record and the slack take.
   */
  long shortfall(long recordBytes) {
    return file == null
        ? recordBytes + SLACK
        : Math.max(0, end + recordBytes + SLACK - allocatedUntil);
  }

  /**
   * A new segment's roll file, just created by Chronicle: allocates it up to a page past where the
   * first document's header goes, so that neither that header nor what Chronicle keeps in the
   * file's start (its index of indexes, into which it writes later) lands on a page the file system
   * cannot back.
   *
   * @param headerPosition where the first document's header goes
   * @throws Journal.FullException if the file system cannot give the space
   */
  void begin(File f, long headerPosition) throws Journal.FullException {
    file = f;
    end = headerPosition;
    prefaultedUntil = headerPosition;
    long until = headerPosition + PAGE;
    if (useFallocate && fallocate(f, 0, until)) {
      allocatedUntil = until;
      return;
    }
    // Zeros only where nothing is yet: from the first document's header on.
    allocatedUntil = headerPosition;
    if (!allocate(f, until)) {
      throw new Journal.FullException(
          "the file system of "
              + f.getParent()
              + " cannot allocate the start of a new journal segment ("
              + f.getUsableSpace()
              + " bytes free)");
    }
  }

  /**
   * Makes sure a record of this many bytes can be written at {@code start} of {@code current}
   * without allocating. Called inside the record's open Chronicle document, before a byte of the
   * record is written.
   *
   * @param current the roll file the appender writes to
   * @param start where the record's bytes go (just past its document's header)
   * @param room bytes the journal's bound and the disk's free space (less the reserve) allow to
   *     allocate beyond the {@link #shortfall}, which the step ahead stays within
   * @return the bytes newly allocated
   * @throws Journal.FullException if the file system cannot give the space; nothing was written
   *     into the roll file's data
   */
  // Identity first, as in written(): Chronicle hands back the same File while the file stays.
  @SuppressWarnings("ReferenceEquality")
  long ensure(@Nullable File current, long start, long recordBytes, long room)
      throws Journal.FullException {
    if (current == null) {
      return 0;
    }
    if (current != file && !current.equals(file)) {
      // A roll file Chronicle created in this very call (a new day): what lies before the
      // document's header is Chronicle's, and zeros may go only from there on.
      file = current;
      allocatedUntil = start - 4;
      prefaultedUntil = start;
    }
    end = start;
    File f = current;
    long need = end + recordBytes + SLACK;
    if (need <= allocatedUntil) {
      return 0;
    }
    long before = allocatedUntil;
    // Ask for a whole step ahead (within the room); if the disk has less, for just this record.
    long step = Math.max(0, Math.min(ahead, room));
    if (!allocate(f, need + step) && !allocate(f, need)) {
      throw new Journal.FullException(
          "the file system of "
              + f.getParent()
              + " cannot allocate "
              + (need - allocatedUntil)
              + " more bytes for the journal ("
              + f.getUsableSpace()
              + " bytes free)");
    }
    return allocatedUntil - before;
  }

  /**
   * Notes where the last record ended. A new roll file (a new segment, or a new cycle within one)
   * is taken as allocated up to that point: Chronicle has just written it.
   */
  // Chronicle hands back the same File instance while the roll file stays; the identity check
  // spares a path comparison on every append.
  @SuppressWarnings("ReferenceEquality")
  void written(@Nullable File current, long endPosition) {
    if (current == null) {
      return;
    }
    if (current != file && !current.equals(file)) {
      file = current;
      allocatedUntil = endPosition;
      prefaultedUntil = endPosition;
    }
    end = endPosition;
    allocatedUntil = Math.max(allocatedUntil, endPosition);
  }

  /**
   * Maps the pages ahead of the last record writable, in one system call per {@link #PREFAULT}
   * bytes, so that the appends that follow write without trapping into the kernel. Only pages
   * already allocated (so this never takes disk space the bound did not count) and already mapped
   * by Chronicle (so no mapping changes hands); file contents are not touched. Where the call is
   * not supported (an older kernel, no native library) this is switched off: the appends still
   * work, trapping as raw Chronicle does.
   *
   * @param bytes the appender's bytes, whose current store holds the last record
   */
  void prefault(Bytes<?> bytes) {
    if (!prefault || end + PREFAULT / 2 <= prefaultedUntil) {
      return;
    }
    PosixAPI posix = Native.POSIX;
    if (posix == null || !(bytes.bytesStore() instanceof MappedBytesStore store)) {
      return;
    }
    long from = Math.max(prefaultedUntil, end);
    long to = Math.min(Math.min(allocatedUntil, store.safeLimit()), end + PREFAULT);
    if (to <= from || !store.inside(from)) {
      return;
    }
    long address = store.addressForWrite(from);
    long pageStart = address & -PAGE;
    // Whole pages only, ending at or before `to`: the kernel would round a partial one up, past
    // what is allocated.
    long pageEnd = (address + (to - from)) & -PAGE;
    if (pageEnd <= pageStart) {
      return;
    }
    if (posix.madvise(pageStart, pageEnd - pageStart, MADV_POPULATE_WRITE) != 0) {
      // EINVAL before Linux 5.14; the journal works without it. Other failures (EFAULT where a
      // write would fault for good) are left to the write itself, which the bound guards.
      prefault = false;
      log.debug("prefaulting journal pages is off: madvise failed at {} of {}", from, file);
      return;
    }
    prefaultedUntil = from + (pageEnd - address);
  }

  private boolean allocate(File f, long until) {
    if (until <= allocatedUntil) {
      return true;
    }
    long from = allocatedUntil;
    if (useFallocate && fallocate(f, from, until - from)) {
      allocatedUntil = until;
      return true;
    }
    if (f.getUsableSpace() < until - from) {
      // fallocate failed for want of space: writing zeros would only take the disk's last bytes.
      return false;
    }
    try (FileChannel ch = FileChannel.open(f.toPath(), StandardOpenOption.WRITE)) {
      // Zeros over zeros: past the last record nothing else is in the file.
      for (long at = from; at < until; ) {
        ByteBuffer z = ZEROS.duplicate();
        z.limit((int) Math.min(z.capacity(), until - at));
        at += ch.write(z, at);
        allocatedUntil = at;
      }
      return true;
    } catch (IOException e) {
      log.debug("cannot allocate {} bytes of {} from {}: {}", until - from, f, from, e.toString());
      return false;
    }
  }

  /**
   * Allocates all of a small file Chronicle keeps mapped and writes into at places of its own (a
   * segment's {@code metadata.cq4t}, which readers write to as well). Only with {@code
   * fallocate(2)}: zeros would overwrite what is in it.
   *
   * @return false if the file system has no room for it
   */
  static boolean allocateWhole(File f) {
    return Native.POSIX == null || fallocate(f, 0, f.length());
  }

  private static boolean fallocate(File f, long offset, long length) {
    PosixAPI posix = Native.POSIX;
    if (posix == null) {
      return false;
    }
    int fd = posix.open(f.getPath(), net.openhft.posix.OpenFlag.O_RDWR.value(), 0);
    if (fd < 0) {
      return false;
    }
    try {
      return posix.fallocate(fd, 0, offset, length) == 0;
    } finally {
      posix.close(fd);
    }
  }

  /** Chronicle's binding to the C library, if it loads here. */
  private static final class Native {
    static final @Nullable PosixAPI POSIX = load();

    private static @Nullable PosixAPI load() {
      try {
        PosixAPI p = PosixAPI.posix();
        if (p.getClass().getSimpleName().startsWith("NoOp")) {
          log.info("no native fallocate here; journal space is allocated by writing zeros");
          return null;
        }
        return p;
      } catch (RuntimeException | LinkageError e) {
        log.info(
            "no native fallocate here ({}); journal space is allocated by writing zeros",
            e.toString());
        return null;
      }
    }
  }

  @Override
  public String toString() {
    return "preallocator of "
        + (file == null ? "nothing yet" : Path.of(file.getPath()).getFileName());
  }
}
