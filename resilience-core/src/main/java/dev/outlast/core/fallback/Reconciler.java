package dev.outlast.core.fallback;

import dev.outlast.core.Guard;
import dev.outlast.core.spi.EventSource;
import dev.outlast.core.spi.StreamEvent;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;
import org.jspecify.annotations.Nullable;

/**
 * Compares two sources of the same event streams (an event store and the ledger it is fed from) and
 * reports where they diverge: range by range, event by event (sequence number and payload), and
 * only within what both hold (the part one source has not caught up with yet is lag, reported as
 * such, not divergence). A sequence number a source returns more than once with the same payload (a
 * replayed write) is one event; with another payload it is a divergence. Events out of the range
 * asked for are ignored. A source whose high-water mark fell below the point already verified lost
 * events: that is reported as a divergence, not as lag.
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
   * @param rangesCompared how many ranges this compare read and compared
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
    if (common < done) {
      // Verified before, gone now: a source was truncated or restored from an older backup.
      String shrunk = leftMark < rightMark ? leftName : rightName;
      String what =
          "missing in " + shrunk + ": it held events up to " + done + " when last compared";
      verified.put(stream, common);
      return new Report(stream, common, common + 1, what, leftMark, rightMark, 0);
    }
    int ranges = 0;
    while (done < common) {
      long from = done + 1;
      int size = (int) Math.min(rangeSize, common - done);
      byte[][] l = readRange(leftGuard, left, stream, from, size);
      byte[][] r = readRange(rightGuard, right, stream, from, size);
      ranges++;
      Divergence d = firstDifference(l, r, from);
      if (d != null) {
        verified.put(stream, d.sequence - 1);
        return new Report(stream, d.sequence - 1, d.sequence, d.what, leftMark, rightMark, ranges);
      }
      done = from + size - 1;
      verified.put(stream, done);
    }
    return new Report(stream, done, 0, "", leftMark, rightMark, ranges);
  }

  /** A marker in a range read: the source returned this sequence twice with other payloads. */
  private static final byte[] CONFLICT = new byte[0];

  /**
   * The payloads of sequences {@code from .. from + size - 1} as one source holds them, indexed by
   * sequence - from; null where it holds none, {@link #CONFLICT} where it returned two payloads.
   * Reads on while a full page ended before the range did: repeats take room in a page.
   */
  private static byte[][] readRange(
      Guard guard, EventSource source, String stream, long from, int size) {
    byte[][] out = new byte[size][];
    long to = from + size - 1;
    long next = from;
    while (next <= to) {
      long start = next;
      int limit = (int) (to - start + 1);
      List<StreamEvent> page = guard.call(() -> source.read(stream, start, limit));
      long last = start - 1;
      for (StreamEvent e : page) {
        long seq = e.sequence();
        last = Math.max(last, seq);
        if (seq < from || seq > to) {
          continue; // not asked for
        }
        int i = (int) (seq - from);
        byte[] had = out[i];
        if (had == null) {
          out[i] = e.payload();
        } else if (had != CONFLICT && !Arrays.equals(had, e.payload())) {
          out[i] = CONFLICT;
        }
      }
      if (page.size() < limit || last >= to || last < start) {
        break; // the source has no more of the range (a short page), or it was all read
      }
      next = last + 1;
    }
    return out;
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

  private @Nullable Divergence firstDifference(byte[][] l, byte[][] r, long from) {
    for (int i = 0; i < l.length; i++) {
      long seq = from + i;
      byte[] a = l[i];
      byte[] b = r[i];
      if (a == null && b == null) {
        return new Divergence(seq, "missing in " + leftName + " and " + rightName);
      }
      if (a == null) {
        return new Divergence(seq, "missing in " + leftName);
      }
      if (b == null) {
        return new Divergence(seq, "missing in " + rightName);
      }
      if (a == CONFLICT || b == CONFLICT) {
        return new Divergence(
            seq, "held twice with different payloads in " + (a == CONFLICT ? leftName : rightName));
      }
      if (!Arrays.equals(a, b)) {
        return new Divergence(seq, "payload differs");
      }
    }
    return null;
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
