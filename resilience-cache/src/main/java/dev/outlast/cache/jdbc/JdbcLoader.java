package dev.outlast.cache.jdbc;

import dev.outlast.cache.Loader;
import dev.outlast.core.Guard;
import dev.outlast.core.jdbc.JdbcTimeouts;
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
 * <p>Every load is bounded twice, in the driver, by {@link JdbcTimeouts} with the guard's call
 * timeout counted from the request for a connection, so that a load gives up on its own instead of
 * holding a loader thread and a pooled connection: the server stops a slow query at the timeout,
 * and the client stops waiting on a socket that went silent half a second later. Getting a
 * connection is bounded by the data source's own settings (a pool's {@code connectionTimeout}, a
 * driver's login or connect timeout): creating a loader checks them and logs a warning for each
 * that can hold a load longer than the call timeout ({@link JdbcTimeouts#check}).
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
  private final String description;

  private JdbcLoader(DataSource dataSource, Guard guard, Shape<V> shape) {
    this.dataSource = Objects.requireNonNull(dataSource, "dataSource");
    Objects.requireNonNull(guard, "guard");
    this.timeout = guard.config().callTimeout();
    this.shape = shape;
    this.description = "JdbcLoader[" + guard.dependency() + "]";
    this.timeouts = JdbcTimeouts.of(timeout, description);
    // At start-up, while it is cheap to fix: settings that would hold a load past the timeout.
    JdbcTimeouts.check(dataSource, timeout, description);
  }

  /**
   * A loader whose value is every row, in the order the query returns them. Logs a warning for each
   * setting of the data source that can hold a load past the guard's call timeout.
   *
   * @param dataSource where connections come from; a pool, usually, whose timeouts are checked here
   * @param guard the guard of the database's dependency (the same the cache uses): its call timeout
   *     bounds each load in the driver
   * @param mapper maps each row; must not return null (a null fails the load)
   * @param <R> the row type
   * @return the loader; its values are unmodifiable lists, empty when the query returns no row
   */
  public static <R> JdbcLoader<List<R>> list(
      DataSource dataSource, Guard guard, RowMapper<R> mapper) {
    Objects.requireNonNull(mapper, "mapper");
    return new JdbcLoader<>(dataSource, guard, rs -> rows(rs, mapper));
  }

  /**
   * A loader whose value is the one row, or empty for "no such row" (cacheable with negative
   * freshness). More than one row is an error of the query. Logs a warning for each setting of the
   * data source that can hold a load past the guard's call timeout.
   *
   * @param dataSource where connections come from; a pool, usually, whose timeouts are checked here
   * @param guard the guard of the database's dependency (the same the cache uses): its call timeout
   *     bounds each load in the driver
   * @param mapper maps each row; must not return null (a null fails the load)
   * @param <R> the row type
   * @return the loader; a load fails with an {@link SQLException} (SQLState 21000) if the query
   *     returns more than one row
   */
  public static <R> JdbcLoader<Optional<R>> optional(
      DataSource dataSource, Guard guard, RowMapper<R> mapper) {
    Objects.requireNonNull(mapper, "mapper");
    return new JdbcLoader<>(
        dataSource,
        guard,
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

  /**
   * {@return how long each load may take, from the request for a connection: the guard's call
   * timeout when the loader was made}
   */
  public Duration timeout() {
    return timeout;
  }

  @Override
  public V load(SqlQuery query) throws SQLException {
    try (JdbcTimeouts.Call call = timeouts.open(dataSource);
        PreparedStatement ps = call.prepare(query.sql())) {
      List<@Nullable Object> params = query.params();
      for (int i = 0; i < params.size(); i++) {
        bind(ps, i + 1, params.get(i));
      }
      try (ResultSet rs = ps.executeQuery()) {
        return shape.read(rs);
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
    return description;
  }
}
