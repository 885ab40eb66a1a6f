package dev.outlast.cache;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import dev.outlast.core.DependencyException;
import dev.outlast.core.Guard;
import dev.outlast.core.GuardConfig;
import dev.outlast.core.annotation.CachedQuery;
import dev.outlast.core.annotation.Guarded;
import dev.outlast.core.annotation.Outlast;
import dev.outlast.testkit.MariaDbServer;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.Map;
import java.util.Optional;
import javax.sql.DataSource;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * A repository interface annotated the way a service would annotate it, wired by one call, over a
 * real MariaDB that is killed: the cached reads keep answering through the proxy, the uncached one
 * fails fast, and all are fresh again after the restart.
 */
class AnnotatedRepositoryMariaDbTest {
  private static final int KEYS = 100;
  private static MariaDbServer db;

  /** The service's own interface. */
  interface ProductRepository {
    @Guarded("mysql")
    @CachedQuery(name = "products", freshFor = "1m", serveStaleFor = "1h", tags = "product:{0}")
    Optional<Product> findById(long id) throws SQLException;

    @Guarded("mysql")
    long count() throws SQLException;

    /** Not annotated: runs on the proxy, so its call to findById is cached too. */
    default String nameOf(long id) throws SQLException {
      return findById(id).map(Product::name).orElse("?");
    }
  }

  /** The service's own implementation: plain JDBC, no Outlast in it. */
  static final class JdbcProducts implements ProductRepository {
    private final DataSource ds;

    JdbcProducts(DataSource ds) {
      this.ds = ds;
    }

    @Override
    public Optional<Product> findById(long id) throws SQLException {
      try (Connection c = ds.getConnection();
          PreparedStatement ps = c.prepareStatement(Product.BY_ID)) {
        ps.setQueryTimeout(1);
        ps.setLong(1, id);
        try (ResultSet rs = ps.executeQuery()) {
          return rs.next() ? Optional.of(Product.map(rs)) : Optional.empty();
        }
      }
    }

    @Override
    public long count() throws SQLException {
      try (Connection c = ds.getConnection();
          Statement s = c.createStatement();
          ResultSet rs = s.executeQuery("SELECT COUNT(*) FROM product")) {
        rs.next();
        return rs.getLong(1);
      }
    }
  }

  @BeforeAll
  static void startDatabase() throws Exception {
    db = MariaDbServer.builder().database("shop").start();
    ProductDatabase.create(db.jdbcUrl(), KEYS);
  }

  @AfterAll
  static void stopDatabase() {
    db.close();
  }

  @Test
  void killedDatabase_readsKeepAnsweringThroughTheProxy() throws Exception {
    Guard mysql =
        Guard.of(
            "mysql",
            GuardConfig.custom()
                .callTimeout(Duration.ofSeconds(1))
                .openWait(Duration.ofMillis(500))
                .maxOpenWait(Duration.ofSeconds(1))
                .minimumNumberOfCalls(5)
                .slidingWindowSize(10)
                .maxAttempts(1)
                .build());
    try (Outlast outlast =
        Outlast.builder()
            .guard(mysql)
            // Operations shorten freshness for this test without touching the code.
            .properties(Map.of("outlast.cache.products.fresh-for", "300ms"))
            .build()) {
      ProductRepository products =
          outlast.wrap(
              ProductRepository.class,
              new JdbcProducts(ProductDatabase.dataSource(db.host(), db.port(), "shop")));
      assertThat(products.count()).isEqualTo(KEYS);
      for (long id = 1; id <= KEYS; id++) {
        assertThat(products.findById(id)).map(Product::name).contains("product " + id);
      }
      assertThat(products.findById(KEYS + 1)).isEmpty();

      db.kill();
      QueryCache<?, ?> cache = outlast.component("products", QueryCache.class);
      long staleWaiting = cache.stats().staleHits();
      // Until the last key loaded is served stale: then every key is past fresh-for, and every
      // read needs the database.
      await()
          .atMost(Duration.ofSeconds(5))
          .pollInterval(Duration.ofMillis(50))
          .until(
              () -> {
                products.findById(KEYS + 1);
                return cache.stats().staleHits() > staleWaiting;
              });
      long staleBefore = cache.stats().staleHits();
      for (int round = 0; round < 3; round++) {
        for (long id = 1; id <= KEYS; id++) {
          assertThat(products.findById(id)).map(Product::name).contains("product " + id);
          assertThat(products.nameOf(id)).isEqualTo("product " + id);
        }
      }
      assertThat(products.findById(KEYS + 1)).as("a cached 'no row'").isEmpty();
      assertThat(cache.stats().staleHits() - staleBefore).isGreaterThanOrEqualTo(6L * KEYS);
      // Never read before the outage: nothing to serve, and said so, at once.
      long start = System.nanoTime();
      assertThatThrownBy(() -> products.findById(KEYS + 2))
          .isInstanceOf(NoUsableValueException.class)
          .hasMessageContaining("products")
          .hasMessageContaining("mysql");
      assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofMillis(1500));
      // Guarded but not cached: the outage shows, as a dependency failure.
      assertThatThrownBy(products::count).isInstanceOf(DependencyException.class);

      db.start();
      // Until the breaker lets a probe through, the invalidated key has nothing to serve.
      await()
          .atMost(Duration.ofSeconds(30))
          .pollInterval(Duration.ofMillis(200))
          .ignoreException(NoUsableValueException.class)
          .untilAsserted(
              () -> {
                cache.invalidateTag("product:1");
                assertThat(products.findById(1)).map(Product::name).contains("product 1");
                assertThat(cache.stats().loadFailures()).isPositive();
                assertThat(mysql.state()).isEqualTo(Guard.State.CLOSED);
              });
      assertThat(products.count()).isEqualTo(KEYS);
    }
  }
}
