package dev.outlast.core.fallback;

import dev.outlast.core.Guard;
import dev.outlast.core.spi.EventSource;
import dev.outlast.core.spi.StreamEvent;
import java.nio.ByteBuffer;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;
import org.jspecify.annotations.Nullable;

/**
 * Compares two sources of the same event streams (an event store and the ledger it is fed from) and
 * reports where they diverge: range by range, by a SHA-256 of each range's sequence numbers and
 * payloads, and only within what both hold (the part one source has not caught up with yet is lag,
 * reported as such, not divergence). When the hashes of a range differ, the events of that range
 * are compared one by one to name the first diverging sequence number.
 *
 * <p>Incremental: per stream it remembers up to where both sources agreed, and the next {@link
 * #compare} starts after it, so a periodic check reads only what is new. A divergence is reported
 * again on every compare until it is repaired. {@link #verifiedUpTo} exposes the point reached, and
 * the builder's {@link Builder#resumeFrom} starts from points kept elsewhere (after a restart).
 *
 * <p>Threadsafe; compares of one stream should not overlap (the later one would redo the work).
 */
public final class Reconciler {
  private final String leftName;
  private final EventSource left;
  private final Guard leftGuard;
  private final String rightName;
  private final EventSource right;
  private final Guard rightGuard;
  private final int rangeSize;
  private final Map<String, Long> verified;

  private Reconciler(Builder b) {
    this.leftName = b.leftName;
    this.left = Objects.requireNonNull(b.left, "left");
    this.leftGuard = Objects.requireNonNull(b.leftGuard, "left");
    this.rightName = b.rightName;
    this.right = Objects.requireNonNull(b.right, "right");
    this.rightGuard = Objects.requireNonNull(b.rightGuard, "right");
    this.rangeSize = b.rangeSize;
    this.verified = new ConcurrentHashMap<>(b.resume);
  }

  /**
   * {@return a new builder} Both sides must be given; ranges are 1,000 events unless {@link
   * Builder#rangeSize} says otherwise.
   */
  public static Builder builder() {
    return new Builder();
  }

  /**
   * The outcome of comparing one stream.
   *
   * @param stream the stream
   * @param verifiedUpTo both sources hold the same events 1..verifiedUpTo
   * @param firstDivergence the first sequence number where they differ, or 0 if none was found
   * @param divergence what differs there ("payload differs", "missing in ledger"), empty if none
   * @param leftMark the left source's high-water mark
   * @param rightMark the right source's high-water mark
   * @param rangesCompared how many ranges this compare read and hashed
   */
  public record Report(
      String stream,
      long verifiedUpTo,
      long firstDivergence,
      String divergence,
      long leftMark,
      long rightMark,
      int rangesCompared) {
    /** {@return whether a divergence was found} */
    public boolean diverged() {
      return firstDivergence > 0;
    }

    /**
     * {@return how many events the behind source lacks: the difference of the high-water marks}
     * This is lag, not divergence.
     */
    public long lag() {
      return Math.abs(leftMark - rightMark);
    }
  }

  /**
   * Compares a stream from where the last compare verified up to, through everything both sources
   * hold. Stops at the first divergence, and remembers the point verified before it.
   *
   * @param stream the stream's name
   * @return up to where the sources agree, and the first divergence if one was found
   * @throws RuntimeException what a source's guard or call threw; nothing verified is lost
   */
  public Report compare(String stream) {
    Objects.requireNonNull(stream, "stream");
    long leftMark = leftGuard.call(() -> left.highWaterMark(stream));
    long rightMark = rightGuard.call(() -> right.highWaterMark(stream));
    long common = Math.min(leftMark, rightMark);
    long done = verified.getOrDefault(stream, 0L);
    int ranges = 0;
    while (done < common) {
      long from = done + 1;
      int size = (int) Math.min(rangeSize, common - done);
      List<StreamEvent> l = leftGuard.call(() -> left.read(stream, from, size));
      List<StreamEvent> r = rightGuard.call(() -> right.read(stream, from, size));
      ranges++;
      if (!Arrays.equals(hash(l), hash(r))) {
        Divergence d = firstDifference(l, r, from, from + size - 1);
        if (d != null) {
          verified.put(stream, d.sequence - 1);
          return new Report(
              stream, d.sequence - 1, d.sequence, d.what, leftMark, rightMark, ranges);
        }
      }
      done = from + size - 1;
      verified.put(stream, done);
    }
    return new Report(stream, done, 0, "", leftMark, rightMark, ranges);
  }

