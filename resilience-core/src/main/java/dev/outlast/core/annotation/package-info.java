/**
 * Annotation wiring without Spring, CDI or an agent: {@link dev.outlast.core.annotation.Guarded},
 * {@link dev.outlast.core.annotation.ReadFallback}, {@link dev.outlast.core.annotation.CachedQuery}
 * and {@link dev.outlast.core.annotation.SpillOnFailure} on interface methods, made to work by one
 * call.
 *
 * <p>Entry point: {@link dev.outlast.core.annotation.Outlast#builder()}, then {@link
 * dev.outlast.core.annotation.Outlast#wrap}.
 */
@NullMarked
package dev.outlast.core.annotation;

import org.jspecify.annotations.NullMarked;
