package dev.outlast.buffer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;
import java.util.stream.Stream;
import java.util.zip.CRC32C;
import javax.crypto.Cipher;
import javax.crypto.SecretKey;
import javax.crypto.spec.GCMParameterSpec;
import javax.crypto.spec.SecretKeySpec;
import net.openhft.chronicle.bytes.Bytes;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Encryption at rest: what reaches the disk, keys that rotate, keys that do not fit, records bound
 * to their queue.
 */
class EncryptionTest {
  private static final String CARD = "4111111111111111";

  @TempDir Path dir;
  private final TestSink sink = new TestSink();
  private final List<SpillQueue<?>> opened = new ArrayList<>();

  private static SecretKey key(int seed) {
    byte[] k = new byte[32];
    for (int i = 0; i < k.length; i++) {
      k[i] = (byte) (seed * 31 + i);
    }
    return new SecretKeySpec(k, "AES");
  }

  private SpillQueue.Builder<String> builder() {
    return SpillQueueTest.builder("enc", dir.resolve("q"), sink);
  }

  private SpillQueue<String> open(SpillQueue.Builder<String> b) {
    SpillQueue<String> q = b.build();
    opened.add(q);
    return q;
  }

  @AfterEach
  void closeAll() {
    opened.forEach(SpillQueue::close);
  }

  /** Every file under the queue's directory, by relative path, with a digest of its bytes. */
  private Map<String, String> tree() throws Exception {
    Map<String, String> out = new TreeMap<>();
    Path root = dir.resolve("q");
    try (Stream<Path> files = Files.walk(root)) {
      for (Path f : (Iterable<Path>) files::iterator) {
        String digest =
            Files.isRegularFile(f)
                ? HexFormat.of()
                    .formatHex(MessageDigest.getInstance("SHA-256").digest(Files.readAllBytes(f)))
                : "dir";
        out.put(root.relativize(f).toString(), digest);
      }
    }
    return out;
  }

  private List<Path> filesHolding(String text) throws Exception {
    List<Path> found = new ArrayList<>();
    try (Stream<Path> files = Files.walk(dir)) {
      for (Path f : (Iterable<Path>) files::iterator) {
        if (Files.isRegularFile(f)
            && new String(Files.readAllBytes(f), StandardCharsets.ISO_8859_1).contains(text)) {
          found.add(f);
        }
      }
    }
    return found;
  }

  /**
   * A sink's reason that quotes the event (as a search server's mapping error does) is sealed with
   * the event: the card number reaches no file and no log line, and is still there for whoever
   * reads the dead letters with the key. Without a key the same run leaves it in the dead-letter
   * file, which shows the check can fail.
   */
  @Test
  void aCardNumberInARejectedEvent_isInNoFile_andNoLogLine() throws Exception {
    PrintStream stderr = System.err;
    ByteArrayOutputStream log = new ByteArrayOutputStream();
    System.setErr(new PrintStream(log, true, StandardCharsets.UTF_8));
    try {
      sink.rejects = e -> e.contains(CARD);
      SpillQueue<String> q = open(builder().encryption(key(1)));
      q.publish("order 1 paid with " + CARD);
      q.publish("order 2");
      await().untilAsserted(() -> assertThat(q.metrics().deadLetters()).isEqualTo(1));
      await().untilAsserted(() -> assertThat(sink.events).containsExactly("order 2"));
      assertThat(q.deadLetters().get(0).event()).isEqualTo("order 1 paid with " + CARD);
      assertThat(q.deadLetters().get(0).reason()).contains(CARD);
      q.close();
    } finally {
      System.setErr(stderr);
    }
    assertThat(filesHolding(CARD)).isEmpty();
    assertThat(log.toString(StandardCharsets.UTF_8))
        .contains("moved to the dead-letter journal")
        .doesNotContain(CARD);

    Path plain = dir.resolve("plain");
    SpillQueue<String> p = open(builder().directory(plain));
    p.publish("order 3 paid with " + CARD);
    await().untilAsserted(() -> assertThat(p.metrics().deadLetters()).isEqualTo(1));
    p.close();
    assertThat(filesHolding(CARD)).isNotEmpty().allMatch(f -> f.startsWith(plain));
  }

