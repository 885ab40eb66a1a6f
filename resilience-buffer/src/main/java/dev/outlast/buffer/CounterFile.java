package dev.outlast.buffer;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.zip.CRC32C;
import org.jspecify.annotations.Nullable;

/**
 * One durable number in a small file: the acknowledged position, or the sequence lease. The file
 * has two 32-byte slots written in turn, each {@code [value i64][version i64][crc i32][pad]}; a
 * write that is torn (power loss in {@link #write} with {@code sync}) damages at most the slot
 * being written, and the other still holds the previous value. Reading takes the valid slot with
 * the higher version.
 *
 * <p>Written with positional writes into blocks that exist from creation: a full disk cannot make a
 * write fail or crash the JVM, as a write to a memory-mapped file would.
 *
 * <p>Not threadsafe; its owner serialises calls.
 */
final class CounterFile implements AutoCloseable {
  private static final int SLOT = 32;

  private final Path path;
  private final FileChannel channel;
  private final ByteBuffer buffer = ByteBuffer.allocate(SLOT);
  private final CRC32C crc = new CRC32C();
  private long value;
  private long version;

  private CounterFile(Path path, FileChannel channel, long value, long version) {
    this.path = path;
    this.channel = channel;
    this.value = value;
    this.version = version;
  }

  /** Neither slot of a counter file holds a valid value: it was overwritten or cut short. */
  static final class DamagedException extends IOException {
    private static final long serialVersionUID = 1L;

    DamagedException(String message) {
      super(message);
    }
  }

  /**
   * Opens the file, creating it (mode 0600) with the initial value if missing or empty.
   *
   * @throws DamagedException if it exists but neither slot is valid
   */
  static CounterFile open(Path path, long initial) throws IOException {
    CounterFile existing = openExisting(path);
    return existing != null ? existing : create(path, initial);
  }

  /**
   * Opens the file if it holds a value.
   *
   * @return null if the file is missing or empty
   * @throws DamagedException if it has bytes but neither slot is valid (zeroed, overwritten, cut
   *     short)
   */
  static @Nullable CounterFile openExisting(Path path) throws IOException {
    if (!Files.exists(path)) {
      return null;
    }
    FileChannel ch = FileChannel.open(path, StandardOpenOption.READ, StandardOpenOption.WRITE);
    try {
      if (ch.size() == 0) {
        ch.close();
        return null;
      }
      ByteBuffer all = ByteBuffer.allocate(2 * SLOT);
      while (all.hasRemaining() && ch.read(all, all.position()) > 0) {
        // keep reading
      }
      long bestValue = 0;
      long bestVersion = -1;
      for (int slot = 0; slot < 2; slot++) {
        ByteBuffer s = ByteBuffer.wrap(all.array(), slot * SLOT, SLOT);
        long v = s.getLong();
        long ver = s.getLong();
        int stored = s.getInt();
        CRC32C c = new CRC32C();
        c.update(all.array(), slot * SLOT, 16);
        if (stored == (int) c.getValue() && ver > bestVersion) {
          bestValue = v;
          bestVersion = ver;
        }
      }
      if (bestVersion < 0) {
        throw new DamagedException(
            path + " is damaged: neither of its two slots has a valid checksum");
      }
      return new CounterFile(path, ch, bestValue, bestVersion);
    } catch (IOException | RuntimeException e) {
      ch.close();
      throw e;
    }
  }

  /**
   * Makes the file anew holding {@code value}, replacing whatever is there: written whole to a
   * temporary file (mode 0600), synced, renamed over the old one and the directory synced, so that
   * a crash leaves either the old file or the new one.
   */
  static CounterFile create(Path path, long value) throws IOException {
    Path temp = path.resolveSibling(path.getFileName() + ".tmp");
    Files.deleteIfExists(temp);
    Files.createFile(
        temp, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
    try (FileChannel ch =
        FileChannel.open(temp, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
      CounterFile f = new CounterFile(temp, ch, value, 0);
      // Both slots, so that their blocks exist before the disk can fill up.
      f.write(value, false);
      f.write(value, true);
    }
    Files.move(temp, path, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    Path dir = path.toAbsolutePath().getParent();
    if (dir != null) {
      try (FileChannel d = FileChannel.open(dir, StandardOpenOption.READ)) {
        d.force(true);
      } catch (IOException e) {
        // Not every file system syncs directories; the file itself is synced.
      }
    }
    CounterFile made = openExisting(path);
    if (made == null) {
      throw new IOException(path + " vanished right after it was written");
    }
    return made;
  }

  long value() {
    return value;
  }

  /** Writes a new value into the slot not holding the current one; syncs if asked. */
  void write(long newValue, boolean sync) throws IOException {
    long nextVersion = version + 1;
    buffer.clear();
    buffer.putLong(newValue).putLong(nextVersion);
    crc.reset();
    crc.update(buffer.array(), 0, 16);
    buffer.putInt((int) crc.getValue()).putInt(0).putLong(0);
    buffer.flip();
    long position = (nextVersion % 2) * SLOT;
    while (buffer.hasRemaining()) {
      position += channel.write(buffer, position);
    }
    if (sync) {
      channel.force(false);
    }
    value = newValue;
    version = nextVersion;
  }

  Path path() {
    return path;
  }

  @Override
  public void close() throws IOException {
    channel.close();
  }
}
