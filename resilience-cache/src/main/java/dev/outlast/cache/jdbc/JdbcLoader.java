package dev.outlast.cache.jdbc;

import dev.outlast.cache.Loader;
import dev.outlast.core.Guard;
import dev.outlast.core.jdbc.JdbcTimeouts;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Timestamp;
import java.sql.Types;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Calendar;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.Optional;
import java.util.TimeZone;
import javax.sql.DataSource;
import org.jspecify.annotations.Nullable;

/**
 * Runs a {@link SqlQuery} on a {@link DataSource} and maps its rows: the loader of a query cache.
 *
 * <p>Every query is bounded twice, in the driver, by {@link JdbcTimeouts} with the guard's call
 * timeout, so that a load gives up on its own instead of holding a loader thread: the server
 * cancels a slow query, and the client stops waiting on a socket that went silent. The data
 * source's own connect timeout bounds getting a connection; configure it (and a pool's acquisition
 * timeout) no longer than the call timeout.
 *
 * <p>Threadsafe if the data source and mapper are.
 *
 * @param <V> the value type: a list of rows, or an optional row
 */
public final class JdbcLoader<V> implements Loader<SqlQuery, V> {
  private static final TimeZone UTC = TimeZone.getTimeZone("UTC");

  private final DataSource dataSource;
  private final Duration timeout;
  private final Shape<V> shape;
  private final JdbcTimeouts timeouts;

  private JdbcLoader(DataSource dataSource, Duration timeout, Shape<V> shape) {
    this.dataSource = Objects.requireNonNull(dataSource, "dataSource");
    Objects.requireNonNull(timeout, "timeout");
    if (timeout.isNegative() || timeout.isZero()) {
      throw new IllegalArgumentException("timeout must be positive, was " + timeout);
    }
    this.timeout = timeout;
    this.shape = shape;
    this.timeouts = JdbcTimeouts.of(timeout, dataSource.toString());
  }

  /** A loader whose value is every row, in the order the query returns them. */
  public static <R> JdbcLoader<List<R>> list(
      DataSource dataSource, Guard guard, RowMapper<R> mapper) {
    Objects.requireNonNull(mapper, "mapper");
    return new JdbcLoader<>(dataSource, guard.config().callTimeout(), rs -> rows(rs, mapper));
  }

  /**
   * A loader whose value is the one row, or empty for "no such row" (cacheable with negative
   * freshness). More than one row is an error of the query.
   */
  public static <R> JdbcLoader<Optional<R>> optional(
      DataSource dataSource, Guard guard, RowMapper<R> mapper) {
    Objects.requireNonNull(mapper, "mapper");
    return new JdbcLoader<>(
        dataSource,
        guard.config().callTimeout(),
        rs -> {
          if (!rs.next()) {
            return Optional.empty();
          }
          R row = Objects.requireNonNull(mapper.map(rs), "the row mapper returned null");
          if (rs.next()) {
            throw new SQLException("expected at most one row, the query returned more", "21000");
          }
          return Optional.of(row);
        });
  }

  /** The timeout each query is given, in the driver. */
  public Duration timeout() {
    return timeout;
  }

  @Override
  public V load(SqlQuery query) throws SQLException {
    try (Connection c = dataSource.getConnection()) {
      int previous = timeouts.bound(c);
      try (PreparedStatement ps = c.prepareStatement(query.sql())) {
        timeouts.bound(ps);
        List<@Nullable Object> params = query.params();
        for (int i = 0; i < params.size(); i++) {
          bind(ps, i + 1, params.get(i));
        }
        try (ResultSet rs = ps.executeQuery()) {
          return shape.read(rs);
        }
      } finally {
        timeouts.restore(c, previous);
      }
    }
  }

  private static void bind(PreparedStatement ps, int index, @Nullable Object p)
      throws SQLException {
    if (p == null) {
      ps.setNull(index, Types.NULL);
    } else if (p instanceof Instant i) {
      // In UTC, whatever the JVM's default time zone.
      ps.setTimestamp(index, Timestamp.from(i), Calendar.getInstance(UTC, Locale.ROOT));
    } else if (p instanceof byte[] b) {
      ps.setBytes(index, b);
    } else {
      ps.setObject(index, p);
    }
  }

  private static <R> List<R> rows(ResultSet rs, RowMapper<R> mapper) throws SQLException {
    List<R> rows = new ArrayList<>();
    while (rs.next()) {
      rows.add(Objects.requireNonNull(mapper.map(rs), "the row mapper returned null"));
    }
    return Collections.unmodifiableList(rows);
  }

  @FunctionalInterface
  private interface Shape<V> {
    V read(ResultSet rs) throws SQLException;
  }

  @Override
  public String toString() {
    return "JdbcLoader[" + dataSource + ", timeout " + timeout + "]";
  }
}
