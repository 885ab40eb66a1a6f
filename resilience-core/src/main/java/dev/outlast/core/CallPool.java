package dev.outlast.core;

import java.util.concurrent.ConcurrentLinkedDeque;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.locks.LockSupport;
import org.jspecify.annotations.Nullable;

/**
 * The threads guarded calls run on by default: a task is handed straight to an idle thread (never
 * queued behind another call, whose time would count against this one's timeout), or to a new
 * thread if none is idle, up to a maximum beyond which calls are refused.
 *
 * <p>Why not a {@code ThreadPoolExecutor} on a {@code SynchronousQueue}: every call would pay two
 * thread wake-ups (the worker's, then the caller's), 10-40 us each on a small virtual machine,
 * which is more than the query it guards on a local network. Here a thread that finished a call
 * spins for the next one for a few tens of microseconds before it parks, while fewer threads spin
 * than there are cores, so back-to-back calls are handed over without a wake-up.
 *
 * <p>Threading: any thread may call {@link #execute}. Each worker owns its {@code slot}; a
 * submitter takes an idle worker off the stack (so no two submitters get the same one), puts the
 * task in its slot and wakes it if it parked. Idle workers end after the keep-alive.
 */
final class CallPool implements Executor {
  private static final long SPIN_NANOS = TimeUnit.MICROSECONDS.toNanos(50);
  private static final int MAX_SPINNERS =
      Math.max(1, Runtime.getRuntime().availableProcessors() / 2);

  private final String prefix;
  private final int maxThreads;
  private final long keepAliveNanos;
  private final ConcurrentLinkedDeque<Worker> idle = new ConcurrentLinkedDeque<>();
  private final AtomicInteger threads = new AtomicInteger();
  private final AtomicInteger spinners = new AtomicInteger();
  private final AtomicInteger names = new AtomicInteger();

  CallPool(String prefix, int maxThreads, long keepAliveNanos) {
    this.prefix = prefix;
    this.maxThreads = maxThreads;
    this.keepAliveNanos = keepAliveNanos;
  }

  @Override
  public void execute(Runnable task) {
    Worker ready = idle.pollFirst();
    if (ready != null) {
      ready.hand(task);
      return;
    }
    int n;
    do {
      n = threads.get();
      if (n >= maxThreads) {
        throw new RejectedExecutionException(
            maxThreads
                + " guard call threads are busy (calls that hang past their timeout hold"
                + " theirs until the driver returns)");
      }
    } while (!threads.compareAndSet(n, n + 1));
    Worker w = new Worker(task);
    Thread t = new Thread(w, prefix + names.incrementAndGet());
    t.setDaemon(true);
    w.thread = t;
    t.start();
  }

  /**
   * One step of a brief wait: a busy spin at first, then yields, so that on a machine whose cores
   * are all taken the thread we wait for gets the CPU instead of a spinner.
   */
  @SuppressWarnings("ThreadPriorityCheck") // a yield here is a courtesy, never relied upon
  static void pause(int step) {
    if (step < 64) {
      Thread.onSpinWait();
    } else {
      Thread.yield();
    }
  }

  /** Threads alive now; for tests and metrics. */
  int threads() {
    return threads.get();
  }

  private final class Worker implements Runnable {
    final AtomicReference<@Nullable Runnable> slot = new AtomicReference<>();
    volatile @Nullable Thread thread;
    volatile boolean parked;

    Worker(Runnable first) {
      slot.set(first);
    }

    /**
     * Gives it a task. Only the submitter that took it off the idle stack calls this, and its slot
     * is empty while it is on the stack.
     */
    void hand(Runnable task) {
      slot.set(task);
      if (parked) {
        LockSupport.unpark(thread);
      }
    }

    @Override
    public void run() {
      try {
        while (true) {
          Runnable task = slot.getAndSet(null);
          if (task == null) {
            task = await();
            if (task == null) {
              return;
            }
          }
          try {
            task.run();
          } catch (Throwable t) {
            // A guarded call's task catches everything itself; this keeps the thread alive anyway.
            Thread.currentThread()
                .getUncaughtExceptionHandler()
                .uncaughtException(Thread.currentThread(), t);
          }
          Thread.interrupted(); // an interrupt aimed at the last call must not hit the next
          idle.offerFirst(this);
        }
      } finally {
        threads.decrementAndGet();
      }
    }

    /** Waits for the next task: spins briefly, then parks up to the keep-alive; null to retire. */
    private @Nullable Runnable await() {
      if (spinners.incrementAndGet() <= MAX_SPINNERS) {
        try {
          long until = System.nanoTime() + SPIN_NANOS;
          for (int i = 0; ; i++) {
            Runnable task = slot.getAndSet(null);
            if (task != null) {
              return task;
            }
            if (System.nanoTime() - until >= 0) {
              break;
            }
            pause(i);
          }
        } finally {
          spinners.decrementAndGet();
        }
      } else {
        spinners.decrementAndGet();
      }
      long deadline = System.nanoTime() + keepAliveNanos;
      while (true) {
        parked = true;
        Runnable task = slot.getAndSet(null);
        if (task != null) {
          parked = false;
          return task;
        }
        long left = deadline - System.nanoTime();
        if (left <= 0) {
          parked = false;
          if (idle.remove(this)) {
            // Off the stack, no submitter can reach us any more.
            return null;
          }
          // A submitter took us off the stack and is handing a task: wait for it.
          deadline = System.nanoTime() + keepAliveNanos;
          continue;
        }
        LockSupport.parkNanos(this, left);
        parked = false;
      }
    }
  }
}
