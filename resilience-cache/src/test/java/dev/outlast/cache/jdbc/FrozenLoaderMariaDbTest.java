package dev.outlast.cache.jdbc;

import com.zaxxer.hikari.HikariDataSource;
import dev.outlast.testkit.MariaDbServer;
import dev.outlast.testkit.TestServer;
import java.sql.SQLException;
import javax.sql.DataSource;
import org.mariadb.jdbc.MariaDbDataSource;

/** The frozen-server loader spec against a real MariaDB and MariaDB Connector/J. */
class FrozenLoaderMariaDbTest extends FrozenLoaderSpec {

  @Override
  TestServer startServer() {
    return MariaDbServer.builder().database("shop").start();
  }

  @Override
  DataSource plainDataSource(TestServer server) throws SQLException {
    MariaDbServer maria = (MariaDbServer) server;
    MariaDbDataSource ds = new MariaDbDataSource();
    ds.setUrl(maria.jdbcUrl() + "?connectTimeout=1000");
    ds.setUser(maria.user());
    ds.setPassword(maria.password());
    return ds;
  }

  @Override
  HikariDataSource pool(TestServer server) {
    MariaDbServer maria = (MariaDbServer) server;
    HikariDataSource pool = new HikariDataSource();
    pool.setJdbcUrl(maria.jdbcUrl());
    pool.setUsername(maria.user());
    pool.setPassword(maria.password());
    pool.setConnectionTimeout(1000);
    pool.setValidationTimeout(250);
    pool.addDataSourceProperty("connectTimeout", "1000");
    return pool;
  }
}
