package dev.outlast.core;

import java.util.concurrent.Executor;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The threads guards use when none are given: one pool for the calls themselves and one scheduler
 * thread for recovery probes, shared by every guard of the JVM, as {@link
 * java.util.concurrent.ForkJoinPool#commonPool()} is. Both are daemon threads and created lazily.
 *
 * <p>The call pool grows on demand (a call never queues behind another: queueing would add the
 * other's time to this one's) up to {@link #MAX_CALL_THREADS}, and threads idle for 30 s end. A
 * call abandoned at its timeout keeps its thread until the driver returns; the cap bounds how many
 * such threads can pile up while a dependency hangs, and beyond it calls are refused as saturated.
 */
final class GuardThreads {
  /** Far above any sane sum of bulkheads; only calls that hang past their timeout get near it. */
  static final int MAX_CALL_THREADS = 1_024;

  private GuardThreads() {}

  static Executor calls() {
    return Calls.POOL;
  }

  static ScheduledExecutorService scheduler() {
    return Scheduler.POOL;
  }

  // Holder classes: a pool is created on first use only.
  private static final class Calls {
    static final Executor POOL =
        new CallPool("outlast-guard-call-", MAX_CALL_THREADS, TimeUnit.SECONDS.toNanos(30));
  }

  private static final class Scheduler {
    static final ScheduledExecutorService POOL = schedulerPool();
  }

  private static ScheduledExecutorService schedulerPool() {
    ScheduledThreadPoolExecutor pool =
        new ScheduledThreadPoolExecutor(1, daemons("outlast-guard-probe-"));
    // Cancelled probe schedules (a breaker that closed) must not pile up in the queue.
    pool.setRemoveOnCancelPolicy(true);
    return pool;
  }

  private static ThreadFactory daemons(String prefix) {
    AtomicInteger n = new AtomicInteger();
    return r -> {
      Thread t = new Thread(r, prefix + n.incrementAndGet());
      t.setDaemon(true);
      return t;
    };
  }
}
