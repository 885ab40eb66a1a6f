/**
 * The core of Outlast: the exception root shared by every module, and (as they arrive)
 * per-dependency guards, health, read fallbacks and annotation wiring.
 *
 * <p>Entry point: {@link dev.outlast.core.OutlastException} is the root of every exception Outlast
 * throws.
 */
@NullMarked
package dev.outlast.core;

import org.jspecify.annotations.NullMarked;
