package dev.outlast.cache;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.channels.FileChannel;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Objects;
import java.util.Set;

/**
 * The one way this module writes a file: directories it creates are private (0700), files are
 * private (0600), a directory other users can write is refused (they could replace what the cache
 * reads back), and every write is atomic: a temporary file beside the target, forced to disk,
 * renamed over the target, and the directory forced too, so that a crash leaves the old file or the
 * new one, never half of one.
 *
 * <p>Static helpers; callers serialise writes to one file.
 */
final class PrivateFiles {
  private static final boolean POSIX =
      FileSystems.getDefault().supportedFileAttributeViews().contains("posix");

  private PrivateFiles() {}

  /** Writes a file's content to a stream; the stream is the temporary file's. */
  @FunctionalInterface
  interface Body {
    void writeTo(OutputStream out) throws IOException;
  }

  /**
   * Creates a directory and its missing parents, private to the owner, or checks an existing one.
   *
   * @throws IOException naming the directory and what to do, if it is not a directory, is not
   *     writable, or other users may write in it
   */
  static void createPrivateDirectory(Path dir) throws IOException {
    if (!Files.exists(dir)) {
      if (POSIX) {
        Files.createDirectories(
            dir,
            PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
      } else {
        Files.createDirectories(dir);
      }
    }
    checkDirectory(dir);
  }

  /** As {@link #createPrivateDirectory}, for a directory that must exist already. */
  static void checkDirectory(Path dir) throws IOException {
    if (!Files.isDirectory(dir)) {
      throw new IOException(dir + " is not a directory");
    }
    if (!Files.isWritable(dir)) {
      throw new IOException(dir + " is not writable by this process");
    }
    if (POSIX) {
      Set<PosixFilePermission> p = Files.getPosixFilePermissions(dir);
      if (p.contains(PosixFilePermission.OTHERS_WRITE)) {
        throw new IOException(
            dir
                + " can be written by every user ("
                + PosixFilePermissions.toString(p)
                + "), who could replace what is kept there; use a directory of its own, mode"
                + " 0700");
      }
    }
  }

  /** Where a write goes before it is renamed into place. */
  static Path temporaryOf(Path file) {
    return file.resolveSibling(file.getFileName() + ".tmp");
  }

  /**
   * Writes a file atomically (see the class comment). A write that fails leaves the old file and no
   * temporary one.
   */
  static void writeAtomically(Path file, Body body) throws IOException {
    Path dir = Objects.requireNonNull(file.toAbsolutePath().getParent(), "directory of " + file);
    createPrivateDirectory(dir);
    Path temp = temporaryOf(file);
    try {
      Files.deleteIfExists(temp);
      if (POSIX) {
        Files.createFile(
            temp,
            PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
      } else {
        Files.createFile(temp);
      }
      try (OutputStream out = Files.newOutputStream(temp, StandardOpenOption.WRITE)) {
        body.writeTo(out);
      }
      try (FileChannel ch = FileChannel.open(temp, StandardOpenOption.WRITE)) {
        ch.force(true);
      }
      try {
        Files.move(temp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
      } catch (AtomicMoveNotSupportedException e) {
        throw new IOException("the file system of " + file + " cannot rename atomically", e);
      }
      try (FileChannel d = FileChannel.open(dir, StandardOpenOption.READ)) {
        d.force(true);
      } catch (IOException e) {
        // Some file systems cannot sync a directory; the rename itself is atomic regardless.
      }
    } finally {
      Files.deleteIfExists(temp);
    }
  }
}
