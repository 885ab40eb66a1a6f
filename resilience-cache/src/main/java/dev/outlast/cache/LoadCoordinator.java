package dev.outlast.cache;

import dev.outlast.core.DependencyUnavailableException;
import dev.outlast.core.Guard;
import dev.outlast.core.Redaction;
import dev.outlast.core.Ticker;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The loads: one per key at a time, each through the guard, within the {@link LoadSlots}, with a
 * time limit, and an end that stores the value (through the {@link EntryStore}'s rules) and answers
 * every caller waiting for it.
 *
 * <p><b>One load per key, and invalidations.</b> A key's load stays in {@link #loads} until it
 * ends; a caller who finds it there waits for it instead of starting another query. A caller who
 * joins after an invalidation (anywhere: the invalidation number moved since the load registered)
 * may not be answered with the value the load brings, which may predate the invalidation: such
 * callers wait on the load's {@code followUp}. When the load ends, its value goes to them too if no
 * invalidation of the key, of one of its tags, or of everything came after the load started;
 * otherwise a new load of the key is chained behind it (registered in the same step in which the
 * old one leaves, so there is still one per key) and answers them. Callers who joined before any
 * invalidation get the value either way: their read began before the invalidation.
 *
 * <p><b>Every end is reached once.</b> A load's state moves QUEUED → RUNNING → COMPLETING → ENDED;
 * whoever moves it to ENDED (its own thread, its time limit, close, or a refusal) reports the guard
 * permit's one outcome and answers its callers, and only a load that reached COMPLETING on its own
 * thread may store. Whatever the loader or another callback throws, {@link Error}s included, the
 * load ends, its permit gets an outcome and its key can load again.
 *
 * <p><b>Time limit.</b> A load still running {@code loadTimeout} after it began is abandoned: its
 * permit counts a timeout, its thread is interrupted, its callers are answered with the timeout and
 * its key may load again (so a load that ignores the interrupt may, for a while, run beside the
 * next load of its key; it can no longer store). Its slot stays taken until its thread returns.
 *
 * <p>Threading: callers start and join loads; executor threads run them; the scheduler fires time
 * limits; invalidating threads mark loads; close ends them. A load's callers and follow-up are
 * touched only under the key's lock in {@link #loads} (its {@code compute}); its state is an atomic
 * integer; its permit an atomic reference; the thread running its loader is guarded by the load's
 * monitor, so that an interrupt reaches the loader and never a later task of that thread.
 */
final class LoadCoordinator<K, V> {
  private static final Logger log = LoggerFactory.getLogger(QueryCache.class);

  private static final int QUEUED = 0;
  private static final int RUNNING = 1;
  private static final int COMPLETING = 2;
  private static final int ENDED = 3;

  private final String name;
  private final Guard guard;
  private final Loader<K, V> loader;
  private final Ticker ticker;
  private final long timeLimit;
  private final EntryStore<K, V> store;
  private final EntryFactory<K, V> factory;
  private final Backoffs<K> backoffs;
  private final CacheCounters counters;
  private final PluginFailures plugins;
  private final LoadSlots slots;
  private final ScheduledExecutorService timers;
  private final ConcurrentHashMap<K, Load> loads = new ConcurrentHashMap<>();

  /** Loads not yet ended; close waits on {@link #quiet} for none. */
  private final AtomicInteger active = new AtomicInteger();

  private final Object quiet = new Object();
  private volatile boolean closing;

  LoadCoordinator(
      QueryCacheConfig<K, V> config,
      Executor executor,
      ScheduledExecutorService timers,
      EntryStore<K, V> store,
      EntryFactory<K, V> factory,
      Backoffs<K> backoffs,
      CacheCounters counters,
      PluginFailures plugins) {
    this.name = config.name();
    this.guard = config.guard();
    this.loader = config.loader();
    this.ticker = config.ticker();
    this.timeLimit = Entry.Policy.nanos(config.loadTimeout());
    this.store = store;
    this.factory = factory;
    this.backoffs = backoffs;
    this.counters = counters;
    this.plugins = plugins;
    this.timers = timers;
    this.slots =
        new LoadSlots(
            name,
            executor,
            config.loadConcurrency(),
            config.loadQueue(),
            t ->
                log.error(
                    "{}: a load let a throwable escape; its slot is given back",
                    name,
                    Redaction.forLog(t)));
  }

  /** What a closed cache says to anything that would load. */
  static final class ClosedException extends IllegalStateException {
    private static final long serialVersionUID = 1L;

    ClosedException(String name) {
      super("query cache " + name + " is closed: it answers from memory, and loads nothing");
    }
  }

  ClosedException closed() {
    return new ClosedException(name);
  }

  /**
   * The key's load for this caller: the one in flight (or the one chained behind it, if an
   * invalidation came since it started), or a new one. A load that cannot start is returned failed.
   *
   * @param seen the entry the caller found (or null), which it wants replaced: if another load
   *     stored a fresh one since, that is the answer, without a query
   * @param now the ticker's reading
   */
  CompletableFuture<Entry<V>> load(K key, @Nullable Entry<V> seen, long now) {
    if (closing) {
      return CompletableFuture.failedFuture(closed());
    }
    var joined =
        new Object() {
          @Nullable Load created;
          @Nullable CompletableFuture<Entry<V>> future;
        };
    store.registering(
        () ->
            loads.compute(
                key,
                (k, running) -> {
                  long number = store.number();
                  if (running != null) {
                    joined.future = running.join(number);
                    return running;
                  }
                  Entry<V> current = store.get(k);
                  if (current != null
                      && current != seen
                      && current.age(now) < current.policy.freshFor) {
                    joined.future = CompletableFuture.completedFuture(current);
                    return null;
                  }
                  Load created = new Load(k, number, new CompletableFuture<>());
                  active.incrementAndGet();
                  joined.created = created;
                  joined.future = created.primary;
                  return created;
                }));
    Load created = joined.created;
    if (created != null) {
      begin(created, now);
    }
    return Objects.requireNonNull(joined.future);
  }

  /** Starts a background refresh of a key, unless it is loading, backed off or refused lately. */
  void refresh(K key, Entry<V> seen, long now) {
    if (closing
        || backoffs.guardCoolingDown(now)
        || loads.containsKey(key)
        || backoffs.active(key, now) != null) {
      return;
    }
    // Nobody waits for a background refresh; its outcome lands in the cache or the key's backoff.
    CompletableFuture<?> unused = load(key, seen, now);
  }

  /**
   * Marks the key's load in flight as invalidated (its value will not be stored); called by the
   * store between numbering the invalidation and removing the entry. Under the key's lock, so that
   * a load chained in the same moment is either marked or started after the number.
   */
  void invalidated(K key) {
    loads.computeIfPresent(
        key,
        (k, load) -> {
          load.invalidated = true;
          return load;
        });
  }

  /** The start number of the oldest load in flight, or {@link Long#MAX_VALUE} if none. */
  long oldestStart() {
    long oldest = Long.MAX_VALUE;
    for (Load l : loads.values()) {
      oldest = Math.min(oldest, l.start);
    }
    return oldest;
  }

  /** Whether the outcome of a load means the database is out (so a stale value may be served). */
  boolean outage(Throwable failure) {
    if (failure instanceof RejectedExecutionException
        || failure instanceof DependencyUnavailableException) {
      return true;
    }
    try {
      return guard.isOutage(failure);
    } catch (Throwable classifierFailed) {
      plugins.failed(
          "guard's failure classifier", classifierFailed, "the failure counted as an outage");
      return true;
    }
  }

  /**
   * Stops loading: refuses new loads, abandons queued ones, waits up to the bound for running ones
   * to end, then abandons those still running (interrupted, permits released, never stored). Loads
   * already completing finish; the caller then stops the store.
   *
   * @return whether every load ended within the bound
   */
  boolean close(long boundNanos) {
    closing = true;
    for (LoadSlots.Job queued : slots.close()) {
      queued.abandon(closed());
    }
    // A real wait (System.nanoTime, monotonic): a test's manual ticker must not hold close up.
    long deadline = System.nanoTime() + boundNanos;
    synchronized (quiet) {
      while (active.get() > 0) {
        long left = deadline - System.nanoTime();
        if (left <= 0) {
          break;
        }
        try {
          TimeUnit.NANOSECONDS.timedWait(quiet, left);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          break;
        }
      }
    }
    boolean allEnded = active.get() == 0;
    for (Load l : loads.values()) {
      l.abandon(closed());
    }
    return allEnded;
  }

  /** Keys with a load in flight; for tests. */
  int inFlight() {
    return loads.size();
  }

  /** Loads not yet ended; for tests. */
  int active() {
    return active.get();
  }

  /** Slots held (loads on a thread, abandoned ones included); for tests. */
  int slotsHeld() {
    return slots.running();
  }

  private void begin(Load load, long now) {
    if (guard.state() != Guard.State.CLOSED) {
      // Open or probing: ask now, so that a refusal reaches the caller at once, and a probe
      // permit is not taken by a load that then waits in the queue.
      Guard.Permit p = guard.tryEnter();
      if (p == null) {
        load.abandon(refused(now));
        return;
      }
      load.permit.set(p);
    }
    RuntimeException notTaken = slots.submit(load);
    if (notTaken != null) {
      if (notTaken instanceof RejectedExecutionException) {
        counters.rejectedLoads.increment();
        load.abandon(notTaken);
      } else {
        load.abandon(closed());
      }
    }
  }

  /** Records that the guard refused a load: reads leave it alone for a moment. */
  private DependencyUnavailableException refused(long now) {
    counters.rejectedLoads.increment();
    return backoffs.guardRefused(guard.unavailable(), now);
  }

  private void ended() {
    if (active.decrementAndGet() == 0 && closing) {
      synchronized (quiet) {
        quiet.notifyAll();
      }
    }
  }

  /** One load of one key. */
  private final class Load implements LoadSlots.Job {
    final K key;

    /** The invalidation number when it registered. */
    final long start;

    /** Callers who joined before any invalidation since {@link #start}. */
    final CompletableFuture<Entry<V>> primary;

    /** Callers who joined after an invalidation; guarded by the key's lock in {@link #loads}. */
    @Nullable CompletableFuture<Entry<V>> followUp;

    /** The key was invalidated after {@link #start}: the value must not be stored. */
    volatile boolean invalidated;

    final AtomicInteger state = new AtomicInteger(QUEUED);
    final OnePermit permit = new OnePermit(LoadCoordinator.this::outage, plugins);

    /** The ticker's reading when the loader was called; written before the timer is armed. */
    private volatile long ranAt;

    private volatile @Nullable ScheduledFuture<?> timer;

    // Guarded by this.
    private @Nullable Thread runner;
    private boolean interruptedByCache;

    Load(K key, long start, CompletableFuture<Entry<V>> primary) {
      this.key = key;
      this.start = start;
      this.primary = primary;
    }

    /** The future for a caller joining now; under the key's lock. */
    CompletableFuture<Entry<V>> join(long number) {
      if (number == start && !invalidated) {
        return primary;
      }
      CompletableFuture<Entry<V>> later = followUp;
      if (later == null) {
        later = new CompletableFuture<>();
        followUp = later;
      }
      return later;
    }

    @Override
    public void run() {
      if (closing) {
        abandon(closed());
        return;
      }
      if (!state.compareAndSet(QUEUED, RUNNING)) {
        return; // abandoned while it waited
      }
      Throwable escaped = null;
      try {
        runLoader();
      } catch (Throwable t) {
        escaped = t;
      } finally {
        // Whatever happened, the load ends, once, and its permit has its outcome.
        if (state.getAndSet(ENDED) != ENDED) {
          Throwable why =
              escaped != null
                  ? escaped
                  : new IllegalStateException(name + ": the load of " + key + " ended unanswered");
          log.error(
              "{}: the load of {} failed inside the cache; it is ended",
              name,
              key,
              Redaction.forLog(why));
          permit.release();
          finish(why);
        }
      }
    }

    private void runLoader() {
      if (!permit.held()) {
        Guard.Permit p = guard.tryEnter();
        if (p == null) {
          refuse();
          return;
        }
        permit.set(p);
        if (state.get() != RUNNING) {
          // Abandoned between tryEnter and set: the abandoner released nothing, so this thread
          // does (a second release is a no-op).
          permit.release();
          return;
        }
      } else if (guard.state() == Guard.State.OPEN) {
        refuse(); // the probe permit it was given is worth nothing now
        return;
      }
      ranAt = ticker.read();
      armTimer();
      @Nullable V value = null;
      Throwable failure = null;
      if (!enterLoader()) {
        return; // abandoned before the query was sent
      }
      try {
        value = loader.load(key);
      } catch (Throwable t) {
        failure = t;
      } finally {
        leaveLoader();
      }
      long elapsed = ticker.read() - ranAt;
      if (!state.compareAndSet(RUNNING, COMPLETING)) {
        return; // abandoned at its time limit or by close, which reported it
      }
      disarmTimer();
      if (failure != null) {
        failed(failure, elapsed);
        return;
      }
      if (value == null) {
        failed(
            new IllegalStateException(
                name
                    + ": the loader returned null for key "
                    + key
                    + "; return a value, or use Optional or a collection as the value type and"
                    + " return it empty for 'no such row'"),
            elapsed);
        return;
      }
      permit.success(elapsed);
      Entry<V> entry;
      try {
        // The load's time is when the query started: the value is at least that old.
        entry = factory.loaded(key, value, ranAt);
      } catch (EntryFactory.PluginException e) {
        // The database answered, but a callback of the cache's configuration failed.
        fail(e, false);
        return;
      }
      boolean stored = store.store(key, entry, start, () -> invalidated);
      counters.loadsOk.increment();
      backoffs.clear(key);
      loaded(entry, stored);
    }

    /** The guard refused the load when it came to run. */
    private void refuse() {
      DependencyUnavailableException why = refused(ticker.read());
      if (state.compareAndSet(RUNNING, ENDED)) {
        permit.release();
        finish(why);
      }
    }

    /** The loader threw (or returned null); the load is completing. */
    private void failed(Throwable failure, long elapsed) {
      boolean infrastructure = permit.failure(elapsed, failure);
      if (!infrastructure && !outage(failure)) {
        plugins.failed("loader", failure, "the load failed and its callers were told why");
      }
      fail(failure, infrastructure);
    }

    private void fail(Throwable failure, boolean infrastructure) {
      counters.loadFailures.increment();
      backoffs.failed(key, failure, infrastructure, ticker.read());
      state.set(ENDED);
      finish(failure);
    }

    /**
     * The value is in (or was refused by an invalidation): answers the callers, and chains a new
     * load for those who joined after an invalidation that concerns the value.
     */
    private void loaded(Entry<V> entry, boolean stored) {
      var next =
          new Object() {
            @Nullable CompletableFuture<Entry<V>> later;
            @Nullable Load chained;
            boolean laterGetsIt;
          };
      store.registering(
          () ->
              loads.compute(
                  key,
                  (k, current) -> {
                    if (current != this) {
                      return current;
                    }
                    CompletableFuture<Entry<V>> later = followUp;
                    next.later = later;
                    if (later == null) {
                      return null;
                    }
                    if (stored && !invalidated && !store.invalidatedAfter(entry, start)) {
                      next.laterGetsIt = true;
                      return null;
                    }
                    if (closing) {
                      return null;
                    }
                    Load chained = new Load(k, store.number(), later);
                    active.incrementAndGet();
                    next.chained = chained;
                    return chained;
                  }));
      state.set(ENDED);
      ended();
      primary.complete(entry);
      CompletableFuture<Entry<V>> later = next.later;
      Load chained = next.chained;
      if (later != null) {
        if (next.laterGetsIt) {
          later.complete(entry);
        } else if (chained != null) {
          begin(chained, ticker.read());
        } else {
          later.completeExceptionally(closed());
        }
      }
    }

    /** Ends the load with a failure: out of the map, callers told. The state is ENDED already. */
    private void finish(Throwable failure) {
      disarmTimer();
      var taken =
          new Object() {
            @Nullable CompletableFuture<Entry<V>> later;
          };
      loads.computeIfPresent(
          key,
          (k, current) -> {
            if (current != this) {
              return current;
            }
            taken.later = followUp;
            return null;
          });
      ended();
      primary.completeExceptionally(failure);
      CompletableFuture<Entry<V>> later = taken.later;
      if (later != null) {
        later.completeExceptionally(failure);
      }
    }

    /** Queued or running: it ends now, unanswered by the database. Completing: it finishes. */
    @Override
    public void abandon(Throwable why) {
      int s;
      do {
        s = state.get();
        if (s >= COMPLETING) {
          return;
        }
      } while (!state.compareAndSet(s, ENDED));
      permit.release();
      if (s == RUNNING) {
        interruptLoader();
      }
      finish(why);
    }

    private void timeOut() {
      if (!state.compareAndSet(RUNNING, ENDED)) {
        return;
      }
      long elapsed = ticker.read() - ranAt;
      TimeoutException t =
          new TimeoutException(
              name
                  + ": the load of key "
                  + key
                  + " ran past its time limit ("
                  + TimeUnit.NANOSECONDS.toMillis(timeLimit)
                  + " ms); it was interrupted, and an answer it brings later is dropped");
      boolean infrastructure = permit.failure(elapsed, t);
      interruptLoader();
      counters.loadFailures.increment();
      backoffs.failed(key, t, infrastructure, ticker.read());
      finish(t);
    }

    private void armTimer() {
      try {
        // Real time on the scheduler (monotonic): the limit bounds a blocked thread.
        timer = timers.schedule(this::timeOut, timeLimit, TimeUnit.NANOSECONDS);
      } catch (RuntimeException noScheduler) {
        // The scheduler is gone (the cache is closing, or a scheduler the user gave was shut
        // down): the load runs without a limit of its own; close still bounds its wait for it.
      }
    }

    private void disarmTimer() {
      ScheduledFuture<?> t = timer;
      if (t != null) {
        t.cancel(false);
      }
    }

    /**
     * The thread enters the loader, unless the load was abandoned meanwhile: under the monitor, so
     * that an abandonment either comes first (no query) or finds the thread to interrupt.
     */
    private synchronized boolean enterLoader() {
      if (state.get() != RUNNING) {
        return false;
      }
      runner = Thread.currentThread();
      return true;
    }

    /** The thread leaves the loader: an interrupt meant for it must not reach its next task. */
    private synchronized void leaveLoader() {
      runner = null;
      if (interruptedByCache) {
        interruptedByCache = false;
        boolean unused = Thread.interrupted();
      }
    }

    private synchronized void interruptLoader() {
      Thread t = runner;
      if (t != null) {
        interruptedByCache = true;
        t.interrupt();
      }
    }
  }
}
