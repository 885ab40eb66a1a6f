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
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Makes sure no server process, shared-memory segment or server directory outlives the test JVM,
 * however it ends.
 *
 * <p>Tests call {@code close()} through try-with-resources, and a shutdown hook covers a normal
 * exit that skipped it. Neither runs when the JVM is killed (a surefire timeout, an OOM kill), so
 * the first server also starts a watchdog: a small shell loop, in a session of its own, that waits
 * for the JVM to die and then kills every listed process, removes every listed System V
 * shared-memory segment and deletes every listed directory.
 *
 * <p>Processes are listed with their start time from {@code /proc/<pid>/stat}; a process is killed
 * only if its start time still matches, so a recycled pid is never hit. The registry lives in a
 * private directory and is replaced atomically on each change, so the watchdog never reads half of
 * it.
 */
final class Reaper {
  private static final Logger log = LoggerFactory.getLogger(Reaper.class);

  private static final String WATCHDOG_SCRIPT =
      """
      jvm=$1; home=$2; registry=$home/registry
      while kill -0 "$jvm" 2>/dev/null; do sleep 1; done
      if [ -f "$registry" ]; then
        while read -r kind value; do
          [ "$kind" = pid ] || continue
          set -- $value; pid=$1; started=$2
          [ -r "/proc/$pid/stat" ] || continue
          read -r stat < "/proc/$pid/stat" || continue
          set -- ${stat##*) }
          shift 19
          [ "$1" = "$started" ] && kill -9 "$pid" 2>/dev/null
        done < "$registry"
        sleep 1
        while read -r kind value; do
          case "$kind" in
            shm) ipcrm -m "$value" 2>/dev/null ;;
            dir) rm -rf "$value" ;;
          esac
        done < "$registry"
      fi
      rm -rf "$home"
      """;

  /** pid to its start time, in clock ticks since boot. */
  private static final Map<Long, String> pids = new LinkedHashMap<>();

  private static final Set<Integer> sharedMemory = new LinkedHashSet<>();
  private static final Set<Path> directories = new LinkedHashSet<>();
  private static @Nullable Path home;

  private Reaper() {}

  /** Creates a fresh temporary directory that is deleted at the latest when the JVM is gone. */
  static Path createDirectory(String prefix) {
    try {
      Path dir = Files.createTempDirectory(serverParent(), prefix);
      synchronized (Reaper.class) {
        directories.add(dir);
        save();
      }
      return dir;
    } catch (IOException e) {
      throw new UncheckedIOException("cannot create a temporary directory for " + prefix, e);
    }
  }

  /**
   * Where server directories go: this JVM's temp directory, unless the JVM runs as root and some
   * directory above it keeps other users out (a clone under {@code /root}, say). PostgreSQL then
   * runs as an unprivileged user that could not reach its data, so the machine's temp directory is
   * used instead; the watchdog deletes what is left there as it does here.
   */
  private static Path serverParent() {
    Path tmp = Path.of(System.getProperty("java.io.tmpdir")).toAbsolutePath();
    if (!Os.isRoot()) {
      return tmp;
    }
    try {
      for (Path up = tmp; up != null; up = up.getParent()) {
        if (!Files.getPosixFilePermissions(up)
            .contains(java.nio.file.attribute.PosixFilePermission.OTHERS_EXECUTE)) {
          return Binaries.systemTempDirectory();
        }
      }
    } catch (IOException e) {
      return Binaries.systemTempDirectory();
    }
    return tmp;
  }

  /** Deletes a directory made by {@link #createDirectory}, with everything in it. */
  static void deleteDirectory(Path dir) {
    boolean gone = deleteRecursively(dir);
    synchronized (Reaper.class) {
      if (gone) {
        directories.remove(dir);
      }
      save();
    }
  }

  /** Kills this process should the JVM die before it is unwatched. */
  static void watch(ProcessHandle process) {
    String started = Os.startTicks(process.pid());
    if (started == null) {
      return; // already gone
    }
    synchronized (Reaper.class) {
      pids.put(process.pid(), started);
      save();
    }
  }

  static synchronized void unwatch(long pid) {
    if (pids.remove(pid) != null) {
      save();
    }
  }

  /** Removes this System V shared-memory segment should the JVM die before it is released. */
  static synchronized void watchSharedMemory(int id) {
    sharedMemory.add(id);
    save();
  }

