package dev.outlast.micrometer;

import java.time.Duration;
import java.util.function.Function;
import java.util.function.ToDoubleFunction;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The last reading of a component's figures, reused for a short while: a scrape reads a dozen
 * meters of one component one after another, and each would otherwise take a snapshot of its own (a
 * queue's takes a lock and asks the file system for free space).
 *
 * <p>Holds the figures, never the component: meters pass the component in, so that a registry does
 * not keep a component alive through this object. A reading that throws (a component closed under
 * it) leaves the last good one in place; before any, {@link #get} returns null.
 *
 * <p>Threadsafe. Readings are taken one at a time and replace each other in order, so a counter
 * read through here never goes back.
 *
 * @param <C> the component
 * @param <S> its figures
 */
final class Recent<C, S> {
  private static final Logger log = LoggerFactory.getLogger(Recent.class);

  /** How long a reading is reused by default: shorter than any scrape interval, longer than one. */
  static final Duration DEFAULT_REUSE = Duration.ofMillis(100);

  private final Function<C, S> read;
  private final long reuseNanos;
  private final String what;
  private volatile @Nullable Taken<S> last;
  private boolean logged; // guarded by this

  private record Taken<S>(S figures, long at) {}

  /**
   * @param read how the figures are read; must not capture the component
   * @param reuse how long a reading is reused; zero reads every time
   * @param what the component, for the log
   */
  Recent(Function<C, S> read, Duration reuse, String what) {
    this.read = read;
    this.reuseNanos = reuse.toNanos();
    this.what = what;
  }

  /** One figure of {@link #get}; 0 if the component could never be read. */
  double figure(C component, ToDoubleFunction<S> figure) {
    S s = get(component);
    return s == null ? 0 : figure.applyAsDouble(s);
  }

  /** The figures, read now or at most the reuse time ago; null if none could ever be read. */
  @Nullable S get(C component) {
    Taken<S> t = last;
    if (t != null && System.nanoTime() - t.at() < reuseNanos) {
      return t.figures();
    }
    synchronized (this) {
      t = last;
      long now = System.nanoTime();
      if (t != null && now - t.at() < reuseNanos) {
        return t.figures();
      }
      try {
        S figures = read.apply(component);
        last = new Taken<>(figures, now);
        return figures;
      } catch (RuntimeException e) {
        if (!logged) {
          logged = true;
          log.warn("{}: reading its figures for metrics failed; the last ones stay", what, e);
        }
        return t == null ? null : t.figures();
      }
    }
  }
}
