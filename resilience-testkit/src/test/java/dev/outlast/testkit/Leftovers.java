package dev.outlast.testkit;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Stream;

/**
 * What servers could leave outside their own directory: entries in the temp directory (server
 * directories, the watchdog's, native libraries unpacked by child JVMs), POSIX shared memory in
 * /dev/shm, and System V shared-memory segments. A test takes a picture before and checks that its
 * servers added nothing after.
 *
 * <p>Only what the test's own processes can have made counts, so that nothing else on the machine
 * (a second build, a system database) can fail a test:
 *
 * <ul>
 *   <li>The temp directory is the test JVM's own: the build gives each test JVM one under {@code
 *       target/} (see the parent pom), and nothing else writes there. The one entry allowed to
 *       appear is this JVM's watchdog directory, made at its first server start and kept until it
 *       exits.
 *   <li>/dev/shm records no creator, so only entries that can be ours count: named as PostgreSQL
 *       names its POSIX segments and owned by the user the kit runs PostgreSQL as. The kit's
 *       PostgreSQL is told to use none (this catches that setting going missing); another build's
 *       servers have the same setting; a system PostgreSQL runs as another user. MariaDB, Pulsar
 *       and OpenSearch make nothing there.
 *   <li>System V segments name their creator's pid: only those created by the server processes the
 *       test names count.
 * </ul>
 */
final class Leftovers {
  private static final String POSTGRES_POSIX_SEGMENT = "PostgreSQL.";

  private final Path tempDirectory;
  private final Set<String> tmp;
  private final Set<String> shm;
  private final Map<String, Long> sysv;

  private Leftovers(Path tempDirectory, Set<String> tmp, Set<String> shm, Map<String, Long> sysv) {
    this.tempDirectory = tempDirectory;
    this.tmp = tmp;
    this.shm = shm;
    this.sysv = sysv;
  }

  /** A picture of this test JVM's temp directory and of the machine's shared memory. */
  static Leftovers take() {
    return take(Path.of(System.getProperty("java.io.tmpdir")));
  }

  /** As {@link #take()}, for the temp directory of another JVM (a child the test kills). */
  static Leftovers take(Path tempDirectory) {
    return new Leftovers(tempDirectory, names(tempDirectory), postgresShm(), segments());
  }

  /**
   * Asserts that nothing new is in the temp directory, that no PostgreSQL segment appeared in
   * /dev/shm, and that none of the given processes left a System V segment.
   *
   * @param serverPids every process of the test's servers that may have created a System V segment
   *     (for PostgreSQL, the postmaster of each start)
   */
  void assertNothingLeftBy(Collection<Long> serverPids) {
    Leftovers now = take(tempDirectory);
    String ownWatchdog = "outlast-testkit-reaper-" + ProcessHandle.current().pid() + "-";
    assertThat(difference(now.tmp, tmp))
        .as("new entries in the temp directory %s", tempDirectory)
        .filteredOn(n -> !n.startsWith(ownWatchdog))
        .isEmpty();
    assertThat(difference(now.shm, shm)).as("new PostgreSQL segments in /dev/shm").isEmpty();
    Set<String> newSegments = difference(now.sysv.keySet(), sysv.keySet());
    assertThat(newSegments)
        .as(
            "new System V shared-memory segments of the test's servers (id to creator pid: %s)",
            now.sysv)
        .filteredOn(id -> serverPids.contains(now.sysv.get(id)))
        .isEmpty();
  }

  private static Set<String> difference(Set<String> after, Set<String> before) {
    Set<String> added = new HashSet<>(after);
    added.removeAll(before);
    return added;
  }

  private static Set<String> names(Path dir) {
    try (Stream<Path> list = Files.list(dir)) {
      return new HashSet<>(list.map(p -> p.getFileName().toString()).toList());
    } catch (IOException e) {
      return Set.of();
    }
  }

  private static Set<String> postgresShm() {
    int postgresUser = Os.isRoot() ? Os.UNPRIVILEGED_ID : Os.uid();
    Set<String> ours = new HashSet<>();
    try (Stream<Path> list = Files.list(Path.of("/dev/shm"))) {
      for (Path p : (Iterable<Path>) list::iterator) {
        if (p.getFileName().toString().startsWith(POSTGRES_POSIX_SEGMENT)
            && owner(p) == postgresUser) {
          ours.add(p.getFileName().toString());
        }
      }
    } catch (IOException e) {
      return Set.of();
    }
    return ours;
  }

  private static int owner(Path p) {
    try {
      return (Integer) Files.getAttribute(p, "unix:uid");
    } catch (IOException e) {
      return -1; // gone meanwhile
    }
  }

  /** System V segment id to the pid of its creator. */
  private static Map<String, Long> segments() {
    try {
      List<String> lines = Files.readAllLines(Path.of("/proc/sysvipc/shm"), StandardCharsets.UTF_8);
      Map<String, Long> ids = new HashMap<>();
      for (String line : lines.subList(Math.min(1, lines.size()), lines.size())) {
        // key shmid perms size cpid lpid nattch ...
        String[] f = line.trim().split("\\s+", -1);
        if (f.length > 4) {
          ids.put(f[1], Long.parseLong(f[4]));
        }
      }
      return ids;
    } catch (IOException e) {
      return Map.of();
    }
  }
}
