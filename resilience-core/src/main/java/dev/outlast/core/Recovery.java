package dev.outlast.core;

import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executor;
import java.util.concurrent.FutureTask;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A guard's active recovery: while its breaker is not closed, a scheduled tick checks the
 * dependency with the {@link RecoveryProbe} and tells the guard when it answered, so that a
 * recovery is seen without traffic and within about one probe interval of the server coming back,
 * however long the breaker's own open wait has grown.
 *
 * <p>Threading: {@link #breakerLeftClosed()} and {@link #breakerClosed()} run on whatever thread
 * moved the breaker and only start or cancel the schedule, under this object's lock. The tick runs
 * on the scheduler's thread and never blocks: probes run on the guard's executor. A probe that
 * hangs is abandoned (interrupted if so configured) at the call timeout, and a new one may start
 * beside it, so that a probe stuck on a dead connection cannot hide a recovery; at most {@link
 * #MAX_PROBES} run at once.
 */
final class Recovery {
  private static final Logger log = LoggerFactory.getLogger(Recovery.class);
  static final int MAX_PROBES = 2;

  private final Guard guard;
  private final RecoveryProbe probe;
  private final Executor executor;
  private final ScheduledExecutorService scheduler;
  private final Ticker ticker;
  private final long intervalNanos;
  private final long timeoutNanos;
  private final boolean interrupt;
  private final Set<Run> running = ConcurrentHashMap.newKeySet();
  private @Nullable ScheduledFuture<?> schedule; // guarded by this
  private volatile boolean schedulerRefused;

  Recovery(
      Guard guard,
      RecoveryProbe probe,
      Executor executor,
      ScheduledExecutorService scheduler,
      GuardConfig config) {
    this.guard = guard;
    this.probe = probe;
    this.executor = executor;
    this.scheduler = scheduler;
    this.ticker = config.ticker();
    this.intervalNanos = config.probeInterval().toNanos();
    this.timeoutNanos = config.callTimeout().toNanos();
    this.interrupt = config.interruptOnTimeout();
  }

  /** The breaker opened (or went half-open): start checking, if not already. */
  synchronized void breakerLeftClosed() {
    if (schedule != null) {
      return;
    }
    try {
      schedule =
          scheduler.scheduleWithFixedDelay(
              this::tick, intervalNanos, intervalNanos, TimeUnit.NANOSECONDS);
    } catch (RejectedExecutionException e) {
      if (!schedulerRefused) {
        schedulerRefused = true;
        log.warn(
            "{}: the scheduler refused the recovery probe (shut down?); the breaker will close"
                + " only through calls",
            guard.dependency(),
            e);
      }
    }
  }

  /** The breaker closed: stop checking. */
  synchronized void breakerClosed() {
    ScheduledFuture<?> s = schedule;
    if (s != null) {
      s.cancel(false);
      schedule = null;
    }
  }

  /** Whether a schedule runs now; for tests. */
  synchronized boolean scheduled() {
    return schedule != null;
  }

  private void tick() {
    // Anything thrown here would end the periodic schedule for good.
    try {
      guard.expireOverduePermits();
      if (guard.state() == Guard.State.CLOSED) {
        breakerClosed();
        return;
      }
      long now = ticker.read();
      for (Run r : running) {
        if (now - r.started > timeoutNanos) {
          r.abandon();
        }
      }
      if (running.size() < MAX_PROBES) {
        // Its outcome reaches the guard from the run itself.
        Run unused = start();
      }
    } catch (Throwable t) {
      log.warn("{}: recovery tick failed", guard.dependency(), Redaction.forLog(t));
    }
  }

  /**
   * Checks the dependency now, on the executor, waiting at most the call timeout.
   *
   * @return whether it answered
   */
  boolean probeNow() throws InterruptedException {
    Run r = start();
    if (r == null) {
      return false;
    }
    try {
      r.get(timeoutNanos, TimeUnit.NANOSECONDS);
      return r.answered;
    } catch (TimeoutException e) {
      r.abandon();
      return false;
    } catch (ExecutionException e) {
      // The run catches everything its probe throws; this is unreachable.
      return false;
    }
  }

  private @Nullable Run start() {
    Run r = new Run(ticker.read());
    running.add(r);
    try {
      executor.execute(r);
    } catch (RejectedExecutionException e) {
      running.remove(r);
      log.debug("{}: executor refused a recovery probe", guard.dependency(), e);
      return null;
    }
    return r;
  }

  /** One probe: a future whose outcome is reported to the guard. */
  private final class Run extends FutureTask<Void> {
    final long started;
    volatile boolean answered;

    Run(long started) {
      super(() -> null);
      this.started = started;
    }

    @Override
    public void run() {
      if (isDone()) {
        return;
      }
      try {
        probe.check();
        answered = true;
      } catch (Throwable t) {
        if (t instanceof InterruptedException) {
          Thread.currentThread().interrupt();
        }
        if (!isCancelled()) {
          guard.probeFailed(probe, t);
        }
      }
      if (answered) {
        // Before the future completes: probeNow's caller sees the breaker closed.
        guard.recovered(probe);
      }
      super.run(); // completes the future
    }

    void abandon() {
      cancel(interrupt);
      running.remove(this);
    }

    @Override
    protected void done() {
      running.remove(this);
    }
  }
}
