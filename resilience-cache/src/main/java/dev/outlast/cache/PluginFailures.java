package dev.outlast.cache;

import dev.outlast.core.Redaction;
import dev.outlast.core.Ticker;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Failures of the user code a cache calls (loader, tagger, freshnessOf, absentWhen, weigher,
 * codecs, the guard's classifier): what the cache did about each is its caller's business; this
 * keeps the log readable and tells health.
 *
 * <p>The first failure of each plug-in is logged with its stack trace. Later ones are counted, and
 * summed up in one line (without the stack trace) at most every {@link #SUMMARY_EVERY_NANOS}, so a
 * plug-in that throws on every call cannot flood the log. Failures of the last minute show in the
 * cache's health.
 *
 * <p>Threadsafe: any thread that ran a plug-in reports here, health reads it; each plug-in's record
 * is updated under its own lock, once per failure (never on a hit path).
 */
final class PluginFailures {
  private static final Logger log = LoggerFactory.getLogger(QueryCache.class);

  /** At most one summary line per plug-in this often. */
  static final long SUMMARY_EVERY_NANOS = TimeUnit.MINUTES.toNanos(5);

  /** Health shows failures this recent. */
  static final long RECENT_NANOS = TimeUnit.MINUTES.toNanos(1);

  private final String cache;
  private final Ticker ticker;
  private final Map<String, Failures> byPlugin = new ConcurrentHashMap<>();

  PluginFailures(String cache, Ticker ticker) {
    this.cache = cache;
    this.ticker = ticker;
  }

  /** One plug-in's failures; fields guarded by the record's monitor. */
  private static final class Failures {
    long count;
    long countAtLastLog;
    long lastAt;
    long lastLoggedAt;
    int loggedLines;
    @Nullable Throwable last;
  }

  /**
   * Records a failure.
   *
   * @param plugin what failed, as the user named it in the builder: "tagger", "loader"
   * @param failure what it threw
   * @param outcome what the cache did instead, for the log: "the load failed", "entry skipped"
   */
  void failed(String plugin, Throwable failure, String outcome) {
    long now = ticker.read();
    Failures r = byPlugin.computeIfAbsent(plugin, p -> new Failures());
    boolean first;
    boolean summary;
    long since;
    synchronized (r) {
      r.count++;
      r.last = failure;
      r.lastAt = now;
      first = r.loggedLines == 0;
      summary = !first && now - r.lastLoggedAt >= SUMMARY_EVERY_NANOS;
      since = r.count - r.countAtLastLog;
      if (first || summary) {
        r.loggedLines++;
        r.lastLoggedAt = now;
        r.countAtLastLog = r.count;
      }
    }
    if (first) {
      log.error(
          "{}: the {} threw; {}. Later failures of it are counted (see the cache's health) and"
              + " summed up at most every 5 min",
          cache,
          plugin,
          outcome,
          Redaction.forLog(failure));
    } else if (summary) {
      log.warn(
          "{}: the {} failed {} more times since it was last logged; the last: {}",
          cache,
          plugin,
          since,
          Redaction.redact(failure.toString()));
    }
  }

  /** Whether any plug-in failed within the last minute. */
  boolean anyRecent() {
    long now = ticker.read();
    for (Failures r : byPlugin.values()) {
      synchronized (r) {
        if (now - r.lastAt < RECENT_NANOS) {
          return true;
        }
      }
    }
    return false;
  }

  /**
   * The failures of the last minute, for health: "the tagger failed 3 times (last 2 s ago:
   * java.lang.AssertionError: bug)"; empty if none.
   */
  String describeRecent() {
    long now = ticker.read();
    Map<String, String> parts = new TreeMap<>();
    byPlugin.forEach(
        (plugin, r) -> {
          synchronized (r) {
            if (now - r.lastAt < RECENT_NANOS) {
              parts.put(
                  plugin,
                  "the "
                      + plugin
                      + " failed "
                      + r.count
                      + (r.count == 1 ? " time" : " times")
                      + " (last "
                      + TimeUnit.NANOSECONDS.toSeconds(now - r.lastAt)
                      + " s ago: "
                      + Redaction.redact(String.valueOf(r.last))
                      + ")");
            }
          }
        });
    return String.join("; ", parts.values());
  }

  /** How many failures of a plug-in were recorded; for tests. */
  long count(String plugin) {
    Failures r = byPlugin.get(plugin);
    if (r == null) {
      return 0;
    }
    synchronized (r) {
      return r.count;
    }
  }

  /** How many log lines a plug-in's failures made; for tests. */
  int loggedLines(String plugin) {
    Failures r = byPlugin.get(plugin);
    if (r == null) {
      return 0;
    }
    synchronized (r) {
      return r.loggedLines;
    }
  }
}
