package dev.outlast.buffer;

import dev.outlast.core.Redaction;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.LongAdder;
import java.util.concurrent.locks.LockSupport;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Carries records of sink calls from the delivery lane to the {@link DeliveryObserver}s, so that no
 * observer runs on the lane: the lane adds a record to a bounded lock-free buffer and goes on; this
 * class's thread hands the records out a few times a second (sooner once the buffer is half full).
 *
 * <p>Threading: {@link #active} and {@link #publish} from the lane's thread; {@link #register},
 * {@link #close} and the registrations from any thread; the observers from this class's thread
 * only, one at a time. The thread starts with the first registration and ends with {@link #close}.
 */
final class DeliveryNotifier {
  private static final Logger log = LoggerFactory.getLogger(DeliveryNotifier.class);
  static final int CAPACITY = 8_192;
  private static final long PERIOD_NANOS = TimeUnit.MILLISECONDS.toNanos(50);
  private static final long STOP_WAIT_MILLIS = 1_000;

  private final String queueName;
  private final List<Observed> observers = new CopyOnWriteArrayList<>();
  private final ConcurrentLinkedQueue<DeliveryObserver.SinkCall> pending =
      new ConcurrentLinkedQueue<>();
  private final AtomicInteger size = new AtomicInteger();
  private final LongAdder dropped = new LongAdder();
  private final Object lifecycle = new Object();
  private volatile boolean active;
  private boolean closed; // guarded by lifecycle
  // Written under lifecycle; volatile for the lane, which reads it only to hurry the thread along.
  private volatile @Nullable Thread thread;

  DeliveryNotifier(String queueName) {
    this.queueName = queueName;
  }

  /** Whether anyone observes: the lane builds no record otherwise. One volatile read. */
  boolean active() {
    return active;
  }

  /** Leaves a record for the observers; drops and counts it if they fell behind. Never blocks. */
  void publish(DeliveryObserver.SinkCall call) {
    int n = size.incrementAndGet();
    if (n > CAPACITY) {
      size.decrementAndGet();
      dropped.increment();
      return;
    }
    pending.add(call);
    if (n == CAPACITY / 2) {
      // Once per filling, not per record: an unpark is a system call on both sides.
      Thread t = thread;
      if (t != null) {
        LockSupport.unpark(t);
      }
    }
  }

  /** Registers an observer; on a closed queue, one that is never called. */
  DeliveryObserver.Registration register(DeliveryObserver observer) {
    Observed o = new Observed(observer, dropped.sum());
    synchronized (lifecycle) {
      if (closed) {
        o.closed.set(true);
        return o;
      }
      observers.add(o);
      active = true;
      if (thread == null) {
        Thread t = new Thread(this::run, "outlast-spill-" + queueName + "-observers");
        t.setDaemon(true);
        thread = t;
        t.start();
      }
    }
    return o;
  }

  /**
   * Hands out what is pending, then stops the thread; waits for it about a second at most (an
   * observer that hangs is left to its daemon thread).
   */
  void close() {
    Thread t;
    synchronized (lifecycle) {
      if (closed) {
        return;
      }
      closed = true;
      active = false;
      t = thread;
    }
    if (t == null) {
      return;
    }
    LockSupport.unpark(t);
    try {
      t.join(STOP_WAIT_MILLIS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    if (t.isAlive()) {
      log.warn("{}: a delivery observer did not return within a second of close", queueName);
    }
    for (Observed o : observers) {
      o.close();
    }
  }

  private boolean closing() {
    synchronized (lifecycle) {
      return closed;
    }
  }

  private void run() {
    while (true) {
      boolean last = closing();
      for (DeliveryObserver.SinkCall call; (call = pending.poll()) != null; ) {
        size.decrementAndGet();
        for (Observed o : observers) {
          o.tell(call);
        }
      }
      if (last) {
        return;
      }
      LockSupport.parkNanos(this, PERIOD_NANOS);
    }
  }

  /** One registration: the observer, its failures, whether it is closed. */
  private final class Observed implements DeliveryObserver.Registration {
    private final DeliveryObserver observer;
    private final long droppedBefore;
    private final LongAdder failures = new LongAdder();
    private final AtomicBoolean closed = new AtomicBoolean();
    private boolean logged; // the notifier's thread only

    Observed(DeliveryObserver observer, long droppedBefore) {
      this.observer = observer;
      this.droppedBefore = droppedBefore;
    }

    void tell(DeliveryObserver.SinkCall call) {
      if (closed.get()) {
        return;
      }
      try {
        observer.sinkCalled(call);
      } catch (Throwable t) {
        failures.increment();
        if (!logged) {
          logged = true;
          log.error(
              "{}: the delivery observer {} threw; delivery goes on. Later failures of it are"
                  + " counted, not logged",
              queueName,
              observer,
              Redaction.forLog(t));
        }
      } finally {
        // An observer that restored an interrupt it caught would leave the flag set, and every
        // park after it would return at once: the thread would spin until the queue closed.
        var unused = Thread.interrupted();
      }
    }

    @Override
    public void close() {
      if (closed.compareAndSet(false, true)) {
        synchronized (lifecycle) {
          observers.remove(this);
          // With no observer left the lane stops building records; the thread stays, parked.
          active = !observers.isEmpty() && !DeliveryNotifier.this.closed;
        }
      }
    }

    @Override
    public long failures() {
      return failures.sum();
    }

    @Override
    public long dropped() {
      return dropped.sum() - droppedBefore;
    }
  }
}
