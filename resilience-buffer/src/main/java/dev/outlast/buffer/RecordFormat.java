package dev.outlast.buffer;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Objects;
import java.util.zip.CRC32C;
import net.openhft.chronicle.bytes.Bytes;
import org.jspecify.annotations.Nullable;

/**
 * The bytes of one journal record, inside a Chronicle document. Chronicle frames documents but does
 * not check them; this format lets the queue tell a good record from a damaged one.
 *
 * <pre>
 *   0   u8   magic 0xA7
 *   1   u8   format version, 1
 *   2   u8   flags: bit 0 = payload encrypted (AES-GCM); bit 1 = under a subkey of the queue
 *   3   u8   reserved, 0
 *   4   i64  sequence number
 *   12  i64  sequence number of the journal's previous record (0 for none)
 *   20  i64  published at, epoch millis
 *   28  i32  payload length N
 *   32  N    payload: the codec's bytes, or when encrypted key id (4) + epoch (8) + nonce (12)
 *            + ciphertext + tag (16) (see Sealer); records written before subkeys (bit 1 clear)
 *            hold nonce + ciphertext + tag under the application's key itself
 *   32+N i32 CRC32C of bytes 0 .. 32+N
 * </pre>
 *
 * <p>The previous-record field chains the journal: sequence numbers have gaps of their own (events
 * delivered directly, numbers reserved before a restart), so a missing record shows as a broken
 * chain, with the exact range of what is missing.
 *
 * <p>With encryption the header (bytes 0-31), the queue's producer id and the key id and epoch are
 * the cipher's associated data, and the key is the queue's own (see {@link Keyring}): a record
 * moved to another sequence number or into another queue fails its tag.
 *
 * <p>Not threadsafe: each user (the appender under the queue's lock, the drainer) has its own.
 */
final class RecordFormat {
  static final int MAGIC = 0xA7;
  static final int VERSION = 1;
  static final int HEADER = 32;
  static final int OVERHEAD = HEADER + 4;

  /** Flag: the payload is sealed with AES-GCM. */
  static final int ENCRYPTED = 1;

  /** Flag: sealed under a subkey of the queue, the key id and epoch leading the payload. */
  static final int SUBKEYED = 2;

  private static final int MAX_SCRATCH = 64 << 10;

  private final @Nullable Sealer sealer;
  private final byte[] producer;
  private final CRC32C crc = new CRC32C();

  /** A seal's associated data: the record's header (filled per record), then the producer id. */
  private final byte[] context;

  private byte[] scratch = new byte[1024]; // the record being written, reused

  /** A format for a queue without encryption. */
  RecordFormat() {
    this(null);
  }

  /** A format sealing with a queue's keys, or without encryption if null. */
  RecordFormat(@Nullable Keyring keys) {
    this.sealer = keys == null ? null : new Sealer(keys);
    this.producer = keys == null ? new byte[0] : keys.producerId().getBytes(StandardCharsets.UTF_8);
    this.context = new byte[HEADER + producer.length];
    System.arraycopy(producer, 0, context, HEADER, producer.length);
  }

  /** How many payload bytes an event of this encoded size takes on disk. */
  int payloadLength(int encodedLength) {
    return sealer == null ? encodedLength : Sealer.OVERHEAD + encodedLength;
  }

  /**
   * Writes the record for an event's encoded bytes straight into a Chronicle document: without
   * building the record in an array first (the append path's largest allocation and one copy
   * fewer).
   */
  void writeTo(Bytes<?> out, long sequence, long previous, long publishedAt, byte[] encoded) {
    byte[] payload = sealer == null ? encoded : seal(sequence, previous, publishedAt, encoded);
    int length = OVERHEAD + payload.length;
    byte[] buf = scratch;
    if (buf.length < length) {
      // Grown for common sizes; a rare large event gets an array of its own, not kept.
      buf = new byte[length];
      if (length <= MAX_SCRATCH) {
        scratch = buf;
      }
    }
    ByteBuffer b = ByteBuffer.wrap(buf);
    writeHeader(b, sequence, previous, publishedAt, payload.length);
    b.put(payload);
    crc.reset();
    crc.update(buf, 0, HEADER + payload.length);
    b.putInt((int) crc.getValue());
    // One write: each write into a mapped Chronicle document checks its bounds and mapping.
    out.write(buf, 0, length);
  }

  private void writeHeader(
      ByteBuffer b, long sequence, long previous, long publishedAt, int length) {
    b.put((byte) MAGIC)
        .put((byte) VERSION)
        .put((byte) (sealer == null ? 0 : ENCRYPTED | SUBKEYED))
        .put((byte) 0)
        .putLong(sequence)
        .putLong(previous)
        .putLong(publishedAt)
        .putInt(length);
  }

