package dev.outlast.examples.spring;

import dev.outlast.core.jdbc.JdbcTimeouts;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.util.Optional;
import javax.sql.DataSource;

/**
 * The catalog as plain JDBC: no Outlast in it but the bound on each query, so that a frozen MySQL
 * gives the thread back at the guard's call timeout instead of holding it and its connection.
 * Threadsafe.
 */
final class JdbcProductRepository implements ProductRepository {
  private final DataSource mysql;
  private final JdbcTimeouts timeouts;

  JdbcProductRepository(DataSource mysql, Duration callTimeout) {
    this.mysql = mysql;
    this.timeouts = JdbcTimeouts.of(callTimeout, "products");
  }

  @Override
  public Optional<Product> findById(long id) throws SQLException {
    try (JdbcTimeouts.Call call = timeouts.open(mysql);
        PreparedStatement ps =
            call.prepare("SELECT id, name, price_cents FROM product WHERE id = ?")) {
      ps.setLong(1, id);
      try (ResultSet rs = ps.executeQuery()) {
        return rs.next()
            ? Optional.of(new Product(rs.getLong(1), rs.getString(2), rs.getLong(3)))
            : Optional.empty();
      }
    }
  }
}
