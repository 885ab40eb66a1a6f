package dev.outlast.cache;

import dev.outlast.core.internal.PrivateFiles;
import dev.outlast.core.spi.Codec;
import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Objects;
import java.util.zip.CRC32C;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import org.jspecify.annotations.Nullable;

/**
 * The warm-start snapshot of a {@link QueryCache}: every servable entry's key, value and load time,
 * so that a restarted pod serves what it had with the original ages.
 *
 * <p>Format, version 1 (big-endian):
 *
 * <pre>
 *   magic     8 bytes  "OUTLASTC"
 *   version   u16      1
 *   flags     u16      bit 0: HMAC-SHA256 trailer (else CRC32C)
 *   name      UTF      the cache's name (a snapshot of another cache is refused)
 *   written   i64      epoch millis of the wall clock when it was written
 *   records   { u8 1, keyLength i32, key, valueLength i32, value, loadedAt i64, absent u8 }*
 *   end       u8 0
 *   count     i32      the number of records, checked against what was read
 *   trailer   CRC32C (4 bytes) or HMAC-SHA256 (32 bytes) of everything before it
 * </pre>
 *
 * <p>The trailer covers the header, so with a key the cache's name and the write time are signed
 * with the records: a signed snapshot cannot be moved to another cache, nor be dated other than it
 * was. (Version 1 always carried both; signing them needed no new version.)
 *
 * <p>What is trusted: a signed snapshot is read only if its HMAC verifies under the configured key;
 * an unsigned one (CRC32C, which catches damage, not intent) only if its directory and the file
 * itself pass {@link PrivateFiles}' checks, since whoever could write them could plant values
 * served during an outage. Either is refused if it names another cache, was written in the future
 * (beyond {@link #FUTURE_SKEW}: a wall clock that went back, so every age in it would be too
 * young), or was written longer ago than the cache's longest servable age (nothing in it could be
 * served; this also bounds an old signed snapshot put back in place of the current one to values
 * within that age).
 *
 * <p>Records are encoded and written one at a time, so a snapshot of a million entries is never
 * held in memory as bytes. Written through {@link PrivateFiles#writeAtomically}: atomically, 0600,
 * in a directory private to the owner. Read in full and checked before a single entry is used.
 *
 * <p>Threading: the {@link SnapshotStore} serialises writes; reads happen once, while the cache is
 * built.
 */
final class SnapshotFile<K, V> {
  static final int VERSION = 1;
  private static final byte[] MAGIC = {'O', 'U', 'T', 'L', 'A', 'S', 'T', 'C'};
  private static final int FLAG_HMAC = 1;
  private static final int MAX_RECORD = 64 << 20;

  /** How far in the future a snapshot's write time may be, for clocks that differ a little. */
  static final Duration FUTURE_SKEW = Duration.ofMinutes(1);

  private final Path file;
  private final String cacheName;
  private final Codec<K> keys;
  private final Codec<V> values;
  private final byte @Nullable [] hmacKey;
  private final long horizonMillis;

  /**
   * @param horizonMillis the longest age at which any entry of the cache may be served; a snapshot
   *     written longer ago than this is not read ({@code Long.MAX_VALUE}: no bound for the file,
   *     each entry's own contract still applies)
   */
  SnapshotFile(
      Path file,
      String cacheName,
      Codec<K> keys,
      Codec<V> values,
      byte @Nullable [] hmacKey,
      long horizonMillis) {
    this.file = file.toAbsolutePath();
    this.cacheName = cacheName;
    this.keys = keys;
    this.values = values;
    this.hmacKey = hmacKey == null ? null : hmacKey.clone();
    this.horizonMillis = horizonMillis;
  }

  Path path() {
    return file;
  }

  /** One entry as stored. */
  record Item<K, V>(K key, V value, long loadedAt, boolean absent) {}

  /**
   * Why a snapshot is not served. It is then ignored and, if {@link #moveAside}, moved aside for an
   * operator to look at (a damaged, tampered, foreign or untrusted one); one that is merely too old
   * stays where it is, for the next write to replace.
   */
  static final class RefusedSnapshotException extends IOException {
    private static final long serialVersionUID = 1L;

    private final boolean moveAside;

    RefusedSnapshotException(String message, @Nullable Throwable cause) {
      this(message, cause, true);
    }

