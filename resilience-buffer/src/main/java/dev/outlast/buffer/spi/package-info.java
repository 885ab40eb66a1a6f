/**
 * What a spill queue drains into. Entry point: {@link dev.outlast.buffer.spi.Sink}, which delivers
 * a batch of events and says, per event, whether it landed ({@link
 * dev.outlast.buffer.spi.Outcome#ok()}), should be tried again ({@link
 * dev.outlast.buffer.spi.Outcome#retry(String)}) or can never land ({@link
 * dev.outlast.buffer.spi.Outcome#reject(String)}).
 */
@NullMarked
package dev.outlast.buffer.spi;

import org.jspecify.annotations.NullMarked;
