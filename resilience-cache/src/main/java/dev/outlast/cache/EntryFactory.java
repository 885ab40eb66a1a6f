package dev.outlast.cache;

import dev.outlast.core.Redaction;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.BiFunction;
import java.util.function.Predicate;
import org.jspecify.annotations.Nullable;

/**
 * Turns a loaded (or restored) value into an entry: its freshness policy (from {@code
 * negativeFreshness} and {@code absentWhen}, or {@code freshnessOf}) and its tags (from the
 * tagger). Those three callbacks are user code: whatever they throw (an {@link Error} included) is
 * reported to {@link PluginFailures} and comes out as a {@link PluginException} naming the
 * callback, so the load fails cleanly, as an error of the configuration, not an outage.
 *
 * <p>Threadsafe: called by loader threads and, at start, by the restoring thread; the only state is
 * the map of shared policies, a concurrent map.
 */
final class EntryFactory<K, V> {
  /** Distinct per-entry freshness contracts whose policies are shared; more get their own. */
  private static final int MAX_SHARED_POLICIES = 1_024;

  private final Freshness freshness;
  private final double refreshAhead;
  private final Entry.Policy policy;
  private final Entry.@Nullable Policy negativePolicy;
  private final Predicate<? super V> absentWhen;
  private final @Nullable BiFunction<? super K, ? super V, Freshness> freshnessOf;
  private final @Nullable BiFunction<? super K, ? super V, Set<String>> tagger;
  private final PluginFailures plugins;

  /** Policies of per-entry freshness contracts, shared by the entries that have the same one. */
  private final Map<Freshness, Entry.Policy> policies = new ConcurrentHashMap<>();

  EntryFactory(QueryCacheConfig<K, V> config, PluginFailures plugins) {
    this.freshness = config.freshness();
    this.refreshAhead = config.refreshAhead();
    this.policy = new Entry.Policy(freshness, refreshAhead, false);
    Freshness negative = config.negativeFreshness();
    this.negativePolicy = negative == null ? null : new Entry.Policy(negative, refreshAhead, true);
    this.absentWhen = config.absentWhen();
    this.freshnessOf = config.freshnessOf();
    this.tagger = config.tagger();
    this.plugins = plugins;
  }

  /** A callback threw; the message names it and what it threw. */
  static final class PluginException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    PluginException(String plugin, Throwable cause) {
      super(Redaction.redact("the cache's " + plugin + " threw " + cause), cause);
    }
  }

  /**
   * The entry of a value just loaded.
   *
   * @param loadedAt the ticker's reading when the query started: the value is at least that old
   * @throws PluginException if a callback failed (reported already)
   */
  Entry<V> loaded(K key, V value, long loadedAt) {
    return new Entry<>(value, loadedAt, policyOf(key, value), tagsOf(key, value));
  }

  /**
   * The entry of a value restored from the snapshot: served stale from the start (see {@link
   * Entry.Policy#restored()}).
   *
   * @throws PluginException if a callback failed (reported already)
   */
  Entry<V> restored(K key, V value, long loadedAt) {
    return new Entry<>(value, loadedAt, policyOf(key, value).restored(), tagsOf(key, value));
  }

  private Entry.Policy policyOf(K key, V value) {
    Entry.Policy negative = negativePolicy;
    if (negative != null && test("absentWhen", absentWhen, value)) {
      return negative;
    }
    BiFunction<? super K, ? super V, Freshness> perEntry = freshnessOf;
    if (perEntry == null) {
      return policy;
    }
    Freshness f;
    try {
      f = Objects.requireNonNull(perEntry.apply(key, value), "freshnessOf returned null");
    } catch (Throwable t) {
      throw failed("freshnessOf", t);
    }
    if (f.equals(freshness)) {
      return policy;
    }
    Entry.Policy shared = policies.get(f);
    if (shared == null && policies.size() < MAX_SHARED_POLICIES) {
      shared = policies.computeIfAbsent(f, x -> new Entry.Policy(x, refreshAhead, false));
    }
    return shared != null ? shared : new Entry.Policy(f, refreshAhead, false);
  }

  private Set<String> tagsOf(K key, V value) {
    BiFunction<? super K, ? super V, Set<String>> t = tagger;
    if (t == null) {
      return Set.of();
    }
    try {
      // A copy: the tagger's set may be changed later; a null set or tag is a failure here.
      return Set.copyOf(Objects.requireNonNull(t.apply(key, value), "the tagger returned null"));
    } catch (Throwable e) {
      throw failed("tagger", e);
    }
  }

  private boolean test(String plugin, Predicate<? super V> p, V value) {
    try {
      return p.test(value);
    } catch (Throwable t) {
      throw failed(plugin, t);
    }
  }

  private PluginException failed(String plugin, Throwable t) {
    plugins.failed(plugin, t, "the load (or restored entry) is dropped");
    return new PluginException(plugin, t);
  }
}
