package dev.outlast.core.fallback;

import dev.outlast.core.Guard;
import dev.outlast.core.spi.EventStore;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import org.jspecify.annotations.Nullable;

/**
 * Fills an event store again from other sources: the history from an archive, the recent part from
 * the ledger, read through a {@link StitchedReader} (so by sequence, deduplicated and checked for
 * gaps) and appended in batches, each all or none.
 *
 * <p>Resumable: a rebuild starts from the store's own high-water mark, so one interrupted by a
 * crash goes on where the last stored batch ended when it runs again, with no gap and no event
 * twice.
 *
 * <pre>{@code
 * Rebuilder rebuild = Rebuilder.into(store, storeGuard)
 *     .from(StitchedReader.over(FallbackChain.<EventSource>builder("history")
 *         .source("archive", DirectoryArchive.in(dir), archiveGuard)
 *         .source("ledger", ledger, ledgerGuard).build()))
 *     .batchSize(1_000)
 *     .build();
 * Rebuilder.Report r = rebuild.rebuild("order-42");
 * }</pre>
 *
 * <p>Threadsafe; rebuilds of one stream must not run at the same time (a file or advisory lock
 * around the call is the application's).
 */
public final class Rebuilder {
  private final EventStore store;
  private final Guard storeGuard;
  private final StitchedReader from;
  private final int batchSize;

  private Rebuilder(Builder b) {
    this.store = b.store;
    this.storeGuard = b.storeGuard;
    this.from = Objects.requireNonNull(b.from, "from");
    this.batchSize = b.batchSize;
  }

  /**
   * {@return a builder that fills this store, through its guard} Batches of 1,000 events unless
   * {@link Builder#batchSize} says otherwise; the sources must be given with {@link Builder#from}.
   *
   * @param store the store to fill
   * @param storeGuard the store's own guard, through which its high-water mark is read and each
   *     batch appended
   */
  public static Builder into(EventStore store, Guard storeGuard) {
    return new Builder(store, storeGuard);
  }

  /**
   * What a rebuild did.
   *
   * @param stream the stream
   * @param resumedAfter the store's high-water mark when it started (0 for an empty store)
   * @param storedUpTo the store's high-water mark at the end
   * @param batches batches appended
   * @param fromEachSource events taken from each source, by name, in chain order
   */
  public record Report(
      String stream,
      long resumedAfter,
      long storedUpTo,
      int batches,
      Map<String, Long> fromEachSource) {}

  /**
   * Rebuilds a stream up to the end the sources know, batch after batch on the calling thread.
   *
   * @param stream the stream's name
   * @return what the rebuild did; nothing was appended if the store was already up to date
   * @throws IncompleteReadException if the sources have a gap; what was stored before it stays
   * @throws RuntimeException a failure of the store or the sources, through their guards; what was
   *     stored stays, and the next rebuild goes on from there
   */
  public Report rebuild(String stream) {
    Objects.requireNonNull(stream, "stream");
    long start = storeGuard.call(() -> store.highWaterMark(stream));
    long next = start + 1;
    int batches = 0;
    Map<String, Long> counts = new LinkedHashMap<>();
    while (true) {
      StitchedReader.Result r = from.read(stream, next, batchSize);
      if (r.events().isEmpty()) {
        break;
      }
      storeGuard.call(
          () -> {
            store.append(r.events());
            return Boolean.TRUE;
          });
      batches++;
      for (StitchedReader.Part p : r.parts()) {
        counts.merge(p.source(), p.to() - p.from() + 1, Long::sum);
      }
      next += r.events().size();
    }
    return new Report(stream, start, next - 1, batches, Collections.unmodifiableMap(counts));
  }

  @Override
  public String toString() {
    return "Rebuilder[into " + store + " from " + from + "]";
  }

  /** Settings for a {@link Rebuilder}. Not threadsafe; build once. */
  public static final class Builder {
    private final EventStore store;
    private final Guard storeGuard;
    private @Nullable StitchedReader from;
    private int batchSize = 1_000;

    private Builder(EventStore store, Guard storeGuard) {
      this.store = Objects.requireNonNull(store, "store");
      this.storeGuard = Objects.requireNonNull(storeGuard, "storeGuard");
    }

    /**
     * Where the events come from: archive first, ledger last. Required.
     *
     * @param sources a reader over the sources, not including the store being filled
     * @return this builder
     */
    public Builder from(StitchedReader sources) {
      this.from = Objects.requireNonNull(sources, "sources");
      return this;
    }

    /**
     * Events per appended batch (one transaction each); 1,000 by default.
     *
     * @param events 1 to 100,000
     * @return this builder
     * @throws IllegalArgumentException if the number is out of range
     */
    public Builder batchSize(int events) {
      if (events < 1 || events > 100_000) {
        throw new IllegalArgumentException("batchSize must be in [1, 100000], was " + events);
      }
      this.batchSize = events;
      return this;
    }

    /**
     * Builds the rebuilder.
     *
     * @return the rebuilder
     * @throws IllegalStateException if no source was given
     */
    public Rebuilder build() {
      if (from == null) {
        throw new IllegalStateException("a rebuilder needs from(...): the archive and the ledger");
      }
      return new Rebuilder(this);
    }
  }
}
