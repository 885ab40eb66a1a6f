/**
 * SQL queries for a {@link dev.outlast.cache.QueryCache}: {@link dev.outlast.cache.jdbc.SqlQuery}
 * is the key (SQL and parameters), {@link dev.outlast.cache.jdbc.JdbcLoader} runs it on a {@code
 * DataSource} through a {@link dev.outlast.cache.jdbc.RowMapper}, with the driver's timeouts set
 * from the dependency's guard so that a query to a frozen server is stopped in the driver.
 */
@NullMarked
package dev.outlast.cache.jdbc;

import org.jspecify.annotations.NullMarked;
