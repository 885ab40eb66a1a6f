package dev.outlast.examples.cache;

import dev.outlast.cache.Answer;
import dev.outlast.cache.Freshness;
import dev.outlast.cache.QueryCache;
import dev.outlast.cache.jdbc.JdbcLoader;
import dev.outlast.cache.jdbc.SqlQuery;
import dev.outlast.core.Guard;
import dev.outlast.core.GuardConfig;
import dev.outlast.core.RecoveryProbe;
import dev.outlast.core.spi.Codec;
import java.nio.file.Path;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.util.Optional;
import javax.sql.DataSource;

/**
 * A repository that reads products from MySQL through Outlast's query cache: what a service adds to
 * keep answering product lookups while MySQL is down, and after a restart during the outage.
 *
 * <p>This class is threadsafe. Close it when the service stops (it writes the last snapshot).
 */
public final class ProductCatalog implements AutoCloseable {
  /** One row of the product table. */
  public record Product(long id, String name, String price) {}

  private static final String BY_ID = "SELECT id, name, price FROM product WHERE id = ?";

  private final QueryCache<SqlQuery, Optional<Product>> byId;

  /**
   * Wires the cache.
   *
   * @param mysql the database (its connect timeout should not exceed the guard's call timeout)
   * @param snapshot where the warm-start snapshot lives, on the pod's local disk
   */
  public ProductCatalog(DataSource mysql, Path snapshot) {
    // One guard per dependency, shared by everything that talks to it. While its breaker is open
    // it asks MySQL every 500 ms whether it is back, so reads turn fresh (and health UP) within
    // about that of the server's return, with or without traffic.
    Guard guard =
        Guard.builder("mysql")
            .config(
                GuardConfig.from(GuardConfig.database()).callTimeout(Duration.ofSeconds(1)).build())
            .recoveryProbe(RecoveryProbe.jdbc(mysql, Duration.ofSeconds(1)))
            .build();
    this.byId =
        QueryCache.<SqlQuery, Optional<Product>>builder("products")
            .guard(guard)
            // Fresh for 30 s; served while refreshing for 30 s more; served when MySQL fails
            // for up to 6 hours of age.
            .freshness(
                Freshness.of(Duration.ofSeconds(30), Duration.ofSeconds(30), Duration.ofHours(6)))
            // "No such product" is cached too, but only for 5 s.
            .negativeFreshness(
                Freshness.of(Duration.ofSeconds(5), Duration.ZERO, Duration.ofMinutes(5)))
            .tags((query, product) -> java.util.Set.of("product"))
            .maximumSize(100_000)
            .snapshot(snapshot, SqlQuery.codec(), Codec.optionalOf(PRODUCT))
            .build(JdbcLoader.optional(mysql, guard, ProductCatalog::map));
  }

  /**
   * The product with this id, or empty if there is none.
   *
   * @throws dev.outlast.cache.NoUsableValueException if MySQL is down and the cache has no value
   *     young enough to serve
   */
  public Optional<Product> find(long id) {
    return byId.get(SqlQuery.of(BY_ID, id));
  }

  /** As {@link #find}, saying whether the answer is fresh, stale (and how old) or just loaded. */
  public Answer<Optional<Product>> lookup(long id) {
    return byId.lookup(SqlQuery.of(BY_ID, id));
  }

  /** After the service changed products: the next reads go to MySQL. */
  public void productsChanged() {
    byId.invalidateTag("product");
  }

  @Override
  public void close() {
    byId.close();
  }

  private static Product map(ResultSet row) throws SQLException {
    return new Product(row.getLong(1), row.getString(2), row.getBigDecimal(3).toPlainString());
  }

  /** Products on disk: id, name and price, no Java serialization. */
  private static final Codec<Product> PRODUCT =
      new Codec<>() {
        @Override
        public byte[] encode(Product p) {
          byte[] name = p.name().getBytes(java.nio.charset.StandardCharsets.UTF_8);
          byte[] price = p.price().getBytes(java.nio.charset.StandardCharsets.UTF_8);
          return java.nio.ByteBuffer.allocate(16 + name.length + price.length)
              .putLong(p.id())
              .putInt(name.length)
              .put(name)
              .putInt(price.length)
              .put(price)
              .array();
        }

        @Override
        public Product decode(byte[] bytes) {
          java.nio.ByteBuffer in = java.nio.ByteBuffer.wrap(bytes);
          long id = in.getLong();
          byte[] name = new byte[in.getInt()];
          in.get(name);
          byte[] price = new byte[in.getInt()];
          in.get(price);
          if (in.hasRemaining()) {
            throw new IllegalArgumentException("trailing bytes after a product");
          }
          return new Product(
              id,
              new String(name, java.nio.charset.StandardCharsets.UTF_8),
              new String(price, java.nio.charset.StandardCharsets.UTF_8));
        }
      };
}
