package dev.outlast.testkit;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.stream.Stream;

/**
 * What servers could leave outside their own directory: files in the temp directory (native
 * libraries unpacked by child JVMs, server directories), POSIX shared memory in /dev/shm, and
 * System V shared-memory segments. A test takes a picture before and checks nothing new is there
 * after.
 */
final class Leftovers {
  private final Set<String> tmp;
  private final Set<String> shm;
  private final Set<String> sysv;

  private Leftovers(Set<String> tmp, Set<String> shm, Set<String> sysv) {
    this.tmp = tmp;
    this.shm = shm;
    this.sysv = sysv;
  }

  static Leftovers take() {
    return new Leftovers(
        names(Path.of(System.getProperty("java.io.tmpdir"))),
        names(Path.of("/dev/shm")),
        segments());
  }

  void assertNothingNewSince() {
    Leftovers now = take();
    assertThat(difference(now.tmp, tmp))
        .as("new entries in the temp directory")
        .filteredOn(n -> !n.startsWith("outlast-testkit-"))
        .isEmpty();
    assertThat(difference(now.shm, shm)).as("new entries in /dev/shm").isEmpty();
    assertThat(difference(now.sysv, sysv)).as("new System V shared-memory segments").isEmpty();
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

  private static Set<String> segments() {
    try {
      List<String> lines = Files.readAllLines(Path.of("/proc/sysvipc/shm"), StandardCharsets.UTF_8);
      Set<String> ids = new HashSet<>();
      for (String line : lines.subList(1, lines.size())) {
        ids.add(line.trim().split("\\s+", -1)[1]);
      }
      return ids;
    } catch (IOException e) {
      return Set.of();
    }
  }
}
