/**
 * The plug-in point of annotation wiring: {@link
 * dev.outlast.core.annotation.spi.AnnotationHandler}, implemented by the cache and buffer modules.
 * Users do not need it.
 */
@NullMarked
package dev.outlast.core.annotation.spi;

import org.jspecify.annotations.NullMarked;