  static synchronized void unwatchSharedMemory(int id) {
    if (sharedMemory.remove(id)) {
      save();
    }
  }

  private static void save() {
    try {
      Path dir = home;
      if (dir == null) {
        dir = startWatchdog();
        home = dir;
      }
      StringBuilder text = new StringBuilder();
      pids.forEach(
          (pid, started) ->
              text.append("pid ").append(pid).append(' ').append(started).append('\n'));
      sharedMemory.forEach(id -> text.append("shm ").append(id).append('\n'));
      directories.forEach(d -> text.append("dir ").append(d).append('\n'));
      Path temp = dir.resolve("registry.tmp");
      Files.writeString(temp, text, StandardCharsets.UTF_8);
      Files.move(
          temp,
          dir.resolve("registry"),
          StandardCopyOption.ATOMIC_MOVE,
          StandardCopyOption.REPLACE_EXISTING);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot write the test kit's process registry", e);
    }
  }

  private static Path startWatchdog() throws IOException {
    long self = ProcessHandle.current().pid();
    // Private (0700): nobody else can plant files or links where the registry is written.
    Path dir = Files.createTempDirectory("outlast-testkit-reaper-" + self + "-");
    List<String> command = new ArrayList<>();
    // In a session of its own, the watchdog survives a signal sent to the build's process group
    // (Ctrl-C, a CI timeout), which is exactly when it is needed.
    if (Files.isExecutable(Path.of("/usr/bin/setsid"))) {
      command.add("/usr/bin/setsid");
    }
    command.addAll(
        List.of(
            "/bin/sh",
            "-c",
            WATCHDOG_SCRIPT,
            "outlast-reaper",
            Long.toString(self),
            dir.toString()));
    new ProcessBuilder(command)
        .redirectInput(ProcessBuilder.Redirect.from(Path.of("/dev/null").toFile()))
        .redirectOutput(ProcessBuilder.Redirect.DISCARD)
        .redirectError(ProcessBuilder.Redirect.DISCARD)
        .start();
    Runtime.getRuntime().addShutdownHook(new Thread(Reaper::cleanUpNow, "outlast-testkit-reaper"));
    return dir;
  }

  /** Shutdown hook: the JVM is exiting normally but servers were left open. */
  private static void cleanUpNow() {
    Map<Long, String> leftPids;
    Set<Integer> leftSegments;
    Set<Path> leftDirs;
    Path dir;
    synchronized (Reaper.class) {
      leftPids = new LinkedHashMap<>(pids);
      leftSegments = new LinkedHashSet<>(sharedMemory);
      leftDirs = new LinkedHashSet<>(directories);
      dir = home;
    }
    leftPids.forEach(
        (pid, started) -> {
          if (started.equals(Os.startTicks(pid))) {
            ProcessHandle.of(pid).ifPresent(ProcessTree::kill);
          }
        });
    leftSegments.forEach(Os::removeSharedMemory);
    leftDirs.forEach(Reaper::deleteRecursively);
    if (dir != null) {
      deleteRecursively(dir);
    }
    if (!leftPids.isEmpty()) {
      log.warn("killed {} test server process(es) left open at JVM exit", leftPids.size());
    }
  }

  /**
   * Deletes a tree, carrying on past files it cannot delete, and tries once more for what is left
   * (a server that just died may still be removing its own files).
   *
   * @return whether the tree is gone
   */
  static boolean deleteRecursively(Path dir) {
    for (int round = 0; round < 2 && Files.exists(dir); round++) {
      try {
        Files.walkFileTree(
            dir,
            new SimpleFileVisitor<>() {
              @Override
              public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) {
                deleteQuietly(file);
                return FileVisitResult.CONTINUE;
              }

              @Override
              public FileVisitResult visitFileFailed(Path file, IOException e) {
                deleteQuietly(file);
                return FileVisitResult.CONTINUE;
              }

              @Override
              public FileVisitResult postVisitDirectory(Path d, @Nullable IOException e) {
                deleteQuietly(d);
                return FileVisitResult.CONTINUE;
              }
            });
      } catch (IOException e) {
        log.debug("walking {}", dir, e);
      }
    }
    if (Files.exists(dir)) {
      log.warn("could not delete {} completely", dir);
      return false;
    }
    return true;
  }

  private static void deleteQuietly(Path p) {
    try {
      Files.deleteIfExists(p);
    } catch (IOException e) {
      log.debug("cannot delete {}: {}", p, e.toString());
    }
  }
}
