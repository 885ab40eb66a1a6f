/** Outlast's buffer module; see the project README for its contract. */
@NullMarked
package dev.outlast.buffer;

import org.jspecify.annotations.NullMarked;