  /**
   * A key rotated while a backlog waits: the old key, given as retired, opens the backlog (journal
   * and dead letters); what is written from then on is sealed with the new key, so once the old
   * backlog is delivered the old key can go.
   */
  @Test
  void aRotatedKey_readsTheOldBacklog_andTheOldKeyCanGoOnceItIsDelivered() throws Exception {
    sink.state = TestSink.State.DOWN;
    sink.rejects = e -> e.startsWith("poison");
    SpillQueue<String> q = open(builder().encryption(key(1)));
    for (int i = 0; i < 100; i++) {
      q.publish("old-" + i);
    }
    q.close();

    sink.state = TestSink.State.UP;
    SpillQueue<String> rotated = open(builder().encryption(key(2), key(1)));
    await().untilAsserted(() -> assertThat(sink.events).hasSize(100));
    rotated.publish("poison under the new key");
    await().untilAsserted(() -> assertThat(rotated.metrics().deadLetters()).isEqualTo(1));
    sink.state = TestSink.State.DOWN;
    for (int i = 0; i < 10; i++) {
      rotated.publish("new-" + i);
    }
    rotated.close();

    sink.state = TestSink.State.UP;
    SpillQueue<String> newOnly = open(builder().encryption(key(2)));
    await().untilAsserted(() -> assertThat(sink.events).hasSize(110));
    assertThat(sink.events.subList(100, 110)).containsExactly(newEvents());
    assertThat(newOnly.deadLetters())
        .singleElement()
        .satisfies(
            d -> {
              assertThat(d.event()).isEqualTo("poison under the new key");
            });
  }

  private static String[] newEvents() {
    String[] out = new String[10];
    for (int i = 0; i < 10; i++) {
      out[i] = "new-" + i;
    }
    return out;
  }

  /**
   * A wrong key, no key, or a key over a plain backlog fails {@code build()} with a message naming
   * the key ids and the fix, and changes no byte on disk; the right key then delivers everything.
   */
  @Test
  void aWrongOrMissingKey_failsBuild_andChangesNothingOnDisk() throws Exception {
    sink.state = TestSink.State.DOWN;
    SpillQueue<String> q = open(builder().encryption(key(1)));
    for (int i = 0; i < 50; i++) {
      q.publish("e-" + i);
    }
    q.close();
    Map<String, String> before = tree();

    assertThatThrownBy(() -> open(builder().encryption(key(2))))
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("cannot be opened with this queue's keys")
        .hasMessageContaining("which is not configured")
        .hasMessageContaining(Keyring.idText(ring(key(2), "x").currentId()))
        .hasMessageContaining("Nothing on disk was changed")
        .hasMessageContaining("encryption(newKey, oldKey)");
    assertThat(tree()).isEqualTo(before);
    assertThatThrownBy(() -> open(builder()))
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("is encrypted but the queue has no key");
    assertThat(tree()).isEqualTo(before);

    sink.state = TestSink.State.UP;
    open(builder().encryption(key(1)));
    await().untilAsserted(() -> assertThat(sink.events).hasSize(50));
    assertThat(sink.events.get(0)).isEqualTo("e-0");
  }

  /**
   * Going back to the old key after a rotation, with records of both on disk: the newest record
   * does not open, found behind an empty segment that a later open and close left.
   */
  @Test
  void droppingTheNewKeyAfterARotation_failsBuild_evenBehindAnEmptySegment() throws Exception {
    sink.state = TestSink.State.DOWN;
    SpillQueue<String> q = open(builder().encryption(key(1)));
    q.publish("under the old key");
    q.close();
    SpillQueue<String> rotated = open(builder().encryption(key(2), key(1)));
    rotated.publish("under the new key");
    rotated.close();
    open(builder().encryption(key(2), key(1))).close(); // an empty newest segment
    Map<String, String> before = tree();
    assertThatThrownBy(() -> open(builder().encryption(key(1))))
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("which is not configured");
    assertThat(tree()).isEqualTo(before);
  }

