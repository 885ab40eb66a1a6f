package dev.outlast.buffer;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A spill queue on a file system that really fills up: a 24 MiB tmpfs, mounted in a private mount
 * namespace (so it vanishes with the process) for a child JVM. Chronicle Queue writes through
 * memory-mapped sparse files, and a write into a page the file system cannot back kills the JVM
 * with SIGBUS, so every scenario runs in its own process and a crash shows as its exit status.
 * Mounting needs root (or CAP_SYS_ADMIN), as on the CI machine; without it this test fails and says
 * so.
 */
class FullDiskTest {
  private static final int FS_MIB = 24;

  /** On disk an event of 256 bytes takes its record header and Chronicle's length word too. */
  private static final long RECORD_BYTES = 256 + RecordFormat.OVERHEAD + 8;

  @TempDir Path work;

  @Test
  void failPolicy_fillsTheDiskWithoutACrash_refusesClearly_thenDrainsAndResumes() throws Exception {
    Map<String, String> r = run("fail");
    long accepted = number(r, "FULL", 0);
    // Most of the file system went to events before the queue refused one.
    assertThat(accepted).isGreaterThan((FS_MIB << 20) / RECORD_BYTES / 2);
    assertThat(r.get("FULL")).contains("bytes free", "It was not written");
    assertThat(r.get("DRAINED")).isEqualTo(accepted + " none");
    assertThat(number(r, "RESUMED", 0)).isEqualTo(10_000);
    assertThat(r.get("RESUMED")).endsWith((accepted + 10_000) + " none");
    assertThat(r.get("LOST")).isEqualTo("0");
  }

  @Test
  void blockPolicy_waitsItsMaximum_thenFails_andAWaitingPublishGoesThroughWhenRoomReturns()
      throws Exception {
    Map<String, String> r = run("block");
    long accepted = number(r, "TIMEOUT", 0);
    assertThat(accepted).isGreaterThan((FS_MIB << 20) / RECORD_BYTES / 2);
    assertThat(number(r, "TIMEOUT", 1)).as("waited, ms").isBetween(1_900L, 6_000L);
    assertThat(r.get("TIMEOUT")).contains("full policy: block");
    assertThat(r.get("STILL_WAITING")).isEqualTo("true");
    assertThat(number(r, "RELEASED", 0)).as("the waiting publish, ms").isLessThan(2_000);
    assertThat(r.get("DRAINED")).isEqualTo((accepted + 1) + " none");
  }

  @Test
  void anotherFileTakingTheSpace_isRefusedNotCrashed_drainsWhileFull_andResumes() throws Exception {
    anotherFileTakesTheSpace("filler");
  }

  @Test
  void anotherFileTakingTheSpace_withoutFallocate_isRefusedNotCrashed() throws Exception {
    anotherFileTakesTheSpace("filler-zeros");
  }

  private void anotherFileTakesTheSpace(String scenario) throws Exception {
    Map<String, String> r = run(scenario);
    assertThat(number(r, "FILLED", 1)).as("free after the filler").isLessThan(64 << 10);
    // Refused at once: the space ahead of the writer was allocated, or is re-checked within a MiB.
    assertThat(number(r, "REFUSED", 0)).isLessThan((1L << 20) / RECORD_BYTES);
    assertThat(r.get("REFUSED")).contains("bytes free", "It was not written");
    long expected = 5_000 + number(r, "REFUSED", 0);
    assertThat(r.get("DRAINED")).isEqualTo(expected + " none");
    assertThat(r.get("RESUMED")).isEqualTo((expected + 5_000) + " none");
    assertThat(r.get("LOST")).isEqualTo("0");
  }

  /**
   * Issue 14: a disk another process filled while the queue wrote made a publish fail with the
   * JVM's {@code InternalError} (a write into space the file system could not back), then every
   * later one with Chronicle's {@code NullPointerException}, also after the space was back.
   */
  @Test
  void anotherProcessFillingAndFreeingTheDisk_whilePublishing_refusesThenResumes_losesNothing()
      throws Exception {
    int rounds = 12;
    Map<String, String> r = run("race", 12, String.valueOf(rounds));
    System.out.printf(
        "issue 14 race: rounds (full) %s, accepted %s, refused %s, worst resume %s ms,"
            + " errors %s, lost (unacknowledged, reported) %s%n",
        r.get("ROUNDS"),
        r.get("ACCEPTED"),
        r.get("REFUSED"),
        r.get("RESUME_MS"),
        r.get("ERRORS"),
        r.get("LOST") + " " + r.get("MISSING"));
    assertThat(r.get("ERRORS"))
        .as("publishes that ended otherwise than acknowledged or full")
        .startsWith("0 ");
    assertThat(number(r, "ROUNDS", 1))
        .as("rounds in which the disk was full")
        .isGreaterThanOrEqualTo(10);
    assertThat(number(r, "ACCEPTED", 0)).isPositive();
    assertThat(number(r, "REFUSED", 0)).isPositive();
    assertThat(number(r, "RESUME_MS", 0)).as("worst time to resume, ms").isLessThan(1_000);
    assertThat(r.get("LOST")).isEqualTo("0 0");
  }