    RefusedSnapshotException(String message, @Nullable Throwable cause, boolean moveAside) {
      super(message, cause);
      this.moveAside = moveAside;
    }

    boolean moveAside() {
      return moveAside;
    }
  }

  /** What a write did: records written, and records left out because their codec failed. */
  record Written(long records, long skipped) {}

  /** Removes what a write that crashed half-way left; called once, before the first read. */
  void deleteLeftovers() throws IOException {
    PrivateFiles.deleteTemporaries(file);
    // The one temporary name of versions before PrivateFiles moved to core.
    Files.deleteIfExists(file.resolveSibling(file.getFileName() + ".tmp"));
  }

  /**
   * Writes the items atomically, through {@link PrivateFiles}; callers serialise writes. An item a
   * codec cannot encode (whatever it throws) is left out, counted and reported to {@code failures}.
   */
  Written write(Iterator<Item<K, V>> items, long nowMillis, PluginFailures failures)
      throws IOException {
    long[] counts = new long[2];
    // Made again if someone removed it since the cache was built; checked either way.
    PrivateFiles.createPrivateDirectory(directory());
    PrivateFiles.writeAtomically(
        file,
        raw -> {
          Trailer trailer = newTrailer();
          BufferedOutputStream buffered = new BufferedOutputStream(raw, 1 << 16);
          DataOutputStream out = new DataOutputStream(new TeeOutput(buffered, trailer));
          out.write(MAGIC);
          out.writeShort(VERSION);
          out.writeShort(hmacKey == null ? 0 : FLAG_HMAC);
          out.writeUTF(cacheName);
          out.writeLong(nowMillis);
          while (items.hasNext()) {
            Item<K, V> item = items.next();
            byte[] k = encode(keys, item.key(), "key codec", failures);
            byte[] v = k == null ? null : encode(values, item.value(), "value codec", failures);
            if (k == null || v == null) {
              counts[1]++;
              continue;
            }
            out.writeByte(1);
            out.writeInt(k.length);
            out.write(k);
            out.writeInt(v.length);
            out.write(v);
            out.writeLong(item.loadedAt());
            out.writeByte(item.absent() ? 1 : 0);
            counts[0]++;
          }
          out.writeByte(0);
          out.writeInt((int) Math.min(Integer.MAX_VALUE, counts[0]));
          out.flush();
          buffered.write(trailer.finish());
          buffered.flush();
        });
    return new Written(counts[0], counts[1]);
  }

  /** A codec's bytes for one value, or null (reported) if it threw or returned null. */
  private static <T> byte @Nullable [] encode(
      Codec<T> codec, T value, String which, PluginFailures failures) {
    try {
      byte[] b = codec.encode(value);
      if (b == null) {
        throw new IllegalStateException("the " + which + " returned null");
      }
      return b;
    } catch (Throwable t) {
      failures.failed(which, t, "that entry is left out of the snapshot");
      return null;
    }
  }

  private Path directory() {
    return Objects.requireNonNull(file.getParent(), "the snapshot's directory");
  }

