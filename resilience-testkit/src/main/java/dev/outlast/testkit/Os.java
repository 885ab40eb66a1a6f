package dev.outlast.testkit;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.stream.Stream;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** The few facts about the operating system the kit needs, and short helper commands. */
final class Os {
  /** "nobody" on Debian and most Linux systems. */
  static final int UNPRIVILEGED_ID = 65534;

  private static final Logger log = LoggerFactory.getLogger(Os.class);

  private Os() {}

  /** The user id this JVM runs as. */
  static int uid() {
    try {
      return (Integer) Files.getAttribute(Path.of("/proc/self"), "unix:uid");
    } catch (IOException | UnsupportedOperationException e) {
      return "root".equals(System.getProperty("user.name")) ? 0 : -1;
    }
  }

  static boolean isRoot() {
    return uid() == 0;
  }

  /**
   * A process's start time in clock ticks since boot (field 22 of {@code /proc/<pid>/stat}): with
   * the pid, it names one process for good, even after the pid is recycled.
   *
   * @return the start time, or null if the process is gone
   */
  static @Nullable String startTicks(long pid) {
    try {
      String stat = Files.readString(Path.of("/proc/" + pid + "/stat"), StandardCharsets.UTF_8);
      // The command name (field 2) may hold spaces; it ends at the last ')'.
      String[] fields = stat.substring(stat.lastIndexOf(')') + 2).trim().split(" ", -1);
      return fields.length > 19 ? fields[19] : null;
    } catch (IOException | RuntimeException e) {
      return null;
    }
  }

  /**
   * The System V shared-memory segments a process created (the creator column of {@code
   * /proc/sysvipc/shm}).
   */
  static List<Integer> sharedMemoryCreatedBy(long pid) {
    List<Integer> ids = new ArrayList<>();
    try {
      List<String> lines = Files.readAllLines(Path.of("/proc/sysvipc/shm"), StandardCharsets.UTF_8);
      for (String line : lines.subList(Math.min(1, lines.size()), lines.size())) {
        // key shmid perms size cpid lpid nattch ...
        String[] f = line.trim().split("\\s+", -1);
        if (f.length > 6 && f[4].equals(Long.toString(pid))) {
          ids.add(Integer.parseInt(f[1]));
        }
      }
    } catch (IOException | RuntimeException e) {
      log.debug("cannot read /proc/sysvipc/shm", e);
    }
    return ids;
  }

  /** Removes a System V shared-memory segment; a segment already gone is fine. */
  static void removeSharedMemory(int id) {
    try {
      Process p =
          new ProcessBuilder("ipcrm", "-m", Integer.toString(id))
              .redirectErrorStream(true)
              .redirectOutput(ProcessBuilder.Redirect.DISCARD)
              .start();
      ProcessTree.waitFor(p, Duration.ofSeconds(10));
    } catch (IOException e) {
      log.warn("cannot run ipcrm to remove shared memory segment {}: {}", id, e.toString());
    }
  }

  /**
   * The command run as an unprivileged user when this JVM is root, for servers that refuse to run
   * as root (PostgreSQL). {@code setpriv} replaces itself with the command, so the process id stays
   * the one the kit signals.
   */
  static List<String> unprivileged(List<String> command) {
    if (!isRoot()) {
      return command;
    }
    List<String> out = new ArrayList<>();
    out.add("setpriv");
    out.add("--reuid=" + UNPRIVILEGED_ID);
    out.add("--regid=" + UNPRIVILEGED_ID);
    out.add("--clear-groups");
    out.add("--");
    out.addAll(command);
    return out;
  }

  /**
   * Hands a directory tree to the unprivileged user when this JVM is root, after checking that the
   * user can reach it at all (every directory above it must let others through).
   */
  static void giveToUnprivileged(Path dir) {
    if (!isRoot()) {
      return;
    }
    try {
      for (Path up = dir.toAbsolutePath().getParent(); up != null; up = up.getParent()) {
        Set<PosixFilePermission> perms = Files.getPosixFilePermissions(up);
        if (!perms.contains(PosixFilePermission.OTHERS_EXECUTE)) {
          throw new TestServerException(
              "PostgreSQL runs as uid "
                  + UNPRIVILEGED_ID
                  + " (it refuses root), which cannot enter "
                  + up
                  + ": run the build from a directory every user can traverse, or point"
                  + " java.io.tmpdir at one, such as /tmp");
        }
      }
      try (Stream<Path> all = Files.walk(dir)) {
        for (Path p : (Iterable<Path>) all::iterator) {
          Files.setAttribute(p, "unix:uid", UNPRIVILEGED_ID);
          Files.setAttribute(p, "unix:gid", UNPRIVILEGED_ID);
        }
      }
    } catch (IOException e) {
      throw new UncheckedIOException("cannot hand " + dir + " to uid " + UNPRIVILEGED_ID, e);
    }
  }

  /**
   * Runs a short command to completion, failing with the end of its output if it does not exit 0.
   * The builder brings the command, working directory and environment; its output is appended to
   * the log.
   */
  static void run(ProcessBuilder builder, Path log, Duration timeout) {
    run(builder, log, timeout, Path.of("/dev/null"));
  }

  /** As {@link #run(ProcessBuilder, Path, Duration)}, with standard input read from a file. */
  static void run(ProcessBuilder builder, Path log, Duration timeout, Path input) {
    List<String> command = builder.command();
    Process p;
    try {
      p =
          builder
              .redirectErrorStream(true)
              .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()))
              .redirectInput(input.toFile())
              .start();
    } catch (IOException e) {
      throw new TestServerException("cannot run " + command.get(0) + ": " + e.getMessage(), e);
    }
    if (!ProcessTree.waitFor(p, timeout)) {
      // Installers start children of their own; take the whole tree down.
      ProcessTree.kill(p.toHandle());
      throw new TestServerException(
          "timed out after " + timeout + ": " + String.join(" ", command) + "\n" + tail(log, 30));
    }
    if (p.exitValue() != 0) {
      throw new TestServerException(
          "exit code "
              + p.exitValue()
              + " from: "
              + String.join(" ", command)
              + "\n"
              + tail(log, 30));
    }
  }

  /** The last lines of a text file, decoded leniently, for failure messages. */
  static String tail(Path file, int lines) {
    try {
      if (!Files.exists(file)) {
        return "(no log: " + file + ")";
      }
      List<String> all =
          new String(Files.readAllBytes(file), StandardCharsets.UTF_8).lines().toList();
      List<String> last = all.subList(Math.max(0, all.size() - lines), all.size());
      return "---- last " + last.size() + " lines of " + file + " ----\n" + String.join("\n", last);
    } catch (IOException | UncheckedIOException e) {
      return "(log unreadable: " + e + ")";
    }
  }
}
