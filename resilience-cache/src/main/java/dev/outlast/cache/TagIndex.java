package dev.outlast.cache;

import java.util.HashSet;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Which keys carry which tag, and when each tag was last invalidated, for {@link
 * QueryCache#invalidateTag}.
 *
 * <p>Invalidations are numbered by the {@link EntryStore}; a tag remembers the number of its last
 * invalidation, and a load that started before that number must not be stored with the tag. That
 * check and the indexing of the key under the tag are one step, under the tag's lock (its bin of
 * the map, through {@code compute}), and so is an invalidation's reading of the tag's keys: either
 * the store comes first and the invalidation finds the key, or the invalidation comes first and the
 * store is refused. (Checking first and indexing after, as this cache once did, let an invalidation
 * slip in between and leave the old value.)
 *
 * <p>A tag's number is kept only while a load in flight may still need it: once every load in
 * flight started after it, {@link #prune} forgets it, so per-row tags invalidated once each do not
 * pile up.
 *
 * <p>Threading: every read and write of a tag's {@link State} happens inside {@code compute} on the
 * tag, except {@link #invalidatedAfter}, which reads the volatile number. Called by loader threads
 * (store), invalidating threads, Caffeine's removal listener (untag) and maintenance (prune); the
 * {@link EntryStore} holds its gate's write lock around {@link #prune} and {@link #clear}, so that
 * no load registers or stores meanwhile.
 */
final class TagIndex<K> {
  private final ConcurrentHashMap<String, State<K>> tags = new ConcurrentHashMap<>();

  /**
   * The tags that keep a number, so that pruning visits only them, not every tag of every entry;
   * added to and removed from under the tag's lock.
   */
  private final Set<String> numbered = ConcurrentHashMap.newKeySet();

  /** One tag: its keys (a plain set, touched only under the tag's lock) and its last number. */
  private static final class State<K> {
    Set<K> keys = new HashSet<>();
    volatile long invalidatedAt;
  }

  /**
   * Indexes a key under a tag, unless the tag was invalidated after the load that made the entry
   * started.
   *
   * @return false if refused
   */
  boolean add(String tag, K key, long loadStartedAt) {
    boolean[] added = {false};
    tags.compute(
        tag,
        (t, s) -> {
          State<K> state = s == null ? new State<>() : s;
          if (state.invalidatedAt > loadStartedAt) {
            return s;
          }
          state.keys.add(key);
          added[0] = true;
          return state;
        });
    return added[0];
  }

  /** Takes a key out of a tag's set; a tag with no keys and no number left is dropped. */
  void remove(String tag, K key) {
    tags.computeIfPresent(
        tag,
        (t, state) -> {
          state.keys.remove(key);
          return state.keys.isEmpty() && state.invalidatedAt == 0 ? null : state;
        });
  }

  /**
   * Records an invalidation of a tag and returns the keys it has now. The keys stay in the set
   * until their entries are gone (the removal listener takes them out): a second invalidation of
   * the tag while the first still removes entries must find them too, or it could return while an
   * old entry is still there.
   *
   * @param number the invalidation's number, higher than any load that started before it
   * @return a copy of the keys tagged so; the caller removes their entries
   */
  Set<K> invalidate(String tag, long number) {
    var copied =
        new Object() {
          Set<K> keys = Set.of();
        };
    tags.compute(
        tag,
        (t, s) -> {
          State<K> state = s == null ? new State<>() : s;
          if (!state.keys.isEmpty()) {
            copied.keys = new HashSet<>(state.keys);
          }
          numbered.add(t);
          // Never lower: invalidations of one tag may arrive here out of their numbers' order.
          state.invalidatedAt = Math.max(state.invalidatedAt, number);
          return state;
        });
    return copied.keys;
  }

  /** Whether any of the tags was invalidated after a load that started at that number. */
  boolean invalidatedAfter(Set<String> tagsOfEntry, long loadStartedAt) {
    for (String tag : tagsOfEntry) {
      State<K> state = tags.get(tag);
      if (state != null && state.invalidatedAt > loadStartedAt) {
        return true;
      }
    }
    return false;
  }

  /**
   * Forgets the invalidation numbers no load can need: those not above the start of the oldest load
   * in flight. Tags left with no keys go. Called under the store's gate (write lock).
   *
   * @param oldestNeeded the start number of the oldest load in flight, or the current number if
   *     none is
   * @return how many numbers are still kept
   */
  int prune(long oldestNeeded) {
    int[] kept = {0};
    for (String tag : numbered) {
      tags.compute(
          tag,
          (t, state) -> {
            if (state == null) {
              numbered.remove(t); // gone with a clear() that raced an invalidation
              return null;
            }
            if (state.invalidatedAt > oldestNeeded) {
              kept[0]++;
              return state;
            }
            state.invalidatedAt = 0;
            numbered.remove(t);
            return state.keys.isEmpty() ? null : state;
          });
    }
    return kept[0];
  }

  /** Forgets everything: after an invalidation of all entries, under the gate (write lock). */
  void clear() {
    tags.clear();
    numbered.clear();
  }

  /** How many tags keep an invalidation number. */
  int numbersKept() {
    return numbered.size();
  }

  /** How many tags keep an invalidation number, counted one by one; for tests. */
  int countNumbers() {
    int n = 0;
    for (State<K> state : tags.values()) {
      if (state.invalidatedAt != 0) {
        n++;
      }
    }
    return n;
  }

  /** How many tags are known (with keys, or a number); for tests. */
  int size() {
    return tags.size();
  }
}
