package dev.outlast.cache;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import com.github.benmanes.caffeine.cache.RemovalCause;
import dev.outlast.core.DependencyUnavailableException;
import dev.outlast.core.Guard;
import dev.outlast.core.health.Health;
import dev.outlast.core.health.HealthCheck;
import dev.outlast.core.health.Importance;
import dev.outlast.core.spi.Codec;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Collection;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.BiFunction;
import java.util.function.Predicate;
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
 * most {@link Builder#loadConcurrency} at once on the cache's own threads, so a hung query never
 * blocks other keys or the callers, who stop waiting after the guard's call timeout.
 *
 * <p>This class is threadsafe. Close it to stop its threads and write a last snapshot.
 *
 * @param <K> the key type; keys need {@code equals} and {@code hashCode}
 * @param <V> the value type
 */
public final class QueryCache<K, V> implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(QueryCache.class);

  /** After the guard refuses a load, reads stop asking it for this long. */
  private static final long GUARD_COOLDOWN_MILLIS = 100;

  /** Distinct per-entry freshness contracts whose policies are shared; more get their own. */
  private static final int MAX_SHARED_POLICIES = 1_024;

  private final String name;
  private final Guard guard;
  private final Loader<K, V> loader;
  private final Clock clock;

  /** Whether hits read the coarse clock: only with the default (system) clock. */
  private final boolean coarse;

  private final Freshness freshness;
  private final @Nullable BiFunction<? super K, ? super V, Freshness> freshnessOf;
  private final double refreshAhead;
  private final Entry.Policy policy;
  private final Entry.@Nullable Policy negativePolicy;

  /** Policies of per-entry freshness contracts, shared by the entries that have the same one. */
  private final Map<Freshness, Entry.Policy> policies = new ConcurrentHashMap<>();

  private final Predicate<? super V> absentWhen;
  private final @Nullable BiFunction<? super K, ? super V, Set<String>> tagger;
  private final Duration maxStaleWait;
  private final Duration loadWait;
  private final Duration failureBackoff;
  private final Duration maxFailureBackoff;
  private final Cache<K, Entry<V>> cache;
  private final Map<K, CompletableFuture<Entry<V>>> loads = new ConcurrentHashMap<>();
  private final Map<K, Backoff> backoffs = new ConcurrentHashMap<>();
  private final Map<String, Set<K>> tagIndex = new ConcurrentHashMap<>();

  /**
   * Invalidations are numbered; a load remembers the number when it starts and is not stored if an
   * invalidation of everything, or of one of its tags, came after it. Invalidating a key is handled
   * by taking the key's load out of {@link #loads}.
   */
  private final AtomicLong invalidations = new AtomicLong();

  private volatile long allInvalidatedAt;
  private final Map<String, Long> tagInvalidatedAt = new ConcurrentHashMap<>();

  private final ThreadPoolExecutor loadPool;
  private final ScheduledThreadPoolExecutor scheduler;
  private final @Nullable SnapshotFile<K, V> snapshot;
  private final Object snapshotLock = new Object();
  private final AtomicLong changes = new AtomicLong();
  private volatile long changesAtLastSnapshot = -1;
  private volatile long guardRetryAt;
  private volatile @Nullable DependencyUnavailableException lastRefusal;
  private final AtomicBoolean closed = new AtomicBoolean();

  private final LongAdder freshHits = new LongAdder();
  private final LongAdder staleHits = new LongAdder();
  private final LongAdder loadedAnswers = new LongAdder();
  private final LongAdder loadsOk = new LongAdder();
  private final LongAdder loadFailures = new LongAdder();
  private final LongAdder rejectedLoads = new LongAdder();
  private final LongAdder noValueErrors = new LongAdder();
  private volatile long oldestStaleServedMillis;
  private volatile long lastStaleServedAt;
  private final long restored;

  private QueryCache(Builder<K, V> b, Loader<K, V> loader) {
    this.name = b.name;
    this.guard = Objects.requireNonNull(b.guard);
    this.loader = loader;
    this.clock = b.clock;
    this.coarse = b.systemClock;
    this.freshness = b.freshness;
    this.freshnessOf = b.freshnessOf;
    this.refreshAhead = b.refreshAhead;
    this.policy = new Entry.Policy(b.freshness, b.refreshAhead, false);
    this.negativePolicy =
        b.negativeFreshness == null
            ? null
            : new Entry.Policy(b.negativeFreshness, b.refreshAhead, true);
    this.absentWhen = b.absentWhen;
    this.tagger = b.tagger;
    this.maxStaleWait = b.maxStaleWait;
    // A caller with nothing to serve waits for the load: the guard's timeout for each attempt.
    this.loadWait = guard.config().callTimeout().plusMillis(250);
    this.failureBackoff = b.failureBackoff;
    this.maxFailureBackoff = b.maxFailureBackoff;

    // Two threads: Caffeine's upkeep must not wait behind a snapshot of a million entries.
    this.scheduler =
        new ScheduledThreadPoolExecutor(
            2, r -> daemon(r, "outlast-cache-" + name + "-maintenance"));
    scheduler.setRemoveOnCancelPolicy(true);
    // Caffeine's own upkeep (read-buffer drains, eviction, removal listeners) runs on the cache's
    // maintenance threads, not on readers: a reader that drains does several times the work of a
    // hit, and not on the common pool either.
    Caffeine<K, Entry<V>> caffeine =
        Caffeine.newBuilder()
            .executor(scheduler)
            .removalListener(
                (@Nullable K k, @Nullable Entry<V> e, RemovalCause cause) -> untag(k, e));
    if (b.maximumWeight > 0) {
      Weigher<? super K, ? super V> w = Objects.requireNonNull(b.weigher);
      caffeine =
          caffeine.maximumWeight(b.maximumWeight).weigher((K k, Entry<V> e) -> w.weigh(k, e.value));
    } else {
      caffeine = caffeine.maximumSize(b.maximumSize);
    }
    // No time-based expiry in Caffeine: ages are the cache's own business (and survive restarts);
    // the sweeper drops what can no longer be served.
    this.cache = caffeine.build();

    AtomicInteger threads = new AtomicInteger();
    this.loadPool =
        new ThreadPoolExecutor(
            b.loadConcurrency,
            b.loadConcurrency,
            30,
            TimeUnit.SECONDS,
            new ArrayBlockingQueue<>(b.loadQueue),
            r -> daemon(r, "outlast-cache-" + name + "-load-" + threads.incrementAndGet()));
    loadPool.allowCoreThreadTimeOut(true);

    this.snapshot =
        b.snapshotPath == null
            ? null
            : new SnapshotFile<>(
                b.snapshotPath,
                name,
                Objects.requireNonNull(b.keyCodec),
                Objects.requireNonNull(b.valueCodec),
                b.snapshotKey);
    this.restored = restoreSnapshot();
    if (coarse) {
      CoarseClock.retain();
    }

    long sweep = Math.max(1_000, Math.min(60_000, freshness.serveStaleFor().toMillis() / 4));
    var unusedSweeper =
        scheduler.scheduleWithFixedDelay(
            () -> quietly("sweep", this::sweep), sweep, sweep, TimeUnit.MILLISECONDS);
    if (snapshot != null) {
      long every = b.snapshotInterval.toMillis();
      var unusedWriter =
          scheduler.scheduleWithFixedDelay(
              () -> {
                if (changes.get() != changesAtLastSnapshot) {
                  quietly("snapshot", this::writeSnapshot);
                }
              },
              every,
              every,
              TimeUnit.MILLISECONDS);
    }
  }

  /**
   * Starts building a cache.
   *
   * @param name a short name for logs, metrics, threads and the snapshot: "products"
   */
  public static <K, V> Builder<K, V> builder(String name) {
    return new Builder<>(name);
  }

  /** The cache's name. */
  public String name() {
    return name;
  }

  /** The guard of the dependency the cache loads from. */
  public Guard guard() {
    return guard;
  }

  /**
   * The cache's health, for {@link dev.outlast.core.health.Health}: the database's state as its
   * guard sees it, and what the cache does about it. Breaker open is DOWN (with the oldest stale
   * value served meanwhile: the cache answers, but from the past); half-open, or stale values
   * served within the last minute, is DEGRADED; otherwise UP.
   */
  public HealthCheck health(Importance importance) {
    Objects.requireNonNull(importance, "importance");
    return () -> {
      CacheStats st = stats();
      Instant lastStale = st.lastStaleServedAt();
      boolean recentlyStale =
          lastStale != null && lastStale.isAfter(clock.instant().minusSeconds(60));
      String stale =
          lastStale == null
              ? "no stale value served"
              : st.staleHits()
                  + " stale answers, the oldest "
                  + st.oldestStaleServed().toMillis()
                  + " ms old, the last at "
                  + lastStale;
      return Health.component(name, "cache", guard, importance, recentlyStale, stale);
    };
  }

  /**
   * The value of a key: from the cache if it may be served, else loaded.
   *
   * @throws NoUsableValueException if there is no value that may be served and none could be loaded
   * @throws NullPointerException if the key is null
   * @throws IllegalStateException if the cache is closed and would have to load
   */
  public V get(K key) {
    Entry<V> e = cache.getIfPresent(Objects.requireNonNull(key, "key"));
    if (e != null) {
      long now = coarseNow();
      if (now < e.refreshAt()) {
        freshHits.increment();
        return e.value;
      }
      if (now < guardRetryAt && now < e.usableUntil()) {
        // The guard just refused a load: serve what there is without asking it again.
        return serveWithoutLoading(e, now);
      }
    }
    return resolve(key, e).value();
  }

  /**
   * As {@link #get}, with the value's state (fresh, stale, loaded) and age.
   *
   * @throws NoUsableValueException if there is no value that may be served and none could be loaded
   */
  public Answer<V> lookup(K key) {
    Entry<V> e = cache.getIfPresent(Objects.requireNonNull(key, "key"));
    if (e != null) {
      long now = coarseNow();
      if (now < e.refreshAt()) {
        freshHits.increment();
        return new Answer<>(e.value, Answer.State.FRESH, e.loadedAt, now - e.loadedAt);
      }
    }
    return resolve(key, e);
  }

  /** The cached value of a key and its state, without loading; empty if none may be served. */
  public Optional<Answer<V>> peek(K key) {
    Entry<V> e = cache.getIfPresent(Objects.requireNonNull(key, "key"));
    long now = clock.millis();
    if (e == null || now >= e.usableUntil()) {
      return Optional.empty();
    }
    Answer.State state = now < e.freshUntil() ? Answer.State.FRESH : Answer.State.STALE;
    return Optional.of(new Answer<>(e.value, state, e.loadedAt, now - e.loadedAt));
  }

  /** Removes a key; a load of it in flight is not stored. */
  public void invalidate(K key) {
    Objects.requireNonNull(key, "key");
    loads.remove(key);
    backoffs.remove(key);
    cache.invalidate(key);
    changes.incrementAndGet();
  }

  /**
   * Removes every entry tagged so (e.g. with the table it was read from); loads in flight that
   * would be tagged so are not stored.
   */
  public void invalidateTag(String tag) {
    Objects.requireNonNull(tag, "tag");
    // First the number (so that a load finishing from now on is refused), then the entries.
    tagInvalidatedAt.put(tag, invalidations.incrementAndGet());
    Set<K> keys = tagIndex.remove(tag);
    if (keys != null) {
      for (K k : keys) {
        cache.asMap().computeIfPresent(k, (kk, e) -> e.tags.contains(tag) ? null : e);
        // The data changed: a load that failed before says nothing about the next one.
        backoffs.remove(k);
      }
    }
    changes.incrementAndGet();
  }

  /** Removes every entry; loads in flight are not stored. */
  public void invalidateAll() {
    allInvalidatedAt = invalidations.incrementAndGet();
    loads.clear();
    backoffs.clear();
    cache.invalidateAll();
    changes.incrementAndGet();
  }

  /** The counters since the cache was built. */
  public CacheStats stats() {
    long last = lastStaleServedAt;
    return new CacheStats(
        freshHits.sum(),
        staleHits.sum(),
        loadedAnswers.sum(),
        loadsOk.sum(),
        loadFailures.sum(),
        rejectedLoads.sum(),
        noValueErrors.sum(),
        cache.estimatedSize(),
        restored,
        Duration.ofMillis(oldestStaleServedMillis),
        last == 0 ? null : Instant.ofEpochMilli(last));
  }

  /**
   * Writes the snapshot now (it is also written periodically and on close). Records are encoded and
   * written one at a time; a record its codec cannot write is left out and logged.
   *
   * @throws IllegalStateException if the cache has no snapshot configured
   * @throws java.io.UncheckedIOException if it cannot be written; the previous snapshot stays
   */
  public void writeSnapshot() {
    SnapshotFile<K, V> file = snapshot;
    if (file == null) {
      throw new IllegalStateException(name + " has no snapshot configured");
    }
    synchronized (snapshotLock) {
      try {
        long changesNow = changes.get();
        long now = clock.millis();
        Iterator<SnapshotFile.Item<K, V>> items =
            cache.asMap().entrySet().stream()
                .filter(en -> now < en.getValue().usableUntil())
                .map(
                    en ->
                        new SnapshotFile.Item<>(
                            en.getKey(),
                            en.getValue().value,
                            en.getValue().loadedAt,
                            en.getValue().absent()))
                .iterator();
        SnapshotFile.Written written = file.write(items, now);
        changesAtLastSnapshot = changesNow;
        if (written.skipped() > 0) {
          log.warn(
              "{}: {} entries left out of the snapshot: their codec failed",
              name,
              written.skipped());
        }
        log.debug("{}: wrote {} entries to {}", name, written.records(), file.path());
      } catch (IOException e) {
        throw new java.io.UncheckedIOException(name + ": cannot write snapshot " + file.path(), e);
      }
    }
  }

  /**
   * Stops the cache's threads (loads in flight are abandoned, their guard permits released) and
   * writes a last snapshot. Idempotent and safe to call from several threads.
   */
  @Override
  public void close() {
    if (!closed.compareAndSet(false, true)) {
      return;
    }
    scheduler.shutdown();
    for (Runnable queued : loadPool.shutdownNow()) {
      if (queued instanceof QueryCache<?, ?>.LoadTask task) {
        task.abandon(new IllegalStateException(name + " is closed"));
      }
    }
    if (coarse) {
      CoarseClock.release();
    }
    try {
      // A periodic snapshot under way finishes before the last one is written.
      if (!scheduler.awaitTermination(30, TimeUnit.SECONDS)) {
        log.warn("{}: maintenance did not stop within 30 s", name);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    if (snapshot != null) {
      quietly("snapshot", this::writeSnapshot);
    }
  }

  /** How many tag invalidation numbers are kept; for tests. */
  int tagEpochs() {
    return tagInvalidatedAt.size();
  }

  @Override
  public String toString() {
    return "QueryCache[" + name + ", " + cache.estimatedSize() + " entries, " + guard + "]";
  }

  // ---- reads ----

  /**
   * The time for hit paths: the coarse clock with the system clock (it lags by about a
   * millisecond), else the configured clock.
   */
  private long coarseNow() {
    return coarse ? CoarseClock.millis() : clock.millis();
  }

  private V serveWithoutLoading(Entry<V> e, long now) {
    if (now < e.freshUntil()) {
      freshHits.increment();
    } else {
      noteStale(e, now);
    }
    return e.value;
  }

  private Answer<V> resolve(K key, @Nullable Entry<V> e) {
    long now = clock.millis();
    if (e != null && now < e.staleUntil()) {
      // Fresh but late in its window, or in the stale-while-revalidate window: answer at once and
      // refresh in the background.
      refreshInBackground(key, e, now);
      if (now < e.freshUntil()) {
        freshHits.increment();
        return new Answer<>(e.value, Answer.State.FRESH, e.loadedAt, now - e.loadedAt);
      }
      noteStale(e, now);
      return new Answer<>(e.value, Answer.State.STALE, e.loadedAt, now - e.loadedAt);
    }
    Entry<V> usable = e != null && now < e.usableUntil() ? e : null;
    Backoff backoff = backoffs.get(key);
    if (backoff != null && now < backoff.retryAt) {
      // Failed recently: do not ask again yet.
      if (!backoff.infrastructure) {
        throw noValue(
            key,
            e,
            now,
            "failed the query (not an outage, so nothing stale is served)",
            backoff.failure);
      }
      return staleOrThrow(key, e, usable, "failed on the last load", backoff.failure);
    }
    DependencyUnavailableException refusal = lastRefusal;
    if (now < guardRetryAt && refusal != null) {
      // The guard just refused a load: do not ask it again yet.
      return staleOrThrow(key, e, usable, "is unavailable", refusal);
    }
    if (closed.get()) {
      throw new IllegalStateException(name + " is closed");
    }
    CompletableFuture<Entry<V>> load = startLoad(key, e, now);
    try {
      Entry<V> loaded =
          load.get((usable != null ? maxStaleWait : loadWait).toNanos(), TimeUnit.NANOSECONDS);
      loadedAnswers.increment();
      return new Answer<>(
          loaded.value, Answer.State.LOADED, loaded.loadedAt, clock.millis() - loaded.loadedAt);
    } catch (TimeoutException t) {
      String why =
          usable != null ? "is slow" : "did not answer within " + loadWait.toMillis() + " ms";
      return staleOrThrow(key, e, usable, why, t);
    } catch (ExecutionException x) {
      Throwable cause = Objects.requireNonNullElse(x.getCause(), x);
      if (!isOutage(cause)) {
        // The database answered, with an error of the query itself: do not hide it behind a
        // stale value.
        throw noValue(
            key,
            e,
            clock.millis(),
            "failed the query (not an outage, so nothing stale is served)",
            cause);
      }
      return staleOrThrow(key, e, usable, why(cause), cause);
    } catch (InterruptedException i) {
      Thread.currentThread().interrupt();
      return staleOrThrow(key, e, usable, "was not waited for (interrupted)", i);
    }
  }

  private boolean isOutage(Throwable cause) {
    return cause instanceof RejectedExecutionException || guard.isOutage(cause);
  }

  private String why(Throwable cause) {
    if (cause instanceof DependencyUnavailableException) {
      return "is unavailable";
    }
    if (cause instanceof RejectedExecutionException) {
      return "has too many loads queued";
    }
    return "failed";
  }

  /** Serves the usable value, stale, with its age as of now; or throws if there is none. */
  private Answer<V> staleOrThrow(
      K key, @Nullable Entry<V> e, @Nullable Entry<V> usable, String why, Throwable cause) {
    long now = clock.millis();
    if (usable != null && now < usable.usableUntil()) {
      noteStale(usable, now);
      return new Answer<>(usable.value, Answer.State.STALE, usable.loadedAt, now - usable.loadedAt);
    }
    throw noValue(key, e, now, why, cause);
  }

  private NoUsableValueException noValue(
      K key, @Nullable Entry<V> e, long now, String why, Throwable cause) {
    noValueErrors.increment();
    return new NoUsableValueException(
        name,
        guard.dependency(),
        String.valueOf(key),
        e == null ? null : Duration.ofMillis(Math.max(0, now - e.loadedAt)),
        e != null && now < e.usableUntil(),
        why,
        cause);
  }

  /**
   * Counts a stale answer. The oldest age served is sampled once per 100 ms, not on every hit: a
   * stale hit must cost about what a fresh one does, and ages grow slowly.
   */
  private void noteStale(Entry<V> e, long now) {
    staleHits.increment();
    if (now - lastStaleServedAt > 100) {
      lastStaleServedAt = now;
      long age = now - e.loadedAt;
      if (age > oldestStaleServedMillis) {
        oldestStaleServedMillis = age;
      }
    }
  }

  // ---- loads ----

  private void refreshInBackground(K key, Entry<V> seen, long now) {
    if (now < guardRetryAt || loads.containsKey(key) || closed.get()) {
      return;
    }
    Backoff backoff = backoffs.get(key);
    if (backoff != null && now < backoff.retryAt) {
      return;
    }
    // Nobody waits for a background refresh; its outcome lands in the cache or the key's backoff.
    var unused = startLoad(key, seen, now);
  }

  /**
   * The key's load in flight, or a new one. A load that cannot start is returned failed.
   *
   * @param seen the entry the caller found (or null), which it wants replaced
   */
  private CompletableFuture<Entry<V>> startLoad(K key, @Nullable Entry<V> seen, long now) {
    CompletableFuture<Entry<V>> running = loads.get(key);
    if (running != null) {
      return running;
    }
    CompletableFuture<Entry<V>> mine = new CompletableFuture<>();
    running = loads.putIfAbsent(key, mine);
    if (running != null) {
      return running;
    }
    // Won the right to load. A load that finished since the caller looked may have stored a newer
    // value already: then that is the answer, not another query.
    Entry<V> current = cache.getIfPresent(key);
    if (current != null && current != seen && now < current.freshUntil()) {
      loads.remove(key, mine);
      mine.complete(current);
      return mine;
    }
    Guard.Permit permit = null;
    if (guard.state() != Guard.State.CLOSED) {
      // Open or probing: ask now, so that a refusal reaches the caller at once, and a probe
      // permit is not taken by a load that then waits in the queue.
      permit = guard.tryEnter();
      if (permit == null) {
        loads.remove(key, mine);
        return CompletableFuture.failedFuture(refused(now));
      }
    }
    LoadTask task = new LoadTask(key, mine, permit, invalidations.get());
    try {
      loadPool.execute(task);
    } catch (RejectedExecutionException r) {
      rejectedLoads.increment();
      task.abandon(
          new RejectedExecutionException(
              name
                  + ": "
                  + loadPool.getQueue().size()
                  + " loads queued, the limit; raise loadQueue or loadConcurrency",
              r));
    }
    return mine;
  }

  /** Records that the guard refused a load: reads leave it alone for a moment. */
  private DependencyUnavailableException refused(long now) {
    rejectedLoads.increment();
    DependencyUnavailableException refusal = guard.unavailable();
    lastRefusal = refusal;
    guardRetryAt = now + GUARD_COOLDOWN_MILLIS;
    return refusal;
  }

  /**
   * One key's load. It takes the guard's permit when it runs (unless it was given one, as a probe),
   * so that loads waiting in the queue hold no share of the guard's bulkhead and none runs after
   * the breaker opened.
   */
  private final class LoadTask implements Runnable {
    private final K key;
    private final CompletableFuture<Entry<V>> future;
    private Guard.@Nullable Permit permit;
    private final long startedAt;

    LoadTask(
        K key, CompletableFuture<Entry<V>> future, Guard.@Nullable Permit permit, long startedAt) {
      this.key = key;
      this.future = future;
      this.permit = permit;
      this.startedAt = startedAt;
    }

    @Override
    public void run() {
      if (closed.get()) {
        abandon(new IllegalStateException(name + " is closed"));
        return;
      }
      Guard.Permit p = permit;
      if (p == null) {
        p = guard.tryEnter();
        if (p == null) {
          abandon(refused(clock.millis()));
          return;
        }
        permit = p;
      } else if (guard.state() == Guard.State.OPEN) {
        abandon(refused(clock.millis()));
        return;
      }
      long loadedAt = clock.millis();
      long start = System.nanoTime();
      V value;
      try {
        value = loader.load(key);
        if (value == null) {
          throw new IllegalStateException(
              name
                  + ": the loader returned null for key "
                  + key
                  + "; return a value, or use Optional or a collection as the value type and"
                  + " return it empty for 'no such row'");
        }
      } catch (Throwable t) {
        boolean infrastructure = p.failure(System.nanoTime() - start, t);
        permit = null;
        fail(t, infrastructure);
        if (t instanceof VirtualMachineError err) {
          throw err;
        }
        return;
      }
      p.success(System.nanoTime() - start);
      permit = null;
      try {
        // The load's time is when the query started: the value is at least that old.
        Entry<V> entry = newEntry(key, value, loadedAt);
        store(entry);
        backoffs.remove(key);
        loadsOk.increment();
        // Removed after the store: a caller arriving now finds the value, not a new load.
        loads.remove(key, future);
        future.complete(entry);
      } catch (RuntimeException e) {
        // The database answered, but the cache's own callbacks (tagger, freshnessOf, weigher)
        // failed: an error of the configuration, not an outage.
        fail(e, false);
      }
    }

    /** Stores the entry unless it was invalidated while it loaded; tags it in the same step. */
    private void store(Entry<V> entry) {
      cache
          .asMap()
          .compute(
              key,
              (k, old) -> {
                if (loads.get(k) != future || allInvalidatedAt > startedAt) {
                  return old;
                }
                for (String tag : entry.tags) {
                  Long at = tagInvalidatedAt.get(tag);
                  if (at != null && at > startedAt) {
                    return old;
                  }
                }
                // Tagged under the key's lock, so that an untag of the old entry cannot undo it.
                for (String tag : entry.tags) {
                  tagIndex.computeIfAbsent(tag, t -> ConcurrentHashMap.newKeySet()).add(k);
                }
                changes.incrementAndGet();
                return entry;
              });
    }

    private void fail(Throwable t, boolean infrastructure) {
      loadFailures.increment();
      backOff(key, t, infrastructure);
      loads.remove(key, future);
      future.completeExceptionally(t);
    }

    /** The load will not run: gives its permit back and fails its callers. */
    void abandon(Throwable why) {
      Guard.Permit p = permit;
      permit = null;
      if (p != null) {
        p.release();
      }
      loads.remove(key, future);
      future.completeExceptionally(why);
    }
  }

  private void backOff(K key, Throwable failure, boolean infrastructure) {
    backoffs.compute(
        key,
        (k, old) -> {
          int failures = old == null ? 1 : old.failures + 1;
          double nominal =
              Math.min(
                  (double) maxFailureBackoff.toMillis(),
                  failureBackoff.toMillis() * Math.pow(2, Math.min(failures - 1, 30)));
          // 50% to 150% of the nominal wait, so that keys and pods do not retry in lockstep.
          long wait = Math.round(nominal * (0.5 + ThreadLocalRandom.current().nextDouble()));
          return new Backoff(failures, clock.millis() + wait, failure, infrastructure);
        });
  }

  private Entry<V> newEntry(K key, V value, long loadedAt) {
    Entry.Policy p;
    if (negativePolicy != null && absentWhen.test(value)) {
      p = negativePolicy;
    } else if (freshnessOf != null) {
      Freshness f =
          Objects.requireNonNull(freshnessOf.apply(key, value), "freshnessOf returned null");
      if (f.equals(freshness)) {
        p = policy;
      } else {
        Entry.Policy shared = policies.get(f);
        if (shared == null && policies.size() < MAX_SHARED_POLICIES) {
          shared = policies.computeIfAbsent(f, x -> new Entry.Policy(x, refreshAhead, false));
        }
        p = shared != null ? shared : new Entry.Policy(f, refreshAhead, false);
      }
    } else {
      p = policy;
    }
    Set<String> tags = tagger == null ? Set.of() : Set.copyOf(tagger.apply(key, value));
    return new Entry<>(value, loadedAt, p, tags);
  }

  /** Takes a removed or replaced entry's key out of the tag sets the new entry does not share. */
  private void untag(@Nullable K key, @Nullable Entry<V> old) {
    if (key == null || old == null || old.tags.isEmpty()) {
      return;
    }
    // Under the key's lock: a load storing a new entry for the key cannot interleave.
    cache
        .asMap()
        .compute(
            key,
            (k, current) -> {
              for (String tag : old.tags) {
                if (current == null || !current.tags.contains(tag)) {
                  tagIndex.computeIfPresent(
                      tag,
                      (t, keys) -> {
                        keys.remove(k);
                        return keys.isEmpty() ? null : keys;
                      });
                }
              }
              return current;
            });
  }

  // ---- maintenance ----

  /**
   * Drops entries well past their last servable age. They are kept a while after it, so that the
   * exception for a read can still say how old the value was.
   */
  private void sweep() {
    long now = clock.millis();
    long grace = freshness.serveStaleFor().toMillis();
    cache.asMap().entrySet().removeIf(en -> now >= en.getValue().usableUntil() + grace);
    backoffs.entrySet().removeIf(en -> now >= en.getValue().retryAt + maxFailureBackoff.toMillis());
  }

  /** Runs maintenance, reporting any failure: a scheduled task that throws is never run again. */
  private void quietly(String what, Runnable task) {
    try {
      task.run();
    } catch (Throwable t) {
      log.warn("{}: {} failed; it will be tried again: {}", name, what, t.toString());
      if (t instanceof VirtualMachineError err) {
        throw err;
      }
    }
  }

  /** Restores the snapshot's servable entries, as stale; returns how many. */
  private long restoreSnapshot() {
    SnapshotFile<K, V> file = snapshot;
    if (file == null) {
      return 0;
    }
    long now = clock.millis();
    List<SnapshotFile.Item<K, V>> items;
    try {
      file.deleteLeftovers();
      items = file.read();
    } catch (SnapshotFile.DamagedSnapshotException e) {
      String aside;
      try {
        aside = "; moved to " + file.quarantine(now);
      } catch (IOException moveFailed) {
        aside = "; could not move it aside: " + moveFailed;
      }
      log.error(
          "{}: snapshot {} refused, starting empty: {}{}",
          name,
          file.path(),
          e.getMessage(),
          aside);
      return 0;
    } catch (IOException e) {
      log.error("{}: snapshot {} unreadable, starting empty", name, file.path(), e);
      return 0;
    }
    long count = 0;
    long skipped = 0;
    for (SnapshotFile.Item<K, V> item : items) {
      // A load time in the future means a clock that went back; it could pass for younger than it
      // is, so such an entry is dropped.
      if (item.loadedAt() > now + 1_000) {
        skipped++;
        continue;
      }
      try {
        Entry<V> fresh = newEntry(item.key(), item.value(), item.loadedAt());
        Entry<V> e = new Entry<>(fresh.value, fresh.loadedAt, fresh.policy.restored(), fresh.tags);
        if (now < e.usableUntil()) {
          for (String tag : e.tags) {
            tagIndex.computeIfAbsent(tag, t -> ConcurrentHashMap.newKeySet()).add(item.key());
          }
          cache.put(item.key(), e);
          count++;
        }
      } catch (RuntimeException callbackFailed) {
        // A tagger, freshnessOf or weigher that throws must not keep the pod from starting.
        skipped++;
      }
    }
    if (skipped > 0) {
      log.warn(
          "{}: {} snapshot entries skipped (clock ahead, or a callback failed)", name, skipped);
    }
    log.info("{}: restored {} of {} entries from {}", name, count, items.size(), file.path());
    return count;
  }

  private static Thread daemon(Runnable r, String name) {
    Thread t = new Thread(r, name);
    t.setDaemon(true);
    return t;
  }

  /** A key's failed loads: the next attempt waits until {@code retryAt}. */
  private record Backoff(int failures, long retryAt, Throwable failure, boolean infrastructure) {}

  /**
   * The weight of an entry, for a cache bounded by weight (e.g. approximate bytes). Must be
   * threadsafe and fast.
   */
  @FunctionalInterface
  public interface Weigher<K, V> {
    /** The weight of one entry; not negative. */
    int weigh(K key, V value);
  }

  /**
   * Builds a {@link QueryCache}. Every setter checks its value at once, naming it; {@link #build}
   * checks them against each other. Not threadsafe.
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
    private boolean systemClock = true;

    private Builder(String name) {
      Objects.requireNonNull(name, "name");
      if (!name.matches("[A-Za-z0-9._-]{1,64}")) {
        throw new IllegalArgumentException(
            "cache name must be 1-64 letters, digits, '.', '_' or '-', was '" + name + "'");
      }
      this.name = name;
    }

    /** The guard of the dependency the loader queries. Required. */
    public Builder<K, V> guard(Guard guard) {
      this.guard = Objects.requireNonNull(guard, "guard");
      return this;
    }

    /** The freshness contract of every entry; the default is 30 s fresh, 1 h servable stale. */
    public Builder<K, V> freshness(Freshness freshness) {
      this.freshness = Objects.requireNonNull(freshness, "freshness");
      return this;
    }

    /**
     * A freshness contract per entry, computed from its key and value when it is loaded (and when
     * it is restored from the snapshot); overrides {@link #freshness} for entries it returns.
     */
    public Builder<K, V> freshnessOf(BiFunction<? super K, ? super V, Freshness> perEntry) {
      this.freshnessOf = Objects.requireNonNull(perEntry, "perEntry");
      return this;
    }

    /**
     * The share of {@code freshFor} after which a read starts a background refresh, so that a
     * healthy database's callers never see stale values; in (0, 1], default 0.8. 1 turns it off.
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
     * Optional}, collection or map.
     */
    public Builder<K, V> negativeFreshness(Freshness negative) {
      this.negativeFreshness = Objects.requireNonNull(negative, "negative");
      return this;
    }

    /** Which values are "no such row" answers, for {@link #negativeFreshness}. */
    public Builder<K, V> absentWhen(Predicate<? super V> absent) {
      this.absentWhen = Objects.requireNonNull(absent, "absent");
      return this;
    }

    /** The tags of an entry (e.g. the tables it was read from), for {@link #invalidateTag}. */
    public Builder<K, V> tags(BiFunction<? super K, ? super V, Set<String>> tagger) {
      this.tagger = Objects.requireNonNull(tagger, "tagger");
      return this;
    }

    /** At most this many entries (Caffeine's size eviction); default 10,000. */
    public Builder<K, V> maximumSize(long entries) {
      if (entries < 1) {
        throw new IllegalArgumentException("maximumSize must be at least 1, was " + entries);
      }
      this.maximumSize = entries;
      this.maximumWeight = 0;
      return this;
    }

    /** At most this much weight (Caffeine's weight eviction), instead of a number of entries. */
    public Builder<K, V> maximumWeight(long weight, Weigher<? super K, ? super V> weigher) {
      if (weight < 1) {
        throw new IllegalArgumentException("maximumWeight must be at least 1, was " + weight);
      }
      this.maximumWeight = weight;
      this.weigher = Objects.requireNonNull(weigher, "weigher");
      return this;
    }

    /** How many loads may run at once, on the cache's own threads; 1-256, default 8. */
    public Builder<K, V> loadConcurrency(int loads) {
      if (loads < 1 || loads > 256) {
        throw new IllegalArgumentException("loadConcurrency must be in [1, 256], was " + loads);
      }
      this.loadConcurrency = loads;
      return this;
    }

    /** How many loads may wait for a thread; beyond that loads are refused. 1-1,000,000. */
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
     * {@link #snapshotInterval} if something changed, and on close; checked when read at build
     * time, and ignored, reported and moved aside if damaged. The check is a CRC32C, which catches
     * damage; to refuse a snapshot someone changed on purpose, sign it with {@link #snapshotKey}.
     *
     * @param file where to keep it; its directory is created if missing
     * @param keys how keys are written
     * @param values how values are written
     */
    public Builder<K, V> snapshot(Path file, Codec<K> keys, Codec<V> values) {
      this.snapshotPath = Objects.requireNonNull(file, "file");
      this.keyCodec = Objects.requireNonNull(keys, "keys");
      this.valueCodec = Objects.requireNonNull(values, "values");
      return this;
    }

    /**
     * Signs the snapshot with HMAC-SHA256 under this key instead of a CRC, so that a snapshot
     * changed by someone without the key is refused, not just an accidentally damaged one.
     *
     * @param key at least 16 bytes
     */
    public Builder<K, V> snapshotKey(byte[] key) {
      Objects.requireNonNull(key, "key");
      if (key.length < 16) {
        throw new IllegalArgumentException(
            "snapshotKey must be at least 16 bytes, was " + key.length);
      }
      this.snapshotKey = key.clone();
      return this;
    }

    /** How often the snapshot is written; default 30 s. */
    public Builder<K, V> snapshotInterval(Duration interval) {
      Objects.requireNonNull(interval, "interval");
      if (interval.toMillis() < 100) {
        throw new IllegalArgumentException(
            "snapshotInterval must be at least 100 ms, was " + interval);
      }
      this.snapshotInterval = interval;
      return this;
    }

    /** The clock ages are measured with (wall time: it must agree across restarts). For tests. */
    public Builder<K, V> clock(Clock clock) {
      this.clock = Objects.requireNonNull(clock, "clock");
      this.systemClock = false;
      return this;
    }

    /**
     * Builds the cache and, if configured, restores its snapshot.
     *
     * @param loader the query; runs on the cache's threads
     * @throws IllegalStateException if no guard was given
     */
    public QueryCache<K, V> build(Loader<K, V> loader) {
      Objects.requireNonNull(loader, "loader");
      if (guard == null) {
        throw new IllegalStateException(
            "cache '"
                + name
                + "' needs the guard of the dependency it loads from: call guard(...)");
      }
      if (negativeFreshness != null
          && negativeFreshness.serveStaleFor().compareTo(freshness.serveStaleFor()) > 0) {
        throw new IllegalArgumentException(
            "negativeFreshness.serveStaleFor ("
                + negativeFreshness.serveStaleFor()
                + ") exceeds freshness.serveStaleFor ("
                + freshness.serveStaleFor()
                + "): a 'no such row' answer would outlive real rows");
      }
      return new QueryCache<>(this, loader);
    }

    private static boolean isEmptyResult(Object value) {
      return (value instanceof Optional<?> o && o.isEmpty())
          || (value instanceof Collection<?> c && c.isEmpty())
          || (value instanceof Map<?, ?> m && m.isEmpty());
    }
  }
}
