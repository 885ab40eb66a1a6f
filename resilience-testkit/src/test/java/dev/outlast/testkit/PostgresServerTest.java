package dev.outlast.testkit;

import static org.assertj.core.api.Assertions.assertThat;

import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.Properties;
import org.junit.jupiter.api.Test;

class PostgresServerTest extends TestServerContract<PostgresServer> {

  @Override
  PostgresServer launch() {
    return PostgresServer.builder().database("events").start();
  }

  private static Connection connect(PostgresServer pg) throws SQLException {
    Properties props = new Properties();
    props.setProperty("user", pg.user());
    long seconds = CLIENT_TIMEOUT.toSeconds();
    props.setProperty("connectTimeout", Long.toString(seconds));
    props.setProperty("socketTimeout", Long.toString(seconds));
    props.setProperty("loginTimeout", Long.toString(seconds));
    return DriverManager.getConnection(pg.jdbcUrl(), props);
  }

  @Override
  AutoCloseable openIdleClient(PostgresServer pg) throws SQLException {
    Connection c = connect(pg);
    c.createStatement().execute("SELECT 1");
    return c;
  }

  @Override
  void write(PostgresServer pg, String key, String value) throws SQLException {
    try (Connection c = connect(pg)) {
      c.createStatement().execute("CREATE TABLE IF NOT EXISTS kv (k TEXT PRIMARY KEY, v TEXT)");
      try (PreparedStatement ps =
          c.prepareStatement(
              "INSERT INTO kv VALUES (?, ?) ON CONFLICT (k) DO UPDATE SET v = EXCLUDED.v")) {
        ps.setString(1, key);
        ps.setString(2, value);
        ps.executeUpdate();
      }
    }
  }

  @Override
  String read(PostgresServer pg, String key) throws SQLException {
    try (Connection c = connect(pg);
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
  void freeze_reachesEveryBackendProcess() throws SQLException {
    try (PostgresServer pg = launch();
        Connection open = connect(pg)) {
      open.createStatement().execute("SELECT 1");
      long backends = ProcessHandle.of(pg.pid()).orElseThrow().descendants().count();
      assertThat(backends).as("postmaster children incl. our backend").isGreaterThan(1);
      pg.freeze();
      // Every process of the tree is stopped ('T' in /proc/<pid>/stat), the backend included.
      ProcessHandle.of(pg.pid())
          .orElseThrow()
          .descendants()
          .forEach(
              p -> assertThat(procState(p.pid())).as("state of pid " + p.pid()).isEqualTo("T"));
      assertThat(procState(pg.pid())).isEqualTo("T");
      pg.thaw();
      open.createStatement().execute("SELECT 1");
    }
  }

  @Test
  void jdbcUrl_namesTheCreatedDatabase() throws SQLException {
    try (PostgresServer pg = launch();
        Connection c = connect(pg);
        ResultSet rs = c.createStatement().executeQuery("SELECT current_database()")) {
      assertThat(rs.next()).isTrue();
      assertThat(rs.getString(1)).isEqualTo("events");
    }
  }

  private static String procState(long pid) {
    try {
      String stat = java.nio.file.Files.readString(java.nio.file.Path.of("/proc/" + pid + "/stat"));
      // Field 3, after the parenthesised command name.
      return stat.substring(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    } catch (java.io.IOException e) {
      return "gone";
    }
  }
}