  /** A record read back and checked. Internal and never compared. */
  @SuppressWarnings("ArrayRecordComponent")
  record Decoded(long sequence, long previous, long publishedAt, byte[] payload) {}

  /** Why a record was refused. */
  static final class DamagedRecordException extends Exception {
    private static final long serialVersionUID = 1L;

    DamagedRecordException(String message) {
      super(message, null, false, false);
    }
  }

  /**
   * The sequence number in a record whose CRC matches (without decrypting), or 0 if it is not a
   * good record. For finding where the journal ends.
   */
  long headerSequence(byte[] record) {
    if (record.length < OVERHEAD || (record[0] & 0xFF) != MAGIC) {
      return 0;
    }
    ByteBuffer b = ByteBuffer.wrap(record);
    long sequence = b.getLong(4);
    int length = b.getInt(28);
    if (length != record.length - OVERHEAD) {
      return 0;
    }
    crc.reset();
    crc.update(record, 0, HEADER + length);
    return b.getInt(HEADER + length) == (int) crc.getValue() ? sequence : 0;
  }

  /**
   * Checks and opens a record.
   *
   * @throws DamagedRecordException if anything about it is wrong: length, magic, version, CRC, or
   *     (when encrypted) the authentication tag
   */
  Decoded decode(byte[] record) throws DamagedRecordException {
    if (record.length < OVERHEAD) {
      throw new DamagedRecordException(
          "record of " + record.length + " bytes is shorter than a header");
    }
    ByteBuffer b = ByteBuffer.wrap(record);
    int magic = b.get() & 0xFF;
    int version = b.get() & 0xFF;
    int flags = b.get() & 0xFF;
    b.get();
    long sequence = b.getLong();
    long previous = b.getLong();
    long publishedAt = b.getLong();
    int length = b.getInt();
    if (magic != MAGIC) {
      throw new DamagedRecordException("bad magic " + magic);
    }
    if (version != VERSION) {
      throw new DamagedRecordException(
          "record format version " + version + ", this build reads " + VERSION);
    }
    if (length < 0 || length != record.length - OVERHEAD) {
      throw new DamagedRecordException(
          "payload length " + length + " does not fit a record of " + record.length + " bytes");
    }
    crc.reset();
    crc.update(record, 0, HEADER + length);
    int stored = ByteBuffer.wrap(record, HEADER + length, 4).getInt();
    if (stored != (int) crc.getValue()) {
      throw new DamagedRecordException("CRC mismatch in record " + sequence);
    }
    String mismatch = sealingMismatch(sequence, flags);
    if (mismatch != null) {
      throw new DamagedRecordException(mismatch);
    }
    if ((flags & ENCRYPTED) != 0) {
      return new Decoded(sequence, previous, publishedAt, open(record, flags, length));
    }
    byte[] payload = new byte[length];
    System.arraycopy(record, HEADER, payload, 0, length);
    return new Decoded(sequence, previous, publishedAt, payload);
  }

  /**
   * Whether this format can open a record whose CRC matched, and if not why: for checking at open
   * that the keys fit the journal, before anything is changed.
   *
   * @return null if it opens, else what is wrong
   */
  @Nullable String whyNotOpened(byte[] record) {
    try {
      decode(record);
      return null;
    } catch (DamagedRecordException e) {
      return e.getMessage();
    }
  }

  /** Why a record is sealed otherwise than this format seals (or not at all), or null. */
  private @Nullable String sealingMismatch(long sequence, int flags) {
    boolean encrypted = (flags & ENCRYPTED) != 0;
    if (encrypted == (sealer != null)) {
      return null;
    }
    return encrypted
        ? "record " + sequence + " is encrypted but the queue has no key"
        : "record " + sequence + " is not encrypted but the queue expects encryption";
  }

  private byte[] seal(long sequence, long previous, long publishedAt, byte[] plain) {
    Sealer s = sealer;
    if (s == null) {
      throw new IllegalStateException("no key");
    }
    writeHeader(
        ByteBuffer.wrap(context), sequence, previous, publishedAt, Sealer.OVERHEAD + plain.length);
    return s.seal(plain, context);
  }

  private byte[] open(byte[] record, int flags, int length) throws DamagedRecordException {
    Sealer s = Objects.requireNonNull(sealer, "decode checks that the format seals");
    long sequence = ByteBuffer.wrap(record).getLong(4);
    try {
      if ((flags & SUBKEYED) != 0) {
        System.arraycopy(record, 0, context, 0, HEADER);
        return s.open(record, HEADER, length, context);
      }
      // Sealed before subkeys: directly under the application's key, the header its only context.
      return s.openLegacy(record, HEADER, length, Arrays.copyOf(record, HEADER));
    } catch (Sealer.OpenException e) {
      throw new DamagedRecordException("record " + sequence + " " + e.getMessage());
    }
  }
}
