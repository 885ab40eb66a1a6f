package dev.outlast.testkit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** A test JVM that dies by SIGKILL must not leave its servers running or its directories behind. */
class ReaperTest {

  /**
   * Run in a child JVM: starts a MariaDB, prints its pid and directory, then waits to be killed.
   */
  static final class OrphanMaker {
    public static void main(String[] args) throws Exception {
      MariaDbServer db = MariaDbServer.launch();
      System.out.println("PID " + db.pid());
      System.out.println("DIR " + db.directory());
      System.out.flush();
      Thread.sleep(Long.MAX_VALUE);
    }
  }

  @Test
  void killedTestJvm_itsServerIsKilledAndItsDirectoryDeleted() throws Exception {
    List<String> command = new ArrayList<>();
    command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    command.addAll(JavaChild.inheritedFlags());
    command.add("-cp");
    command.add(System.getProperty("java.class.path"));
    command.add(OrphanMaker.class.getName());
    Process child = new ProcessBuilder(command).redirectErrorStream(true).start();
    long serverPid = -1;
    Path dir = null;
    try (BufferedReader out =
        new BufferedReader(new InputStreamReader(child.getInputStream(), StandardCharsets.UTF_8))) {
      while (dir == null) {
        String line = out.readLine();
        if (line == null) {
          break;
        }
        if (line.startsWith("PID ")) {
          serverPid = Long.parseLong(line.substring(4));
        } else if (line.startsWith("DIR ")) {
          dir = Path.of(line.substring(4));
        }
      }
      assertThat(serverPid).as("child printed the server pid").isPositive();
      assertThat(dir).isNotNull();
      assertThat(ProcessHandle.of(serverPid).map(ProcessHandle::isAlive)).contains(true);

      child.destroyForcibly().waitFor(); // SIGKILL: no shutdown hook runs
    } finally {
      child.destroyForcibly();
    }
    long orphan = serverPid;
    Path orphanDir = dir;
    await()
        .atMost(Duration.ofSeconds(15))
        .untilAsserted(
            () -> {
              assertThat(ProcessHandle.of(orphan).map(ProcessHandle::isAlive).orElse(false))
                  .as("server process of the killed JVM")
                  .isFalse();
              assertThat(Files.exists(orphanDir)).as("directory of the killed JVM").isFalse();
            });
  }
}
