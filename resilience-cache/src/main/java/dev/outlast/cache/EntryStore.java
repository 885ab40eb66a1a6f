package dev.outlast.cache;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import com.github.benmanes.caffeine.cache.RemovalCause;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentMap;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;
import java.util.concurrent.locks.Lock;
import java.util.concurrent.locks.ReentrantReadWriteLock;
import java.util.function.BooleanSupplier;
import java.util.function.LongSupplier;
import org.jspecify.annotations.Nullable;

/**
 * The entries (a Caffeine cache), their tags, and the rules by which a load's value gets in and an
 * invalidation gets it out.
 *
 * <p>Invalidations are numbered, and a load remembers the number current when it registered: a
 * value is stored only if no invalidation of its key, of one of its tags, or of everything came
 * after that number. Each check is atomic with the invalidation it guards against:
 *
 * <ul>
 *   <li>of a key: the load is marked by the invalidating thread before the entry is removed, and
 *       the store checks the mark under the key's lock (Caffeine's {@code compute});
 *   <li>of a tag: see {@link TagIndex} (the tag's lock);
 *   <li>of everything, and the pruning of tag numbers: under the write lock of {@link #gate}; every
 *       store, and every registration of a load (which reads the number), holds its read lock.
 * </ul>
 *
 * <p>After {@link #stop} nothing is stored any more: close stops the store once loads are done or
 * abandoned, and only then writes the last snapshot.
 *
 * <p>Threading: called by readers (gets), loader threads (stores), invalidating threads, Caffeine's
 * maintenance (the removal listener unindexes tags) and the cache's maintenance (sweep, prune).
 * Lock order, never reversed: the gate, then a key (Caffeine's or the load map's), then a tag.
 */
final class EntryStore<K, V> {
  /** Prune tag numbers when about this many are kept, and at least twice as many as survive. */
  private static final int PRUNE_AT_LEAST = 1_024;

  private final Cache<K, Entry<V>> cache;
  private final TagIndex<K> tags = new TagIndex<>();
  private final ReentrantReadWriteLock gate = new ReentrantReadWriteLock();
  private final AtomicLong numbers = new AtomicLong();
  private final AtomicLong changes = new AtomicLong();

  /** Entries dropped by the size bound or the sweep; counted off the read path. */
  private final LongAdder evictions = new LongAdder();

  private volatile long allInvalidatedAt;
  private volatile boolean stopped;

  /** Written under the gate's write lock, read by invalidating threads. */
  private volatile int pruneAt = PRUNE_AT_LEAST;

  /**
   * @param weigher the user's weigher, already contained, or null for a bound by entry count
   * @param executor Caffeine's maintenance and removal notifications; see {@link #quiet}
   */
  EntryStore(
      long maximumSize,
      long maximumWeight,
      @Nullable ContainedWeigher<K, V> weigher,
      Executor executor) {
    Caffeine<K, Entry<V>> caffeine =
        Caffeine.newBuilder()
            .executor(quiet(executor))
            .removalListener(
                (@Nullable K k, @Nullable Entry<V> e, RemovalCause cause) -> {
                  if (cause.wasEvicted()) {
                    evictions.increment();
                  }
                  untag(k, e);
                });
    if (weigher != null) {
      caffeine = caffeine.maximumWeight(maximumWeight).weigher(weigher::weigh);
    } else {
      caffeine = caffeine.maximumSize(maximumSize);
    }
    // No time-based expiry in Caffeine: ages are the cache's own business (and survive restarts);
    // the sweep drops what can no longer be served.
    this.cache = caffeine.build();
  }

  /** A weigher that never throws (the cache wraps the user's), for Caffeine. */
  @FunctionalInterface
  interface ContainedWeigher<K, V> {
    int weigh(K key, Entry<V> entry);
  }

  /**
   * Caffeine's upkeep (read-buffer drains, eviction, removal listeners) runs on the cache's
   * maintenance thread, not on readers: a reader that drains does several times the work of a hit.
   * Once that thread is gone (the cache closed, or the user shut down a scheduler they gave), the
   * task runs on the caller, as Caffeine would do itself, but without Caffeine's log line about the
   * rejection.
   */
  static Executor quiet(Executor executor) {
    return task -> {
      try {
        executor.execute(task);
      } catch (RuntimeException notTaken) {
        task.run();
      }
    };
  }

  @Nullable Entry<V> get(K key) {
    return cache.getIfPresent(key);
  }

  /** The number of the last invalidation. */
  long number() {
    return numbers.get();
  }

  /**
   * Runs a registration of a load under the gate's read lock, so that it reads the invalidation
   * number and becomes visible to the pruning in one step.
   */
  void registering(Runnable registration) {
    Lock read = gate.readLock();
    read.lock();
    try {
      registration.run();
    } finally {
      read.unlock();
    }
  }

  /**
   * Stores a loaded entry, tags and all, unless an invalidation of its key, its tags or everything
   * came after the load started, or the store was stopped.
   *
   * @param keyInvalidated whether the key was invalidated since the load started (read under the
   *     key's lock)
   * @return whether it was stored
   */
  boolean store(K key, Entry<V> entry, long startedAt, BooleanSupplier keyInvalidated) {
    Lock read = gate.readLock();
    read.lock();
    try {
      if (stopped) {
        return false;
      }
      var outcome =
          new Object() {
            boolean stored;
          };
      cache
          .asMap()
          .compute(
              key,
              (k, old) -> {
                if (keyInvalidated.getAsBoolean() || allInvalidatedAt > startedAt) {
                  return old;
                }
                List<String> added = new ArrayList<>(entry.tags.size());
                for (String tag : entry.tags) {
                  if (!tags.add(tag, k, startedAt)) {
                    // A tag was invalidated after the load started: undo, keep what was there.
                    for (String a : added) {
                      if (old == null || !old.tags.contains(a)) {
                        tags.remove(a, k);
                      }
                    }
                    return old;
                  }
                  added.add(tag);
                }
                outcome.stored = true;
                return entry;
              });
      if (outcome.stored) {
        changes.incrementAndGet();
      }
      return outcome.stored;
    } finally {
      read.unlock();
    }
  }

