/**
 * The health of a service's dependencies in one call. Entry point: {@link
 * dev.outlast.core.health.Health}; components report through {@link
 * dev.outlast.core.health.HealthCheck}.
 */
@NullMarked
package dev.outlast.core.health;

import org.jspecify.annotations.NullMarked;
