package dev.outlast.cache;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.outlast.core.Guard;
import dev.outlast.core.spi.Codec;
import dev.outlast.testkit.ManualClock;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The builder: one immutable configuration per build, and clear errors for bad settings. */
class QueryCacheConfigTest {
  private final ManualClock clock = new ManualClock();
  private final ScriptedLoader loader = new ScriptedLoader();

  @Test
  void aBuilderBuildsAgain_andEachCacheKeepsTheSettingsItWasBuiltWith() {
    QueryCache.Builder<String, String> b =
        QueryCache.<String, String>builder("reused")
            .guard(Guard.ofDefaults("mysql"))
            .freshness(Freshness.of(Duration.ofSeconds(10), Duration.ofSeconds(60)))
            .clock(clock)
            .ticker(ClockTicker.of(clock));
    try (QueryCache<String, String> first = b.build(loader)) {
      b.freshness(Freshness.of(Duration.ofSeconds(1), Duration.ofSeconds(60)));
      try (QueryCache<String, String> second = b.build(loader)) {
        first.get("k");
        second.get("k");
        clock.advance(Duration.ofSeconds(5));
        assertThat(first.lookup("k").state())
            .as("built with 10 s fresh, changed on the builder afterwards")
            .isEqualTo(Answer.State.FRESH);
        assertThat(second.lookup("k").state()).isNotEqualTo(Answer.State.FRESH);
      }
    }
  }

  @Test
  void badSettings_areRefusedNamingTheValue() {
    QueryCache.Builder<String, String> b =
        QueryCache.<String, String>builder("bad").guard(Guard.ofDefaults("mysql"));
    assertThatThrownBy(() -> b.loadTimeout(Duration.ZERO))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("loadTimeout must be positive, was PT0S");
    assertThatThrownBy(() -> b.coarseHitClock(true).ticker(() -> 0L).build(loader))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("coarseHitClock follows the system ticker");
  }

  @Test
  void aSnapshotDirectoryEveryUserCanWrite_isRefusedAtBuild(@TempDir Path dir) throws Exception {
    Path shared = Files.createDirectory(dir.resolve("shared"));
    Files.setPosixFilePermissions(shared, PosixFilePermissions.fromString("rwxrwxrwx"));
    QueryCache.Builder<String, String> b =
        QueryCache.<String, String>builder("shared")
            .guard(Guard.ofDefaults("mysql"))
            .snapshot(shared.resolve("s.snapshot"), Codec.utf8(), Codec.utf8());
    assertThatThrownBy(() -> b.build(loader))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("cache 'shared': refusing the snapshot directory " + shared)
        .hasMessageContaining("can be written by its group and every other user")
        .hasMessageContaining("fix: chmod 700 " + shared);
  }

  @Test
  void aMissingSnapshotDirectory_isCreatedPrivate(@TempDir Path dir) throws Exception {
    Path missing = dir.resolve("a").resolve("b");
    try (QueryCache<String, String> cache =
        QueryCache.<String, String>builder("made")
            .guard(Guard.ofDefaults("mysql"))
            .snapshot(missing.resolve("s.snapshot"), Codec.utf8(), Codec.utf8())
            .build(loader)) {
      cache.get("k");
    }
    assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(missing)))
        .isEqualTo("rwx------");
    assertThat(
            PosixFilePermissions.toString(
                Files.getPosixFilePermissions(missing.resolve("s.snapshot"))))
        .isEqualTo("rw-------");
  }
}
