package dev.outlast.buffer;

import dev.outlast.core.OutlastException;

/**
 * {@code publish} could not make an event safe because the journal reached its byte bound or the
 * disk its reserve of free space, and the queue's {@link FullPolicy} gave up (at once, or after its
 * timeout). Nothing was written; the event was not accepted. The queue goes on by itself once the
 * sink takes events again or space returns.
 */
public final class SpillQueueFullException extends OutlastException {
  private static final long serialVersionUID = 1L;

  SpillQueueFullException(String message) {
    super(message);
  }
}