  /** Puts a restored entry, before the cache serves anyone. */
  void restore(K key, Entry<V> entry) {
    for (String tag : entry.tags) {
      tags.add(tag, key, Long.MAX_VALUE);
    }
    cache.put(key, entry);
  }

  /**
   * Whether an invalidation of everything, or of one of the entry's tags, came after the load that
   * made it started (the key's own is the load's mark). Reliable while the load is in flight: its
   * numbers are not pruned meanwhile.
   */
  boolean invalidatedAfter(Entry<V> entry, long startedAt) {
    return allInvalidatedAt > startedAt || tags.invalidatedAfter(entry.tags, startedAt);
  }

  /**
   * Invalidates a key: numbers the invalidation, lets the caller mark the key's load in flight,
   * then removes the entry.
   */
  void invalidate(K key, Runnable markLoad) {
    numbers.incrementAndGet();
    markLoad.run();
    // Under the key's lock, after a store in progress (see invalidateTag).
    cache.asMap().compute(key, (k, e) -> null);
    changes.incrementAndGet();
  }

  /**
   * Invalidates a tag: every entry carrying it goes, and no load that started before is stored with
   * it.
   *
   * @param oldestLoad the start number of the oldest load in flight, for the pruning
   * @return the keys whose entries carried the tag
   */
  Set<K> invalidateTag(String tag, LongSupplier oldestLoad) {
    Set<K> keys = tags.invalidate(tag, numbers.incrementAndGet());
    for (K k : keys) {
      // compute, not computeIfPresent: Caffeine's computeIfPresent returns at once for a key whose
      // entry a store is still computing, and that store would then win.
      cache.asMap().compute(k, (kk, e) -> e != null && e.tags.contains(tag) ? null : e);
    }
    changes.incrementAndGet();
    if (tags.numbersKept() >= pruneAt) {
      prune(oldestLoad);
    }
    return keys;
  }

  /**
   * Invalidates everything: under the gate's write lock, so no store is half-way and no load
   * registers meanwhile. Loads in flight need no mark: their start number is below this one.
   */
  void invalidateAll() {
    Lock write = gate.writeLock();
    write.lock();
    try {
      allInvalidatedAt = numbers.incrementAndGet();
      cache.invalidateAll();
      // Every entry is gone and every load in flight is refused: no tag number is needed.
      tags.clear();
      changes.incrementAndGet();
    } finally {
      write.unlock();
    }
  }

  /**
   * Forgets the tag numbers that no load in flight can need.
   *
   * @param oldestLoad the start number of the oldest load in flight, or {@link Long#MAX_VALUE} if
   *     none; called under the gate, so no load registers while it runs
   */
  void prune(LongSupplier oldestLoad) {
    Lock write = gate.writeLock();
    write.lock();
    try {
      long oldest = Math.min(oldestLoad.getAsLong(), numbers.get());
      int kept = tags.prune(oldest);
      pruneAt = Math.max(PRUNE_AT_LEAST, 2 * kept);
    } finally {
      write.unlock();
    }
  }

  /** Prunes, if any tag keeps a number (the sweep calls this now and then). */
  void pruneIfNeeded(LongSupplier oldestLoad) {
    if (tags.numbersKept() > 0) {
      prune(oldestLoad);
    }
  }

  /**
   * Stores nothing from now on; waits up to the bound for a store under way.
   *
   * @return false if a store was still under way at the bound (it will not be followed by another)
   */
  boolean stop(long timeoutNanos) {
    stopped = true;
    Lock write = gate.writeLock();
    try {
      if (write.tryLock(timeoutNanos, TimeUnit.NANOSECONDS)) {
        write.unlock();
        return true;
      }
      return false;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return false;
    }
  }

  /**
   * Drops entries well past their last servable age. They are kept a while after it, so that the
   * exception for a read can still say how old the value was.
   */
  void sweep(long now, long graceNanos) {
    ConcurrentMap<K, Entry<V>> map = cache.asMap();
    // A concurrent map's iteration tolerates removals. Only the entry looked at goes: one a load
    // replaced meanwhile stays.
    map.forEach(
        (k, e) -> {
          if (e.age(now) - e.policy.usableFor >= graceNanos && map.remove(k, e)) {
            evictions.increment();
          }
        });
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
                  tags.remove(tag, k);
                }
              }
              return current;
            });
  }

  /** The entries, weakly consistent, for the snapshot. */
  Set<Map.Entry<K, Entry<V>>> entries() {
    return cache.asMap().entrySet();
  }

  long size() {
    return cache.estimatedSize();
  }

  /**
   * Entries dropped to keep within the size or weight bound (counted when Caffeine's maintenance
   * tells the removal listener, so a little after the fact) or by the sweep, past their servable
   * age. Invalidations are not evictions.
   */
  long evictions() {
    return evictions.sum();
  }

  /** Counts stores and invalidations, so the snapshot knows whether anything changed. */
  long changes() {
    return changes.get();
  }

  /** How many tags keep an invalidation number, counted; for tests. */
  int tagNumbersKept() {
    return tags.countNumbers();
  }

  /** How many tags are known; for tests. */
  int tagCount() {
    return tags.size();
  }
}
