package dev.outlast.spring;

import dev.outlast.core.Guard;
import dev.outlast.core.Redaction;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.beans.factory.DisposableBean;
import org.springframework.beans.factory.ListableBeanFactory;
import org.springframework.context.SmartLifecycle;

/**
 * Opens the queues of {@code outlast.queue.*} and closes them once the web server has stopped
 * taking requests: a request still in flight during a graceful shutdown can still publish. Its
 * phase is below the web server's (Spring stops higher phases first), so the queues close after the
 * server, and before any bean is destroyed: then the {@code Outlast} and its caches, then the
 * guards. What the starter made for a queue (a Pulsar producer and client) closes after it.
 * Threadsafe.
 */
final class OutlastQueues implements SmartLifecycle, DisposableBean {
  /**
   * Below Spring Boot's web server (its graceful shutdown is {@code Integer.MAX_VALUE - 1024}, its
   * stop {@code - 2048}), above the default of beans that are plain {@code Lifecycle}s.
   */
  static final int PHASE = Integer.MAX_VALUE - 4096;

  private static final Logger log = LoggerFactory.getLogger(OutlastQueues.class);

  private final OutlastProperties properties;
  private final ListableBeanFactory beans;
  private final @Nullable ShutdownObserver observer;
  private final Map<String, Open> open = new LinkedHashMap<>();
  private final List<Guard> ownGuards = new java.util.concurrent.CopyOnWriteArrayList<>();
  private final Set<String> closed = new LinkedHashSet<>();
  private volatile boolean running;

  OutlastQueues(
      OutlastProperties properties,
      ListableBeanFactory beans,
      @Nullable ShutdownObserver observer) {
    this.properties = properties;
    this.beans = beans;
    this.observer = observer;
  }

  /** Opens the queue of that name (once). */
  synchronized Object open(String name) {
    Open o = open.get(name);
    if (o != null) {
      return o.queue;
    }
    if (closed.contains(name)) {
      throw new IllegalStateException("spill queue " + name + " was closed with the context");
    }
    OutlastProperties.QueueProperties p = properties.getQueue().get(name);
    if (p == null) {
      throw new IllegalStateException("no outlast.queue." + name);
    }
    Map<String, Guard> guards = new LinkedHashMap<>();
    for (Guard g : beans.getBeansOfType(Guard.class).values()) {
      guards.put(g.dependency(), g);
    }
    List<AutoCloseable> owned = new ArrayList<>();
    List<Guard> own = new ArrayList<>();
    Object queue;
    try {
      queue = Queues.build(name, p, guards, beans, owned, own);
    } catch (RuntimeException | Error e) {
      closeAll(owned, name);
      throw e;
    }
    open.put(name, new Open(name, (AutoCloseable) queue, owned));
    ownGuards.addAll(own);
    return queue;
  }

  /**
   * The guards of the queues' own (not beans, so not among the guards), for their meters. Kept
   * after the queues close: meters bound once stay.
   */
  List<Guard> ownGuards() {
    return List.copyOf(ownGuards);
  }

  /**
   * Starts, once. After a {@link #stop} that closed queues it fails: the beans that hold them (the
   * queue beans, the {@code Outlast}, the application's) keep the closed instances, so opening new
   * ones would leave every publisher on a closed queue. Restart the application instead.
   */
  @Override
  public synchronized void start() {
    if (!closed.isEmpty()) {
      throw new IllegalStateException(
          "the spill queues "
              + closed
              + " were closed when the context stopped, and the beans holding them keep the closed"
              + " instances, so they cannot start again; close the context and start a new one");
    }
    running = true;
  }

  @Override
  public void stop() {
    running = false;
    closeOpen();
  }

  /**
   * Closes what is still open when the context is destroyed: after a start-up that failed, stop is
   * never called, and the queues' lane threads and directory locks would stay. Nothing after stop.
   */
  @Override
  public void destroy() {
    closeOpen();
  }

  private void closeOpen() {
    List<Open> toClose;
    synchronized (this) {
      toClose = new ArrayList<>(open.values());
      open.clear();
      toClose.forEach(o -> closed.add(o.name));
    }
    for (Open o : toClose) {
      try {
        o.queue.close();
        log.info("closed spill queue {}; events not yet delivered stay on disk", o.name);
      } catch (Exception e) {
        log.warn("closing spill queue {} failed", o.name, Redaction.forLog(e));
      }
      closeAll(o.owned, o.name);
      if (observer != null) {
        observer.closed("queue " + o.name);
      }
    }
  }

  @Override
  public boolean isRunning() {
    return running;
  }

  @Override
  public int getPhase() {
    return PHASE;
  }

  private static void closeAll(List<AutoCloseable> owned, String queue) {
    for (AutoCloseable c : owned) {
      try {
        c.close();
      } catch (Exception e) {
        log.warn("closing {} of spill queue {} failed", c, queue, Redaction.forLog(e));
      }
    }
  }

  private record Open(String name, AutoCloseable queue, List<AutoCloseable> owned) {}
}
