package dev.outlast.buffer;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * Makes a spill queue directory one queue's, in this JVM and across processes, for the queue's
 * whole life.
 *
 * <p>Across processes an OS lock on the {@code lock} file does it. Inside one JVM it cannot: on
 * Linux, closing any channel of a file drops every POSIX lock the process holds on that file, so a
 * second queue that merely opened and closed the lock file would silently free the directory for
 * other processes while the first queue still writes. Hence a JVM-wide registry of the directories
 * held (by real path, so that a symbolic link or {@code ..} is the same directory), checked before
 * any channel to the lock file is opened, and left only after the holder's channel is closed.
 *
 * <p>Threadsafe: {@link #acquire} may be called from any thread; {@link #close} is idempotent.
 */
final class DirectoryLock implements AutoCloseable {
  private static final Set<Path> HELD = ConcurrentHashMap.newKeySet();

  private final Path directory;
  private final FileChannel channel;
  private final FileLock lock;
  private final AtomicBoolean released = new AtomicBoolean();

  private DirectoryLock(Path directory, FileChannel channel, FileLock lock) {
    this.directory = directory;
    this.channel = channel;
    this.lock = lock;
  }

  /**
   * Takes the directory (which must exist).
   *
   * @throws IOException if another queue in this JVM or another process holds it, or the lock file
   *     cannot be opened
   */
  static DirectoryLock acquire(Path root) throws IOException {
    Path directory = root.toRealPath();
    if (!HELD.add(directory)) {
      throw new IOException(
          root
              + " is in use by another spill queue in this JVM; a spill queue directory belongs to"
              + " one queue at a time");
    }
    FileChannel channel = null;
    try {
      channel =
          FileChannel.open(
              directory.resolve("lock"),
              Set.of(StandardOpenOption.CREATE, StandardOpenOption.WRITE),
              PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
      FileLock lock;
      try {
        lock = channel.tryLock();
      } catch (OverlappingFileLockException e) {
        // Not a queue (the registry says none holds it): other code of this JVM locked the file.
        throw new IOException(
            root + " is in use: its lock file is locked by other code in this JVM", e);
      }
      if (lock == null) {
        throw new IOException(
            root
                + " is in use by another process (its lock file is held); a spill queue directory"
                + " belongs to one process at a time");
      }
      return new DirectoryLock(directory, channel, lock);
    } catch (IOException | RuntimeException e) {
      if (channel != null) {
        channel.close();
      }
      HELD.remove(directory);
      throw e;
    }
  }

  /** Releases the directory: the OS lock first, then this JVM's claim. */
  @Override
  public void close() throws IOException {
    if (!released.compareAndSet(false, true)) {
      return;
    }
    try {
      lock.release();
      channel.close();
    } finally {
      // Only now: a queue of this JVM that took the directory while our channel was still open
      // would have lost its lock when we closed it.
      HELD.remove(directory);
    }
  }
}
