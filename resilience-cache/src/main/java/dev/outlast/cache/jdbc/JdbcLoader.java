package dev.outlast.cache.jdbc;

import dev.outlast.cache.Loader;
import dev.outlast.core.Guard;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.SQLFeatureNotSupportedException;
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
import java.util.concurrent.Executor;
import javax.sql.DataSource;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs a {@link SqlQuery} on a {@link DataSource} and maps its rows: the loader of a query cache.
 *
 * <p>Every query is bounded twice, in the driver, so that a load gives up on its own instead of
 * holding a loader thread: the statement's query timeout, the guard's call timeout rounded up to
 * whole seconds (JDBC's unit), lets the server cancel a slow query; a second later the connection's
 * network timeout makes the client stop waiting on a socket that went silent, as with a frozen
 * server. The network timeout is put back as it was before the connection returns to its pool. The
 * data source's own connect timeout bounds getting a connection; configure it (and a pool's
 * acquisition timeout) no longer than the call timeout.
 *
 * <p>Threadsafe if the data source and mapper are.
 *
 * @param <V> the value type: a list of rows, or an optional row
 */
public final class JdbcLoader<V> implements Loader<SqlQuery, V> {
  private static final Logger log = LoggerFactory.getLogger(JdbcLoader.class);
  // setNetworkTimeout needs an executor to abort with; the drivers used here run it inline.
  private static final Executor INLINE = Runnable::run;

  private static final TimeZone UTC = TimeZone.getTimeZone("UTC");

  private final DataSource dataSource;
  private final Duration timeout;
  private final Shape<V> shape;
  private volatile boolean networkTimeoutUnsupported;

  private JdbcLoader(DataSource dataSource, Duration timeout, Shape<V> shape) {
    this.dataSource = Objects.requireNonNull(dataSource, "dataSource");
    Objects.requireNonNull(timeout, "timeout");
    if (timeout.isNegative() || timeout.isZero()) {
      throw new IllegalArgumentException("timeout must be positive, was " + timeout);
    }
    this.timeout = timeout;
    this.shape = shape;
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
    int querySeconds = (int) Math.max(1, (timeout.toMillis() + 999) / 1000);
    try (Connection c = dataSource.getConnection()) {
      // After the query timeout, so that the server's cancel comes first and the connection lives.
      int previous = setNetworkTimeout(c, querySeconds * 1000 + 1000);
      try (PreparedStatement ps = c.prepareStatement(query.sql())) {
        ps.setQueryTimeout(querySeconds);
        List<@Nullable Object> params = query.params();
        for (int i = 0; i < params.size(); i++) {
          bind(ps, i + 1, params.get(i));
        }
        try (ResultSet rs = ps.executeQuery()) {
          return shape.read(rs);
        }
      } finally {
        if (previous >= 0 && !c.isClosed()) {
          c.setNetworkTimeout(INLINE, previous);
        }
      }
    }
  }

  /** Sets the network timeout; returns the one before, or -1 if the driver cannot. */
  private int setNetworkTimeout(Connection c, int millis) throws SQLException {
    if (networkTimeoutUnsupported) {
      return -1;
    }
    try {
      int previous = c.getNetworkTimeout();
      c.setNetworkTimeout(INLINE, millis);
      return previous;
    } catch (SQLFeatureNotSupportedException e) {
      networkTimeoutUnsupported = true;
      log.warn(
          "the JDBC driver of {} cannot set a network timeout: queries to a frozen server will"
              + " wait for the driver's socket timeout; configure socketTimeout on the data source",
          dataSource);
      return -1;
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
