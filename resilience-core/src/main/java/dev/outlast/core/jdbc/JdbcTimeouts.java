package dev.outlast.core.jdbc;

import java.sql.Connection;
import java.sql.SQLException;
import java.sql.SQLFeatureNotSupportedException;
import java.sql.Statement;
import java.time.Duration;
import java.util.Objects;
import java.util.concurrent.Executor;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Bounds a JDBC call twice, in the driver, so that it gives up by itself instead of holding its
 * thread: the statement's query timeout (whole seconds, JDBC's unit) lets the server cancel a slow
 * query, and a second later the connection's network timeout makes the client stop waiting on a
 * socket that went silent, as with a frozen server. The network timeout is put back before the
 * connection returns to its pool.
 *
 * <pre>{@code
 * try (Connection c = ds.getConnection()) {
 *   int previous = timeouts.bound(c);
 *   try (PreparedStatement ps = c.prepareStatement(sql)) {
 *     timeouts.bound(ps);
 *     ...
 *   } finally {
 *     timeouts.restore(c, previous);
 *   }
 * }
 * }</pre>
 *
 * <p>Outlast's JDBC helpers share it; applications writing their own JDBC source can too.
 * Threadsafe.
 */
public final class JdbcTimeouts {
  private static final Logger log = LoggerFactory.getLogger(JdbcTimeouts.class);
  // setNetworkTimeout needs an executor to abort with; the drivers used here run it inline.
  private static final Executor INLINE = Runnable::run;

  private final int querySeconds;
  private final String what;
  private volatile boolean networkTimeoutUnsupported;

  private JdbcTimeouts(int querySeconds, String what) {
    this.querySeconds = querySeconds;
    this.what = what;
  }

  /**
   * Timeouts for calls that may take this long (rounded up to whole seconds).
   *
   * @param what what is queried, for the warning if the driver cannot set a network timeout
   */
  public static JdbcTimeouts of(Duration timeout, String what) {
    Objects.requireNonNull(timeout, "timeout");
    Objects.requireNonNull(what, "what");
    if (timeout.isNegative() || timeout.isZero()) {
      throw new IllegalArgumentException("timeout must be positive, was " + timeout);
    }
    return new JdbcTimeouts((int) Math.max(1, (timeout.toMillis() + 999) / 1000), what);
  }

  /** The statements' query timeout, in seconds. */
  public int querySeconds() {
    return querySeconds;
  }

  /** Sets a statement's query timeout. */
  public void bound(Statement statement) throws SQLException {
    statement.setQueryTimeout(querySeconds);
  }

  /**
   * Sets the connection's network timeout a second after the query timeout, so that the server's
   * cancel comes first and the connection lives.
   *
   * @return the network timeout before, for {@link #restore}; -1 if the driver cannot set one
   */
  public int bound(Connection c) throws SQLException {
    if (networkTimeoutUnsupported) {
      return -1;
    }
    try {
      int previous = c.getNetworkTimeout();
      c.setNetworkTimeout(INLINE, querySeconds * 1000 + 1000);
      return previous;
    } catch (SQLFeatureNotSupportedException e) {
      networkTimeoutUnsupported = true;
      log.warn(
          "the JDBC driver of {} cannot set a network timeout: queries to a frozen server will"
              + " wait for the driver's socket timeout; configure socketTimeout on the data source",
          what);
      return -1;
    }
  }

  /** Puts back the network timeout {@link #bound(Connection)} returned. */
  public void restore(Connection c, int previous) throws SQLException {
    if (previous >= 0 && !c.isClosed()) {
      c.setNetworkTimeout(INLINE, previous);
    }
  }

  @Override
  public String toString() {
    return "JdbcTimeouts[" + querySeconds + " s, " + what + "]";
  }
}