  /**
   * Reads and checks the whole snapshot.
   *
   * @param nowMillis the wall clock now, to judge the write time by
   * @return the items, or an empty list if there is no snapshot
   * @throws RefusedSnapshotException if it is truncated, corrupt, tampered with, of another version
   *     or another cache, unsigned and not private, written in the future or too long ago, or holds
   *     a record its codecs reject
   */
  List<Item<K, V>> read(PluginFailures failures, long nowMillis) throws IOException {
    if (!Files.exists(file, LinkOption.NOFOLLOW_LINKS)) {
      return List.of();
    }
    try {
      PrivateFiles.checkDirectory(directory());
    } catch (PrivateFiles.NotPrivateException e) {
      throw new RefusedSnapshotException(e.getMessage(), e, false);
    }
    if (hmacKey == null) {
      try {
        PrivateFiles.checkFile(file);
      } catch (PrivateFiles.NotPrivateException e) {
        throw new RefusedSnapshotException(
            "not trusted: without a snapshotKey a snapshot is checked by a CRC32C only, which"
                + " catches damage, not a planted file, so it must be private, and "
                + e.getMessage()
                + "; or sign snapshots with snapshotKey(...)",
            e);
      }
    }
    long size = Files.size(file);
    Trailer trailer = newTrailer();
    int trailerLength = trailer.length();
    if (size < MAGIC.length + 4 + trailerLength) {
      throw new RefusedSnapshotException("too short (" + size + " bytes)", null);
    }
    List<Item<K, V>> items = new ArrayList<>();
    try (InputStream raw = Files.newInputStream(file);
        BufferedInputStream buffered = new BufferedInputStream(raw, 1 << 16)) {
      // The body is everything but the trailer; reading it through the checksum as we parse.
      DataInputStream in =
          new DataInputStream(new TeeInput(new Limited(buffered, size - trailerLength), trailer));
      byte[] magic = new byte[MAGIC.length];
      in.readFully(magic);
      if (!MessageDigest.isEqual(magic, MAGIC)) {
        throw new RefusedSnapshotException("not an Outlast cache snapshot (bad magic)", null);
      }
      int version = in.readUnsignedShort();
      if (version != VERSION) {
        throw new RefusedSnapshotException(
            "snapshot format version " + version + ", this build reads " + VERSION, null);
      }
      int flags = in.readUnsignedShort();
      boolean hmac = (flags & FLAG_HMAC) != 0;
      if (hmac != (hmacKey != null)) {
        throw new RefusedSnapshotException(
            hmac
                ? "snapshot is signed (HMAC) but no snapshot key is configured"
                : "a snapshot key is configured but the snapshot is not signed",
            null);
      }
      String name = in.readUTF();
      long written = in.readLong();
      List<byte[][]> raws = new ArrayList<>();
      List<long[]> meta = new ArrayList<>();
      while (true) {
        int marker = in.readUnsignedByte();
        if (marker == 0) {
          break;
        }
        int i = raws.size();
        if (marker != 1) {
          throw new RefusedSnapshotException("record " + i + ": bad marker " + marker, null);
        }
        byte[] k = readBlock(in, "key", i);
        byte[] v = readBlock(in, "value", i);
        long loadedAt = in.readLong();
        int absent = in.readUnsignedByte();
        if (absent > 1) {
          throw new RefusedSnapshotException("record " + i + ": bad flag " + absent, null);
        }
        raws.add(new byte[][] {k, v});
        meta.add(new long[] {loadedAt, absent});
      }
      int count = in.readInt();
      if (count != raws.size()) {
        throw new RefusedSnapshotException(
            "the trailer counts " + count + " records, the file holds " + raws.size(), null);
      }
      if (in.read() != -1) {
        throw new RefusedSnapshotException("bytes after the record count", null);
      }
      byte[] expected = trailer.finish();
      byte[] actual = buffered.readNBytes(trailerLength);
      if (!MessageDigest.isEqual(expected, actual)) {
        throw new RefusedSnapshotException(
            hmac ? "HMAC mismatch: damaged, or written with another key" : "checksum mismatch",
            null);
      }
      // Judged only now that the header is known to be what was written (and signed, with a key).
      if (!name.equals(cacheName)) {
        throw new RefusedSnapshotException(
            "snapshot of cache '" + name + "', not of '" + cacheName + "'", null);
      }
      if (written - nowMillis > FUTURE_SKEW.toMillis()) {
        throw new RefusedSnapshotException(
            "written "
                + Duration.ofMillis(written - nowMillis)
                + " in the future by this machine's clock (a clock set back since?): the age of"
                + " every value in it would be too young",
            null);
      }
      if (nowMillis - written > horizonMillis) {
        throw new RefusedSnapshotException(
            "written "
                + Duration.ofMillis(nowMillis - written)
                + " ago, longer than any value of this cache may be served ("
                + Duration.ofMillis(horizonMillis)
                + "); nothing in it is usable",
            null,
            false);
      }
      // Only now, with the whole file verified, decode the values.
      for (int i = 0; i < raws.size(); i++) {
        String which = "key codec";
        try {
          K key = Objects.requireNonNull(keys.decode(raws.get(i)[0]), "decoded key");
          which = "value codec";
          V value = Objects.requireNonNull(values.decode(raws.get(i)[1]), "decoded value");
          items.add(new Item<>(key, value, meta.get(i)[0], meta.get(i)[1] == 1));
        } catch (Throwable t) {
          failures.failed(which, t, "the snapshot is refused");
          throw new RefusedSnapshotException(
              "record " + i + " rejected by its " + which + ": " + t, t);
        }
      }
      return items;
    } catch (EOFException e) {
      throw new RefusedSnapshotException("truncated", e);
    }
  }

