package dev.outlast.core.fallback;

import dev.outlast.core.Guard;
import dev.outlast.core.spi.EventSource;
import dev.outlast.core.spi.StreamEvent;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * Reads an event stream from several sources that hold it to different points, and stitches the
 * parts by sequence number. The usual pair: an event store fed from the ledger by change data
 * capture, so always a little behind it, and the ledger itself.
 *
 * <p>A read asks each source of the chain, in order, for its high-water mark and takes from it the
 * events from where the read stands up to that mark; the next source continues from there. Events a
 * source returns twice or out of range are dropped; at the first gap in a source the next source
 * takes over. So the store answers as much as it can and the ledger only the lag, and while the
 * store is down (its guard open) the ledger answers everything, at once.
 *
 * <p>A read returns every event from {@code fromSequence} up to {@code limit} events or the end of
 * the stream, once each, in order. The end of the stream is the highest high-water mark reported;
 * if a range below it was delivered by no source, or the last source failed before the range was
 * complete, the read throws {@link IncompleteReadException} instead of returning short.
 *
 * <p>Immutable and threadsafe if the sources are.
 */
public final class StitchedReader {
  private final FallbackChain<EventSource> chain;

  private StitchedReader(FallbackChain<EventSource> chain) {
    this.chain = chain;
  }

  /**
   * {@return a reader over a chain of sources}
   *
   * @param chain the sources, each with its own guard: the one that lags (the event store, an
   *     archive) first, the most complete one (the ledger) last
   */
  public static StitchedReader over(FallbackChain<EventSource> chain) {
    return new StitchedReader(Objects.requireNonNull(chain, "chain"));
  }

  /**
   * Which source gave which range of a read.
   *
   * @param source the source's name
   * @param from the first sequence number it gave
   * @param to the last one
   */
  public record Part(String source, long from, long to) {}

  /**
   * What a read returned.
   *
   * @param events the events, in sequence order, without gaps or repeats
   * @param parts which source gave which range, in order
   * @param failures sources that failed or were skipped (their ranges came from later sources)
   */
  public record Result(List<StreamEvent> events, List<Part> parts, List<SourceFailure> failures) {
    /**
     * Copies the lists.
     *
     * @param events the events, in sequence order, without gaps or repeats
     * @param parts which source gave which range, in order
     * @param failures sources that failed or were skipped
     */
    public Result {
      events = List.copyOf(events);
      parts = List.copyOf(parts);
      failures = List.copyOf(failures);
    }
  }

  /**
   * Reads up to {@code limit} events of a stream from {@code fromSequence} on. Each source is
   * asked, through its guard, for its high-water mark, then for its events if it holds any still
   * wanted.
   *
   * @param stream the stream's name
   * @param fromSequence the first sequence number wanted, at least 1
   * @param limit the most events to return, at least 1
   * @return the events from {@code fromSequence} on, contiguous: {@code limit} of them, or fewer if
   *     the stream ends sooner (none if it ends before {@code fromSequence})
   * @throws IncompleteReadException if events that exist could not be read from any source
   * @throws AllSourcesFailedException if no source answered at all
   * @throws IllegalArgumentException for a sequence below 1 or a limit below 1
   */
  public Result read(String stream, long fromSequence, int limit) {
    Objects.requireNonNull(stream, "stream");
    if (fromSequence < 1) {
      throw new IllegalArgumentException("fromSequence must be at least 1, was " + fromSequence);
    }
    if (limit < 1) {
      throw new IllegalArgumentException("limit must be at least 1, was " + limit);
    }
    long end = fromSequence > Long.MAX_VALUE - limit ? Long.MAX_VALUE : fromSequence + limit - 1;
    List<StreamEvent> events = new ArrayList<>(Math.min(limit, 1024));
    List<Part> parts = new ArrayList<>(2);
    List<SourceFailure> failures = new ArrayList<>(0);
    long next = fromSequence;
    long highest = 0; // the highest high-water mark any source reported
    boolean lastAnswered = false;
    List<FallbackChain.Link<EventSource>> links = chain.links();
    for (int i = 0; i < links.size() && next <= end; i++) {
      FallbackChain.Link<EventSource> link = links.get(i);
      Guard guard = link.guard();
      EventSource source = link.source();
      long mark;
      List<StreamEvent> got;
      try {
        mark = guard.call(() -> source.highWaterMark(stream));
        highest = Math.max(highest, mark);
        long from = next;
        long upTo = Math.min(end, mark);
        got =
            upTo < from
                ? List.of()
                : guard.call(() -> source.read(stream, from, (int) (upTo - from + 1)));
      } catch (RuntimeException e) {
        if (!FallbackChain.movesOn(guard, e)) {
          throw e;
        }
        failures.add(new SourceFailure(link.name(), e));
        lastAnswered = false;
        continue;
      }
      lastAnswered = true;
      long partFrom = next;
      for (StreamEvent e : got) {
        if (e.sequence() < next || !e.stream().equals(stream)) {
          continue; // a repeat, or not ours
        }
        if (e.sequence() > next || next > end) {
          break; // a gap in this source (the next one fills it), or done
        }
        events.add(e);
        next++;
      }
      if (next > partFrom) {
        parts.add(new Part(link.name(), partFrom, next - 1));
      }
    }
    if (next <= end) {
      if (events.isEmpty() && failures.size() == links.size()) {
        throw new AllSourcesFailedException(chain.name() + " reading " + stream, failures);
      }
      if (highest >= next) {
        throw new IncompleteReadException(
            stream
                + ": events "
                + next
                + ".."
                + Math.min(end, highest)
                + " exist (a source holds up to "
                + highest
                + ") but no source returned them"
                + (failures.isEmpty() ? "" : "; failed: " + failures),
            stream,
            next,
            Math.min(end, highest),
            events,
            failures);
      }
      if (!lastAnswered) {
        // The most complete source did not answer: whether the stream goes on is unknown.
        throw new IncompleteReadException(
            stream
                + ": read up to "
                + (next - 1)
                + "; whether more events follow is unknown, the sources that would know failed: "
                + failures,
            stream,
            next,
            Long.MAX_VALUE,
            events,
            failures);
      }
    }
    return new Result(events, parts, failures);
  }

  @Override
  public String toString() {
    return "StitchedReader[" + chain + "]";
  }
}
