package dev.outlast.core;

import java.io.IOException;
import java.sql.SQLException;
import java.sql.SQLNonTransientConnectionException;
import java.sql.SQLRecoverableException;
import java.sql.SQLTimeoutException;
import java.sql.SQLTransientConnectionException;
import java.util.Objects;
import java.util.concurrent.TimeoutException;
import java.util.function.Predicate;

/**
 * Decides which failures count against a dependency's health. A guard opens its circuit breaker on
 * infrastructure failures only: a constraint violation or a bad request says nothing about whether
 * the database is up, and must not make every other caller fall back.
 *
 * <p>Implementations must be threadsafe and fast; they run on every failed call.
 */
@FunctionalInterface
public interface FailureClassifier {

  /**
   * Whether this failure means the dependency is unreachable, overloaded or broken.
   *
   * @param failure what the call threw; never null
   * @return true if the failure counts against the dependency, false if it is an error of the
   *     request
   */
  boolean isInfrastructureFailure(Throwable failure);

  /**
   * Infrastructure failures of the JDK's and JDBC's vocabulary, anywhere in the cause chain:
   *
   * <ul>
   *   <li>any {@link IOException} (connection refused or reset, socket timeout, EOF, HTTP timeout);
   *   <li>{@link TimeoutException};
   *   <li>{@link SQLTransientConnectionException}, {@link SQLNonTransientConnectionException},
   *       {@link SQLRecoverableException} and {@link SQLTimeoutException};
   *   <li>an {@link SQLException} whose SQLState is of class {@code 08} (connection exception),
   *       {@code HYT} (timeout), {@code 53300} (too many connections), {@code 57014} or {@code
   *       70100} (a statement stopped by the server's time limit), or {@code 57P01}-{@code 57P03}
   *       (server shutting down or starting).
   * </ul>
   *
   * Everything else, e.g. SQLState {@code 23} (constraint violation) or {@code 42} (syntax), is an
   * error of the request. The cause chain is followed at most 32 levels deep.
   *
   * @return the built-in classifier, the default of every {@link GuardConfig}
   */
  static FailureClassifier infrastructure() {
    return FailureClassifier::isInfrastructureByDefault;
  }

  /**
   * {@return this classifier, widened: it also counts the failures the predicate accepts}
   *
   * @param also tested only on failures this classifier does not count; it sees the failure as
   *     thrown, not its causes
   */
  default FailureClassifier or(Predicate<? super Throwable> also) {
    Objects.requireNonNull(also, "also");
    return failure -> isInfrastructureFailure(failure) || also.test(failure);
  }

  private static boolean isInfrastructureByDefault(Throwable failure) {
    // Walk the cause chain; the depth limit also ends a cycle.
    int depth = 0;
    for (Throwable t = failure; t != null && depth < 32; t = t.getCause(), depth++) {
      if (t instanceof IOException
          || t instanceof TimeoutException
          || t instanceof SQLTransientConnectionException
          || t instanceof SQLNonTransientConnectionException
          || t instanceof SQLRecoverableException
          || t instanceof SQLTimeoutException) {
        return true;
      }
      if (t instanceof SQLException sql && isInfrastructureSqlState(sql.getSQLState())) {
        return true;
      }
    }
    return false;
  }

  private static boolean isInfrastructureSqlState(String state) {
    return state != null
        && (state.startsWith("08")
            || state.startsWith("HYT")
            || state.equals("53300")
            // A statement stopped by the server's own time limit: PostgreSQL's statement_timeout
            // (57014, query_canceled) and MariaDB's max_statement_time (70100), which is how
            // Outlast's JDBC helpers bound a query.
            || state.equals("57014")
            || state.equals("70100")
            || state.equals("57P01")
            || state.equals("57P02")
            || state.equals("57P03"));
  }
}
