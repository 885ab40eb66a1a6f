package dev.outlast.cache;

import dev.outlast.core.Guard;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Predicate;

/**
 * A load's guard permit, reported once: success, failure or release, by whichever thread ends the
 * load (its own, its time limit, close). The guard runs user code while a failure is reported (its
 * failure classifier): if that throws, the failure is reported to {@link PluginFailures} and the
 * permit released instead, so the guard's bulkhead never loses a slot.
 *
 * <p>Threadsafe: the permit is taken out of an atomic reference by the one reporting.
 */
final class OnePermit {
  private final AtomicReference<Guard.Permit> ref = new AtomicReference<>();
  private final Predicate<Throwable> outage;
  private final PluginFailures plugins;

  /**
   * @param outage whether a failure means the dependency is out, for a failure reported without a
   *     permit (the load had none yet)
   */
  OnePermit(Predicate<Throwable> outage, PluginFailures plugins) {
    this.outage = outage;
    this.plugins = plugins;
  }

  boolean held() {
    return ref.get() != null;
  }

  void set(Guard.Permit p) {
    ref.set(p);
  }

  void success(long elapsedNanos) {
    Guard.Permit p = ref.getAndSet(null);
    if (p != null) {
      try {
        p.success(elapsedNanos);
      } catch (Throwable t) {
        guardFailed(p, t);
      }
    }
  }

  /** Returns whether the failure counts against the dependency. */
  boolean failure(long elapsedNanos, Throwable failure) {
    Guard.Permit p = ref.getAndSet(null);
    if (p == null) {
      return outage.test(failure);
    }
    try {
      return p.failure(elapsedNanos, failure);
    } catch (Throwable t) {
      guardFailed(p, t);
      return true;
    }
  }

  void release() {
    Guard.Permit p = ref.getAndSet(null);
    if (p != null) {
      try {
        p.release();
      } catch (Throwable t) {
        plugins.failed("guard", t, "a permit could not be given back");
      }
    }
  }

  private void guardFailed(Guard.Permit p, Throwable t) {
    plugins.failed("guard's failure classifier", t, "the permit was released without an outcome");
    try {
      p.release();
    } catch (Throwable ignored) {
      // Reported above; nothing more can be done for this permit.
    }
  }
}
