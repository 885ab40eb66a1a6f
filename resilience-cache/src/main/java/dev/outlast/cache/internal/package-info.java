/**
 * Not API: the {@link dev.outlast.core.annotation.CachedQuery} handler, public only because {@link
 * java.util.ServiceLoader} needs it to be. Use the annotation.
 */
@NullMarked
package dev.outlast.cache.internal;

import org.jspecify.annotations.NullMarked;
