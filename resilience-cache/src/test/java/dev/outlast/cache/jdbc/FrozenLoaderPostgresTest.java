package dev.outlast.cache.jdbc;

import com.zaxxer.hikari.HikariDataSource;
import dev.outlast.testkit.PostgresServer;
import dev.outlast.testkit.TestServer;
import javax.sql.DataSource;
import org.postgresql.ds.PGSimpleDataSource;

/** The frozen-server loader spec against a real PostgreSQL and pgjdbc. */
class FrozenLoaderPostgresTest extends FrozenLoaderSpec {

  @Override
  TestServer startServer() {
    return PostgresServer.builder().database("shop").start();
  }

  @Override
  DataSource plainDataSource(TestServer server) {
    PostgresServer pg = (PostgresServer) server;
    PGSimpleDataSource ds = new PGSimpleDataSource();
    ds.setURL(pg.jdbcUrl());
    ds.setUser(pg.user());
    ds.setPassword(pg.password());
    ds.setLoginTimeout(1);
    return ds;
  }

  @Override
  HikariDataSource pool(TestServer server) {
    PostgresServer pg = (PostgresServer) server;
    HikariDataSource pool = new HikariDataSource();
    pool.setJdbcUrl(pg.jdbcUrl());
    pool.setUsername(pg.user());
    pool.setPassword(pg.password());
    pool.setConnectionTimeout(1000);
    pool.setValidationTimeout(250);
    pool.addDataSourceProperty("loginTimeout", "1");
    return pool;
  }
}
