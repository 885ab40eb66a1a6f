package dev.outlast.examples.spring;

import dev.outlast.core.annotation.CachedQuery;
import dev.outlast.core.annotation.Guarded;
import java.sql.SQLException;
import java.util.Optional;

/**
 * The catalog, read from MySQL. The annotations live on the interface, where the proxy sees them:
 * answers are cached per id and served stale, up to an hour old, while MySQL is out. {@code
 * outlast.cache.products.*} properties tune the cache without a rebuild.
 */
interface ProductRepository {
  /**
   * The product with this id, or empty if there is none.
   *
   * @throws SQLException if the query itself fails (a missing table, not an outage)
   */
  @Guarded("mysql")
  @CachedQuery(name = "products", freshFor = "30s", serveStaleFor = "1h", tags = "product:{0}")
  Optional<Product> findById(long id) throws SQLException;
}
