package dev.outlast.testkit;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

/** The few facts about the operating-system user the kit needs. */
final class Os {
  /** "nobody" on Debian and most Linux systems. */
  static final int UNPRIVILEGED_ID = 65534;

  private Os() {}

  static boolean isRoot() {
    try {
      return ((Integer) Files.getAttribute(Path.of("/proc/self"), "unix:uid")) == 0;
    } catch (IOException | UnsupportedOperationException e) {
      return "root".equals(System.getProperty("user.name"));
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

  /** Hands a directory tree to the unprivileged user when this JVM is root. */
  static void giveToUnprivileged(Path dir) {
    if (!isRoot()) {
      return;
    }
    try (Stream<Path> all = Files.walk(dir)) {
      for (Path p : (Iterable<Path>) all::iterator) {
        Files.setAttribute(p, "unix:uid", UNPRIVILEGED_ID);
        Files.setAttribute(p, "unix:gid", UNPRIVILEGED_ID);
      }
    } catch (IOException e) {
      throw new UncheckedIOException("cannot hand " + dir + " to uid " + UNPRIVILEGED_ID, e);
    }
  }

  /** Runs a short command to completion, failing with its output if it does not exit 0. */
  static void run(List<String> command, Path workDir, Path log, long timeoutSeconds) {
    run(command, workDir, log, timeoutSeconds, Path.of("/dev/null"));
  }

  /** As {@link #run(List, Path, Path, long)}, with standard input read from a file. */
  static void run(List<String> command, Path workDir, Path log, long timeoutSeconds, Path input) {
    try {
      Process p =
          new ProcessBuilder(command)
              .directory(workDir.toFile())
              .redirectErrorStream(true)
              .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()))
              .redirectInput(input.toFile())
              .start();
      if (!p.waitFor(timeoutSeconds, java.util.concurrent.TimeUnit.SECONDS)) {
        p.destroyForcibly();
        throw new TestServerException(
            "timed out after " + timeoutSeconds + " s: " + String.join(" ", command));
      }
      if (p.exitValue() != 0) {
        throw new TestServerException(
            "exit code " + p.exitValue() + " from: " + String.join(" ", command) + "\nsee " + log);
      }
    } catch (IOException e) {
      throw new TestServerException("cannot run " + command.get(0) + ": " + e.getMessage(), e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new TestServerException("interrupted while running " + command.get(0), e);
    }
  }
}
