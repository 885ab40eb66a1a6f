package dev.outlast.cache;

import dev.outlast.cache.jdbc.JdbcLoader;
import dev.outlast.cache.jdbc.SqlQuery;
import dev.outlast.core.Guard;
import dev.outlast.core.GuardConfig;
import dev.outlast.core.spi.Codec;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Clock;
import java.time.Duration;
import java.util.Optional;
import javax.sql.DataSource;
import org.jspecify.annotations.Nullable;
import org.mariadb.jdbc.MariaDbDataSource;

/** The product table of the integration tests, and the cache built the way a service would. */
final class ProductDatabase {
  static final Freshness FRESHNESS =
      Freshness.of(Duration.ofSeconds(10), Duration.ofSeconds(5), Duration.ofMinutes(10));

  private ProductDatabase() {}

  /** Creates the table with products 1..count. */
  static void create(String jdbcUrl, int count) throws SQLException {
    try (Connection c = DriverManager.getConnection(jdbcUrl, "root", "");
        Statement s = c.createStatement()) {
      s.execute("DROP TABLE IF EXISTS product");
      s.execute(
          "CREATE TABLE product (id BIGINT PRIMARY KEY, name VARCHAR(64) NOT NULL,"
              + " price DECIMAL(10,2) NOT NULL)");
      try (PreparedStatement ps = c.prepareStatement("INSERT INTO product VALUES (?, ?, ?)")) {
        for (int i = 1; i <= count; i++) {
          ps.setLong(1, i);
          ps.setString(2, "product " + i);
          ps.setBigDecimal(3, java.math.BigDecimal.valueOf(i * 100 + 99, 2));
          ps.addBatch();
        }
        ps.executeBatch();
      }
    }
  }

  /** A plain (non-pooled) data source: every load is one TCP connection, countable at a proxy. */
  static DataSource dataSource(String host, int port, String database) throws SQLException {
    MariaDbDataSource ds = new MariaDbDataSource();
    ds.setUrl("jdbc:mariadb://" + host + ":" + port + "/" + database + "?connectTimeout=1000");
    ds.setUser("root");
    ds.setPassword("");
    return ds;
  }

  static GuardConfig guardConfig(Clock clock) {
    return GuardConfig.custom()
        .clock(clock)
        .ticker(ClockTicker.of(clock))
        .callTimeout(Duration.ofSeconds(1))
        .openWait(Duration.ofSeconds(2))
        .maxOpenWait(Duration.ofSeconds(4))
        .slidingWindowSize(10)
        .minimumNumberOfCalls(5)
        .probes(2)
        .maxAttempts(1)
        .build();
  }

  static QueryCache<SqlQuery, Optional<Product>> cache(
      DataSource ds, Guard guard, Clock clock, @Nullable Path snapshot) {
    QueryCache.Builder<SqlQuery, Optional<Product>> b =
        QueryCache.<SqlQuery, Optional<Product>>builder("products")
            .guard(guard)
            .freshness(FRESHNESS)
            .maxStaleWait(Duration.ofMillis(50))
            .failureBackoff(Duration.ofSeconds(1), Duration.ofSeconds(4))
            .clock(clock)
            .ticker(ClockTicker.of(clock));
    if (snapshot != null) {
      b.snapshot(snapshot, SqlQuery.codec(), Codec.optionalOf(Product.CODEC));
    }
    return b.build(JdbcLoader.optional(ds, guard, Product::map));
  }

  static SqlQuery byId(long id) {
    return SqlQuery.of(Product.BY_ID, id);
  }

  /** How many times the server has run the product query, from its general query log. */
  static long queriesRun(String jdbcUrl) throws SQLException {
    try (Connection c = DriverManager.getConnection(jdbcUrl, "root", "");
        Statement s = c.createStatement();
        ResultSet rs =
            s.executeQuery(
                "SELECT COUNT(*) FROM mysql.general_log WHERE command_type IN ('Query', 'Execute')"
                    // The driver wraps the query: SET STATEMENT max_statement_time=N FOR SELECT ...
                    + " AND argument LIKE '%SELECT id, name, price FROM product WHERE id%'"
                    // ... and not this very query, which contains the pattern too.
                    + " AND argument NOT LIKE '%general_log%'")) {
      rs.next();
      return rs.getLong(1);
    }
  }

  static void enableQueryLog(String jdbcUrl) throws SQLException {
    try (Connection c = DriverManager.getConnection(jdbcUrl, "root", "");
        Statement s = c.createStatement()) {
      s.execute("SET GLOBAL log_output = 'TABLE'");
      s.execute("SET GLOBAL general_log = 1");
    }
  }
}
