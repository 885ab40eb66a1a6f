package dev.outlast.core.jdbc;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.sql.SQLFeatureNotSupportedException;
import java.sql.SQLTimeoutException;
import java.sql.Statement;
import java.time.Duration;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;
import javax.sql.DataSource;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Bounds a JDBC call in the driver, so that it gives up by itself instead of holding its thread and
 * its pooled connection: from the moment {@link #open} asks the data source for a connection, the
 * call has {@code timeout} for the query to run on the server, and half a second more before the
 * client stops waiting on a socket that went silent, as with a frozen server.
 *
 * <pre>{@code
 * try (JdbcTimeouts.Call call = timeouts.open(dataSource);
 *     PreparedStatement ps = call.prepare("SELECT name FROM product WHERE id = ?")) {
 *   ps.setLong(1, id);
 *   ...
 * }
 * }</pre>
 *
 * <p>Each call has two bounds, both counted from before the connection was borrowed, so that a slow
 * pool eats into the query's time instead of adding to it:
 *
 * <ul>
 *   <li><b>On the server</b>, the query is stopped when the time is up, and the connection lives.
 *       PostgreSQL gets {@code SET LOCAL statement_timeout} (in milliseconds) in a transaction of
 *       the call's own, opened with the query in one round trip and committed when the call closes:
 *       pgjdbc's own {@code setQueryTimeout} cancels over a new connection and makes the query's
 *       thread wait for that cancel for up to {@code cancelSignalTimeout} (10 s by default; its
 *       cancels run one at a time on one timer thread for the whole JVM), so against a frozen
 *       server a 1 s timeout held its caller 11 s. Every other driver gets {@link
 *       Statement#setQueryTimeout} in whole seconds, rounded up; MariaDB Connector/J turns it into
 *       {@code SET STATEMENT max_statement_time=N FOR} on a MariaDB server, with no client-side
 *       cancel.
 *   <li><b>On the client</b>, the connection's network timeout is set to what is left of the time,
 *       plus half a second for the server's answer to a stopped query, so a server that stopped
 *       answering cannot hold the call longer. The connection is then broken and its pool drops it.
 * </ul>
 *
 * <p>What the call cannot bound is how long the data source takes to hand out a connection: that is
 * the pool's {@code connectionTimeout} or the driver's login timeout. {@link #check} reads those
 * settings and warns at start-up when they can hold a caller longer than the timeout.
 *
 * <p>This class is threadsafe; a {@link Call} is used by one thread.
 */
public final class JdbcTimeouts {
  private static final Logger log = LoggerFactory.getLogger(JdbcTimeouts.class);

  /**
   * How long after the deadline the client still waits for the server: enough for a live server's
   * answer to a stopped query to arrive (it is sent within milliseconds), so that a slow query
   * costs the query and not the connection; short enough that a frozen server holds a caller at
   * most this much past the timeout.
   */
  static final Duration GRACE = Duration.ofMillis(500);

  // setNetworkTimeout needs an executor to abort with; the drivers used here run it inline.
  private static final Executor INLINE = Runnable::run;

  private final Duration timeout;
  private final long timeoutNanos;
  private final String what;
  // Learnt from the first connection; a data source does not change its database.
  private volatile @Nullable Dialect dialect;
  private volatile boolean networkTimeoutUnsupported;

  private JdbcTimeouts(Duration timeout, String what) {
    this.timeout = timeout;
    this.timeoutNanos = timeout.toNanos();
    this.what = what;
  }

  /**
   * Timeouts for calls that may take this long, counted from the request for a connection.
   *
   * @param timeout how long one call may take: the guard's call timeout
   * @param what what is queried, for messages: "JdbcLoader[products]"
   * @return the timeouts, to {@link #open} calls with
   * @throws IllegalArgumentException if the timeout is zero or negative
   */
  public static JdbcTimeouts of(Duration timeout, String what) {
    Objects.requireNonNull(timeout, "timeout");
    Objects.requireNonNull(what, "what");
    if (timeout.isNegative() || timeout.isZero()) {
      throw new IllegalArgumentException("timeout must be positive, was " + timeout);
    }
    return new JdbcTimeouts(timeout, what);
  }

  /** {@return how long one call may take, counted from the request for a connection} */
  public Duration timeout() {
    return timeout;
  }

  /**
   * Takes a connection from the data source and bounds it for one call; closing the call puts the
   * connection back as it was and closes it (returns it to its pool).
   *
   * @param dataSource where the connection comes from
   * @return the call, which owns the connection
   * @throws SQLTimeoutException if getting the connection took the whole timeout; the query is not
   *     sent
   * @throws SQLException if the data source or the driver fails; the connection is closed
   */
  public Call open(DataSource dataSource) throws SQLException {
    Objects.requireNonNull(dataSource, "dataSource");
    // The drivers apply the bound on real time, so the deadline is counted on the same clock.
    long deadline = System.nanoTime() + timeoutNanos;
    Connection c = dataSource.getConnection();
    Call call = new Call(c, deadline);
    try {
      call.begin();
      return call;
    } catch (SQLException | RuntimeException | Error e) {
      try {
        call.close();
      } catch (SQLException | RuntimeException suppressed) {
        e.addSuppressed(suppressed);
      }
      throw e;
    }
  }

  /**
   * Reads the settings of a data source that bound how long getting a connection can take, and
   * reports (and logs once per data source and setting, at WARN) each that can hold a caller longer
   * than the call timeout, with the value to use. Known: HikariCP pools ({@code connectionTimeout},
   * {@code validationTimeout}), pgjdbc data sources ({@code loginTimeout}) and MariaDB Connector/J
   * data sources ({@code connectTimeout}). Their public getters are called by reflection, since
   * this module depends on no driver or pool; a data source of another kind gives no findings.
   *
   * <p>Does no I/O: the database may well be down at start-up.
   *
   * @param dataSource the data source the calls use
   * @param callTimeout how long a call may take: the guard's call timeout
   * @param what who uses it, for the messages: "JdbcLoader[products]"
   * @return what is wrong, empty if nothing
   * @throws IllegalArgumentException if the call timeout is zero or negative
   */
  public static List<Finding> check(DataSource dataSource, Duration callTimeout, String what) {
    Objects.requireNonNull(dataSource, "dataSource");
    Objects.requireNonNull(callTimeout, "callTimeout");
    Objects.requireNonNull(what, "what");
    if (callTimeout.isNegative() || callTimeout.isZero()) {
      throw new IllegalArgumentException("callTimeout must be positive, was " + callTimeout);
    }
    List<Finding> findings = DataSourceCheck.inspect(dataSource, callTimeout, what);
    for (Finding f : findings) {
      if (DataSourceCheck.firstReport(dataSource, f)) {
        log.warn("{}", f.message());
      }
    }
    return findings;
  }

  @Override
  public String toString() {
    return "JdbcTimeouts[" + timeout.toMillis() + " ms, " + what + "]";
  }

  private Dialect dialect(Connection c) throws SQLException {
    Dialect d = dialect;
    if (d == null) {
      // No round trip: both drivers know the product from the handshake.
      String product = c.getMetaData().getDatabaseProductName();
      d = "PostgreSQL".equalsIgnoreCase(product) ? Dialect.POSTGRES : Dialect.QUERY_TIMEOUT;
      dialect = d;
    }
    return d;
  }

  private enum Dialect {
    /** Server-side {@code statement_timeout}, in a transaction of the call's own. */
    POSTGRES,
    /** {@link Statement#setQueryTimeout}, whole seconds. */
    QUERY_TIMEOUT
  }

  /**
   * One bounded call: a connection with its deadline. Prepare statements through it; close it once,
   * which puts the connection back as it was and closes it. Not threadsafe: one thread uses it.
   */
  public final class Call implements AutoCloseable {
    private final Connection connection;
    private final long deadline;
    private int previousNetworkTimeout = -1;
    private boolean ownTransaction;
    private boolean closed;

    private Call(Connection connection, long deadline) {
      this.connection = connection;
      this.deadline = deadline;
    }

    private void begin() throws SQLException {
      long left = deadline - System.nanoTime();
      if (left <= 0) {
        throw new SQLTimeoutException(
            what
                + ": getting a connection took the whole timeout of "
                + timeout.toMillis()
                + " ms, the query was not sent; the pool's connectionTimeout or the driver's"
                + " login timeout is longer than the call timeout (see JdbcTimeouts.check)");
      }
      setNetworkTimeout(millisCeil(left) + GRACE.toMillis());
      if (dialect(connection) == Dialect.POSTGRES) {
        // SET LOCAL ends with the transaction whatever happens to the call (a thread that dies, a
        // pool that resets the connection, a transaction pooler in front of the server), so the
        // pool never hands out a connection with this call's statement_timeout.
        if (connection.getAutoCommit()) {
          connection.setAutoCommit(false);
          ownTransaction = true;
        }
        try (Statement s = connection.createStatement()) {
          // pgjdbc sends BEGIN with it: one round trip. A long, so nothing to quote.
          s.execute("SET LOCAL statement_timeout = " + Math.max(1, millisCeil(left)));
        }
      }
    }

    private void setNetworkTimeout(long millis) throws SQLException {
      if (networkTimeoutUnsupported) {
        return;
      }
      try {
        int previous = connection.getNetworkTimeout();
        connection.setNetworkTimeout(INLINE, (int) Math.min(Integer.MAX_VALUE, millis));
        previousNetworkTimeout = previous;
      } catch (SQLFeatureNotSupportedException e) {
        networkTimeoutUnsupported = true;
        log.warn(
            "{}: the JDBC driver cannot set a network timeout: a query to a frozen server waits"
                + " for the driver's socket timeout; set socketTimeout on the data source to the"
                + " call timeout ({} ms) plus {} ms",
            what,
            timeout.toMillis(),
            GRACE.toMillis());
      }
    }

    /**
     * {@return the connection, for what the call does besides statements (transactions)} Close the
     * call, not the connection: {@link #close()} puts the connection back as it was first.
     */
    public Connection connection() {
      return connection;
    }

    /**
     * Prepares a statement bounded by what is left of the call's time. The statement is the
     * caller's to close.
     *
     * @param sql the statement's SQL, with {@code ?} for parameters
     * @return the statement, its query timeout set where the driver needs one
     * @throws SQLException if the driver fails
     * @throws IllegalStateException if the call is closed
     */
    public PreparedStatement prepare(String sql) throws SQLException {
      Objects.requireNonNull(sql, "sql");
      if (closed) {
        throw new IllegalStateException(what + ": the call is closed; open a new one");
      }
      PreparedStatement ps = connection.prepareStatement(sql);
      if (dialect(connection) == Dialect.QUERY_TIMEOUT) {
        try {
          long left = Math.max(1, deadline - System.nanoTime());
          ps.setQueryTimeout((int) Math.min(Integer.MAX_VALUE, secondsCeil(left)));
        } catch (SQLException | RuntimeException e) {
          try {
            ps.close();
          } catch (SQLException suppressed) {
            e.addSuppressed(suppressed);
          }
          throw e;
        }
      }
      return ps;
    }

    /**
     * Ends the call: commits the transaction it opened (a failed one rolls back), puts the network
     * timeout back and closes the connection, whatever fails on the way; idempotent. A connection
     * that broke is only closed.
     *
     * @throws SQLException the first failure, the others suppressed on it
     */
    @Override
    public void close() throws SQLException {
      if (closed) {
        return;
      }
      closed = true;
      SQLException failure = null;
      try {
        if (!connection.isClosed()) {
          if (ownTransaction) {
            // Commit, as autocommit would have: a read that called a function with an effect keeps
            // it. PostgreSQL ends a failed transaction with a rollback either way.
            connection.commit();
            connection.setAutoCommit(true);
          }
          if (previousNetworkTimeout >= 0) {
            connection.setNetworkTimeout(INLINE, previousNetworkTimeout);
          }
        }
      } catch (SQLException e) {
        failure = e;
      } finally {
        try {
          connection.close();
        } catch (SQLException e) {
          if (failure == null) {
            failure = e;
          } else {
            failure.addSuppressed(e);
          }
        }
      }
      if (failure != null) {
        throw failure;
      }
    }

    @Override
    public String toString() {
      return "JdbcTimeouts.Call["
          + what
          + ", "
          + TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime())
          + " ms left]";
    }
  }

  private static long millisCeil(long nanos) {
    return (nanos + 999_999) / 1_000_000;
  }

  private static long secondsCeil(long nanos) {
    return (nanos + 999_999_999) / 1_000_000_000;
  }

  /**
   * A setting of a data source that can hold a caller longer than the call timeout, and the value
   * to use.
   *
   * @param what who uses the data source: "JdbcLoader[products]"
   * @param setting the setting, named as the pool or driver names it: "HikariCP connectionTimeout"
   * @param value its value now, with its unit
   * @param recommended the value to use, with its unit
   * @param reason what the value does to a caller
   */
  public record Finding(
      String what, String setting, String value, String recommended, String reason) {

    /**
     * Checks that nothing is null.
     *
     * @param what who uses the data source: "JdbcLoader[products]"
     * @param setting the setting, named as the pool or driver names it
     * @param value its value now, with its unit
     * @param recommended the value to use, with its unit
     * @param reason what the value does to a caller
     */
    public Finding {
      Objects.requireNonNull(what, "what");
      Objects.requireNonNull(setting, "setting");
      Objects.requireNonNull(value, "value");
      Objects.requireNonNull(recommended, "recommended");
      Objects.requireNonNull(reason, "reason");
    }

    /**
     * {@return two sentences for a log: who, which setting, its value, why it matters, what to set}
     */
    public String message() {
      return what
          + ": "
          + setting
          + " is "
          + value
          + "; "
          + reason
          + ". Set "
          + setting
          + " to "
          + recommended
          + ".";
    }
  }
}