  /**
   * Found in review: records in the middle of the backlog sealed with a key dropped too early,
   * while the oldest and the newest open; the first waiting record of every segment is checked.
   */
  @Test
  void aKeyDroppedWhileItsRecordsWaitInTheMiddle_failsBuild() throws Exception {
    sink.state = TestSink.State.DOWN;
    SpillQueue<String> q = open(builder().encryption(key(1)));
    q.publish("under key 1");
    q.close();
    q = open(builder().encryption(key(2), key(1)));
    q.publish("under key 2");
    q.close();
    q = open(builder().encryption(key(3), key(2), key(1)));
    q.publish("under key 3");
    q.close();
    Map<String, String> before = tree();
    assertThatThrownBy(() -> open(builder().encryption(key(3), key(1))))
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("sealed with key id " + Keyring.idText(ring(key(2), "x").currentId()))
        .hasMessageContaining("Nothing on disk was changed");
    assertThat(tree()).isEqualTo(before);
    sink.state = TestSink.State.UP;
    open(builder().encryption(key(3), key(2), key(1)));
    await()
        .untilAsserted(
            () ->
                assertThat(sink.events)
                    .containsExactly("under key 1", "under key 2", "under key 3"));
  }

  @Test
  void encryptionTurnedOnOverAPlainBacklog_failsBuild_andChangesNothing() throws Exception {
    sink.state = TestSink.State.DOWN;
    SpillQueue<String> q = open(builder());
    q.publish("plain");
    q.close();
    Map<String, String> before = tree();
    assertThatThrownBy(() -> open(builder().encryption(key(1))))
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("is not encrypted but the queue expects encryption");
    assertThat(tree()).isEqualTo(before);
  }

  /**
   * Two queues share the application's key: a record of one does not open in the other (the key and
   * the associated data are the queue's), nor under another sequence number.
   */
  @Test
  void aRecordIsBoundToItsQueueAndSequence() throws Exception {
    RecordFormat a = new RecordFormat(ring(key(1), "producer-a"));
    RecordFormat b = new RecordFormat(ring(key(1), "producer-b"));
    byte[] record = write(a, 42, "payment " + CARD);
    assertThat(new String(a.decode(record).payload(), StandardCharsets.UTF_8))
        .isEqualTo("payment " + CARD);
    assertThat(b.whyNotOpened(record))
        .contains("fails AES-GCM authentication")
        .contains("sealed for another queue");

    byte[] moved = record.clone();
    ByteBuffer.wrap(moved).putLong(4, 43);
    fixCrc(moved);
    assertThat(a.whyNotOpened(moved)).contains("fails AES-GCM authentication");

    byte[] otherKey = record.clone();
    ByteBuffer.wrap(otherKey).putInt(RecordFormat.HEADER, 0x01020304);
    fixCrc(otherKey);
    assertThat(a.whyNotOpened(otherKey)).contains("key id 01020304, which is not configured");
  }

  /** Records sealed before subkeys (under the application's key itself) still open. */
  @Test
  void recordsSealedBeforeSubkeys_stillOpen_withTheOldKeyRetired() throws Exception {
    byte[] legacy =
        legacyRecord(key(1), 7, "from an older version".getBytes(StandardCharsets.UTF_8));
    RecordFormat rotated = new RecordFormat(ring(key(2), "p", key(1)));
    assertThat(new String(rotated.decode(legacy).payload(), StandardCharsets.UTF_8))
        .isEqualTo("from an older version");
    RecordFormat without = new RecordFormat(ring(key(2), "p"));
    assertThat(without.whyNotOpened(legacy)).contains("under every configured key");
  }

  @Test
  void keysThatCannotBeUsed_areRefusedWhenGiven() {
    assertThatThrownBy(() -> builder().encryption(new SecretKeySpec(new byte[20], "AES")))
        .hasMessageContaining("16, 24 or 32 bytes long, was 20");
    assertThatThrownBy(() -> builder().encryption(key(1), new SecretKeySpec(new byte[8], "DES")))
        .hasMessageContaining("retired key must be an AES key");
  }

