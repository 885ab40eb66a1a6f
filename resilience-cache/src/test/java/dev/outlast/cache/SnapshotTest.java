package dev.outlast.cache;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.outlast.core.Guard;
import dev.outlast.core.GuardConfig;
import dev.outlast.core.spi.Codec;
import dev.outlast.testkit.ManualClock;
import java.io.IOException;
import java.net.ConnectException;
import java.nio.file.Files;
import java.nio.file.Path;
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
