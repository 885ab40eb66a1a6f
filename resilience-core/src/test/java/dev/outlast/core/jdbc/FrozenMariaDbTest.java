package dev.outlast.core.jdbc;

import static org.assertj.core.api.Assertions.assertThat;

import com.zaxxer.hikari.HikariDataSource;
import dev.outlast.testkit.MariaDbServer;
import dev.outlast.testkit.TestServer;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import javax.sql.DataSource;
import org.jspecify.annotations.Nullable;
import org.mariadb.jdbc.MariaDbDataSource;

/** The frozen-server spec against a real MariaDB and MariaDB Connector/J. */
class FrozenMariaDbTest extends FrozenDatabaseSpec {

  @Override
  TestServer startServer() {
    return MariaDbServer.builder().database("ledger").start();
  }

  private static MariaDbServer maria(TestServer server) {
    return (MariaDbServer) server;
  }

  @Override
  DataSource plainDataSource(TestServer server) throws SQLException {
    MariaDbDataSource ds = new MariaDbDataSource();
    // The guide's one required setting: it bounds the connect and the handshake (30 s by default).
    ds.setUrl(maria(server).jdbcUrl() + "?connectTimeout=1000");
    ds.setUser(maria(server).user());
    ds.setPassword(maria(server).password());
    return ds;
  }

  @Override
  HikariDataSource pool(TestServer server, int size) {
    HikariDataSource pool = new HikariDataSource();
    pool.setJdbcUrl(maria(server).jdbcUrl());
    pool.setUsername(maria(server).user());
    pool.setPassword(maria(server).password());
    pool.setMaximumPoolSize(size);
    pool.setConnectionTimeout(1000);
    pool.setValidationTimeout(250);
    // For the pool's own connection attempts, so that it recovers from a server that hangs.
    pool.addDataSourceProperty("connectTimeout", "1000");
    return pool;
  }

  @Override
  String bytesType() {
    return "VARBINARY(64)";
  }

  @Override
  String slowQuery() {
    return "SELECT SLEEP(5)";
  }

  @Override
  void assertStoppedByTheServer(@Nullable Throwable failure, @Nullable String result) {
    // The driver sends SET STATEMENT max_statement_time=1 FOR ...: MariaDB either fails the
    // statement or, for SLEEP, ends it early with 1 ("interrupted").
    if (failure == null) {
      assertThat(result).as("SLEEP was interrupted").isEqualTo("1");
    } else {
      assertThat(failure).hasMessageContaining("max_statement_time");
    }
  }

  @Override
  long sessionId(Connection c) throws SQLException {
    try (Statement s = c.createStatement();
        ResultSet rs = s.executeQuery("SELECT CONNECTION_ID()")) {
      rs.next();
      return rs.getLong(1);
    }
  }

  @Override
  String sessionStatementLimit(Connection c) throws SQLException {
    try (Statement s = c.createStatement();
        ResultSet rs = s.executeQuery("SELECT @@SESSION.max_statement_time")) {
      rs.next();
      // A double: "0.000000" when none.
      return rs.getDouble(1) == 0 ? "0" : rs.getString(1);
    }
  }

  @Override
  int otherSessions(TestServer server) throws SQLException {
    try (Connection c =
            DriverManager.getConnection(maria(server).jdbcUrl(), maria(server).user(), "");
        Statement s = c.createStatement();
        ResultSet rs =
            s.executeQuery(
                "SELECT COUNT(*) FROM information_schema.processlist WHERE id <> CONNECTION_ID()"
                    + " AND command NOT IN ('Daemon', 'Binlog Dump') AND user <> 'system user'")) {
      rs.next();
      return rs.getInt(1);
    }
  }
}
