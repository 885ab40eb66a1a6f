package dev.outlast.cache;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import dev.outlast.cache.jdbc.JdbcLoader;
import dev.outlast.cache.jdbc.SqlQuery;
import dev.outlast.core.Guard;
import dev.outlast.core.GuardConfig;
import dev.outlast.testkit.MariaDbServer;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import javax.sql.DataSource;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The JDBC loader stops work in the driver and on the server, not only in the caller. */
class JdbcLoaderMariaDbTest {
  private static MariaDbServer db;
  private static DataSource ds;
  private static final Guard GUARD =
      Guard.of("mysql", GuardConfig.custom().callTimeout(Duration.ofSeconds(1)).build());

  @BeforeAll
  static void start() throws Exception {
    db = MariaDbServer.builder().database("shop").start();
    ProductDatabase.create(db.jdbcUrl(), 10);
    ds = ProductDatabase.dataSource(db.host(), db.port(), "shop");
  }

  @AfterAll
  static void stop() {
    db.close();
  }

  @Test
  void list_andOptional_mapRowsWithTypedParameters() throws Exception {
    JdbcLoader<List<Product>> list = JdbcLoader.list(ds, GUARD, Product::map);
    assertThat(
            list.load(
                SqlQuery.of("SELECT id, name, price FROM product WHERE id <= ? ORDER BY id", 3)))
        .extracting(Product::name)
        .containsExactly("product 1", "product 2", "product 3");
    JdbcLoader<Optional<Product>> one = JdbcLoader.optional(ds, GUARD, Product::map);
    assertThat(one.load(ProductDatabase.byId(2))).map(Product::price).contains("2.99");
    assertThat(one.load(ProductDatabase.byId(99))).isEmpty();
    assertThatThrownBy(() -> one.load(SqlQuery.of("SELECT id, name, price FROM product")))
        .isInstanceOf(SQLException.class)
        .hasMessageContaining("at most one row");
  }

  @Test
  void parameters_ofEveryType_bindAsTheirValue() throws Exception {
    JdbcLoader<List<String>> echo =
        JdbcLoader.list(ds, GUARD, rs -> String.valueOf(rs.getString(1)));
    assertThat(echo.load(SqlQuery.of("SELECT ?", (Object) null))).containsExactly("null");
    assertThat(
            echo.load(
                SqlQuery.of(
                    "SELECT ?", java.util.UUID.fromString("00000000-0000-0000-0000-000000000042"))))
        .containsExactly("00000000-0000-0000-0000-000000000042");
    assertThat(echo.load(SqlQuery.of("SELECT ?", java.time.LocalDate.of(2026, 11, 21))))
        .containsExactly("2026-11-21");
    // An Instant is bound in UTC whatever the JVM's zone; the session's time zone is UTC here.
    try (Connection c = DriverManager.getConnection(db.jdbcUrl(), "root", "");
        ResultSet rs =
            c.createStatement().executeQuery("SELECT @@global.time_zone, @@system_time_zone")) {
      rs.next();
    }
    assertThat(echo.load(SqlQuery.of("SELECT CAST(? AS CHAR)", new java.math.BigDecimal("12.50"))))
        .containsExactly("12.50");
  }

  @Test
  void aSlowQuery_isCancelledOnTheServer_atTheGuardsTimeout() throws Exception {
    JdbcLoader<List<Long>> sleeper = JdbcLoader.list(ds, GUARD, rs -> rs.getLong(1));
    long start = System.nanoTime();
    // MariaDB reports a statement killed by max_statement_time as an error of the query, or
    // returns 1 from SLEEP when interrupted; either way the server stopped it.
    try {
      List<Long> result = sleeper.load(SqlQuery.of("SELECT SLEEP(?)", 10));
      assertThat(result).as("SLEEP was interrupted").containsExactly(1L);
    } catch (SQLException e) {
      assertThat(e.getMessage()).containsIgnoringCase("max_statement_time");
    }
    assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofSeconds(3));
    await()
        .atMost(Duration.ofSeconds(2))
        .untilAsserted(() -> assertThat(runningSleeps()).as("nothing left running").isZero());
  }

  @Test
  void aFrozenServer_theDriverGivesUpAtTheGuardsTimeout() throws Exception {
    JdbcLoader<Optional<Product>> one = JdbcLoader.optional(ds, GUARD, Product::map);
    db.freeze();
    try {
      long start = System.nanoTime();
      assertThatThrownBy(() -> one.load(ProductDatabase.byId(1)))
          .isInstanceOf(SQLException.class)
          .satisfies(e -> assertThat(GUARD.isInfrastructureFailure(e)).isTrue());
      assertThat(Duration.ofNanos(System.nanoTime() - start))
          .as("the driver's timeout, not the OS's")
          .isLessThan(Duration.ofSeconds(3));
    } finally {
      db.thaw();
    }
  }

  @Test
  void sqlQuery_rejectsWhatACacheKeyCannotHold() {
    assertThatThrownBy(() -> SqlQuery.of("SELECT ? FROM t", Optional.of(1)))
        .hasMessageContaining("parameter 1 is a java.util.Optional");
    assertThatThrownBy(() -> SqlQuery.of("SELECT ? FROM t WHERE a = ?", 1))
        .hasMessageContaining("2 '?' but 1 parameters");
    assertThat(SqlQuery.of("SELECT '?' FROM t WHERE a = ? -- ?", 1).params()).hasSize(1);
  }

  private static int runningSleeps() throws SQLException {
    try (Connection c = DriverManager.getConnection(db.jdbcUrl(), "root", "");
        ResultSet rs =
            c.createStatement()
                .executeQuery(
                    "SELECT COUNT(*) FROM information_schema.processlist WHERE info LIKE '%SLEEP(%'"
                        + " AND info NOT LIKE '%processlist%'")) {
      rs.next();
      return rs.getInt(1);
    }
  }
}
