/**
 * What applications plug into Outlast. Entry point: {@link dev.outlast.core.spi.Codec}, which turns
 * values into bytes for everything Outlast keeps on disk (cache snapshots, spilled events). Outlast
 * never uses Java serialization.
 */
@NullMarked
package dev.outlast.core.spi;

import org.jspecify.annotations.NullMarked;
