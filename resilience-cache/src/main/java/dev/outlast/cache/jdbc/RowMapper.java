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
   * @param row the result set, on the row to map; read its columns, do not move its cursor
   * @return the row's value; never null
   * @throws SQLException if a column cannot be read; it fails the load
   */
  R map(ResultSet row) throws SQLException;
}
