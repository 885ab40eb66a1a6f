package dev.outlast.buffer.spi;

import java.util.Objects;

/**
 * What became of one delivered event.
 *
 * <p>Immutable and threadsafe.
 */
public final class Outcome {
  /** The three things that can happen to an event. */
  public enum Kind {
    /** It landed; the queue forgets it. */
    OK,
    /** It did not land this time (overload, outage, timeout); the queue sends it again. */
    RETRY,
    /**
     * It can never land (mapping error, too large, invalid); it goes to the dead-letter journal.
     */
    REJECT
  }

  private static final Outcome OK = new Outcome(Kind.OK, "");

  private final Kind kind;
  private final String reason;

  private Outcome(Kind kind, String reason) {
    this.kind = kind;
    this.reason = reason;
  }

  /** {@return the outcome of an event that landed; the queue forgets it} */
  public static Outcome ok() {
    return OK;
  }

  /**
   * The event did not land this time and should be delivered again, in order, before anything
   * newer.
   *
   * @param reason why, for the log: "broker unavailable", "429 Too Many Requests"
   * @return the outcome
   */
  public static Outcome retry(String reason) {
    return new Outcome(Kind.RETRY, Objects.requireNonNull(reason, "reason"));
  }

  /**
   * The event can never land: the queue moves it to the dead-letter journal and goes on with the
   * events behind it.
   *
   * @param reason why, kept with the event in the dead-letter journal (credentials masked; sealed
   *     with it if the queue is encrypted)
   * @return the outcome
   */
  public static Outcome reject(String reason) {
    return new Outcome(Kind.REJECT, Objects.requireNonNull(reason, "reason"));
  }

  /** {@return what happened to the event} */
  public Kind kind() {
    return kind;
  }

  /** {@return why, for retry and reject; empty for ok} */
  public String reason() {
    return reason;
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof Outcome other && kind == other.kind && reason.equals(other.reason);
  }

  @Override
  public int hashCode() {
    return Objects.hash(kind, reason);
  }

  @Override
  public String toString() {
    return reason.isEmpty() ? kind.toString() : kind + "(" + reason + ")";
  }
}
