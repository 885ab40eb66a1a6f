package dev.outlast.core.spi;

import java.util.List;

/**
 * Somewhere event streams can be read from: an event store, a ledger, an archive. Every source
 * numbers a stream's events the same way (see {@link StreamEvent#sequence()}), which is what lets
 * Outlast read one stream from several sources and stitch the parts.
 *
 * <p>Implementations must be threadsafe, and should bound each call themselves (query and socket
 * timeouts): a {@link dev.outlast.core.Guard} counts slow calls but cannot stop a blocked one.
 */
public interface EventSource {
  /**
   * Events of a stream from a sequence number on, in ascending order.
   *
   * @param stream the stream's name
   * @param fromSequence the first sequence number wanted, at least 1
   * @param limit the most events to return, at least 1
   * @return at most {@code limit} events with sequence ≥ {@code fromSequence}, ascending; fewer (or
   *     none) if the source holds fewer; never null
   * @throws Exception if the source cannot answer
   */
  List<StreamEvent> read(String stream, long fromSequence, int limit) throws Exception;

  /**
   * The highest sequence number this source holds for a stream: how far it has caught up.
   *
   * @param stream the stream's name
   * @return the highest sequence number; 0 if it holds none
   * @throws Exception if the source cannot answer
   */
  long highWaterMark(String stream) throws Exception;
}
