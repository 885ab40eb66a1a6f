/** Outlast's cache module; see the project README for its contract. */
@NullMarked
package dev.outlast.cache;

import org.jspecify.annotations.NullMarked;
