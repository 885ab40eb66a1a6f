package dev.outlast.core.fallback;

import dev.outlast.core.Guard;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * Ordered sources of the same data, each behind its own {@link Guard}: the event store first, the
 * ledger after it, and so on. A call goes to the first source whose guard lets it through and that
 * answers; a source whose breaker is open is skipped at once, without waiting for a timeout, and
 * its own guard's bulkhead keeps a failing first source from flooding the next one with every
 * caller.
 *
 * <pre>{@code
 * FallbackChain<EventSource> history =
 *     FallbackChain.<EventSource>builder("order history")
 *         .source("event-store", store, Guard.of("event-store", GuardConfig.database()))
 *         .source("ledger", ledger, Guard.of("ledger", GuardConfig.database()))
 *         .build();
 * Answer<List<StreamEvent>> a = history.call(s -> s.read("order-42", 1, 100));
 * a.source();   // "event-store", or "ledger" while the store is down
 * }</pre>
 *
 * <p>Only infrastructure failures move a call on to the next source, as the guard classifies them
 * (connection refused or reset, timeouts, SQLState class 08, ...). Any other exception (a business
 * error, a bad query) is the answer, thrown to the caller unchanged: asking the ledger the same bad
 * question would not help.
 *
 * <p>Immutable and threadsafe if the sources are.
 *
 * @param <S> the type of the sources
 */
public final class FallbackChain<S> {
  /** One source and its guard. */
  record Link<S>(String name, S source, Guard guard) {}

  private final String name;
  private final List<Link<S>> links;

  private FallbackChain(Builder<S> b) {
    this.name = b.name;
    this.links = List.copyOf(b.links);
  }

  /**
   * A builder for a chain.
   *
   * @param <S> the type of the sources
   * @param name what the chain reads, for messages: "order history"
   * @return a builder with no sources yet
   */
  public static <S> Builder<S> builder(String name) {
    return new Builder<>(name);
  }

  /**
   * A call to one source. The same call is made to each source in turn, so it must not depend on
   * which one it gets.
   *
   * @param <S> the type of the sources
   * @param <T> what the call returns
   */
  @FunctionalInterface
  public interface SourceCall<S, T> {
    /**
     * Asks the source.
     *
     * @param source the source to ask, through its guard
     * @return the answer; never null
     * @throws Exception whatever the source's client throws
     */
    T call(S source) throws Exception;
  }

  /**
   * An answer and where it came from.
   *
   * @param <T> the type of the answer
   * @param value the answer
   * @param source the name of the source that gave it
   * @param skipped the sources before it that failed or were skipped, and why, in chain order;
   *     empty if the first source answered
   */
  public record Answer<T>(T value, String source, List<SourceFailure> skipped) {
    /**
     * Validates the parts and copies the list.
     *
     * @param value the answer
     * @param source the name of the source that gave it
     * @param skipped the sources before it that failed or were skipped, and why
     */
    public Answer {
      Objects.requireNonNull(value, "value");
      Objects.requireNonNull(source, "source");
      skipped = List.copyOf(skipped);
    }

    /** {@return whether a source other than the first answered} */
    public boolean fellBack() {
      return !skipped.isEmpty();
    }
  }

  /**
   * Asks the sources in order until one answers. Each source is called through its own guard, with
   * that guard's timeout and retries; one whose breaker is open is skipped at once.
   *
   * @param <T> what the call returns
   * @param call what to ask each source
   * @return the first answer, with the name of the source that gave it and the failures before it
   * @throws AllSourcesFailedException if none could, with each one's failure
   * @throws RuntimeException a non-infrastructure failure of a source, unchanged (or wrapped in
   *     {@link dev.outlast.core.DependencyCallException} if checked)
   */
  public <T> Answer<T> call(SourceCall<? super S, T> call) {
    Objects.requireNonNull(call, "call");
    List<SourceFailure> failed = new ArrayList<>(0);
    for (Link<S> link : links) {
      try {
        T value = link.guard().call(() -> call.call(link.source()));
        return new Answer<>(value, link.name(), failed);
      } catch (RuntimeException e) {
        if (!movesOn(link.guard(), e)) {
          throw e;
        }
        failed.add(new SourceFailure(link.name(), e));
      }
    }
    throw new AllSourcesFailedException(name, failed);
  }

  /** Whether a failure of one source sends the call to the next one. */
  static boolean movesOn(Guard guard, RuntimeException e) {
    if (e instanceof dev.outlast.core.DependencyUnavailableException) {
      return true; // breaker open or bulkhead full: no call was made
    }
    if (e instanceof dev.outlast.core.DependencyCallException d) {
      return d.isInfrastructureFailure();
    }
    return guard.isInfrastructureFailure(e);
  }

  /** The chain's links, in order. */
  List<Link<S>> links() {
    return links;
  }

  /** {@return what the chain reads, for messages: "order history"} */
  public String name() {
    return name;
  }

  @Override
  public String toString() {
    StringBuilder s = new StringBuilder("FallbackChain[").append(name).append(": ");
    for (int i = 0; i < links.size(); i++) {
      s.append(i == 0 ? "" : " -> ").append(links.get(i).name());
    }
    return s.append(']').toString();
  }

  /**
   * Settings for a {@link FallbackChain}. Not threadsafe; the chain it builds is immutable.
   *
   * @param <S> the type of the sources
   */
  public static final class Builder<S> {
    private final String name;
    private final List<Link<S>> links = new ArrayList<>();

    private Builder(String name) {
      this.name = Objects.requireNonNull(name, "name");
    }

    /**
     * Adds the next source. Give each source a guard of its own: a shared one would open for all of
     * them when the first fails.
     *
     * @param sourceName the source's name, for answers and messages: "ledger"
     * @param source the source
     * @param guard the source's own guard
     * @return this builder
     * @throws IllegalArgumentException if the chain has a source of that name already, or one with
     *     the same guard
     */
    public Builder<S> source(String sourceName, S source, Guard guard) {
      Objects.requireNonNull(sourceName, "sourceName");
      Objects.requireNonNull(source, "source");
      Objects.requireNonNull(guard, "guard");
      for (Link<S> l : links) {
        if (l.name().equals(sourceName)) {
          throw new IllegalArgumentException(
              "the chain " + name + " already has a source named " + sourceName);
        }
        if (l.guard() == guard) {
          throw new IllegalArgumentException(
              "sources "
                  + l.name()
                  + " and "
                  + sourceName
                  + " share one guard; give each source a guard of its own");
        }
      }
      links.add(new Link<>(sourceName, source, guard));
      return this;
    }

    /**
     * Builds the chain.
     *
     * @return the chain, with the sources added so far, in the order they were added
     * @throws IllegalStateException if it has no source
     */
    public FallbackChain<S> build() {
      if (links.isEmpty()) {
        throw new IllegalStateException("the chain " + name + " needs at least one source(...)");
      }
      return new FallbackChain<>(this);
    }
  }
}
