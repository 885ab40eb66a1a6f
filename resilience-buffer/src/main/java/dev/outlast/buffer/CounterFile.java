package dev.outlast.buffer;

import dev.outlast.core.internal.PrivateFiles;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
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
    if (!Files.exists(path, LinkOption.NOFOLLOW_LINKS)) {
      return null;
    }
    PrivateFiles.checkFile(path);
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
   * Makes the file anew holding {@code value}, replacing whatever is there, through {@link
   * PrivateFiles#writeAtomically} (0600, synced, renamed, the directory synced): a crash leaves
   * either the old file or the new one.
   */
  static CounterFile create(Path path, long value) throws IOException {
    // Both slots, so that their blocks exist before the disk can fill up: slot 1 at version 1,
    // slot 0 at version 2, as two writes to a new file would leave them.
    ByteBuffer both = ByteBuffer.allocate(2 * SLOT);
    both.put(slot(value, 2)).put(slot(value, 1));
    PrivateFiles.writeAtomically(path, out -> out.write(both.array()));
    CounterFile made = openExisting(path);
    if (made == null) {
      throw new IOException(path + " vanished right after it was written");
    }
    return made;
  }

  /** One slot's bytes: value, version, the CRC32C of those two, padding. */
  private static byte[] slot(long value, long version) {
    ByteBuffer b = ByteBuffer.allocate(SLOT);
    b.putLong(value).putLong(version);
    CRC32C c = new CRC32C();
    c.update(b.array(), 0, 16);
    b.putInt((int) c.getValue());
    return b.array();
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