  private static byte[] readBlock(DataInputStream in, String what, int record) throws IOException {
    int length = in.readInt();
    if (length < 0 || length > MAX_RECORD) {
      throw new RefusedSnapshotException(
          "record " + record + ": impossible " + what + " length " + length, null);
    }
    byte[] b = new byte[length];
    in.readFully(b);
    return b;
  }

  /**
   * Moves a refused snapshot aside, so that an operator can look at it and it is not read again.
   */
  Path quarantine(long nowMillis) throws IOException {
    Path aside = file.resolveSibling(file.getFileName() + ".rejected-" + nowMillis);
    Files.move(file, aside, StandardCopyOption.REPLACE_EXISTING);
    return aside;
  }

  private Trailer newTrailer() {
    byte[] k = hmacKey;
    if (k == null) {
      return new Crc();
    }
    try {
      Mac mac = Mac.getInstance("HmacSHA256");
      mac.init(new SecretKeySpec(k, "HmacSHA256"));
      return new Hmac(mac);
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("HmacSHA256 is not available in this JVM", e);
    }
  }

  private interface Trailer {
    void update(byte[] b, int off, int len);

    byte[] finish();

    int length();
  }

  private static final class Crc implements Trailer {
    private final CRC32C crc = new CRC32C();

    @Override
    public void update(byte[] b, int off, int len) {
      crc.update(b, off, len);
    }

    @Override
    public byte[] finish() {
      long v = crc.getValue();
      return new byte[] {(byte) (v >>> 24), (byte) (v >>> 16), (byte) (v >>> 8), (byte) v};
    }

    @Override
    public int length() {
      return 4;
    }
  }

  private static final class Hmac implements Trailer {
    private final Mac mac;

    Hmac(Mac mac) {
      this.mac = mac;
    }

    @Override
    public void update(byte[] b, int off, int len) {
      mac.update(b, off, len);
    }

    @Override
    public byte[] finish() {
      return mac.doFinal();
    }

    @Override
    public int length() {
      return 32;
    }
  }

  /** Passes writes through and into the trailer. */
  private static final class TeeOutput extends java.io.FilterOutputStream {
    private final Trailer trailer;

    TeeOutput(OutputStream out, Trailer trailer) {
      super(out);
      this.trailer = trailer;
    }

    @Override
    public void write(int b) throws IOException {
      out.write(b);
      trailer.update(new byte[] {(byte) b}, 0, 1);
    }

    @Override
    public void write(byte[] b, int off, int len) throws IOException {
      out.write(b, off, len);
      trailer.update(b, off, len);
    }
  }

  /** Passes reads through and into the trailer. */
  private static final class TeeInput extends java.io.FilterInputStream {
    private final Trailer trailer;

    TeeInput(InputStream in, Trailer trailer) {
      super(in);
      this.trailer = trailer;
    }

    @Override
    public int read() throws IOException {
      int b = in.read();
      if (b >= 0) {
        trailer.update(new byte[] {(byte) b}, 0, 1);
      }
      return b;
    }

    @Override
    public int read(byte[] b, int off, int len) throws IOException {
      int n = in.read(b, off, len);
      if (n > 0) {
        trailer.update(b, off, n);
      }
      return n;
    }
  }

  /** Reads at most a given number of bytes, leaving the rest (the trailer) in the stream. */
  private static final class Limited extends java.io.FilterInputStream {
    private long left;

    Limited(InputStream in, long limit) {
      super(in);
      this.left = limit;
    }

    @Override
    public int read() throws IOException {
      if (left <= 0) {
        return -1;
      }
      int b = in.read();
      if (b >= 0) {
        left--;
      }
      return b;
    }

    @Override
    public int read(byte[] b, int off, int len) throws IOException {
      if (left <= 0) {
        return -1;
      }
      int n = in.read(b, off, (int) Math.min(len, left));
      if (n > 0) {
        left -= n;
      }
      return n;
    }

    @Override
    public void close() {
      // the underlying stream still has the trailer to give
    }
  }
}
