package dev.outlast.buffer;

/**
 * Told about each call a {@link SpillQueue}'s delivery lane makes into its sink: how long it took,
 * what came of its events, and how long the oldest delivered event waited since it was published.
 * For metrics (the Micrometer binder of {@code resilience-micrometer} is one) and tests; register
 * with {@link SpillQueue#observeDeliveries}.
 *
 * <p>An observer is a plug-in and cannot hurt delivery. The lane does not call it: it leaves a
 * small record of each call in a bounded buffer (a few dozen nanoseconds, no lock, no wake-up) and
 * goes on; a thread of the queue, started with the first observer, hands the records to the
 * observers in call order, a few times a second. An observer that throws is logged once with the
 * stack trace, then counted ({@link Registration#failures()}), and keeps being called; one that is
 * slow delays only the other observers, and once the buffer is full the records that do not fit are
 * dropped and counted ({@link Registration#dropped()}), never waited for.
 *
 * <p>Called from one thread at a time, so an observer needs no locking for its own state; it should
 * still return quickly.
 */
@FunctionalInterface
public interface DeliveryObserver {

  /**
   * One call into the sink has ended.
   *
   * @param call what came of it
   */
  void sinkCalled(SinkCall call);

  /**
   * One call of the delivery lane into the sink. Immutable.
   *
   * @param events events in the batch
   * @param delivered events the sink acknowledged
   * @param rejected events the sink rejected for good (they go to the dead-letter journal)
   * @param retried events that will be sent again: those the sink answered retry for, or the whole
   *     batch if the call failed
   * @param failed whether the call failed as a whole: it threw, timed out, returned no stage or the
   *     wrong number of outcomes
   * @param durationNanos how long the call took, from the lane's call to the sink's answer
   * @param oldestDeliveredAgeMillis how long the oldest event the sink acknowledged in this call
   *     waited, from its {@code publish} to the answer (wall clock, milliseconds, at least 0), or
   *     -1 if the call delivered nothing
   */
  record SinkCall(
      int events,
      int delivered,
      int rejected,
      int retried,
      boolean failed,
      long durationNanos,
      long oldestDeliveredAgeMillis) {}

  /**
   * An observer's registration on one queue. Threadsafe.
   *
   * <p>Closing it stops the calls (one already under way finishes); idempotent. Closing the queue
   * ends every registration; a registration made on a closed queue is never called.
   */
  interface Registration extends AutoCloseable {
    /** Stops calling the observer. Idempotent. */
    @Override
    void close();

    /** {@return how often the observer threw, since it was registered} */
    long failures();

    /**
     * {@return how many records of sink calls were dropped since the registration because the
     * observers fell behind (the buffer between the lane and them was full)}
     */
    long dropped();
  }
}
