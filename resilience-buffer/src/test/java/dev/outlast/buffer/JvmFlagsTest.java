package dev.outlast.buffer;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A service started without the JVM flags Chronicle Queue needs gets, at build time, the exact
 * flags to add, instead of Chronicle's {@code IllegalAccessException} from deep inside; and nothing
 * is written.
 */
class JvmFlagsTest {
  @TempDir Path work;

  @Test
  void withoutTheFlags_buildNamesEveryMissingFlag_andWritesNothing() throws Exception {
    Path dir = work.resolve("q");
    Process p =
        new ProcessBuilder(
                ChildJvm.command(
                    false,
                    List.of("-Xmx128m", "-Dorg.slf4j.simpleLogger.defaultLogLevel=warn"),
                    NoFlagsProbe.class,
                    dir.toString()))
            .redirectErrorStream(true)
            .start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
    assertThat(p.exitValue()).as(out).isZero();
    assertThat(out)
        .contains(
            "REFUSED the spill queue runs on Chronicle Queue, which needs these JVM flags",
            "--add-exports=java.base/jdk.internal.misc=ALL-UNNAMED",
            "--add-exports=java.base/sun.nio.ch=ALL-UNNAMED",
            "--add-opens=java.base/java.lang=ALL-UNNAMED",
            "--add-opens=java.base/java.nio=ALL-UNNAMED",
            "DIRECTORY_EXISTS false")
        .doesNotContain("BUILT", "IllegalAccess");
  }

  @Test
  void withTheFlags_nothingIsMissing() {
    // The test JVM itself runs with the flags the build gives every JVM.
    assertThat(JvmFlags.missing()).isEmpty();
  }

  /** The flags the queue names are the ones the build (and the README) gives: one list, not two. */
  @Test
  void requiredJvmFlags_areTheBuildsFlags() {
    assertThat(java.lang.management.ManagementFactory.getRuntimeMXBean().getInputArguments())
        .containsAll(SpillQueue.requiredJvmFlags());
    assertThat(SpillQueue.requiredJvmFlags()).hasSizeGreaterThanOrEqualTo(10);
  }
}
