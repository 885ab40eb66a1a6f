package dev.outlast.testkit;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.LinkedHashSet;
import java.util.Set;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Makes sure no server process and no server directory outlives the test JVM, however it ends.
 *
 * <p>Tests that fail still call {@code close()} through try-with-resources, and a shutdown hook
 * covers a normal exit that skipped it. Neither runs when the JVM is killed (a surefire timeout, an
 * OOM kill), so the first server also starts a watchdog: a small shell loop, outside the JVM, that
 * waits for the JVM to die and then kills every process and deletes every directory listed in a
 * registry file. The registry is rewritten atomically on each change, so the watchdog never reads
 * half of it.
 */
final class Reaper {
  private static final Logger log = LoggerFactory.getLogger(Reaper.class);

  private static final String WATCHDOG_SCRIPT =
      """
      jvm=$1; registry=$2
      while kill -0 "$jvm" 2>/dev/null; do sleep 1; done
      [ -f "$registry" ] || exit 0
      while read -r kind value; do
        [ "$kind" = pid ] && kill -9 "$value" 2>/dev/null
      done < "$registry"
      sleep 1
      while read -r kind value; do
        [ "$kind" = dir ] && rm -rf "$value"
      done < "$registry"
      rm -f "$registry"
      """;

  private static final Set<Long> pids = new LinkedHashSet<>();
  private static final Set<Path> directories = new LinkedHashSet<>();
  private static @Nullable Path registry;

  private Reaper() {}

  /** Creates a fresh temporary directory that is deleted at the latest when the JVM is gone. */
  static Path createDirectory(String prefix) {
    try {
      Path dir = Files.createTempDirectory(prefix);
      synchronized (Reaper.class) {
        directories.add(dir);
        save();
      }
      return dir;
    } catch (IOException e) {
      throw new UncheckedIOException("cannot create a temporary directory for " + prefix, e);
    }
  }

  /** Deletes a directory made by {@link #createDirectory}, with everything in it. */
  static void deleteDirectory(Path dir) {
    deleteRecursively(dir);
    synchronized (Reaper.class) {
      directories.remove(dir);
      save();
    }
  }

  /** Kills this process should the JVM die before it is unwatched. */
  static synchronized void watch(long pid) {
    pids.add(pid);
    save();
  }

  static synchronized void unwatch(long pid) {
    pids.remove(pid);
    save();
  }

  private static void save() {
    try {
      Path file = registry;
      if (file == null) {
        file = startWatchdog();
        registry = file;
      }
      StringBuilder text = new StringBuilder();
      pids.forEach(pid -> text.append("pid ").append(pid).append('\n'));
      directories.forEach(dir -> text.append("dir ").append(dir).append('\n'));
      Path temp = file.resolveSibling(file.getFileName() + ".tmp");
      Files.writeString(temp, text, StandardCharsets.UTF_8);
      Files.move(temp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot write the test kit's process registry", e);
    }
  }

  private static Path startWatchdog() throws IOException {
    long self = ProcessHandle.current().pid();
    Path file =
        Path.of(System.getProperty("java.io.tmpdir"), "outlast-testkit-reaper-" + self + ".txt");
    new ProcessBuilder(
            "/bin/sh",
            "-c",
            WATCHDOG_SCRIPT,
            "outlast-reaper",
            Long.toString(self),
            file.toString())
        .redirectInput(ProcessBuilder.Redirect.from(Path.of("/dev/null").toFile()))
        .redirectOutput(ProcessBuilder.Redirect.DISCARD)
        .redirectError(ProcessBuilder.Redirect.DISCARD)
        .start();
    Runtime.getRuntime().addShutdownHook(new Thread(Reaper::cleanUpNow, "outlast-testkit-reaper"));
    return file;
  }

  /** Shutdown hook: the JVM is exiting normally but servers were left open. */
  private static void cleanUpNow() {
    Set<Long> leftPids;
    Set<Path> leftDirs;
    synchronized (Reaper.class) {
      leftPids = new LinkedHashSet<>(pids);
      leftDirs = new LinkedHashSet<>(directories);
    }
    for (long pid : leftPids) {
      ProcessHandle.of(pid).ifPresent(ProcessTree::kill);
    }
    leftDirs.forEach(Reaper::deleteRecursively);
    Path file = registry;
    if (file != null) {
      try {
        Files.deleteIfExists(file);
      } catch (IOException e) {
        log.debug("cannot delete {}", file, e);
      }
    }
    if (!leftPids.isEmpty()) {
      log.warn("killed {} test server process(es) left open at JVM exit", leftPids.size());
    }
  }

  static void deleteRecursively(Path dir) {
    if (!Files.exists(dir)) {
      return;
    }
    try {
      Files.walkFileTree(
          dir,
          new SimpleFileVisitor<>() {
            @Override
            public FileVisitResult visitFile(Path file, BasicFileAttributes attrs)
                throws IOException {
              Files.deleteIfExists(file);
              return FileVisitResult.CONTINUE;
            }

            @Override
            public FileVisitResult postVisitDirectory(Path d, @Nullable IOException e)
                throws IOException {
              Files.deleteIfExists(d);
              return FileVisitResult.CONTINUE;
            }
          });
    } catch (IOException e) {
      log.warn("could not delete {} completely: {}", dir, e.toString());
    }
  }
}
