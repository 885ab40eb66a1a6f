package dev.outlast.cache;

import dev.outlast.core.Ticker;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.time.Clock;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The cache's warm-start snapshot: restored once while the cache is built, written now and then
 * while it runs, and a last time when it closes, after loads have stopped.
 *
 * <p>Ages cross the restart as wall-clock load times: a write turns each entry's age (on the
 * monotonic ticker) into "loaded at wall time now minus age", a restore turns it back into an age
 * by the wall clock of the new process. So the wall clock is read once per write and once per
 * restore, and a step of it between two writes changes no entry's age while the process runs.
 *
 * <p>Threading: writes are serialised by this object's lock (the periodic writer on the maintenance
 * thread, {@link QueryCache#writeSnapshot} on a caller, the last write on the closing thread); once
 * the last one is written, periodic ones are skipped. They read the entries through Caffeine's
 * weakly consistent view while loads may store.
 */
final class SnapshotStore<K, V> {
  private static final Logger log = LoggerFactory.getLogger(QueryCache.class);

  private final String name;
  private final SnapshotFile<K, V> file;
  private final Clock clock;
  private final Ticker ticker;
  private final EntryStore<K, V> entries;
  private final EntryFactory<K, V> factory;
  private final PluginFailures plugins;

  // Guarded by this.
  private long changesAtLastWrite = -1;
  private boolean finished;

  SnapshotStore(
      String name,
      SnapshotFile<K, V> file,
      Clock clock,
      Ticker ticker,
      EntryStore<K, V> entries,
      EntryFactory<K, V> factory,
      PluginFailures plugins) {
    this.name = name;
    this.file = file;
    this.clock = clock;
    this.ticker = ticker;
    this.entries = entries;
    this.factory = factory;
    this.plugins = plugins;
  }

  /**
   * Restores the snapshot's servable entries, as stale; returns how many. A damaged snapshot is
   * moved aside and reported, and the cache starts empty; a callback that throws on an entry skips
   * that entry.
   */
  long restore() {
    long nowWall = clock.millis();
    long now = ticker.read();
    List<SnapshotFile.Item<K, V>> items;
    try {
      file.deleteLeftovers();
      items = file.read(plugins, nowWall);
    } catch (SnapshotFile.RefusedSnapshotException e) {
      if (!e.moveAside()) {
        log.warn(
            "{}: snapshot {} not served, starting empty: {}", name, file.path(), e.getMessage());
        return 0;
      }
      String aside;
      try {
        aside = "; moved to " + file.quarantine(nowWall);
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
    long future = 0;
    long failed = 0;
    for (SnapshotFile.Item<K, V> item : items) {
      long ageMillis = nowWall - item.loadedAt();
      // A load time in the future means a clock that went back; the entry could pass for younger
      // than it is, so it is dropped.
      if (ageMillis < -1_000) {
        future++;
        continue;
      }
      long loadedAt = now - TimeUnit.MILLISECONDS.toNanos(Math.max(0, ageMillis));
      Entry<V> e;
      try {
        e = factory.restored(item.key(), item.value(), loadedAt);
      } catch (EntryFactory.PluginException callbackFailed) {
        // Reported by the factory; a callback must not keep the pod from starting.
        failed++;
        continue;
      }
      if (e.age(now) < e.policy.usableFor) {
        entries.restore(item.key(), e);
        count++;
      }
    }
    if (future > 0 || failed > 0) {
      log.warn(
          "{}: snapshot entries skipped: {} loaded in the future (a clock that went back), {} a"
              + " callback failed on",
          name,
          future,
          failed);
    }
    log.info("{}: restored {} of {} entries from {}", name, count, items.size(), file.path());
    return count;
  }

  /** The periodic write: only if something changed since the last one, and never after the last. */
  void writeIfChanged() {
    synchronized (this) {
      if (finished || entries.changes() == changesAtLastWrite) {
        return;
      }
      writeLocked();
    }
  }

  /**
   * Writes now.
   *
   * @throws UncheckedIOException if it cannot be written; the previous snapshot stays
   */
  void write() {
    synchronized (this) {
      writeLocked();
    }
  }

  /** The last write, at close, after loads stopped: periodic writes are skipped from now on. */
  void writeLast() {
    synchronized (this) {
      finished = true;
      writeLocked();
    }
  }

  private void writeLocked() {
    long changesNow = entries.changes();
    long now = ticker.read();
    long nowWall = clock.millis();
    Iterator<Map.Entry<K, Entry<V>>> all = entries.entries().iterator();
    Iterator<SnapshotFile.Item<K, V>> items =
        new Iterator<>() {
          private SnapshotFile.@org.jspecify.annotations.Nullable Item<K, V> next = advance();

          private SnapshotFile.@org.jspecify.annotations.Nullable Item<K, V> advance() {
            while (all.hasNext()) {
              Map.Entry<K, Entry<V>> en = all.next();
              Entry<V> e = en.getValue();
              long age = e.age(now);
              if (age < e.policy.usableFor) {
                return new SnapshotFile.Item<>(
                    en.getKey(), e.value, nowWall - TimeUnit.NANOSECONDS.toMillis(age), e.absent());
              }
            }
            return null;
          }

          @Override
          public boolean hasNext() {
            return next != null;
          }

          @Override
          public SnapshotFile.Item<K, V> next() {
            SnapshotFile.Item<K, V> item = next;
            if (item == null) {
              throw new java.util.NoSuchElementException();
            }
            next = advance();
            return item;
          }
        };
    try {
      SnapshotFile.Written written = file.write(items, nowWall, plugins);
      changesAtLastWrite = changesNow;
      log.debug("{}: wrote {} entries to {}", name, written.records(), file.path());
    } catch (IOException e) {
      throw new UncheckedIOException(name + ": cannot write snapshot " + file.path(), e);
    }
  }
}
