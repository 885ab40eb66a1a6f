package dev.outlast.cache;

import java.time.Duration;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executor;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The threads a cache runs on: the executor of its loads and the scheduler of its upkeep
 * (Caffeine's maintenance, the sweep, periodic snapshots, load time limits). Each is the one the
 * user gave, or one made here; only those made here are stopped on {@link #close}, and the periodic
 * tasks are cancelled either way, so a scheduler the user shares with other work is left as it was.
 *
 * <p>Periodic tasks are wrapped: whatever one throws is reported to {@link PluginFailures} (logged
 * once, then summed up; shown in health), because a scheduled task that throws is never run again.
 *
 * <p>Threading: built and closed by the cache's owner thread; {@link #every} is called while the
 * cache is built; the executor and scheduler are threadsafe themselves.
 */
final class CacheThreads {
  private static final Logger log = LoggerFactory.getLogger(QueryCache.class);

  private final String name;
  private final Executor executor;
  private final ScheduledExecutorService scheduler;
  private final @Nullable ThreadPoolExecutor ownLoadPool;
  private final @Nullable ScheduledThreadPoolExecutor ownScheduler;
  private final PluginFailures failures;
  private final List<ScheduledFuture<?>> periodic = new CopyOnWriteArrayList<>();

  CacheThreads(
      String name,
      @Nullable Executor givenExecutor,
      @Nullable ScheduledExecutorService givenScheduler,
      int loadConcurrency,
      PluginFailures failures) {
    this.name = name;
    this.failures = failures;
    this.ownLoadPool = givenExecutor == null ? newLoadPool(name, loadConcurrency) : null;
    this.ownScheduler = givenScheduler == null ? newScheduler(name) : null;
    this.executor = givenExecutor != null ? givenExecutor : Objects.requireNonNull(ownLoadPool);
    this.scheduler = givenScheduler != null ? givenScheduler : Objects.requireNonNull(ownScheduler);
  }

  /** Where loads run. */
  Executor executor() {
    return executor;
  }

  /** Where upkeep and time limits run. */
  ScheduledExecutorService scheduler() {
    return scheduler;
  }

  /**
   * Runs a task every so often (a fixed delay after each run), failures reported as {@code what}.
   */
  void every(Duration period, String what, Runnable task) {
    long ms = Math.max(1, period.toMillis());
    periodic.add(
        scheduler.scheduleWithFixedDelay(
            () -> contained(what, task), ms, ms, TimeUnit.MILLISECONDS));
  }

  /** Runs a task now, on this thread, with its failure reported as {@code what}. */
  void contained(String what, Runnable task) {
    try {
      task.run();
    } catch (Throwable t) {
      failures.failed(what, t, "it will be tried again");
    }
  }

  /** Cancels the periodic tasks; the threads go on (for the last loads and Caffeine's upkeep). */
  void cancelPeriodic() {
    periodic.forEach(f -> f.cancel(false));
  }

  /**
   * Cancels the periodic tasks and stops the threads made here: the load pool at once (its loads
   * have ended or were abandoned and interrupted), the scheduler within 10 s.
   */
  void close() {
    cancelPeriodic();
    ThreadPoolExecutor pool = ownLoadPool;
    if (pool != null) {
      pool.shutdownNow();
    }
    ScheduledThreadPoolExecutor s = ownScheduler;
    if (s != null) {
      s.shutdownNow();
      try {
        if (!s.awaitTermination(10, TimeUnit.SECONDS)) {
          log.warn("{}: maintenance did not stop within 10 s", name);
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
  }

  private static ThreadPoolExecutor newLoadPool(String name, int threads) {
    AtomicInteger n = new AtomicInteger();
    // The cache hands it at most `threads` tasks at once (LoadSlots), so the queue stays empty.
    ThreadPoolExecutor pool =
        new ThreadPoolExecutor(
            threads,
            threads,
            30,
            TimeUnit.SECONDS,
            new LinkedBlockingQueue<>(),
            r -> daemon(r, "outlast-cache-" + name + "-load-" + n.incrementAndGet()));
    pool.allowCoreThreadTimeOut(true);
    return pool;
  }

  private static ScheduledThreadPoolExecutor newScheduler(String name) {
    // Two threads: Caffeine's upkeep and the loads' time limits must not wait behind a snapshot of
    // a million entries.
    ScheduledThreadPoolExecutor s =
        new ScheduledThreadPoolExecutor(
            2, r -> daemon(r, "outlast-cache-" + name + "-maintenance"));
    s.setRemoveOnCancelPolicy(true);
    return s;
  }

  private static Thread daemon(Runnable r, String name) {
    Thread t = new Thread(r, name);
    t.setDaemon(true);
    return t;
  }
}
