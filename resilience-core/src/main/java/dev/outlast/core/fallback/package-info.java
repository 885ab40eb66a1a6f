/**
 * Reads that survive a failing source: {@link dev.outlast.core.fallback.FallbackChain} asks ordered
 * sources, each behind its own guard, until one answers; {@link
 * dev.outlast.core.fallback.StitchedReader} reads an event stream from a lagging store and the
 * ledger and stitches the parts by sequence number.
 */
@NullMarked
package dev.outlast.core.fallback;

import org.jspecify.annotations.NullMarked;
