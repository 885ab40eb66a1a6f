package dev.outlast.core.spi;

import java.util.List;

/**
 * An event source that can also be written: the store a {@link dev.outlast.core.fallback.Rebuilder}
 * fills.
 */
public interface EventStore extends EventSource {
  /**
   * Appends events, all or none: after a crash either every event of the call is stored or none.
   * Callers append each stream in sequence order without gaps, so a store's high-water mark is
   * where an interrupted rebuild goes on.
   *
   * @param events events of one or more streams, in sequence order per stream
   * @throws Exception if they could not be stored; none of them is then
   */
  void append(List<StreamEvent> events) throws Exception;
}