  /** The same key gives each queue its own subkeys, and a key id that says nothing of the key. */
  @Test
  void subkeysDifferPerQueueAndEpoch() {
    Keyring a = ring(key(1), "a");
    Keyring b = ring(key(1), "b");
    assertThat(a.currentId()).isEqualTo(b.currentId());
    assertThat(sub(a, 1))
        .isNotEqualTo(sub(b, 1))
        .isNotEqualTo(sub(a, 2))
        .isNotEqualTo(key(1).getEncoded());
    assertThat(sub(a, 1)).isEqualTo(sub(a, 1));
  }

  /** Each writer seals under an epoch of its own, with a nonce that never repeats in it. */
  @Test
  void eachWriterHasItsOwnEpoch_andNoNonceRepeats() throws Exception {
    Keyring keys = ring(key(1), "p");
    java.util.Set<String> seen = new java.util.HashSet<>();
    java.util.Set<Long> epochs = new java.util.HashSet<>();
    for (RecordFormat f : List.of(new RecordFormat(keys), new RecordFormat(keys))) {
      for (int i = 0; i < 1_000; i++) {
        ByteBuffer b = ByteBuffer.wrap(write(f, i + 1, "e"));
        long epoch = b.getLong(RecordFormat.HEADER + Keyring.ID_BYTES);
        epochs.add(epoch);
        byte[] nonce = new byte[12];
        b.get(RecordFormat.HEADER + Keyring.ID_BYTES + 8, nonce);
        assertThat(seen.add(epoch + "/" + HexFormat.of().formatHex(nonce))).isTrue();
      }
    }
    assertThat(epochs).hasSize(2);
    assertThat(seen).hasSize(2_000);
  }

  private static Keyring ring(SecretKey current, String producer, SecretKey... retired) {
    return Objects.requireNonNull(Keyring.of(current, List.of(retired), producer));
  }

  private static byte[] sub(Keyring ring, long epoch) {
    return Objects.requireNonNull(ring.subkey(ring.currentId(), epoch)).getEncoded();
  }

  private static byte[] write(RecordFormat format, long sequence, String payload) {
    Bytes<?> out = Bytes.allocateElasticOnHeap();
    try {
      format.writeTo(out, sequence, 0, 1_000L, payload.getBytes(StandardCharsets.UTF_8));
      return out.toByteArray();
    } finally {
      out.releaseLast();
    }
  }

  private static void fixCrc(byte[] record) {
    CRC32C crc = new CRC32C();
    crc.update(record, 0, record.length - 4);
    ByteBuffer.wrap(record).putInt(record.length - 4, (int) crc.getValue());
  }

  /** A record as versions before subkeys wrote it: AES-GCM under the key, the header its AAD. */
  private static byte[] legacyRecord(SecretKey key, long sequence, byte[] plain) throws Exception {
    int payload = 12 + plain.length + 16;
    ByteBuffer header = ByteBuffer.allocate(RecordFormat.HEADER);
    header
        .put((byte) RecordFormat.MAGIC)
        .put((byte) RecordFormat.VERSION)
        .put((byte) RecordFormat.ENCRYPTED)
        .put((byte) 0)
        .putLong(sequence)
        .putLong(0)
        .putLong(1_000L)
        .putInt(payload);
    byte[] nonce = new byte[12];
    nonce[0] = 9;
    Cipher c = Cipher.getInstance("AES/GCM/NoPadding");
    c.init(Cipher.ENCRYPT_MODE, key, new GCMParameterSpec(128, nonce));
    c.updateAAD(header.array());
    byte[] sealed = c.doFinal(plain);
    byte[] record = new byte[RecordFormat.OVERHEAD + payload];
    ByteBuffer.wrap(record).put(header.array()).put(nonce).put(sealed);
    fixCrc(record);
    return record;
  }
}
