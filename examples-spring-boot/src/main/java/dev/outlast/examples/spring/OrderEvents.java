package dev.outlast.examples.spring;

import dev.outlast.core.annotation.Guarded;
import dev.outlast.core.annotation.SpillOnFailure;
import java.io.IOException;

/**
 * Where orders go: the {@code orders} index. While Elasticsearch is out (its guard refuses, or the
 * call fails as an outage), the order goes to the spill queue {@code orders} instead, which keeps
 * it on disk and delivers it once the cluster is back; the caller returns normally either way.
 */
interface OrderEvents {
  /**
   * Stores one order, directly or through the queue.
   *
   * @throws IOException never in practice: an outage spills instead of throwing
   */
  @Guarded("elasticsearch")
  @SpillOnFailure(queue = "orders")
  void placed(Order order) throws IOException;
}
