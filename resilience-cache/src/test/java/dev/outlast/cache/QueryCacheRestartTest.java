package dev.outlast.cache;

import static org.assertj.core.api.Assertions.assertThat;

import dev.outlast.cache.jdbc.SqlQuery;
import dev.outlast.core.Guard;
import dev.outlast.testkit.MariaDbServer;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The seed's failure: "after a pod restart when cached queries are cleared". A cache warmed against
 * a real MariaDB writes its snapshot; MariaDB is killed; a new JVM starts the cache again.
 */
class QueryCacheRestartTest {
  private static final int KEYS = 50;

  @TempDir Path dir;

  @Test
  void
      restartInANewJvm_whileTheDatabaseIsDown_servesTheSnapshot_withOriginalAges_thenTheClearError()
          throws Exception {
    Path snapshot = dir.resolve("products.snapshot");
    int port;
    long warmedAt;
    try (MariaDbServer db = MariaDbServer.builder().database("shop").start()) {
      port = db.port();
      ProductDatabase.create(db.jdbcUrl(), KEYS);
      Clock clock = Clock.systemUTC();
      Guard guard = Guard.of("mysql", ProductDatabase.guardConfig(clock));
      try (QueryCache<SqlQuery, Optional<Product>> cache =
          ProductDatabase.cache(
              ProductDatabase.dataSource(db.host(), db.port(), "shop"), guard, clock, snapshot)) {
        for (long id = 1; id <= KEYS; id++) {
          assertThat(cache.lookup(ProductDatabase.byId(id)).state()).isEqualTo(Answer.State.LOADED);
        }
        warmedAt = System.currentTimeMillis();
      } // close writes the snapshot
      db.kill();

      // Five minutes later (by the child's clock): within serveStaleFor (10 min).
      long offset = Duration.ofMinutes(5).toMillis();
      List<String> out = runRestartedPod(snapshot, port, offset);
      assertThat(out).contains("RESTORED " + KEYS);
      long minAge = offset + (System.currentTimeMillis() - warmedAt) - 60_000;
      for (long id = 1; id <= KEYS; id++) {
        String line = find(out, "KEY " + id + " ");
        String[] f = line.split(" ", 5);
        assertThat(f[2]).as(line).isEqualTo("STALE");
        assertThat(Long.parseLong(f[3]))
            .as("%s: the age counts from the original load, not from the restart", line)
            .isBetween(minAge, offset + 120_000);
        assertThat(f[4]).isEqualTo("product " + id);
      }

      // Eleven minutes later: past serveStaleFor, nothing may be served.
      List<String> late = runRestartedPod(snapshot, port, Duration.ofMinutes(11).toMillis());
      assertThat(late).contains("RESTORED 0");
      String line = find(late, "KEY 1 ");
      assertThat(line)
          .contains("ERROR products: no value for key")
          .contains("mysql")
          .contains("Connection refused");
    }
  }

  private static String find(List<String> lines, String prefix) {
    return lines.stream()
        .filter(l -> l.startsWith(prefix))
        .findFirst()
        .orElseThrow(() -> new AssertionError("no line " + prefix + " in " + lines));
  }

  private static List<String> runRestartedPod(Path snapshot, int port, long clockOffsetMillis)
      throws IOException, InterruptedException {
    List<String> command = new ArrayList<>();
    command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    // The test JVM's own temp directory (under target/), not the machine's shared one; and no
    // perf-data file in /tmp/hsperfdata_<user>, which a killed JVM would leave behind.
    command.add("-Djava.io.tmpdir=" + System.getProperty("java.io.tmpdir"));
    command.add("-XX:-UsePerfData");
    for (String arg : ManagementFactory.getRuntimeMXBean().getInputArguments()) {
      if (arg.startsWith("--add-") || arg.startsWith("-Dchronicle")) {
        command.add(arg);
      }
    }
    command.add("-cp");
    command.add(System.getProperty("java.class.path"));
    command.add(RestartedCacheMain.class.getName());
    command.add(snapshot.toString());
    command.add(Integer.toString(port));
    command.add(Integer.toString(KEYS));
    command.add(Long.toString(clockOffsetMillis));
    Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
    String output = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
    assertThat(p.exitValue()).as(output).isZero();
    return output.lines().toList();
  }
}
