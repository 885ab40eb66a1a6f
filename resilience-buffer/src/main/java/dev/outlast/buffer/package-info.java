/**
 * A spill queue that accepts every event now, holds it durably on local disk while its sink is
 * down, and delivers it in order, at least once, when the sink is back.
 *
 * <p>Entry point: {@link dev.outlast.buffer.SpillQueue#builder(String)}. What the queue delivers
 * into is a {@link dev.outlast.buffer.spi.Sink} (package {@code dev.outlast.buffer.spi}); its
 * figures are {@link dev.outlast.buffer.SpillQueue#metrics()} and {@link
 * dev.outlast.buffer.SpillQueue#health}.
 */
@NullMarked
package dev.outlast.buffer;

import org.jspecify.annotations.NullMarked;
