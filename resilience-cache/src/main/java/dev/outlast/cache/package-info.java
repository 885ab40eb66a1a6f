/**
 * A per-pod query-result cache on Caffeine that keeps answering while its database is down.
 *
 * <p>Entry point: {@link dev.outlast.cache.QueryCache#builder(String)}. Each entry keeps the time
 * it was loaded; its {@link dev.outlast.cache.Freshness} says how long it is served as is, how long
 * it is served while a background refresh runs, and the most stale it may be when the database
 * fails. Loads go through the dependency's {@link dev.outlast.core.Guard}; an optional snapshot on
 * local disk lets a restarted pod serve what it had, with the original ages.
 *
 * <p>SQL queries: {@link dev.outlast.cache.jdbc.JdbcLoader}.
 */
@NullMarked
package dev.outlast.cache;

import org.jspecify.annotations.NullMarked;
