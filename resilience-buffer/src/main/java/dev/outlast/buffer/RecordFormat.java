package dev.outlast.buffer;

import java.nio.ByteBuffer;
import java.security.GeneralSecurityException;
import java.security.SecureRandom;
import java.util.zip.CRC32C;
import javax.crypto.Cipher;
import javax.crypto.SecretKey;
import javax.crypto.spec.GCMParameterSpec;
import net.openhft.chronicle.bytes.Bytes;
import org.jspecify.annotations.Nullable;

/**
 * The bytes of one journal record, inside a Chronicle document. Chronicle frames documents but does
 * not check them; this format lets the queue tell a good record from a damaged one.
 *
 * <pre>
 *   0   u8   magic 0xA7
 *   1   u8   format version, 1
 *   2   u8   flags: bit 0 = payload encrypted (AES-GCM)
 *   3   u8   reserved, 0
 *   4   i64  sequence number
 *   12  i64  sequence number of the journal's previous record (0 for none)
 *   20  i64  published at, epoch millis
 *   28  i32  payload length N
 *   32  N    payload: the codec's bytes, or nonce (12) + ciphertext + tag (16) when encrypted
 *   32+N i32 CRC32C of bytes 0 .. 32+N
 * </pre>
 *
 * <p>The previous-record field chains the journal: sequence numbers have gaps of their own (events
 * delivered directly, numbers reserved before a restart), so a missing record shows as a broken
 * chain, with the exact range of what is missing.
 *
 * <p>With encryption the header (bytes 0-31) is the cipher's associated data, so a record cannot be
 * moved to another sequence number without the tag failing.
 *
 * <p>Not threadsafe: each user (the appender under the queue's lock, the drainer) has its own.
 */
final class RecordFormat {
  static final int MAGIC = 0xA7;
  static final int VERSION = 1;
  static final int HEADER = 32;
  static final int OVERHEAD = HEADER + 4;
  private static final int NONCE = 12;
  private static final int MAX_SCRATCH = 64 << 10;
  private static final int TAG_BITS = 128;

  private final @Nullable SecretKey key;
  private final @Nullable SecureRandom random;
  private final CRC32C crc = new CRC32C();
  private final ByteBuffer header = ByteBuffer.allocate(HEADER);
  private byte[] scratch = new byte[1024]; // the record being written, reused

  RecordFormat(@Nullable SecretKey key) {
    this.key = key;
    this.random = key == null ? null : new SecureRandom();
  }

  /** How many payload bytes an event of this encoded size takes on disk. */
  int payloadLength(int encodedLength) {
    return key == null ? encodedLength : NONCE + encodedLength + TAG_BITS / 8;
  }

  /**
   * Writes the record for an event's encoded bytes straight into a Chronicle document: without
   * building the record in an array first (the append path's largest allocation and one copy
   * fewer).
   */
  void writeTo(Bytes<?> out, long sequence, long previous, long publishedAt, byte[] encoded) {
    byte[] payload = key == null ? encoded : encrypt(sequence, previous, publishedAt, encoded);
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
        .put((byte) (key == null ? 0 : 1))
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
    boolean encrypted = (flags & 1) != 0;
    if (encrypted != (key != null)) {
      throw new DamagedRecordException(
          encrypted
              ? "record " + sequence + " is encrypted but the queue has no key"
              : "record " + sequence + " is not encrypted but the queue expects encryption");
    }
    byte[] payload = new byte[length];
    System.arraycopy(record, HEADER, payload, 0, length);
    if (encrypted) {
      payload = decrypt(sequence, previous, publishedAt, payload);
    }
    return new Decoded(sequence, previous, publishedAt, payload);
  }

  private byte[] encrypt(long sequence, long previous, long publishedAt, byte[] plain) {
    SecretKey k = key;
    SecureRandom r = random;
    if (k == null || r == null) {
      throw new IllegalStateException("no key");
    }
    try {
      byte[] nonce = new byte[NONCE];
      r.nextBytes(nonce);
      Cipher cipher = Cipher.getInstance("AES/GCM/NoPadding");
      cipher.init(Cipher.ENCRYPT_MODE, k, new GCMParameterSpec(TAG_BITS, nonce));
      cipher.updateAAD(
          associatedData(sequence, previous, publishedAt, payloadLength(plain.length)));
      byte[] sealed = cipher.doFinal(plain);
      byte[] out = new byte[NONCE + sealed.length];
      System.arraycopy(nonce, 0, out, 0, NONCE);
      System.arraycopy(sealed, 0, out, NONCE, sealed.length);
      return out;
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("AES-GCM encryption failed: " + e.getMessage(), e);
    }
  }

  private byte[] decrypt(long sequence, long previous, long publishedAt, byte[] payload)
      throws DamagedRecordException {
    SecretKey k = key;
    if (k == null || payload.length < NONCE + TAG_BITS / 8) {
      throw new DamagedRecordException("encrypted payload of record " + sequence + " is too short");
    }
    try {
      Cipher cipher = Cipher.getInstance("AES/GCM/NoPadding");
      cipher.init(Cipher.DECRYPT_MODE, k, new GCMParameterSpec(TAG_BITS, payload, 0, NONCE));
      cipher.updateAAD(associatedData(sequence, previous, publishedAt, payload.length));
      return cipher.doFinal(payload, NONCE, payload.length - NONCE);
    } catch (GeneralSecurityException e) {
      throw new DamagedRecordException(
          "record " + sequence + " fails AES-GCM authentication (wrong key, or changed): " + e);
    }
  }

  private byte[] associatedData(long sequence, long previous, long publishedAt, int length) {
    header.clear();
    writeHeader(header, sequence, previous, publishedAt, length);
    return header.array().clone();
  }
}
