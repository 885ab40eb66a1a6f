package dev.outlast.cache;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.outlast.core.Guard;
import dev.outlast.core.GuardConfig;
import dev.outlast.core.spi.Codec;
import dev.outlast.testkit.ManualClock;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.net.ConnectException;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.nio.file.attribute.UserPrincipal;
import java.time.Duration;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SnapshotTest {
  private static final Freshness FRESHNESS =
      Freshness.of(Duration.ofSeconds(10), Duration.ofSeconds(10), Duration.ofMinutes(10));

  @TempDir Path dir;
  private final ManualClock clock = new ManualClock();
  private final ScriptedLoader loader = new ScriptedLoader();

  private QueryCache.Builder<String, String> builder() {
    return QueryCache.<String, String>builder("products")
        .guard(
            Guard.of(
                "mysql",
                GuardConfig.custom()
                    .clock(clock)
                    .ticker(ClockTicker.of(clock))
                    .maxAttempts(1)
                    .build()))
        .freshness(FRESHNESS)
        .clock(clock)
        .ticker(ClockTicker.of(clock))
        .snapshot(dir.resolve("products.snapshot"), Codec.utf8(), Codec.utf8());
  }

  private void warmAndClose(QueryCache.Builder<String, String> builder, int keys) {
    try (QueryCache<String, String> cache = builder.build(loader)) {
      for (int i = 0; i < keys; i++) {
        cache.get("k" + i);
      }
    }
  }

  @Test
  void restart_duringAnOutage_servesTheSnapshotWithOriginalAges() {
    warmAndClose(builder(), 100);
    assertThat(dir.resolve("products.snapshot")).exists();
    clock.advance(Duration.ofMinutes(3));
    loader.failure = new ConnectException("Connection refused");
    try (QueryCache<String, String> restarted = builder().build(loader)) {
      assertThat(restarted.stats().restoredFromSnapshot()).isEqualTo(100);
      for (int i = 0; i < 100; i++) {
        Answer<String> a = restarted.lookup("k" + i);
        assertThat(a.state()).isEqualTo(Answer.State.STALE);
        assertThat(a.value()).isEqualTo("k" + i + "@1");
        assertThat(a.age())
            .as("the age runs on through the restart")
            .isEqualTo(Duration.ofMinutes(3));
      }
      clock.advance(Duration.ofMinutes(8));
      assertThatThrownBy(() -> restarted.get("k1"))
          .isInstanceOf(NoUsableValueException.class)
          .hasMessageContaining("11 min old");
    }
  }

  @Test
  void entriesPastServeStaleFor_areNotRestored() {
    warmAndClose(builder(), 10);
    clock.advance(Duration.ofMinutes(11));
    try (QueryCache<String, String> restarted = builder().build(loader)) {
      assertThat(restarted.stats().restoredFromSnapshot()).isZero();
    }
  }

  @Test
  void damagedSnapshots_areRefused_movedAside_andNeverServed() throws IOException {
    warmAndClose(builder(), 50);
    Path file = dir.resolve("products.snapshot");
    byte[] good = Files.readAllBytes(file);
    Random random = new Random(42);
    loader.failure = new ConnectException("Connection refused");
    for (int round = 0; round < 60; round++) {
      byte[] bad = good.clone();
      String damage;
      if (round % 2 == 0) {
        int at = random.nextInt(bad.length);
        bad[at] ^= (byte) (1 << random.nextInt(8));
        damage = "bit flip at " + at;
      } else {
        int length = random.nextInt(bad.length);
        bad = java.util.Arrays.copyOf(bad, length);
        damage = "truncated to " + length;
      }
      Files.write(file, bad);
      try (QueryCache<String, String> restarted = builder().build(loader)) {
        assertThat(restarted.stats().restoredFromSnapshot()).as(damage).isZero();
        assertThatThrownBy(() -> restarted.get("k1"))
            .as(damage + ": nothing from the damaged snapshot is served")
            .isInstanceOf(NoUsableValueException.class);
      }
      assertThat(rejectedFiles()).as(damage + ": moved aside").isNotEmpty();
      deleteRejected();
    }
  }

  @Test
  void signedSnapshot_refusesOneSignedWithAnotherKey_orNotSignedAtAll() throws IOException {
    byte[] key =
        "0123456789abcdef0123456789abcdef".getBytes(java.nio.charset.StandardCharsets.UTF_8);
    byte[] other =
        "fedcba9876543210fedcba9876543210".getBytes(java.nio.charset.StandardCharsets.UTF_8);
    warmAndClose(builder().snapshotKey(key), 5);
    try (QueryCache<String, String> same = builder().snapshotKey(key).build(loader)) {
      assertThat(same.stats().restoredFromSnapshot()).isEqualTo(5);
    }
    try (QueryCache<String, String> wrongKey = builder().snapshotKey(other).build(loader)) {
      assertThat(wrongKey.stats().restoredFromSnapshot()).isZero();
    }
    deleteRejected();
    warmAndClose(builder(), 5);
    try (QueryCache<String, String> expectsSigned = builder().snapshotKey(key).build(loader)) {
      assertThat(expectsSigned.stats().restoredFromSnapshot()).isZero();
    }
  }

  @Test
  void snapshotOfAnotherCache_isRefused() {
    warmAndClose(builder(), 5);
    try (QueryCache<String, String> other =
        QueryCache.<String, String>builder("users")
            .guard(
                Guard.of(
                    "mysql",
                    GuardConfig.custom().clock(clock).ticker(ClockTicker.of(clock)).build()))
            .freshness(FRESHNESS)
            .clock(clock)
            .ticker(ClockTicker.of(clock))
            .snapshot(dir.resolve("products.snapshot"), Codec.utf8(), Codec.utf8())
            .build(loader)) {
      assertThat(other.stats().restoredFromSnapshot()).isZero();
    }
  }

  @Test
  void valuesTheCodecCannotWrite_areLeftOut_theRestIsWritten() {
    Codec<String> picky =
        new Codec<>() {
          @Override
          public byte[] encode(String value) {
            if (value.startsWith("bad")) {
              throw new IllegalArgumentException("cannot encode " + value);
            }
            return Codec.utf8().encode(value);
          }

          @Override
          public String decode(byte[] bytes) {
            return Codec.utf8().decode(bytes);
          }
        };
    QueryCache.Builder<String, String> b =
        builder().snapshot(dir.resolve("products.snapshot"), Codec.utf8(), picky);
    try (QueryCache<String, String> cache = b.build(loader)) {
      cache.get("good1");
      cache.get("bad1");
      cache.get("good2");
    }
    try (QueryCache<String, String> restarted = b.build(loader)) {
      assertThat(restarted.stats().restoredFromSnapshot()).isEqualTo(2);
      assertThat(restarted.peek("bad1")).isEmpty();
    }
  }

  @Test
  void snapshotFile_isPrivateToItsOwner() throws IOException {
    warmAndClose(builder(), 1);
    assertThat(
            java.nio.file.attribute.PosixFilePermissions.toString(
                Files.getPosixFilePermissions(dir.resolve("products.snapshot"))))
        .isEqualTo("rw-------");
  }

  private static final byte[] KEY = "0123456789abcdef0123456789abcdef".getBytes(UTF_8);

  @Test
  void snapshotKey_shorterThan32Bytes_isRefused_sayingHowToMakeOne() {
    assertThatThrownBy(() -> builder().snapshotKey(new byte[16]))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("at least 32 bytes")
        .hasMessageContaining("was 16 bytes")
        .hasMessageContaining("openssl rand -base64 32");
    assertThatThrownBy(() -> builder().snapshotKey(new byte[31])).hasMessageContaining("was 31");
    builder().snapshotKey(KEY);
  }

  @Test
  void aSnapshotDirectoryItsGroupOrOthersCanWrite_isRefusedAtBuild_withTheFix() throws IOException {
    for (String mode : new String[] {"rwxrwx---", "rwxrwxrwx", "rwx---rwx"}) {
      Path shared = Files.createDirectories(dir.resolve(mode));
      Files.setPosixFilePermissions(shared, PosixFilePermissions.fromString(mode));
      assertThatThrownBy(
              () ->
                  builder()
                      .snapshot(shared.resolve("products.snapshot"), Codec.utf8(), Codec.utf8())
                      .build(loader))
          .as(mode)
          .isInstanceOf(IllegalArgumentException.class)
          .hasMessageContaining("cache 'products'")
          .hasMessageContaining(shared + ": can be written by")
          .hasMessageContaining("fix: chmod 700 " + shared);
    }
  }

  @Test
  void aSnapshotDirectoryOfAnotherUser_orASymlink_isRefusedAtBuild() throws IOException {
    Path theirs = Files.createDirectory(dir.resolve("theirs"));
    Files.setOwner(theirs, nobody());
    assertThatThrownBy(
            () ->
                builder()
                    .snapshot(theirs.resolve("products.snapshot"), Codec.utf8(), Codec.utf8())
                    .build(loader))
        .hasMessageContaining(theirs + ": is owned by nobody")
        .hasMessageContaining("fix: chown root " + theirs);
    Path real = Files.createDirectory(dir.resolve("real"));
    Path link = Files.createSymbolicLink(dir.resolve("link"), real);
    assertThatThrownBy(
            () ->
                builder()
                    .snapshot(link.resolve("products.snapshot"), Codec.utf8(), Codec.utf8())
                    .build(loader))
        .hasMessageContaining(link + ": is a symbolic link")
        .hasMessageContaining("use the real directory");
  }

  @Test
  void anUnsignedSnapshotOthersCouldHaveWritten_isNotServed_andSaysWhy() throws IOException {
    Path file = dir.resolve("products.snapshot");
    loader.failure = new ConnectException("Connection refused");
    for (String how : new String[] {"chmod 666", "chmod 620", "chown nobody", "symlink"}) {
      loader.failure = null;
      warmAndClose(builder(), 5);
      loader.failure = new ConnectException("Connection refused");
      switch (how) {
        case "chmod 666" -> Files.setPosixFilePermissions(file, perms("rw-rw-rw-"));
        case "chmod 620" -> Files.setPosixFilePermissions(file, perms("rw--w----"));
        case "chown nobody" -> Files.setOwner(file, nobody());
        default -> {
          Path elsewhere = Files.createDirectories(dir.resolve("elsewhere")).resolve("planted");
          Files.move(file, elsewhere);
          Files.createSymbolicLink(file, elsewhere);
        }
      }
      String log;
      try (StandardError err = new StandardError()) {
        try (QueryCache<String, String> restarted = builder().build(loader)) {
          assertThat(restarted.stats().restoredFromSnapshot()).as(how).isZero();
          assertThatThrownBy(() -> restarted.get("k1"))
              .as(how + ": nothing from it is served")
              .isInstanceOf(NoUsableValueException.class);
        }
        log = err.text();
      }
      assertThat(log)
          .as(how)
          .contains("snapshot " + file + " refused")
          .contains("checked by a CRC32C only")
          .contains("or sign snapshots with snapshotKey(...)");
      assertThat(rejectedFiles()).as(how + ": moved aside").hasSize(1);
      deleteRejected();
    }
  }

  @Test
  void aSignedSnapshot_isJudgedByItsHmac_notByItsMode() throws IOException {
    warmAndClose(builder().snapshotKey(KEY), 5);
    Files.setPosixFilePermissions(dir.resolve("products.snapshot"), perms("rw-rw-rw-"));
    try (QueryCache<String, String> restarted = builder().snapshotKey(KEY).build(loader)) {
      assertThat(restarted.stats().restoredFromSnapshot()).isEqualTo(5);
    }
    assertThat(mode(dir.resolve("products.snapshot")))
        .as("the last write replaced it with a private file")
        .isEqualTo("rw-------");
  }

  @Test
  void aSignedSnapshotOfAnotherCache_copiedInPlace_isNotServed_evenUnderTheSameKey()
      throws IOException {
    Path users = dir.resolve("users.snapshot");
    warmAndClose(builder("users", users).snapshotKey(KEY), 5);
    Files.copy(users, dir.resolve("products.snapshot"));
    loader.failure = new ConnectException("Connection refused");
    String log;
    try (StandardError err = new StandardError()) {
      try (QueryCache<String, String> products = builder().snapshotKey(KEY).build(loader)) {
        assertThat(products.stats().restoredFromSnapshot()).isZero();
        assertThatThrownBy(() -> products.get("k1")).isInstanceOf(NoUsableValueException.class);
      }
      log = err.text();
    }
    assertThat(log).contains("snapshot of cache 'users', not of 'products'");
    assertThat(rejectedFiles()).hasSize(1);
  }

  @Test
  void aSnapshotWrittenInTheFuture_isNotServed() throws IOException {
    // Loaded at T, written at T + 5 min; then the wall clock is set back to T + 1 min. Each entry
    // alone looks 1 min old and servable, but nothing in the file can be dated any more.
    QueryCache<String, String> cache = builder().snapshotKey(KEY).build(loader);
    cache.get("k1");
    clock.advance(Duration.ofMinutes(5));
    cache.close();
    clock.step(Duration.ofMinutes(-4));
    loader.failure = new ConnectException("Connection refused");
    String log;
    try (StandardError err = new StandardError()) {
      try (QueryCache<String, String> restarted = builder().snapshotKey(KEY).build(loader)) {
        assertThat(restarted.stats().restoredFromSnapshot()).isZero();
        assertThatThrownBy(() -> restarted.get("k1")).isInstanceOf(NoUsableValueException.class);
      }
      log = err.text();
    }
    assertThat(log).contains("written PT4M in the future");
    assertThat(rejectedFiles()).hasSize(1);
  }

  @Test
  void aSnapshotWrittenLongerAgoThanServeStaleFor_isNotRead_andStaysForTheNextWrite()
      throws IOException {
    warmAndClose(builder().snapshotKey(KEY), 5);
    clock.advance(Duration.ofMinutes(11));
    String log;
    try (StandardError err = new StandardError()) {
      try (QueryCache<String, String> restarted = builder().snapshotKey(KEY).build(loader)) {
        assertThat(restarted.stats().restoredFromSnapshot()).isZero();
      }
      log = err.text();
    }
    assertThat(log)
        .contains("not served, starting empty: written PT11M ago, longer than any value");
    assertThat(rejectedFiles()).as("old, not suspect").isEmpty();
  }

  @Test
  void anOlderSignedSnapshotPutBack_withinServeStaleFor_isServed_theResidualTheGuideStates()
      throws IOException {
    Path file = dir.resolve("products.snapshot");
    warmAndClose(builder().snapshotKey(KEY), 1); // k0@1
    Path old = Files.copy(file, dir.resolve("old"));
    clock.advance(Duration.ofMinutes(1));
    try (QueryCache<String, String> cache = builder().snapshotKey(KEY).build(loader)) {
      cache.invalidateAll();
      cache.get("k0"); // k0@2
    }
    Files.move(old, file, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
    loader.failure = new ConnectException("Connection refused");
    try (QueryCache<String, String> restarted = builder().snapshotKey(KEY).build(loader)) {
      assertThat(restarted.get("k0"))
          .as("without state outside the directory, a rollback within the bound is not seen")
          .isEqualTo("k0@1");
    }
  }

  @Test
  void everyDirectoryAndFileTheCacheWrites_isPrivate() throws IOException {
    Path file = dir.resolve("var/lib/app/products.snapshot");
    QueryCache.Builder<String, String> b = builder("products", file);
    try (QueryCache<String, String> cache = b.build(loader)) {
      cache.get("k1");
      cache.writeSnapshot();
      cache.get("k2");
    }
    Files.write(file, new byte[] {1, 2, 3}); // damaged: moved aside at the next build
    try (QueryCache<String, String> restarted = b.build(loader)) {
      restarted.get("k3");
    }
    try (Stream<Path> all = Files.walk(dir.resolve("var"))) {
      for (Path p : (Iterable<Path>) all::iterator) {
        assertThat(mode(p))
            .as(p.toString())
            .isEqualTo(Files.isDirectory(p) ? "rwx------" : "rw-------");
      }
    }
    try (Stream<Path> names = Files.list(file.getParent())) {
      assertThat(names.map(p -> p.getFileName().toString()))
          .as("the snapshot and the damaged one moved aside, no temporary file")
          .hasSize(2)
          .anyMatch(n -> n.startsWith("products.snapshot.rejected-"));
    }
  }

  private QueryCache.Builder<String, String> builder(String name, Path file) {
    return QueryCache.<String, String>builder(name)
        .guard(
            Guard.of(
                "mysql",
                GuardConfig.custom()
                    .clock(clock)
                    .ticker(ClockTicker.of(clock))
                    .maxAttempts(1)
                    .build()))
        .freshness(FRESHNESS)
        .clock(clock)
        .ticker(ClockTicker.of(clock))
        .snapshot(file, Codec.utf8(), Codec.utf8());
  }

  private static java.util.Set<java.nio.file.attribute.PosixFilePermission> perms(String mode) {
    return PosixFilePermissions.fromString(mode);
  }

  private static String mode(Path p) throws IOException {
    return PosixFilePermissions.toString(
        Files.getPosixFilePermissions(p, java.nio.file.LinkOption.NOFOLLOW_LINKS));
  }

  private static UserPrincipal nobody() throws IOException {
    return FileSystems.getDefault().getUserPrincipalLookupService().lookupPrincipalByName("nobody");
  }

  /** What the cache logs (slf4j-simple writes to whatever System.err is at the time). */
  private static final class StandardError implements AutoCloseable {
    private final PrintStream original = System.err;
    private final ByteArrayOutputStream captured = new ByteArrayOutputStream();

    StandardError() {
      System.setErr(new PrintStream(captured, true, UTF_8));
    }

    String text() {
      return captured.toString(UTF_8);
    }

    @Override
    public void close() {
      System.setErr(original);
      System.err.print(text());
    }
  }

  private java.util.List<Path> rejectedFiles() throws IOException {
    try (Stream<Path> files = Files.list(dir)) {
      return files.filter(p -> p.getFileName().toString().contains(".rejected-")).toList();
    }
  }

  private void deleteRejected() throws IOException {
    for (Path p : rejectedFiles()) {
      Files.delete(p);
    }
  }
}
