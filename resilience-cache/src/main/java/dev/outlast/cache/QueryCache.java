package dev.outlast.cache;

import dev.outlast.core.DependencyUnavailableException;
import dev.outlast.core.Guard;
import dev.outlast.core.Ticker;
import dev.outlast.core.health.Health;
import dev.outlast.core.health.HealthCheck;
import dev.outlast.core.health.HealthStatus;
import dev.outlast.core.health.Importance;
import dev.outlast.core.internal.PrivateFiles;
import dev.outlast.core.spi.Codec;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.BiFunction;
import java.util.function.Predicate;
import javax.crypto.spec.SecretKeySpec;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A read-through cache of query results that keeps answering while its database is down, within a
 * staleness bound, also after a restart.
 *
 * <pre>{@code
 * Guard mysql = Guard.ofDefaults("mysql");
 * QueryCache<Long, Optional<Product>> products =
 *     QueryCache.<Long, Optional<Product>>builder("products")
 *         .guard(mysql)
 *         .freshness(Freshness.of(Duration.ofSeconds(30), Duration.ofHours(6)))
 *         .maximumSize(100_000)
 *         .snapshot(Path.of("/var/lib/app/products.snapshot"), Codec.int64(), productCodec)
 *         .build(id -> repository.findById(id));
 * Optional<Product> p = products.get(42L);
 * }</pre>
 *
 * <p>What a read does depends on the age of the cached value (see {@link Freshness}): a fresh value
 * is returned at once, and a read late in its fresh window starts a background refresh, so that
 * callers of a healthy database do not see stale values; a value in its stale-while-revalidate
 * window is returned at once while one refresh runs; an older one is replaced by a load if the
 * database answers within {@link Builder#maxStaleWait}, and served stale if it fails; past {@link
 * Freshness#serveStaleFor()} nothing is served and the read throws {@link NoUsableValueException}.
 *
 * <p>Loads go through the dependency's {@link Guard}: while its breaker is open no query is sent
 * (except its few probes) and stale values are served at hit speed. A failed load backs its key off
 * (exponentially, with jitter) before the next attempt. There is one load per key at a time, at
 * most {@link Builder#loadConcurrency} at once, each within {@link Builder#loadTimeout}, so a hung
 * query never blocks other keys or the callers, who stop waiting after the guard's call timeout.
 *
 * <p>Invalidations are exact: once {@link #invalidate}, {@link #invalidateTag} or {@link
 * #invalidateAll} returns, no read that starts afterwards gets a value loaded before it, whatever
 * loads were in flight. A read that arrives while the key's load (begun before the invalidation) is
 * still running waits for a new load chained behind it, rather than starting a second query.
 *
 * <p>Ages and every deadline (freshness, backoffs, the guard cooldown) are measured on a monotonic
 * {@link Ticker}; the wall {@link Clock} only dates answers ({@link Answer#loadedAt()}) and carries
 * ages across a restart in the snapshot. A wall clock stepped back or forth changes nothing else.
 *
 * <p>The user code the cache calls (loader, tagger, {@code freshnessOf}, {@code absentWhen},
 * weigher, codecs) cannot break it: whatever it throws, {@link Error}s included, ends that one load
 * or entry, never leaks a load slot or a guard permit, is logged once with its stack trace (later
 * failures are counted and summed up), and shows in {@link #health}.
 *
 * <p>This class is threadsafe. Close it to end its loads and write a last snapshot; after that it
 * answers from memory (what it may serve without loading) and refuses anything that would load.
 *
 * @param <K> the key type; keys need {@code equals} and {@code hashCode}
 * @param <V> the value type
 */
public final class QueryCache<K, V> implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(QueryCache.class);

  private final String name;
  private final Guard guard;
  private final Clock clock;
  private final Ticker ticker;

  /** Whether hits read the coarse tick (see {@link CoarseClock}) instead of the ticker. */
  private final boolean coarse;

  private final Duration maxStaleWait;
  private final Duration loadWait;
  private final Duration loadTimeout;
  private final EntryStore<K, V> store;
  private final LoadCoordinator<K, V> loads;
  private final Backoffs<K> backoffs;
  private final CacheCounters counters;
  private final PluginFailures plugins;
  private final @Nullable SnapshotStore<K, V> snapshot;
  private final long restored;

  /**
   * How long past their last servable age entries are kept (the longest contract's servable age),
   * so that the exception for a read can still say how old the value was.
   */
  private final long sweepGrace;

  private final CacheThreads threads;

  /** Registered on the guard for the cache's life: see {@link #guardMoved}. */
  private final Guard.Listener recovery;

  private final AtomicBoolean closeStarted = new AtomicBoolean();
  private final CountDownLatch closeDone = new CountDownLatch(1);

  private QueryCache(QueryCacheConfig<K, V> c) {
    this.name = c.name();
    this.guard = c.guard();
    this.clock = c.clock();
    this.ticker = c.ticker();
    this.coarse = c.coarseTicks();
    this.maxStaleWait = c.maxStaleWait();
    this.loadWait = c.loadWait();
    this.loadTimeout = c.loadTimeout();
    this.sweepGrace = Entry.Policy.nanos(c.freshness().serveStaleFor());
    long now = ticker.read();
    this.plugins = new PluginFailures(name, ticker);
    this.counters = new CacheCounters(now);
    this.backoffs = new Backoffs<>(c.failureBackoff(), c.maxFailureBackoff(), now);
    this.threads =
        new CacheThreads(name, c.executor(), c.scheduler(), c.loadConcurrency(), plugins);
    try {
      Weigher<? super K, ? super V> w = c.weigher();
      this.store =
          new EntryStore<>(
              c.maximumSize(),
              c.maximumWeight(),
              w == null ? null : contained(w, plugins),
              threads.scheduler());
      EntryFactory<K, V> factory = new EntryFactory<>(c, plugins);
      this.loads =
          new LoadCoordinator<>(
              c,
              threads.executor(),
              threads.scheduler(),
              store,
              factory,
              backoffs,
              counters,
              plugins);
      QueryCacheConfig.SnapshotSettings<K, V> s = c.snapshot();
      if (s == null) {
        this.snapshot = null;
        this.restored = 0;
      } else {
        SecretKeySpec key = s.hmacKey();
        // With one contract for every entry, a snapshot older than its servable age holds nothing
        // usable; with a contract per entry, each entry is judged on its own.
        long horizon =
            c.freshnessOf() == null ? c.freshness().serveStaleFor().toMillis() : Long.MAX_VALUE;
        SnapshotFile<K, V> file =
            new SnapshotFile<>(
                s.file(),
                name,
                s.keys(),
                s.values(),
                key == null ? null : key.getEncoded(),
                horizon);
        SnapshotStore<K, V> st =
            new SnapshotStore<>(name, file, clock, ticker, store, factory, plugins);
        this.snapshot = st;
        this.restored = st.restore();
        threads.every(s.interval(), "snapshot writer", st::writeIfChanged);
      }
      // Often enough that nothing unservable stays long, seldom enough to cost nothing.
      long sweep = Math.max(1_000, Math.min(60_000, c.freshness().serveStaleFor().toMillis() / 4));
      threads.every(Duration.ofMillis(sweep), "sweep", this::sweep);
    } catch (RuntimeException | Error e) {
      threads.close();
      throw e;
    }
    if (coarse) {
      CoarseClock.retain();
    }
    this.recovery = this::guardMoved;
    guard.addListener(recovery);
  }

  /**
   * The database is back (its guard closed, through calls or its recovery probe): keys backed off
   * by the outage may load on their next read, at once, and stale answers served before no longer
   * make the cache DEGRADED. Runs on whichever thread closed the breaker; must not block.
   */
  private void guardMoved(Guard g, Guard.State from, Guard.State to) {
    if (to == Guard.State.CLOSED) {
      long now = ticker.read();
      backoffs.dependencyRecovered(now);
      counters.dependencyRecovered(now);
    }
  }

  /**
   * Starts building a cache.
   *
   * @param name a short name for logs, metrics, threads and the snapshot: "products"
   * @param <K> the key type; keys need {@code equals} and {@code hashCode}
   * @param <V> the value type
   * @return a builder with the defaults, which needs at least a {@link Builder#guard} before {@link
   *     Builder#build}
   * @throws IllegalArgumentException if the name is not 1-64 letters, digits, '.', '_' or '-'
   */
  public static <K, V> Builder<K, V> builder(String name) {
    return new Builder<>(name);
  }

  /** {@return the cache's name, as given to the builder} */
  public String name() {
    return name;
  }

  /** {@return the guard of the dependency the cache loads from} */
  public Guard guard() {
    return guard;
  }

  /**
   * The cache's health, for {@link dev.outlast.core.health.Health}: the database's state as its
   * guard sees it, what the cache does about it, and its figures as details. The cache answers
   * while its database is out, so an open breaker makes it DEGRADED, not DOWN; it is DOWN only
   * while the breaker is open and it holds nothing to serve. Half-open, stale values served within
   * the last minute, or a callback of the cache's that failed within the last minute (named in the
   * reason) is DEGRADED too; otherwise UP.
   *
   * @param importance how much the service needs this cache's dependency, reported with its state
   * @return a check that computes the health afresh each time it is called; cheap, it reads
   *     counters only
   */
  public HealthCheck health(Importance importance) {
    Objects.requireNonNull(importance, "importance");
    return () -> {
      long now = ticker.read();
      CacheStats st = stats();
      Instant lastStale = st.lastStaleServedAt();
      StringBuilder detail = new StringBuilder();
      if (lastStale == null) {
        detail.append("no stale value served");
      } else {
        detail
            .append(st.staleHits())
            .append(" stale answers, the oldest in the last minute ")
            .append(st.oldestStaleServed().toMillis())
            .append(" ms old, the last at ")
            .append(lastStale);
      }
      String failed = plugins.describeRecent();
      if (!failed.isEmpty()) {
        detail.append("; ").append(failed);
      }
      if (closeStarted.get()) {
        detail.append("; closed");
      }
      boolean stale = counters.staleRecently(now);
      HealthStatus own;
      if (guard.state() == Guard.State.OPEN && st.size() == 0) {
        // The database is out and nothing is held to serve instead: no call can be answered. A
        // call for a key the cache never held fails during an outage by design; that alone does
        // not make a cache that answers its other keys DOWN.
        own = HealthStatus.DOWN;
      } else if (stale || !failed.isEmpty()) {
        own = HealthStatus.DEGRADED;
      } else {
        own = HealthStatus.UP;
      }
      Map<String, Object> figures = new LinkedHashMap<>();
      figures.put("size", st.size());
      figures.put("staleAnswers", st.staleHits());
      figures.put("oldestStaleServedMillis", st.oldestStaleServed().toMillis());
      if (lastStale != null) {
        figures.put("lastStaleServedAt", lastStale.toString());
      }
      figures.put("noValueErrors", st.noValueErrors());
      figures.put("rejectedLoads", st.rejectedLoads());
      figures.put("loadFailures", st.loadFailures());
      return Health.component(
          name, "cache", guard, importance, own, false, detail.toString(), figures);
    };
  }

  /**
   * The value of a key: from the cache if it may be served, else loaded.
   *
   * @param key the key to read
   * @return the value, fresh, stale within its contract, or just loaded
   * @throws NoUsableValueException if there is no value that may be served and none could be loaded
   * @throws NullPointerException if the key is null
   * @throws IllegalStateException if the cache is closed and would have to load
   */
  public V get(K key) {
    Entry<V> e = store.get(Objects.requireNonNull(key, "key"));
    if (e != null) {
      long now = hitNow();
      long age = now - e.loadedAt;
      if (age < e.policy.refreshAfter) {
        counters.freshHits.increment();
        return e.value;
      }
      if (backoffs.guardCoolingDown(now) && age < e.policy.usableFor) {
        // The guard just refused a load: serve what there is without asking it again.
        return serveWithoutLoading(e, now, age);
      }
    }
    return resolve(key, e).value();
  }

  /**
   * As {@link #get}, with the value's state (fresh, stale, loaded) and age.
   *
   * @param key the key to read
   * @return the value with its state, age and load time
   * @throws NoUsableValueException if there is no value that may be served and none could be loaded
   * @throws NullPointerException if the key is null
   * @throws IllegalStateException if the cache is closed and would have to load
   */
  public Answer<V> lookup(K key) {
    Entry<V> e = store.get(Objects.requireNonNull(key, "key"));
    if (e != null) {
      long now = hitNow();
      if (e.age(now) < e.policy.refreshAfter) {
        counters.freshHits.increment();
        return answer(e, Answer.State.FRESH, now);
      }
    }
    return resolve(key, e);
  }

  /**
   * The cached value of a key and its state, without loading, without starting a refresh, and
   * without touching the guard.
   *
   * @param key the key to look up
   * @return the cached value, {@link Answer.State#FRESH} or {@link Answer.State#STALE}, or empty if
   *     the cache holds none younger than its {@link Freshness#serveStaleFor()}
   * @throws NullPointerException if the key is null
   */
  public Optional<Answer<V>> peek(K key) {
    Entry<V> e = store.get(Objects.requireNonNull(key, "key"));
    long now = ticker.read();
    if (e == null || e.age(now) >= e.policy.usableFor) {
      return Optional.empty();
    }
    Answer.State state = e.age(now) < e.policy.freshFor ? Answer.State.FRESH : Answer.State.STALE;
    return Optional.of(answer(e, state, now));
  }

  /**
   * Removes a key. Once this returns, no read gets a value of the key loaded before: a load in
   * flight is not stored, and a read that finds it waits for a load chained behind it. Also forgets
   * the key's failure backoff: the data changed, so the next read may load at once.
   *
   * @param key the key to remove; nothing happens if it is not cached
   * @throws NullPointerException if the key is null
   */
  public void invalidate(K key) {
    Objects.requireNonNull(key, "key");
    store.invalidate(key, () -> loads.invalidated(key));
    // The data changed: a load that failed before says nothing about the next one.
    backoffs.clear(key);
  }

  /**
   * Removes every entry tagged so (e.g. with the table it was read from). Once this returns, no
   * read gets a value loaded before it that carries the tag: loads in flight that would be tagged
   * so are not stored.
   *
   * @param tag a tag the {@link Builder#tags tagger} gave entries; nothing happens if no entry has
   *     it
   * @throws NullPointerException if the tag is null
   */
  public void invalidateTag(String tag) {
    Objects.requireNonNull(tag, "tag");
    for (K k : store.invalidateTag(tag, loads::oldestStart)) {
      backoffs.clear(k);
    }
  }

  /** Removes every entry; loads in flight are not stored. */
  public void invalidateAll() {
    store.invalidateAll();
    backoffs.clearAll();
  }

  /**
   * {@return the counters since the cache was built, and what it served lately}
   *
   * <p>The oldest stale age is of the last minute. A new snapshot at each call.
   */
  public CacheStats stats() {
    return counters.snapshot(ticker.read(), store.size(), restored, store.evictions());
  }

  /**
   * Writes the snapshot now (it is also written periodically and on close). Records are encoded and
   * written one at a time; a record its codec cannot write is left out and reported.
   *
   * @throws IllegalStateException if the cache has no snapshot configured, or is closed (its last
   *     snapshot was written then)
   * @throws java.io.UncheckedIOException if it cannot be written; the previous snapshot stays
   */
  public void writeSnapshot() {
    SnapshotStore<K, V> s = snapshot;
    if (s == null) {
      throw new IllegalStateException(name + " has no snapshot configured");
    }
    if (closeStarted.get()) {
      throw loads.closed();
    }
    s.write();
  }

  /**
   * Ends the cache's loads and writes a last snapshot: new loads are refused; loads waiting for a
   * slot are abandoned; running ones get until {@link Builder#loadTimeout} to finish (what they
   * load is stored and in the snapshot), then are abandoned (interrupted; their guard permits given
   * back; nothing they bring is stored). Then the snapshot is written, once nothing can be stored
   * any more, and the threads the cache made are stopped (threads given to it are left alone).
   *
   * <p>Idempotent; a second caller waits for the first to finish. Afterwards the cache still
   * answers from memory what it may serve without a load ({@link #peek}, fresh and stale hits) and
   * accepts invalidations; a read that needs a load throws {@link IllegalStateException} naming the
   * cache, and Caffeine logs nothing.
   */
  @Override
  public void close() {
    if (!closeStarted.compareAndSet(false, true)) {
      awaitClosed();
      return;
    }
    try {
      guard.removeListener(recovery);
      threads.cancelPeriodic();
      long bound = Entry.Policy.nanos(loadTimeout);
      if (!loads.close(bound)) {
        log.warn(
            "{}: loads still running {} ms after close were abandoned (interrupted; nothing they"
                + " bring is stored)",
            name,
            loadTimeout.toMillis());
      }
      if (!store.stop(bound)) {
        log.warn("{}: a store was still under way at close; nothing is stored after it", name);
      }
      SnapshotStore<K, V> s = snapshot;
      if (s != null) {
        threads.contained("snapshot writer", s::writeLast);
      }
    } finally {
      threads.close();
      if (coarse) {
        CoarseClock.release();
      }
      closeDone.countDown();
    }
  }

  @Override
  public String toString() {
    return "QueryCache[" + name + ", " + store.size() + " entries, " + guard + "]";
  }

  // ---- for tests in this package ----

  /** How many tags keep an invalidation number. */
  int tagEpochs() {
    return store.tagNumbersKept();
  }

  /** Keys with a load in flight, loads not ended, and load slots held. */
  int[] loadsInFlight() {
    return new int[] {loads.inFlight(), loads.active(), loads.slotsHeld()};
  }

  PluginFailures pluginFailures() {
    return plugins;
  }

  /** Runs the periodic sweep (and tag-number pruning) now. */
  void sweepNow() {
    sweep();
  }

  // ---- reads ----

  /**
   * The time for hit paths: the coarse tick with the system ticker if configured (it lags by about
   * a millisecond), else the ticker.
   */
  private long hitNow() {
    return coarse ? CoarseClock.nanos() : ticker.read();
  }

  private Answer<V> answer(Entry<V> e, Answer.State state, long now) {
    long ageMillis = TimeUnit.NANOSECONDS.toMillis(Math.max(0, e.age(now)));
    return new Answer<>(e.value, state, clock.millis() - ageMillis, ageMillis);
  }

  private V serveWithoutLoading(Entry<V> e, long now, long age) {
    if (age < e.policy.freshFor) {
      counters.freshHits.increment();
    } else {
      counters.staleServed(now, age, clock);
    }
    return e.value;
  }

  private Answer<V> resolve(K key, @Nullable Entry<V> e) {
    long now = ticker.read();
    if (e != null && e.age(now) < e.policy.staleFor) {
      // Fresh but late in its window, or in the stale-while-revalidate window: answer at once and
      // refresh in the background.
      loads.refresh(key, e, now);
      if (e.age(now) < e.policy.freshFor) {
        counters.freshHits.increment();
        return answer(e, Answer.State.FRESH, now);
      }
      counters.staleServed(now, e.age(now), clock);
      return answer(e, Answer.State.STALE, now);
    }
    Entry<V> usable = e != null && e.age(now) < e.policy.usableFor ? e : null;
    Backoffs.Backoff backoff = backoffs.active(key, now);
    if (backoff != null) {
      // Failed recently: do not ask again yet.
      if (!backoff.infrastructure()) {
        throw noValue(key, e, now, notAnOutage(backoff.failure()), backoff.failure());
      }
      return staleOrThrow(key, e, usable, "failed on the last load", backoff.failure());
    }
    DependencyUnavailableException refusal = backoffs.refusal(now);
    if (refusal != null) {
      // The guard just refused a load: do not ask it again yet.
      return staleOrThrow(key, e, usable, "is unavailable", refusal);
    }
    CompletableFuture<Entry<V>> load = loads.load(key, e, now);
    try {
      Entry<V> loaded =
          load.get((usable != null ? maxStaleWait : loadWait).toNanos(), TimeUnit.NANOSECONDS);
      counters.loadedAnswers.increment();
      return answer(loaded, Answer.State.LOADED, ticker.read());
    } catch (TimeoutException t) {
      String why =
          usable != null ? "is slow" : "did not answer within " + loadWait.toMillis() + " ms";
      return staleOrThrow(key, e, usable, why, t);
    } catch (ExecutionException x) {
      Throwable cause = Objects.requireNonNullElse(x.getCause(), x);
      if (cause instanceof LoadCoordinator.ClosedException closed) {
        if (usable != null) {
          return staleOrThrow(key, e, usable, "cannot be asked (the cache is closed)", closed);
        }
        throw loads.closed();
      }
      if (!loads.outage(cause)) {
        // The database answered, with an error of the query itself (or the cache's callbacks
        // failed on its answer): do not hide it behind a stale value.
        throw noValue(key, e, ticker.read(), notAnOutage(cause), cause);
      }
      return staleOrThrow(key, e, usable, why(cause), cause);
    } catch (InterruptedException i) {
      Thread.currentThread().interrupt();
      return staleOrThrow(key, e, usable, "was not waited for (interrupted)", i);
    }
  }

  /** Why a failure that is not an outage is thrown, not hidden behind a stale value. */
  private static String notAnOutage(Throwable cause) {
    return cause instanceof EntryFactory.PluginException
        ? "answered, but a callback of the cache failed on the answer (an error of the"
            + " configuration, not an outage, so nothing stale is served)"
        : "failed the query (not an outage, so nothing stale is served)";
  }

  private static String why(Throwable cause) {
    if (cause instanceof DependencyUnavailableException) {
      return "is unavailable";
    }
    if (cause instanceof RejectedExecutionException) {
      return "has too many loads queued";
    }
    if (cause instanceof TimeoutException) {
      return "did not answer within the load's time limit";
    }
    return "failed";
  }

  /** Serves the usable value, stale, with its age as of now; or throws if there is none. */
  private Answer<V> staleOrThrow(
      K key, @Nullable Entry<V> e, @Nullable Entry<V> usable, String why, Throwable cause) {
    long now = ticker.read();
    if (usable != null && usable.age(now) < usable.policy.usableFor) {
      counters.staleServed(now, usable.age(now), clock);
      return answer(usable, Answer.State.STALE, now);
    }
    throw noValue(key, e, now, why, cause);
  }

  private NoUsableValueException noValue(
      K key, @Nullable Entry<V> e, long now, String why, Throwable cause) {
    counters.noValueErrors.increment();
    return new NoUsableValueException(
        name,
        guard.dependency(),
        String.valueOf(key),
        e == null
            ? null
            : Duration.ofMillis(TimeUnit.NANOSECONDS.toMillis(Math.max(0, e.age(now)))),
        e != null && e.age(now) < e.policy.usableFor,
        why,
        cause);
  }

  // ---- maintenance and threads ----

  private void sweep() {
    long now = ticker.read();
    store.sweep(now, sweepGrace);
    backoffs.sweep(now);
    store.pruneIfNeeded(loads::oldestStart);
  }

  private void awaitClosed() {
    try {
      closeDone.await();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  /** The user's weigher, contained: a failure is reported and the entry weighs 1. */
  private static <K, V> EntryStore.ContainedWeigher<K, V> contained(
      Weigher<? super K, ? super V> weigher, PluginFailures plugins) {
    return (k, e) -> {
      try {
        int weight = weigher.weigh(k, e.value);
        if (weight < 0) {
          throw new IllegalArgumentException("the weigher returned " + weight + " for key " + k);
        }
        return weight;
      } catch (Throwable t) {
        plugins.failed("weigher", t, "the entry counts as weight 1");
        return 1;
      }
    };
  }

  /**
   * The weight of an entry, for a cache bounded by weight (e.g. approximate bytes). Must be
   * threadsafe and fast.
   *
   * @param <K> the key type
   * @param <V> the value type
   */
  @FunctionalInterface
  public interface Weigher<K, V> {
    /**
     * Weighs one entry, once, when it is stored.
     *
     * @param key the entry's key
     * @param value the entry's value
     * @return the weight of the entry; not negative (a negative weight, or a throw, is reported and
     *     the entry counts as weight 1)
     */
    int weigh(K key, V value);
  }

  /**
   * Builds a {@link QueryCache}. Every setter checks its value at once, naming it; {@link #build}
   * checks them against each other. Not threadsafe.
   *
   * @param <K> the key type
   * @param <V> the value type
   */
  public static final class Builder<K, V> {
    private final String name;
    private @Nullable Guard guard;
    private Freshness freshness = Freshness.of(Duration.ofSeconds(30), Duration.ofHours(1));
    private @Nullable BiFunction<? super K, ? super V, Freshness> freshnessOf;
    private double refreshAhead = 0.8;
    private @Nullable Freshness negativeFreshness;
    private Predicate<? super V> absentWhen = Builder::isEmptyResult;
    private @Nullable BiFunction<? super K, ? super V, Set<String>> tagger;
    private long maximumSize = 10_000;
    private long maximumWeight;
    private @Nullable Weigher<? super K, ? super V> weigher;
    private int loadConcurrency = 8;
    private int loadQueue = 1_024;
    private Duration maxStaleWait = Duration.ofMillis(100);
    private Duration failureBackoff = Duration.ofSeconds(1);
    private Duration maxFailureBackoff = Duration.ofMinutes(1);
    private @Nullable Path snapshotPath;
    private @Nullable Codec<K> keyCodec;
    private @Nullable Codec<V> valueCodec;
    private byte @Nullable [] snapshotKey;
    private Duration snapshotInterval = Duration.ofSeconds(30);
    private Clock clock = Clock.systemUTC();
    private Ticker ticker = Ticker.system();
    private @Nullable Duration loadTimeout;
    private @Nullable Executor executor;
    private @Nullable ScheduledExecutorService scheduler;
    private boolean coarseHitClock;

    private Builder(String name) {
      Objects.requireNonNull(name, "name");
      if (!name.matches("[A-Za-z0-9._-]{1,64}")) {
        throw new IllegalArgumentException(
            "cache name must be 1-64 letters, digits, '.', '_' or '-', was '" + name + "'");
      }
      this.name = name;
    }

    /**
     * The guard of the dependency the loader queries. Required.
     *
     * @param guard every load goes through it; the cache also listens to it to learn when the
     *     database is back
     * @return this builder
     */
    public Builder<K, V> guard(Guard guard) {
      this.guard = Objects.requireNonNull(guard, "guard");
      return this;
    }

    /**
     * The freshness contract of every entry; the default is 30 s fresh, 1 h servable stale.
     *
     * @param freshness the contract; {@link #freshnessOf} and {@link #negativeFreshness} override
     *     it for the entries they cover
     * @return this builder
     */
    public Builder<K, V> freshness(Freshness freshness) {
      this.freshness = Objects.requireNonNull(freshness, "freshness");
      return this;
    }

    /**
     * A freshness contract per entry, computed from its key and value when it is loaded (and when
     * it is restored from the snapshot); overrides {@link #freshness}. An entry that {@link
     * #negativeFreshness} covers keeps that contract instead.
     *
     * @param perEntry computes the contract of one entry; must not return null (a null or a throw
     *     is reported and fails that load, as an error of the configuration, not an outage)
     * @return this builder
     */
    public Builder<K, V> freshnessOf(BiFunction<? super K, ? super V, Freshness> perEntry) {
      this.freshnessOf = Objects.requireNonNull(perEntry, "perEntry");
      return this;
    }

    /**
     * The share of {@code freshFor} after which a read starts a background refresh, so that a
     * healthy database's callers never see stale values; default 0.8.
     *
     * @param fractionOfFreshFor in (0, 1]; 1 turns refresh-ahead off
     * @return this builder
     * @throws IllegalArgumentException if it is not in (0, 1]
     */
    public Builder<K, V> refreshAhead(double fractionOfFreshFor) {
      if (!(fractionOfFreshFor > 0 && fractionOfFreshFor <= 1)) {
        throw new IllegalArgumentException(
            "refreshAhead must be in (0, 1], was " + fractionOfFreshFor);
      }
      this.refreshAhead = fractionOfFreshFor;
      return this;
    }

    /**
     * Caches "no such row" answers too, under their own contract (usually shorter). An answer is
     * "no such row" when the predicate of {@link #absentWhen} says so: by default an empty {@code
     * Optional}, collection or map. Without this call such answers are cached under the normal
     * contract, like any value.
     *
     * @param negative the contract of "no such row" entries; its {@code serveStaleFor} may not
     *     exceed that of {@link #freshness}, checked at {@link #build}
     * @return this builder
     */
    public Builder<K, V> negativeFreshness(Freshness negative) {
      this.negativeFreshness = Objects.requireNonNull(negative, "negative");
      return this;
    }

    /**
     * Which values are "no such row" answers, for {@link #negativeFreshness}; used only if that is
     * set.
     *
     * @param absent true for a "no such row" value; replaces the default (an empty {@code
     *     Optional}, collection or map); a throw is reported and fails that load
     * @return this builder
     */
    public Builder<K, V> absentWhen(Predicate<? super V> absent) {
      this.absentWhen = Objects.requireNonNull(absent, "absent");
      return this;
    }

    /**
     * The tags of an entry (e.g. the tables it was read from), for {@link #invalidateTag}. Without
     * a tagger, entries have no tags.
     *
     * @param tagger computes the tags of an entry when it is loaded or restored; the set is copied
     *     and must not be or contain null (a null or a throw is reported and fails that load)
     * @return this builder
     */
    public Builder<K, V> tags(BiFunction<? super K, ? super V, Set<String>> tagger) {
      this.tagger = Objects.requireNonNull(tagger, "tagger");
      return this;
    }

    /**
     * At most this many entries (Caffeine's size eviction); default 10,000. Replaces a {@link
     * #maximumWeight} given before.
     *
     * @param entries at least 1
     * @return this builder
     * @throws IllegalArgumentException if it is below 1
     */
    public Builder<K, V> maximumSize(long entries) {
      if (entries < 1) {
        throw new IllegalArgumentException("maximumSize must be at least 1, was " + entries);
      }
      this.maximumSize = entries;
      this.maximumWeight = 0;
      return this;
    }

    /**
     * At most this much weight (Caffeine's weight eviction), instead of a number of entries; a
     * later {@link #maximumSize} replaces it.
     *
     * @param weight the greatest total weight, in the weigher's unit (e.g. approximate bytes); at
     *     least 1
     * @param weigher weighs each entry when it is stored
     * @return this builder
     * @throws IllegalArgumentException if the weight is below 1
     */
    public Builder<K, V> maximumWeight(long weight, Weigher<? super K, ? super V> weigher) {
      if (weight < 1) {
        throw new IllegalArgumentException("maximumWeight must be at least 1, was " + weight);
      }
      this.maximumWeight = weight;
      this.weigher = Objects.requireNonNull(weigher, "weigher");
      return this;
    }

    /**
     * How many loads may run at once (on the cache's own threads, or on the {@link #executor}
     * given); 1-256, default 8. A load abandoned at its time limit keeps its slot until its thread
     * returns, so this also bounds the threads a frozen database can hold.
     *
     * @param loads the most loads running at once
     * @return this builder
     * @throws IllegalArgumentException if it is not in [1, 256]
     */
    public Builder<K, V> loadConcurrency(int loads) {
      if (loads < 1 || loads > 256) {
        throw new IllegalArgumentException("loadConcurrency must be in [1, 256], was " + loads);
      }
      this.loadConcurrency = loads;
      return this;
    }

    /**
     * How many loads may wait for a thread; beyond that loads are refused (a caller is served a
     * servable stale value if there is one, else {@link NoUsableValueException}). Default 1,024.
     *
     * @param loads the most loads waiting at once
     * @return this builder
     * @throws IllegalArgumentException if it is not in [1, 1,000,000]
     */
    public Builder<K, V> loadQueue(int loads) {
      if (loads < 1 || loads > 1_000_000) {
        throw new IllegalArgumentException("loadQueue must be in [1, 1000000], was " + loads);
      }
      this.loadQueue = loads;
      return this;
    }

    /**
     * How long a read of a value past its stale-while-revalidate window waits for a fresh one
     * before it is served the stale one; default 100 ms. A healthy database answers in time; a
     * frozen one costs each caller no more than this, and after a few timeouts the guard's breaker
     * opens and the wait goes.
     *
     * @param wait not negative; zero serves the stale value without waiting
     * @return this builder
     * @throws IllegalArgumentException if it is negative
     */
    public Builder<K, V> maxStaleWait(Duration wait) {
      Objects.requireNonNull(wait, "wait");
      if (wait.isNegative()) {
        throw new IllegalArgumentException("maxStaleWait must not be negative, was " + wait);
      }
      this.maxStaleWait = wait;
      return this;
    }

    /**
     * After a failed load, how long the key waits before the next attempt (doubling, with jitter,
     * up to the maximum); defaults 1 s and 1 min.
     *
     * @param initial the wait after the first failure; positive
     * @param maximum the longest wait; at least {@code initial}
     * @return this builder
     * @throws IllegalArgumentException if {@code initial} is not positive or {@code maximum} is
     *     below it
     */
    public Builder<K, V> failureBackoff(Duration initial, Duration maximum) {
      Objects.requireNonNull(initial, "initial");
      Objects.requireNonNull(maximum, "maximum");
      if (initial.isNegative() || initial.isZero()) {
        throw new IllegalArgumentException("failureBackoff must be positive, was " + initial);
      }
      if (maximum.compareTo(initial) < 0) {
        throw new IllegalArgumentException(
            "the maximum failure backoff ("
                + maximum
                + ") is below the initial one ("
                + initial
                + ")");
      }
      this.failureBackoff = initial;
      this.maxFailureBackoff = maximum;
      return this;
    }

    /**
     * Keeps a snapshot on local disk so that a restarted pod serves what it had (with the original
     * ages, as stale, refreshed on first read) while the database is down. Written atomically every
     * {@link #snapshotInterval} if something changed, and on close, as a 0600 file in a directory
     * private to the user the process runs as: created 0700 if missing, and refused at {@link
     * #build} if it is a symbolic link, owned by another user, or writable by its group or others.
     * Checked when read at build time, and ignored, reported and moved aside if damaged, of another
     * cache, or written in the future. The check is a CRC32C, which catches damage, so an unsigned
     * snapshot is read only if the file is private too (not a link, ours, writable by no one else);
     * to refuse a snapshot someone changed on purpose, sign it with {@link #snapshotKey}.
     *
     * @param file where to keep it; give it a directory of its own (created if missing), not one
     *     shared with other users or programs
     * @param keys how keys are written
     * @param values how values are written
     * @return this builder
     */
    public Builder<K, V> snapshot(Path file, Codec<K> keys, Codec<V> values) {
      this.snapshotPath = Objects.requireNonNull(file, "file");
      this.keyCodec = Objects.requireNonNull(keys, "keys");
      this.valueCodec = Objects.requireNonNull(values, "values");
      return this;
    }

    /**
     * Signs the snapshot with HMAC-SHA256 under this key instead of a CRC, so that a snapshot
     * changed or planted by someone without the key is refused, not just an accidentally damaged
     * one; the cache's name and the write time are signed with the values. Without a key, a
     * snapshot is read back only from a private directory and file (see {@link #snapshot}).
     *
     * @param key at least 32 random bytes (256 bits, the size of HMAC-SHA256's output); make one
     *     with {@code openssl rand -base64 32} and pass it decoded
     * @return this builder
     * @throws IllegalArgumentException if it is shorter
     */
    public Builder<K, V> snapshotKey(byte[] key) {
      Objects.requireNonNull(key, "key");
      if (key.length < 32) {
        throw new IllegalArgumentException(
            "snapshotKey must be at least 32 bytes (256 bits) of random data, was "
                + key.length
                + " bytes: make one with `openssl rand -base64 32` and pass"
                + " Base64.getDecoder().decode(...) of it, kept out of the source and away from"
                + " the snapshot's directory");
      }
      this.snapshotKey = key.clone();
      return this;
    }

    /**
     * How often the snapshot is written, if something changed; default 30 s.
     *
     * @param interval at least 100 ms
     * @return this builder
     * @throws IllegalArgumentException if it is shorter than 100 ms
     */
    public Builder<K, V> snapshotInterval(Duration interval) {
      Objects.requireNonNull(interval, "interval");
      if (interval.toMillis() < 100) {
        throw new IllegalArgumentException(
            "snapshotInterval must be at least 100 ms, was " + interval);
      }
      this.snapshotInterval = interval;
      return this;
    }

    /**
     * The wall clock: it dates answers ({@link Answer#loadedAt()}) and carries ages across a
     * restart in the snapshot; nothing else is measured with it. Default the system's UTC clock.
     *
     * @param clock the wall clock
     * @return this builder
     */
    public Builder<K, V> clock(Clock clock) {
      this.clock = Objects.requireNonNull(clock, "clock");
      return this;
    }

    /**
     * The monotonic time source of ages and of every deadline: freshness, failure backoffs, the
     * pause after the guard refuses a load. Default {@link Ticker#system()}; tests give their own
     * to move time without sleeping. (Blocking waits, such as a caller waiting for a load, and the
     * load time limit are real time on the JVM's monotonic clock.)
     *
     * @param ticker the monotonic time source
     * @return this builder
     */
    public Builder<K, V> ticker(Ticker ticker) {
      this.ticker = Objects.requireNonNull(ticker, "ticker");
      return this;
    }

    /**
     * The longest a load may run: then it is abandoned (its permit counts a timeout, its thread is
     * interrupted, nothing it brings later is stored) and its key may load again. Also how long
     * {@link QueryCache#close()} waits for loads. A backstop for loaders that ignore their own
     * timeout: the default, the guard's call timeout plus 5 s, leaves a driver's timeout (the
     * {@code JdbcLoader} sets it to the call timeout) and its cancel time to end a load first.
     * Callers never wait this long: they stop waiting after the call timeout.
     *
     * @param limit positive
     * @return this builder
     * @throws IllegalArgumentException if it is not positive
     */
    public Builder<K, V> loadTimeout(Duration limit) {
      Objects.requireNonNull(limit, "limit");
      if (limit.isNegative() || limit.isZero()) {
        throw new IllegalArgumentException("loadTimeout must be positive, was " + limit);
      }
      this.loadTimeout = limit;
      return this;
    }

    /**
     * Runs loads on these threads instead of a pool of the cache's own (e.g. one pool shared by
     * several caches). The cache still runs at most {@link #loadConcurrency} at once and queues at
     * most {@link #loadQueue}; it does not shut the executor down on close. An executor that runs
     * tasks on the calling thread makes callers wait for their loads.
     *
     * @param executor runs the loads; owned by the caller
     * @return this builder
     */
    public Builder<K, V> executor(Executor executor) {
      this.executor = Objects.requireNonNull(executor, "executor");
      return this;
    }

    /**
     * Runs the cache's maintenance (Caffeine's upkeep, the sweep, periodic snapshots, load time
     * limits) on this scheduler instead of threads of its own; the cache cancels its tasks on close
     * and does not shut the scheduler down. Give it two threads or more if a snapshot is large: a
     * write holds its thread while it runs.
     *
     * @param scheduler runs the periodic tasks; owned by the caller
     * @return this builder
     */
    public Builder<K, V> scheduler(ScheduledExecutorService scheduler) {
      this.scheduler = Objects.requireNonNull(scheduler, "scheduler");
      return this;
    }

    /**
     * Whether fresh hits read a tick that one shared daemon thread refreshes every millisecond (see
     * {@code CoarseClock}) instead of the ticker; default false. On the 2-vCPU machine of {@code
     * BENCHMARKS.md} it took a fresh hit from about 10 to about 19 million a second per thread,
     * because {@code System.nanoTime()} costs more there than the Caffeine lookup. The price: a
     * thread that wakes 1,000 times a second while any such cache is open, and hits that may take a
     * value for up to about a millisecond younger than it is.
     *
     * @param coarse true to read the shared coarse tick on fresh hits
     * @return this builder
     * @throws IllegalArgumentException at {@link #build} if a ticker other than the system's was
     *     given: the tick follows the system's
     */
    public Builder<K, V> coarseHitClock(boolean coarse) {
      this.coarseHitClock = coarse;
      return this;
    }

    /**
     * Builds the cache and, if configured, restores its snapshot. The builder is left as it was: it
     * may build again.
     *
     * @param loader the query; runs on the cache's load threads
     * @return the cache, open; close it to stop its threads and write a last snapshot
     * @throws IllegalStateException if no guard was given
     * @throws IllegalArgumentException if settings contradict each other, or the snapshot's
     *     directory cannot be created, or is refused (a symbolic link, another user's, or writable
     *     by its group or others; the message says how to fix it)
     */
    public QueryCache<K, V> build(Loader<K, V> loader) {
      Objects.requireNonNull(loader, "loader");
      Guard g = guard;
      if (g == null) {
        throw new IllegalStateException(
            "cache '"
                + name
                + "' needs the guard of the dependency it loads from: call guard(...)");
      }
      Freshness negative = negativeFreshness;
      if (negative != null && negative.serveStaleFor().compareTo(freshness.serveStaleFor()) > 0) {
        throw new IllegalArgumentException(
            "negativeFreshness.serveStaleFor ("
                + negative.serveStaleFor()
                + ") exceeds freshness.serveStaleFor ("
                + freshness.serveStaleFor()
                + "): a 'no such row' answer would outlive real rows");
      }
      QueryCacheConfig.SnapshotSettings<K, V> snap = null;
      Path file = snapshotPath;
      if (file != null) {
        Path dir = file.toAbsolutePath().getParent();
        try {
          PrivateFiles.createPrivateDirectory(Objects.requireNonNull(dir, "snapshot directory"));
        } catch (PrivateFiles.NotPrivateException e) {
          throw new IllegalArgumentException(
              "cache '" + name + "': refusing the snapshot directory " + e.getMessage(), e);
        } catch (IOException e) {
          throw new IllegalArgumentException(
              "cache '" + name + "': cannot create the snapshot directory: " + e, e);
        }
        byte[] k = snapshotKey;
        snap =
            new QueryCacheConfig.SnapshotSettings<>(
                file,
                Objects.requireNonNull(keyCodec),
                Objects.requireNonNull(valueCodec),
                k == null ? null : new SecretKeySpec(k, "HmacSHA256"),
                snapshotInterval);
      }
      if (coarseHitClock && ticker != Ticker.system()) {
        throw new IllegalArgumentException(
            "cache '"
                + name
                + "': coarseHitClock follows the system ticker, and another ticker was given;"
                + " use one or the other");
      }
      Duration limit = loadTimeout;
      if (limit == null) {
        limit = g.config().callTimeout().plusSeconds(5);
      }
      return new QueryCache<>(
          new QueryCacheConfig<>(
              name,
              g,
              loader,
              freshness,
              freshnessOf,
              refreshAhead,
              negative,
              absentWhen,
              tagger,
              maximumSize,
              maximumWeight,
              maximumWeight > 0 ? weigher : null,
              loadConcurrency,
              loadQueue,
              maxStaleWait,
              failureBackoff,
              maxFailureBackoff,
              limit,
              snap,
              clock,
              ticker,
              executor,
              scheduler,
              coarseHitClock));
    }

    private static boolean isEmptyResult(Object value) {
      return (value instanceof Optional<?> o && o.isEmpty())
          || (value instanceof Collection<?> c && c.isEmpty())
          || (value instanceof Map<?, ?> m && m.isEmpty());
    }
  }
}
