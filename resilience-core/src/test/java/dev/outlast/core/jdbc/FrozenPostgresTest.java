package dev.outlast.core.jdbc;

import static org.assertj.core.api.Assertions.assertThat;

import com.zaxxer.hikari.HikariDataSource;
import dev.outlast.testkit.PostgresServer;
import dev.outlast.testkit.TestServer;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import javax.sql.DataSource;
import org.jspecify.annotations.Nullable;
import org.junit.jupiter.api.Test;
import org.postgresql.ds.PGSimpleDataSource;

/** The frozen-server spec against a real PostgreSQL and pgjdbc. */
class FrozenPostgresTest extends FrozenDatabaseSpec {

  @Override
  TestServer startServer() {
    return PostgresServer.builder().database("events").start();
  }

  private static PostgresServer pg(TestServer server) {
    return (PostgresServer) server;
  }

  @Override
  DataSource plainDataSource(TestServer server) {
    PGSimpleDataSource ds = new PGSimpleDataSource();
    ds.setURL(pg(server).jdbcUrl());
    ds.setUser(pg(server).user());
    ds.setPassword(pg(server).password());
    // The guide's one required setting: a frozen server accepts the connection and never answers
    // the start-up message; without it getConnection waits for good.
    ds.setLoginTimeout(1);
    return ds;
  }

  @Override
  HikariDataSource pool(TestServer server, int size) {
    HikariDataSource pool = new HikariDataSource();
    pool.setJdbcUrl(pg(server).jdbcUrl());
    pool.setUsername(pg(server).user());
    pool.setPassword(pg(server).password());
    pool.setMaximumPoolSize(size);
    pool.setConnectionTimeout(1000);
    pool.setValidationTimeout(250);
    // For the pool's own connection attempts, so that it recovers from a server that hangs.
    pool.addDataSourceProperty("loginTimeout", "1");
    return pool;
  }

  @Test
  void poolWithoutAutoCommit_aBoundedReadJoinsItsTransaction_andLeavesNoLimitBehind()
      throws Exception {
    try (HikariDataSource pool = pool(server(), 1)) {
      pool.setAutoCommit(false);
      JdbcEventSource source = JdbcEventSource.builder(pool).timeout(CALL_TIMEOUT).build();
      assertThat(source.read("orders-1", 1, 10)).hasSize(3);
      try (Connection c = pool.getConnection()) {
        // SET LOCAL ended with the transaction the pool rolled back when the read returned it.
        assertThat(sessionStatementLimit(c)).isEqualTo("0");
      }
    }
  }

  @Override
  String bytesType() {
    return "BYTEA";
  }

  @Override
  String slowQuery() {
    return "SELECT pg_sleep(5)::text";
  }

  @Override
  void assertStoppedByTheServer(@Nullable Throwable failure, @Nullable String result) {
    assertThat(result).as("pg_sleep(5) returned").isNull();
    // statement_timeout, not pgjdbc's cancel ("due to user request"), whose wait is the problem.
    assertThat(failure)
        .isInstanceOfSatisfying(
            SQLException.class, e -> assertThat(e.getSQLState()).isEqualTo("57014"))
        .hasMessageContaining("statement timeout");
  }

  @Override
  long sessionId(Connection c) throws SQLException {
    try (Statement s = c.createStatement();
        ResultSet rs = s.executeQuery("SELECT pg_backend_pid()")) {
      rs.next();
      return rs.getLong(1);
    }
  }

  @Override
  String sessionStatementLimit(Connection c) throws SQLException {
    try (Statement s = c.createStatement();
        ResultSet rs = s.executeQuery("SHOW statement_timeout")) {
      rs.next();
      return rs.getString(1);
    }
  }

  @Override
  int otherSessions(TestServer server) throws SQLException {
    try (Connection c = DriverManager.getConnection(pg(server).jdbcUrl(), pg(server).user(), "");
        Statement s = c.createStatement();
        ResultSet rs =
            s.executeQuery(
                "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend'"
                    + " AND pid <> pg_backend_pid()")) {
      rs.next();
      return rs.getInt(1);
    }
  }
}
