package dev.outlast.cache.jdbc;

import java.sql.ResultSet;
import java.sql.SQLException;

/**
 * Turns the current row of a result set into a value. Must not move the cursor.
 *
 * @param <R> the row type
 */
@FunctionalInterface
public interface RowMapper<R> {
  /**
   * Maps the current row.
   *
   * @return never null
   */
  R map(ResultSet row) throws SQLException;
}
