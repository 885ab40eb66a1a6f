/**
 * Micrometer meters for Outlast. One {@link io.micrometer.core.instrument.binder.MeterBinder} per
 * component: {@link dev.outlast.micrometer.GuardMetrics} for a guard, {@link
 * dev.outlast.micrometer.QueryCacheMetrics} for a query cache, {@link
 * dev.outlast.micrometer.SpillQueueMetrics} for a spill queue and its sink. Bind each to a
 * registry: {@code new GuardMetrics(guard).bindTo(registry)}. The meters are listed in the guide's
 * "Metrics (Micrometer)" section.
 */
@NullMarked
package dev.outlast.micrometer;

import org.jspecify.annotations.NullMarked;
