package dev.outlast.buffer;

import java.nio.ByteBuffer;
import java.security.GeneralSecurityException;
import java.security.SecureRandom;
import javax.crypto.Cipher;
import javax.crypto.SecretKey;
import javax.crypto.spec.GCMParameterSpec;

/**
 * Seals and opens bytes with AES-GCM under a queue's subkeys (see {@link Keyring}). A sealed value
 * is {@code [key id i32][epoch i64][nonce 12][ciphertext][tag 16]}; the key id and epoch are
 * authenticated with the caller's associated data, so neither can be changed to point the reader at
 * another key.
 *
 * <p>Not threadsafe: each writer (the appender under the queue's lock, the delivery lane, the
 * dead-letter journal under its lock) has its own, with its own epoch.
 */
final class Sealer {
  /** Bytes a sealed value takes beyond its plaintext. */
  static final int OVERHEAD = Keyring.ID_BYTES + 8 + 12 + 16;

  private static final int NONCE = 12;
  private static final int TAG_BITS = 128;
  private static final int PREFIX = Keyring.ID_BYTES + 8;

  /** Values sealed under one subkey before a new epoch (and with it a new subkey). */
  private static final long PER_EPOCH = 1L << 31;

  private final Keyring keys;
  private final SecureRandom random = new SecureRandom();
  private final Cipher cipher;
  private final byte[] nonce = new byte[NONCE]; // reused: the cipher copies it
  private long epoch;
  private long sealedInEpoch;
  private SecretKey sealing; // the subkey of the current key and epoch

  Sealer(Keyring keys) {
    this.keys = keys;
    try {
      this.cipher = Cipher.getInstance("AES/GCM/NoPadding");
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("AES-GCM is not available: " + e, e);
    }
    this.epoch = random.nextLong();
    this.sealing = subkey(keys, epoch);
  }

  private static SecretKey subkey(Keyring keys, long epoch) {
    SecretKey k = keys.subkey(keys.currentId(), epoch);
    if (k == null) {
      throw new IllegalStateException("the current key is not on its own ring");
    }
    return k;
  }

  /** Why sealed bytes could not be opened: the message says what to do. */
  static final class OpenException extends Exception {
    private static final long serialVersionUID = 1L;

    OpenException(String message) {
      super(message, null, false, false);
    }
  }

  Keyring keys() {
    return keys;
  }

  /** Seals {@code plain}, binding it to {@code context} (authenticated, not stored). */
  byte[] seal(byte[] plain, byte[] context) {
    if (++sealedInEpoch > PER_EPOCH) {
      epoch = random.nextLong();
      sealing = subkey(keys, epoch);
      sealedInEpoch = 1;
    }
    byte[] out = new byte[OVERHEAD + plain.length];
    // The subkey of this epoch is this sealer's alone (a random 64-bit epoch, new at each start),
    // so a counter is a nonce that never repeats under it: no birthday bound, and no call into the
    // system's random source per record.
    ByteBuffer.wrap(nonce).putInt(0).putLong(sealedInEpoch);
    ByteBuffer.wrap(out).putInt(keys.currentId()).putLong(epoch).put(nonce);
    try {
      cipher.init(Cipher.ENCRYPT_MODE, sealing, new GCMParameterSpec(TAG_BITS, nonce));
      cipher.updateAAD(context);
      cipher.updateAAD(out, 0, PREFIX);
      int n = cipher.doFinal(plain, 0, plain.length, out, PREFIX + NONCE);
      if (n != plain.length + TAG_BITS / 8) {
        throw new IllegalStateException("AES-GCM wrote " + n + " bytes");
      }
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("AES-GCM sealing failed: " + e.getMessage(), e);
    }
    return out;
  }

  /**
   * Opens a sealed value.
   *
   * @throws OpenException if it is too short, names a key not on the ring, or fails authentication
   *     (another key of the same id, another context, or changed bytes)
   */
  byte[] open(byte[] sealed, int offset, int length, byte[] context) throws OpenException {
    if (length < OVERHEAD) {
      throw new OpenException("sealed value of " + length + " bytes is shorter than its overhead");
    }
    ByteBuffer b = ByteBuffer.wrap(sealed, offset, PREFIX);
    int keyId = b.getInt();
    long e = b.getLong();
    SecretKey k = keys.subkey(keyId, e);
    if (k == null) {
      throw new OpenException(
          "sealed with key id "
              + Keyring.idText(keyId)
              + ", which is not configured (configured: "
              + keys.ids()
              + "); give the key it was sealed with as a retired key");
    }
    try {
      cipher.init(
          Cipher.DECRYPT_MODE, k, new GCMParameterSpec(TAG_BITS, sealed, offset + PREFIX, NONCE));
      cipher.updateAAD(context);
      cipher.updateAAD(sealed, offset, PREFIX);
      return cipher.doFinal(sealed, offset + PREFIX + NONCE, length - PREFIX - NONCE);
    } catch (GeneralSecurityException ex) {
      throw new OpenException(
          "fails AES-GCM authentication under key id "
              + Keyring.idText(keyId)
              + " for producer "
              + keys.producerId()
              + ": it was changed, or sealed for another queue");
    }
  }

  /**
   * Opens a value sealed the way records were before subkeys: {@code [nonce 12][ciphertext][tag]}
   * directly under an application key, each key on the ring tried in turn.
   */
  byte[] openLegacy(byte[] sealed, int offset, int length, byte[] context) throws OpenException {
    if (length < NONCE + TAG_BITS / 8) {
      throw new OpenException("sealed value of " + length + " bytes is shorter than its overhead");
    }
    for (SecretKey k : keys.rawKeys()) {
      try {
        cipher.init(Cipher.DECRYPT_MODE, k, new GCMParameterSpec(TAG_BITS, sealed, offset, NONCE));
        cipher.updateAAD(context);
        return cipher.doFinal(sealed, offset + NONCE, length - NONCE);
      } catch (GeneralSecurityException ex) {
        // try the next key
      }
    }
    throw new OpenException(
        "fails AES-GCM authentication under every configured key ("
            + keys.ids()
            + "): sealed with another key, or changed; give the key it was sealed with as a"
            + " retired key");
  }
}
