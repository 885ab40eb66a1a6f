/**
 * A spill-queue sink for Apache Pulsar. Entry point: {@link dev.outlast.sink.pulsar.PulsarSink}.
 */
@NullMarked
package dev.outlast.sink.pulsar;

import org.jspecify.annotations.NullMarked;
