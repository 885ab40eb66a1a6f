package dev.outlast.core;

import java.sql.Connection;
import java.sql.SQLException;
import java.sql.SQLTransientConnectionException;
import java.time.Duration;
import java.util.Objects;
import javax.sql.DataSource;

/**
 * A cheap check that a dependency answers, run by a {@link Guard} on its own while its breaker is
 * not closed, so that the guard (and health, and readiness) sees a recovery without waiting for
 * traffic. The check returns normally if the dependency answered and throws otherwise.
 *
 * <p>The guard runs it on its executor, at most every {@link GuardConfig#probeInterval()}, and
 * stops waiting for it after {@link GuardConfig#callTimeout()} (interrupting it if {@link
 * GuardConfig#interruptOnTimeout()}). Implementations must be threadsafe: two checks can overlap
 * when one hangs.
 */
@FunctionalInterface
public interface RecoveryProbe {

  /**
   * Checks the dependency once.
   *
   * @throws Exception if it did not answer, or answered that it cannot serve
   */
  void check() throws Exception;

  /**
   * Borrows a connection and asks the driver whether it is valid ({@link Connection#isValid}, which
   * drivers answer with a ping or a trivial query).
   *
   * @param dataSource the data source, usually the service's pool
   * @param timeout how long the validity check may take; rounded up to whole seconds (JDBC's unit),
   *     at least 1. Borrowing the connection is bounded by the pool, not by this.
   * @return a probe that borrows, checks and returns one connection per check
   * @throws IllegalArgumentException if the timeout is zero or negative
   */
  static RecoveryProbe jdbc(DataSource dataSource, Duration timeout) {
    Objects.requireNonNull(dataSource, "dataSource");
    Objects.requireNonNull(timeout, "timeout");
    if (timeout.isNegative() || timeout.isZero()) {
      throw new IllegalArgumentException("timeout must be positive, was " + timeout);
    }
    int seconds = (int) Math.max(1, Math.min(Integer.MAX_VALUE, (timeout.toMillis() + 999) / 1000));
    return new RecoveryProbe() {
      @Override
      public void check() throws SQLException {
        try (Connection c = dataSource.getConnection()) {
          if (!c.isValid(seconds)) {
            throw new SQLTransientConnectionException(
                "the connection did not prove valid within " + seconds + " s");
          }
        }
      }

      @Override
      public String toString() {
        return "RecoveryProbe.jdbc(" + dataSource + ")";
      }
    };
  }
}
