package dev.outlast.core.fallback;

import static dev.outlast.core.fallback.EventDatabases.events;
import static dev.outlast.core.fallback.EventDatabases.execute;
import static dev.outlast.core.fallback.EventDatabases.insert;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.outlast.core.Guard;
import dev.outlast.core.GuardConfig;
import dev.outlast.core.jdbc.JdbcEventSource;
import dev.outlast.core.spi.EventSource;
import dev.outlast.core.spi.EventStore;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A wiped PostgreSQL event store rebuilt from an archive directory (history, 1..6,000) and a real
 * MariaDB ledger (everything, 1..8,000), by a child JVM killed with SIGKILL in the middle and then
 * by this one: the store ends equal to the ledger, with no gap and no event twice.
 */
class RebuildTest {
  private static final String STREAM = "account-7";
  private static final int ARCHIVED = 6_000;
  private static final int LEDGER = 8_000;

  private static EventDatabases dbs;

  @BeforeAll
  static void start() throws Exception {
    dbs = EventDatabases.start();
    insert(dbs.ledgerDs, STREAM, 1, LEDGER);
  }

  @AfterAll
  static void stop() {
    if (dbs != null) {
      dbs.close();
    }
  }

  /** The rebuild under test: archive first, ledger last, into the store. */
  static Rebuilder rebuilder(EventStore into, EventSource archive, EventSource ledger, int batch) {
    return Rebuilder.into(into, Guard.of("event-store", GuardConfig.database()))
        .from(
            StitchedReader.over(
                FallbackChain.<EventSource>builder("history")
                    .source("archive", archive, Guard.of("archive", GuardConfig.database()))
                    .source("ledger", ledger, Guard.of("ledger", GuardConfig.database()))
                    .build()))
        .batchSize(batch)
        .build();
  }

  private static long storedRows() throws SQLException {
    try (Connection c = dbs.storeDs.getConnection();
        PreparedStatement ps = c.prepareStatement("SELECT count(*) FROM event WHERE stream = ?")) {
      ps.setString(1, STREAM);
      try (ResultSet rs = ps.executeQuery()) {
        rs.next();
        return rs.getLong(1);
      }
    }
  }

  @Test
  void wipedStore_rebuiltFromArchiveAndLedger_killedInTheMiddle_equalsTheLedger(@TempDir Path dir)
      throws Exception {
    Path archiveDir = dir.resolve("archive");
    DirectoryArchive archive = DirectoryArchive.in(archiveDir);
    for (long from = 1; from <= ARCHIVED; from += 1_000) {
      archive.write(events(STREAM, from, from + 999));
    }
    execute(dbs.storeDs, "TRUNCATE event");

    List<String> command = new ArrayList<>();
    command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    // The test JVM's own temp directory (under target/), not the machine's shared one; and no
    // perf-data file in /tmp/hsperfdata_<user>, which a killed JVM would leave behind.
    command.add("-Djava.io.tmpdir=" + System.getProperty("java.io.tmpdir"));
    command.add("-XX:-UsePerfData");
    command.add("-cp");
    command.add(System.getProperty("java.class.path"));
    command.add(RebuildMain.class.getName());
    command.addAll(
        List.of(
            dbs.store.jdbcUrl(),
            dbs.store.user(),
            dbs.store.password(),
            dbs.ledger.jdbcUrl(),
            dbs.ledger.user(),
            dbs.ledger.password(),
            archiveDir.toString(),
            STREAM,
            "100",
            "15"));
    Path log = dir.resolve("child.log");
    Process child =
        new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile()).start();
    try {
      await()
          .atMost(Duration.ofSeconds(60))
          .pollInterval(Duration.ofMillis(20))
          .until(() -> storedRows() >= 2_500 || !child.isAlive());
      assertThat(child.isAlive())
          .as("the child finished before the kill: %s", Files.readString(log))
          .isTrue();
      child.destroyForcibly(); // SIGKILL
      assertThat(child.waitFor(10, TimeUnit.SECONDS)).isTrue();
    } finally {
      child.destroyForcibly();
    }
    long atKill = storedRows();
    assertThat(atKill).isBetween(2_500L, (long) LEDGER - 1);

    Rebuilder.Report report =
        rebuilder(
                JdbcEventSource.builder(dbs.storeDs).build(),
                archive,
                JdbcEventSource.builder(dbs.ledgerDs).build(),
                1_000)
            .rebuild(STREAM);

    assertThat(report.resumedAfter()).isEqualTo(atKill);
    assertThat(report.storedUpTo()).isEqualTo(LEDGER);
    assertThat(storedRows()).isEqualTo(LEDGER);
    Reconciler.Report check =
        Reconciler.builder()
            .left(
                "event-store", JdbcEventSource.builder(dbs.storeDs).build(), Guard.ofDefaults("s"))
            .right("ledger", JdbcEventSource.builder(dbs.ledgerDs).build(), Guard.ofDefaults("l"))
            .build()
            .compare(STREAM);
    assertThat(check.diverged()).isFalse();
    assertThat(check.verifiedUpTo()).isEqualTo(LEDGER);
    assertThat(check.lag()).isZero();
    // The rest of the history came from the archive, the recent part from the ledger.
    assertThat(report.fromEachSource().get("ledger")).isEqualTo((long) LEDGER - ARCHIVED);
    System.out.printf(
        "rebuild: killed at %d stored events, resumed and finished at %d: %s%n",
        atKill, LEDGER, report.fromEachSource());
  }

  @Test
  void aDamagedArchiveFile_failsTheReadNamingTheFile(@TempDir Path dir) throws Exception {
    DirectoryArchive archive = DirectoryArchive.in(dir);
    archive.write(events(STREAM, 1, 100));
    Path file;
    try (var files = Files.walk(dir)) {
      file = files.filter(p -> p.toString().endsWith(".events")).findFirst().orElseThrow();
    }
    byte[] bytes = Files.readAllBytes(file);
    bytes[40] ^= 1;
    Files.write(file, bytes);
    org.assertj.core.api.Assertions.assertThatThrownBy(() -> archive.read(STREAM, 1, 10))
        .hasMessageContaining("is damaged")
        .hasMessageContaining(file.getFileName().toString());
  }
}
