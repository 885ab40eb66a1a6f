/**
 * The JMH suite. Every comparison is one benchmark with a {@code @Param} named {@code impl} that
 * puts Outlast beside the raw library it builds on, so that ratios come from one run. Build and run
 * with the command in {@code BENCHMARKS.md}.
 */
@NullMarked
package dev.outlast.benchmarks;

import org.jspecify.annotations.NullMarked;
