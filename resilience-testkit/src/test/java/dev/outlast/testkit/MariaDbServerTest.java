package dev.outlast.testkit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.List;
import org.junit.jupiter.api.Test;

class MariaDbServerTest extends TestServerContract<MariaDbServer> {

  @Override
  MariaDbServer launch() {
    return MariaDbServer.builder().database("kit").start();
  }

  private static Connection connect(MariaDbServer db) throws SQLException {
    long ms = CLIENT_TIMEOUT.toMillis();
    return DriverManager.getConnection(
        db.jdbcUrl() + "?connectTimeout=" + ms + "&socketTimeout=" + ms, db.user(), db.password());
  }

  @Override
  AutoCloseable openIdleClient(MariaDbServer db) throws SQLException {
    Connection c = connect(db);
    c.createStatement().execute("SELECT 1");
    return c;
  }

  @Override
  void write(MariaDbServer db, String key, String value) throws SQLException {
    try (Connection c = connect(db)) {
      c.createStatement()
          .execute("CREATE TABLE IF NOT EXISTS kv (k VARCHAR(64) PRIMARY KEY, v VARCHAR(64))");
      try (PreparedStatement ps = c.prepareStatement("REPLACE INTO kv VALUES (?, ?)")) {
        ps.setString(1, key);
        ps.setString(2, value);
        ps.executeUpdate();
      }
    }
  }

  @Override
  String read(MariaDbServer db, String key) throws SQLException {
    try (Connection c = connect(db);
        PreparedStatement ps = c.prepareStatement("SELECT v FROM kv WHERE k = ?")) {
      ps.setString(1, key);
      try (ResultSet rs = ps.executeQuery()) {
        if (!rs.next()) {
          throw new SQLException("no row for " + key);
        }
        return rs.getString(1);
      }
    }
  }

  @Test
  void jdbcUrl_namesTheCreatedDatabase() throws SQLException {
    try (MariaDbServer db = launch();
        Connection c = connect(db);
        ResultSet rs = c.createStatement().executeQuery("SELECT DATABASE(), VERSION()")) {
      assertThat(rs.next()).isTrue();
      assertThat(rs.getString(1)).isEqualTo("kit");
      assertThat(rs.getString(2)).contains("MariaDB");
    }
  }

  @Test
  void faults_inTheWrongState_areRejectedWithTheState() {
    MariaDbServer db = launch();
    try {
      assertThatThrownBy(db::thaw).hasMessageContaining("cannot thaw mariadb: it is RUNNING");
      db.kill();
      assertThatThrownBy(db::freeze).hasMessageContaining("cannot freeze mariadb: it is STOPPED");
    } finally {
      db.close();
    }
    assertThatThrownBy(db::start).hasMessageContaining("it is CLOSED");
  }

  @Test
  void builder_rejectsBadSettings() {
    assertThatThrownBy(() -> MariaDbServer.builder().database("x; DROP"))
        .hasMessageContaining("'x; DROP'");
    assertThatThrownBy(() -> MariaDbServer.builder().serverOption("wait-timeout=5"))
        .hasMessageContaining("start with --");
    assertThatThrownBy(() -> MariaDbServer.builder().startupTimeout(java.time.Duration.ZERO))
        .hasMessageContaining("PT0S");
  }

  @Test
  void start_withABadOption_failsWithTheServerLog_andLeavesNothing() {
    Leftovers before = Leftovers.take();
    assertThatThrownBy(() -> MariaDbServer.builder().serverOption("--no-such-option=1").start())
        .isInstanceOf(TestServerException.class)
        .hasMessageContaining("no-such-option");
    // No server process lived to be named; MariaDB makes no shared memory anyway.
    before.assertNothingLeftBy(List.of());
  }

  @Test
  void freeze_ofAServerThatDiedOnItsOwn_saysSo() {
    try (MariaDbServer db = launch()) {
      ProcessHandle server = ProcessHandle.of(db.pid()).orElseThrow();
      server.destroyForcibly();
      server.onExit().join();
      assertThat(db.state()).isEqualTo(TestServer.State.STOPPED);
      assertThatThrownBy(db::freeze)
          .isInstanceOf(TestServerException.class)
          .hasMessageContaining("cannot freeze mariadb: it died on its own (exit code 137)");
      db.start();
      assertThat(db.state()).isEqualTo(TestServer.State.RUNNING);
    }
  }
}
