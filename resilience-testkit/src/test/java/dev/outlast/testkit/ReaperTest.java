package dev.outlast.testkit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.sql.Connection;
import java.sql.DriverManager;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** A test JVM that dies by SIGKILL must not leave its servers running or its directories behind. */
class ReaperTest {

  /**
   * Run in a child JVM: starts a server, prints the pids of its whole tree and its directory, then
   * waits to be killed. With "postgres-frozen", it opens a connection (a backend process) and
   * freezes the tree first: a tree frozen when the JVM dies must not stay frozen forever.
   */
  static final class OrphanMaker {
    public static void main(String[] args) throws Exception {
      TestServer server;
      if (args[0].equals("postgres-frozen")) {
        PostgresServer pg = PostgresServer.launch();
        Connection c = DriverManager.getConnection(pg.jdbcUrl(), pg.user(), "");
        c.createStatement().execute("SELECT 1");
        pg.freeze();
        server = pg;
      } else {
        server = MariaDbServer.launch();
      }
      ProcessHandle root = ProcessHandle.of(server.pid()).orElseThrow();
      StringBuilder pids = new StringBuilder().append(root.pid());
      root.descendants().forEach(p -> pids.append(' ').append(p.pid()));
      System.out.println("PIDS " + pids);
      System.out.println("DIR " + server.directory());
      System.out.flush();
      Thread.sleep(Long.MAX_VALUE);
    }
  }

  @Test
  void killedTestJvm_itsServerIsKilledAndItsDirectoryDeleted() throws Exception {
    assertOrphansReaped("mariadb");
  }

  @Test
  void killedTestJvm_aFrozenPostgresTreeIsKilled_backendsIncluded() throws Exception {
    assertOrphansReaped("postgres-frozen");
  }

  private static void assertOrphansReaped(String kind) throws Exception {
    // The killed JVM gets a temp directory of its own, inside this one's: its servers' directories
    // and its watchdog's are made there, and that is where they must be gone from.
    // Others may pass through it (not list it): as root, PostgreSQL runs as nobody.
    Path childTmp =
        Files.createTempDirectory(
            "reaper-test-child-",
            PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx--x--x")));
    try {
      assertOrphansReaped(kind, childTmp);
    } finally {
      Reaper.deleteRecursively(childTmp);
    }
  }

  private static void assertOrphansReaped(String kind, Path childTmp) throws Exception {
    Leftovers before = Leftovers.take(childTmp);
    List<String> command = new ArrayList<>();
    command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    command.addAll(JavaChild.inheritedFlags());
    command.add("-Djava.io.tmpdir=" + childTmp);
    // A JVM killed with SIGKILL would leave its perf-data file in /tmp/hsperfdata_<user>.
    command.add("-XX:-UsePerfData");
    command.add("-cp");
    command.add(System.getProperty("java.class.path"));
    command.add(OrphanMaker.class.getName());
    command.add(kind);
    Process child = new ProcessBuilder(command).redirectErrorStream(true).start();
    List<Long> pids = new ArrayList<>();
    Path dir = null;
    StringBuilder output = new StringBuilder();
    try (BufferedReader out =
        new BufferedReader(new InputStreamReader(child.getInputStream(), StandardCharsets.UTF_8))) {
      while (dir == null) {
        String line = out.readLine();
        if (line == null) {
          break;
        }
        output.append(line).append('\n');
        if (line.startsWith("PIDS ")) {
          for (String pid : line.substring(5).split(" ", -1)) {
            pids.add(Long.parseLong(pid));
          }
        } else if (line.startsWith("DIR ")) {
          dir = Path.of(line.substring(4));
        }
      }
      assertThat(pids).as("child printed the server's pids; it printed:%n%s", output).isNotEmpty();
      assertThat(dir).isNotNull();
      child.destroyForcibly().waitFor(); // SIGKILL: no shutdown hook runs
    } finally {
      child.destroyForcibly();
    }
    Path orphanDir = dir;
    await()
        .atMost(Duration.ofSeconds(20))
        .untilAsserted(
            () -> {
              for (long pid : pids) {
                assertThat(ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false))
                    .as("process %d of the killed JVM's server", pid)
                    .isFalse();
              }
              assertThat(Files.exists(orphanDir)).as("directory of the killed JVM").isFalse();
              // Its watchdog removes its own directory last.
              before.assertNothingLeftBy(pids);
            });
  }
}
