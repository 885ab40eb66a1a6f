package dev.outlast.buffer;

import java.time.Duration;
import java.util.Objects;

/**
 * What {@code publish} does when the journal is full (its byte bound, or the disk's free-space
 * reserve): fail at once, or wait for room up to a timeout. Either way it never writes past the
 * bound, never crashes the JVM, and never drops an event silently. (One exception to the bound, in
 * spill-on-failure mode: the events of a failed direct delivery, which the sink has seen, see
 * {@code SpillQueue.Builder.maxDiskBytes}.)
 *
 * <p>In spill-on-failure mode the policy applies to publishers that journal themselves. Events
 * handed to the delivery lane and then journaled by it, when the sink fails, are journaled without
 * waiting: the lane is what makes room, and it holds publishers off while it journals. With no
 * room, their publishers get {@link SpillQueueFullException} at once.
 *
 * <p>Immutable and threadsafe.
 */
public final class FullPolicy {
  private final Duration maxWait;

  private FullPolicy(Duration maxWait) {
    this.maxWait = maxWait;
  }

  /**
   * {@return a policy that throws {@link SpillQueueFullException} at once when the journal is full}
   */
  public static FullPolicy fail() {
    return new FullPolicy(Duration.ZERO);
  }

  /**
   * Wait for room (the drainer frees it as the sink takes events; an operator may free disk) for at
   * most this long, then throw {@link SpillQueueFullException}.
   *
   * @param maxWait the longest a {@code publish} waits for room; positive
   * @return the policy
   * @throws IllegalArgumentException if the wait is zero or negative (use {@link #fail()})
   */
  public static FullPolicy block(Duration maxWait) {
    Objects.requireNonNull(maxWait, "maxWait");
    if (maxWait.isNegative() || maxWait.isZero()) {
      throw new IllegalArgumentException(
          "block needs a positive wait, was " + maxWait + "; use FullPolicy.fail() for none");
    }
    return new FullPolicy(maxWait);
  }

  /** {@return how long a publish waits for room; zero to fail at once} */
  public Duration maxWait() {
    return maxWait;
  }

  @Override
  public String toString() {
    return maxWait.isZero() ? "fail" : "block up to " + maxWait;
  }
}
