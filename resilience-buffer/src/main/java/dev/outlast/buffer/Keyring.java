package dev.outlast.buffer;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;
import javax.crypto.Mac;
import javax.crypto.SecretKey;
import javax.crypto.spec.SecretKeySpec;
import org.jspecify.annotations.Nullable;

/**
 * The keys of one queue: the application's current key, which seals, and its retired keys, which
 * only open what is still on disk, each turned into keys of this queue's own.
 *
 * <p>The application gives one key to many queues and pods. Sealing every record of all of them
 * under that key with random nonces would spend the 2^32 invocations NIST SP 800-38D allows a key
 * in a busy week, and would let a record copied from one queue into another open there. So each
 * record is sealed under a <em>subkey</em>, derived with HKDF-SHA256 (RFC 5869) from the
 * application's key, this queue's producer id and a random 64-bit epoch that its writer picks at
 * start and again every 2^31 records; a subkey is one writer's alone, so its nonces are a counter
 * (see {@link Sealer}). The record carries the application key's id and the epoch; the id is
 * derived from the key too (it says which key, and nothing about it), so a key can be rotated while
 * a backlog sealed with the old one waits: the old key is kept as retired until the backlog is
 * gone.
 *
 * <p>Records written before subkeys (sealed directly with the application's key) open with any of
 * the keys, tried in turn.
 *
 * <p>Threadsafe: derived keys are cached in a concurrent map; the JCE objects are made per call.
 */
final class Keyring {
  /** Bytes of a key id in a record. */
  static final int ID_BYTES = 4;

  private static final byte[] SALT = "outlast spill queue keys v1".getBytes(StandardCharsets.UTF_8);
  private static final byte[] RECORD_KEY = "record key".getBytes(StandardCharsets.UTF_8);
  private static final int MAX_CACHED = 1024;

  private final String producerId;
  private final Root current;
  private final List<Root> all;
  private final byte[] producerBytes;
  private final Map<Long, Derived> subkeys = new ConcurrentHashMap<>();

  /** One application key: its pseudorandom key (HKDF's extract step), id and length. */
  @SuppressWarnings("ArrayRecordComponent") // internal, never compared
  private record Root(SecretKey raw, byte[] prk, int id, int length) {}

  private Keyring(String producerId, Root current, List<Root> all) {
    this.producerId = producerId;
    this.producerBytes = producerId.getBytes(StandardCharsets.UTF_8);
    this.current = current;
    this.all = all;
  }

  /**
   * The keyring of a queue, or null if it has no key.
   *
   * @throws IllegalArgumentException if a key is not a usable AES key
   */
  static @Nullable Keyring of(
      @Nullable SecretKey current, List<SecretKey> retired, String producerId) {
    if (current == null) {
      return null;
    }
    Root cur = root(current, "encryption key");
    List<Root> all = new ArrayList<>();
    all.add(cur);
    for (SecretKey k : retired) {
      Root r = root(k, "retired key");
      if (all.stream().noneMatch(a -> a.id == r.id)) {
        all.add(r);
      }
    }
    return new Keyring(producerId, cur, List.copyOf(all));
  }

  /** Checks a key the application gives, before anything is built with it. */
  static void check(SecretKey key, String what) {
    var unused = root(key, what);
  }

  private static Root root(SecretKey key, String what) {
    Objects.requireNonNull(key, what);
    if (!"AES".equalsIgnoreCase(key.getAlgorithm())) {
      throw new IllegalArgumentException(
          what + " must be an AES key, was " + key.getAlgorithm() + "; make one with KeyGenerator");
    }
    byte[] raw = key.getEncoded();
    if (raw == null) {
      throw new IllegalArgumentException(
          what
              + " cannot be exported (getEncoded() is null, as in a hardware module); the queue"
              + " derives its own keys from it and needs its bytes");
    }
    if (raw.length != 16 && raw.length != 24 && raw.length != 32) {
      throw new IllegalArgumentException(
          what + " must be 16, 24 or 32 bytes long, was " + raw.length);
    }
    byte[] prk = hmac(SALT, raw);
    byte[] id = expand(prk, "key id".getBytes(StandardCharsets.UTF_8), ID_BYTES);
    return new Root(key, prk, ByteBuffer.wrap(id).getInt(), raw.length);
  }

  /** The producer id every subkey of this keyring is bound to. */
  String producerId() {
    return producerId;
  }

  /** The id of the key that seals. */
  int currentId() {
    return current.id;
  }

  /** The ids on the ring, for messages: the current one first. */
  String ids() {
    StringBuilder s = new StringBuilder();
    for (Root r : all) {
      s.append(s.length() == 0 ? "" : ", ").append(idText(r.id));
    }
    return s.toString();
  }

  static String idText(int keyId) {
    return String.format(Locale.ROOT, "%08x", keyId);
  }

  /** The subkey of an application key for an epoch, or null if no key of that id is on the ring. */
  @Nullable SecretKey subkey(int keyId, long epoch) {
    Root r = find(keyId);
    if (r == null) {
      return null;
    }
    // A cache collision (ids are 32 bits, epochs 64) only costs a second derivation: an entry is
    // used only for the id and epoch it was made for.
    long cacheKey = epoch * 31 + keyId;
    Derived d = subkeys.get(cacheKey);
    if (d != null && d.keyId == keyId && d.epoch == epoch) {
      return d.key;
    }
    byte[] info =
        ByteBuffer.allocate(RECORD_KEY.length + 1 + producerBytes.length + 1 + 8)
            .put(RECORD_KEY)
            .put((byte) 0)
            .put(producerBytes)
            .put((byte) 0)
            .putLong(epoch)
            .array();
    SecretKey key = new SecretKeySpec(expand(r.prk, info, r.length), "AES");
    if (subkeys.size() >= MAX_CACHED) {
      subkeys.clear(); // epochs are few; a flood of them (damage) must not grow the map
    }
    subkeys.put(cacheKey, new Derived(keyId, epoch, key));
    return key;
  }

  /** The application keys themselves, current first: for records sealed before subkeys. */
  List<SecretKey> rawKeys() {
    List<SecretKey> keys = new ArrayList<>(all.size());
    for (Root r : all) {
      keys.add(r.raw);
    }
    return keys;
  }

  private @Nullable Root find(int keyId) {
    for (Root r : all) {
      if (r.id == keyId) {
        return r;
      }
    }
    return null;
  }

  /** A subkey and what it was derived for. */
  private record Derived(int keyId, long epoch, SecretKey key) {}

  /** HKDF-Expand (RFC 5869) of up to one block (32 bytes), all this class needs. */
  private static byte[] expand(byte[] prk, byte[] info, int length) {
    byte[] in = Arrays.copyOf(info, info.length + 1);
    in[info.length] = 1;
    return Arrays.copyOf(hmac(prk, in), length);
  }

  private static byte[] hmac(byte[] key, byte[] data) {
    try {
      Mac mac = Mac.getInstance("HmacSHA256");
      mac.init(new SecretKeySpec(key, "HmacSHA256"));
      return mac.doFinal(data);
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("HmacSHA256 is not available: " + e, e);
    }
  }

  @Override
  public String toString() {
    return "keys " + ids() + " for producer " + producerId;
  }
}
