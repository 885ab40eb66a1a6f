/**
 * JDBC implementations of core SPIs. Entry point: {@link dev.outlast.core.jdbc.JdbcEventSource}.
 */
@NullMarked
package dev.outlast.core.jdbc;

import org.jspecify.annotations.NullMarked;