  @Test
  void aDirectDeliveryFailingOnAFullDisk_keepsWhatTheSinkWasHanded_inOrder_untilThereIsRoom()
      throws Exception {
    Map<String, String> r = run("direct");
    assertThat(number(r, "FILLED", 1)).as("free after the filler").isLessThan(1_200 << 10);
    // Some of the 40 the sink was handed were journaled in what the reserve allows, not all.
    assertThat(number(r, "STRANDED", 0)).as("events waiting for room").isBetween(1L, 39L);
    assertThat(r.get("DRAINED_EARLY"))
        .as("awaitDrained while some wait in memory")
        .isEqualTo("false");
    assertThat(r.get("STRANDED")).contains("wait for room in the journal");
    assertThat(r).doesNotContainKey("FAILED");
    // All 41 acknowledged, drained, delivered in order, and resent from where the send failed.
    assertThat(r.get("DRAINED")).isEqualTo("41 true true true");
    assertThat(r.get("LOST")).isEqualTo("0");
  }

  private static long number(Map<String, String> r, String key, int field) {
    String value = r.get(key);
    assertThat(value).as("the %s line", key).isNotNull();
    return Long.parseLong(java.util.Objects.requireNonNull(value).split(" ", -1)[field]);
  }

  /** Runs a scenario of {@link DiskFullProbe} on a fresh tmpfs; returns its "KEY rest" lines. */
  private Map<String, String> run(String scenario) throws Exception {
    return run(scenario, FS_MIB);
  }

  private Map<String, String> run(String scenario, int fsMib, String... more) throws Exception {
    Path mount = Files.createDirectory(work.resolve("fs-" + scenario));
    List<String> command = new ArrayList<>();
    command.add("unshare");
    command.add("--mount");
    command.add("sh");
    command.add("-c");
    // The mount is private to the new namespace; the JVM replaces the shell.
    command.add(
        "mount -t tmpfs -o size=" + fsMib + "m,mode=0700 outlast-test \"$0\" && exec \"$@\"");
    command.add(mount.toString());
    command.addAll(
        ChildJvm.command(
            true,
            List.of(
                "-Xmx256m",
                "-XX:ErrorFile=" + work.resolve("hs_err_" + scenario + ".log"),
                "-Dorg.slf4j.simpleLogger.defaultLogLevel=warn"),
            DiskFullProbe.class,
            java.util.stream.Stream.concat(
                    java.util.stream.Stream.of(scenario, mount.toString()),
                    java.util.Arrays.stream(more))
                .toArray(String[]::new)));
    Path stdout = work.resolve(scenario + ".out");
    Path stderr = work.resolve(scenario + ".err");
    Process p =
        new ProcessBuilder(command)
            .redirectOutput(stdout.toFile())
            .redirectError(stderr.toFile())
            .start();
    boolean exited = p.waitFor(4, TimeUnit.MINUTES);
    if (!exited) {
      p.destroyForcibly().waitFor(30, TimeUnit.SECONDS);
    }
    String out = Files.readString(stdout, StandardCharsets.UTF_8);
    String err = tail(stderr);
    assertThat(exited)
        .as("the %s probe finished; stdout:%n%s%nstderr:%n%s", scenario, out, err)
        .isTrue();
    assertThat(p.exitValue())
        .as(
            "exit status of the %s probe (134 = SIGABRT, 135 = SIGBUS); stdout:%n%s%nstderr:%n%s",
            scenario, out, err)
        .isZero();
    Map<String, String> lines = new HashMap<>();
    for (String line : out.split("\n", -1)) {
      int space = line.indexOf(' ');
      lines.put(
          space < 0 ? line : line.substring(0, space), space < 0 ? "" : line.substring(space + 1));
    }
    assertThat(lines)
        .as("stdout of the %s probe:%n%s%nstderr:%n%s", scenario, out, err)
        .containsKey("DONE");
    return lines;
  }

  private static String tail(Path file) throws IOException {
    String s = Files.readString(file, StandardCharsets.UTF_8);
    return s.length() <= 8_000 ? s : s.substring(s.length() - 8_000);
  }
}
