package dev.outlast.spring;

import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import org.jspecify.annotations.Nullable;
import org.springframework.beans.factory.DisposableBean;

/**
 * The thread that runs the starter's guards' recovery probes, stopped when the context closes (the
 * guards' shared default thread would keep probing a closed pool). Destroyed after the guards,
 * which depend on it, so last of Outlast's beans. Threadsafe.
 */
final class GuardProbes implements DisposableBean {
  private final @Nullable ShutdownObserver observer;
  private @Nullable ScheduledThreadPoolExecutor scheduler;

  GuardProbes(@Nullable ShutdownObserver observer) {
    this.observer = observer;
  }

  /** Made when the first guard with a probe needs it. */
  synchronized ScheduledExecutorService scheduler() {
    ScheduledThreadPoolExecutor s = scheduler;
    if (s == null) {
      s =
          new ScheduledThreadPoolExecutor(
              1,
              r -> {
                Thread t = new Thread(r, "outlast-guard-probe");
                t.setDaemon(true);
                return t;
              });
      s.setRemoveOnCancelPolicy(true);
      scheduler = s;
    }
    return s;
  }

  @Override
  public void destroy() throws InterruptedException {
    ScheduledThreadPoolExecutor s;
    synchronized (this) {
      s = scheduler;
    }
    if (s != null) {
      s.shutdownNow();
      if (!s.awaitTermination(5, TimeUnit.SECONDS)) {
        // A probe stuck in a driver; the thread is a daemon and does not hold the JVM.
        org.slf4j.LoggerFactory.getLogger(GuardProbes.class)
            .warn("a guard's recovery probe did not stop within 5 s");
      }
    }
    if (observer != null) {
      observer.closed("guards");
    }
  }
}