  /**
   * {@return up to where the sources were found to agree for a stream; 0 if never compared} Keep it
   * (with {@link Builder#resumeFrom}) to go on from there after a restart.
   *
   * @param stream the stream's name
   */
  public long verifiedUpTo(String stream) {
    return verified.getOrDefault(stream, 0L);
  }

  private record Divergence(long sequence, String what) {}

  private @Nullable Divergence firstDifference(
      List<StreamEvent> l, List<StreamEvent> r, long from, long to) {
    int i = 0;
    int j = 0;
    for (long seq = from; seq <= to; seq++) {
      StreamEvent a = i < l.size() && l.get(i).sequence() == seq ? l.get(i++) : null;
      StreamEvent b = j < r.size() && r.get(j).sequence() == seq ? r.get(j++) : null;
      if (a == null && b == null) {
        return new Divergence(seq, "missing in " + leftName + " and " + rightName);
      }
      if (a == null) {
        return new Divergence(seq, "missing in " + leftName);
      }
      if (b == null) {
        return new Divergence(seq, "missing in " + rightName);
      }
      if (!Arrays.equals(a.payload(), b.payload())) {
        return new Divergence(seq, "payload differs");
      }
    }
    return null; // same events, hashed differently only through repeats or foreign rows
  }

  /** SHA-256 over (sequence, length, payload) of each event, in order. */
  private static byte[] hash(List<StreamEvent> events) {
    MessageDigest sha;
    try {
      sha = MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("every JDK has SHA-256", e);
    }
    ByteBuffer head = ByteBuffer.allocate(12);
    for (StreamEvent e : events) {
      byte[] p = e.payload();
      head.clear();
      head.putLong(e.sequence()).putInt(p.length);
      sha.update(head.array());
      sha.update(p);
    }
    return sha.digest();
  }

  @Override
  public String toString() {
    return "Reconciler[" + leftName + " vs " + rightName + ", ranges of " + rangeSize + "]";
  }

  /** Settings for a {@link Reconciler}. Not threadsafe; build once. */
  public static final class Builder {
    private String leftName = "left";
    private @Nullable EventSource left;
    private @Nullable Guard leftGuard;
    private String rightName = "right";
    private @Nullable EventSource right;
    private @Nullable Guard rightGuard;
    private int rangeSize = 1_000;
    private Map<String, Long> resume = Map.of();

    private Builder() {}

    /**
     * One side, for example the event store, with its guard. Required.
     *
     * @param name the side's name in reports: "missing in event-store"
     * @param source the source
     * @param guard the source's own guard, through which every read goes
     * @return this builder
     */
    public Builder left(String name, EventSource source, Guard guard) {
      this.leftName = Objects.requireNonNull(name, "name");
      this.left = Objects.requireNonNull(source, "source");
      this.leftGuard = Objects.requireNonNull(guard, "guard");
      return this;
    }

    /**
     * The other side, for example the ledger, with its guard. Required.
     *
     * @param name the side's name in reports: "missing in ledger"; not the left side's name
     * @param source the source
     * @param guard the source's own guard, through which every read goes
     * @return this builder
     */
    public Builder right(String name, EventSource source, Guard guard) {
      this.rightName = Objects.requireNonNull(name, "name");
      this.right = Objects.requireNonNull(source, "source");
      this.rightGuard = Objects.requireNonNull(guard, "guard");
      return this;
    }

    /**
     * Events per compared range; 1,000 by default. A compare holds one range of each side in memory
     * at a time.
     *
     * @param events 1 to 1,000,000
     * @return this builder
     * @throws IllegalArgumentException if the number is out of range
     */
    public Builder rangeSize(int events) {
      if (events < 1 || events > 1_000_000) {
        throw new IllegalArgumentException("rangeSize must be in [1, 1000000], was " + events);
      }
      this.rangeSize = events;
      return this;
    }

    /**
     * Points already verified per stream (from {@link Reconciler#verifiedUpTo}), to go on from
     * there.
     *
     * @param verifiedUpTo the verified sequence number by stream name; copied
     * @return this builder
     */
    public Builder resumeFrom(Map<String, Long> verifiedUpTo) {
      this.resume = Map.copyOf(verifiedUpTo);
      return this;
    }

    /**
     * Builds the reconciler.
     *
     * @return the reconciler
     * @throws IllegalStateException if a side is missing
     * @throws IllegalArgumentException if both sides have the same name
     */
    public Reconciler build() {
      if (left == null || right == null) {
        throw new IllegalStateException("a reconciler needs left(...) and right(...)");
      }
      if (leftName.equals(rightName)) {
        throw new IllegalArgumentException("both sides are named " + leftName);
      }
      return new Reconciler(this);
    }
  }
}
