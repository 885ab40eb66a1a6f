/**
 * JDBC implementations of core SPIs. Entry point: {@link dev.outlast.core.jdbc.JdbcEventSource}.
 * {@link dev.outlast.core.jdbc.JdbcTimeouts} bounds each JDBC call in the driver (for these and for
 * an application's own JDBC code) and checks at start-up that a data source cannot hold a caller
 * past the call timeout.
 */
@NullMarked
package dev.outlast.core.jdbc;

import org.jspecify.annotations.NullMarked;
