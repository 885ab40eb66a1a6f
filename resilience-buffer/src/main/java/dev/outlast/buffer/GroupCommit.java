package dev.outlast.buffer;

import dev.outlast.buffer.spi.EventId;
import dev.outlast.core.OutlastException;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Syncs the journal for many appended events at once (power-loss durability): a publisher's stage
 * completes once a sync that began after its append has finished. One sync covers every event
 * appended before it began.
 *
 * <p>When a sync begins. A sync costs about as much for one record as for a thousand (the device's
 * cache flush dominates, see {@code BENCHMARKS.md}), and appends are slowed while one runs; a sync
 * begun in the middle of a burst of appends covers part of it, and the rest waits for the next. So
 * a sync begins as soon as one of these holds:
 *
 * <ul>
 *   <li>someone blocks on a stage still waiting ({@code join} or {@code get} on the stage itself:
 *       {@code publish}, or a caller of {@code publishAsync} that waits);
 *   <li>the appends paused: none for {@link #QUIET_NANOS};
 *   <li>the oldest waiting record has waited {@link #MAX_DELAY_NANOS}, so that a steady stream of
 *       appends with nobody blocking is still synced, in batches.
 * </ul>
 *
 * <p>The sync runs on this part's own thread, also for a caller that blocks: having that caller run
 * the sync itself when none runs (leader/follower) spares two thread wake-ups, but measured no
 * faster here (issue 19: 0.67-0.72 against 0.63-0.74 M events/s in the same probe; the sync's ~0.7
 * ms dwarfs the wake-ups), and a caller with a time limit would be held past it by a disk that
 * hangs.
 *
 * <p>Threading: {@link #durable} is called by the {@link JournalWriter} under its lock, right after
 * the append, so that every appended record has its waiter queued before the writer can close; the
 * sync runs on this part's own thread; a blocking caller of a stage only wakes it; {@link #stop} is
 * called once, by the writer's close. Every waiter queued before {@code stop} is completed by it:
 * synced, or failed with the reason.
 */
final class GroupCommit {
  private static final Logger log = LoggerFactory.getLogger(GroupCommit.class);

  /** Appends are taken to have paused when none came for this long. */
  static final long QUIET_NANOS = TimeUnit.MICROSECONDS.toNanos(50);

  /** The longest a record waits for its sync to begin. */
  static final long MAX_DELAY_NANOS = TimeUnit.MILLISECONDS.toNanos(1);

  private final String name;
  private final Journal journal;
  private final long quietNanos;
  private final long maxDelayNanos;
  private final Thread thread;
  private final ReentrantLock lock = new ReentrantLock();
  private final Condition requested = lock.newCondition();
  private final ArrayDeque<Waiter> waiting = new ArrayDeque<>(); // guarded by lock
  private boolean running = true; // guarded by lock

  /** Someone blocks on a waiting stage: sync now. Guarded by lock. */
  private boolean urgent;

  /** Waiters queued so far, to tell whether appends paused. Guarded by lock. */
  private long queued;

  /** When the oldest waiter was queued (nanoTime). Guarded by lock. */
  private long oldestQueuedAt;

  private record Waiter(EventId id, Durable done) {}

  /**
   * A record's stage. Blocking on it while it waits tells the sync to begin at once, instead of at
   * a pause of the appends: whoever blocks has stopped appending. Stages derived from it ({@code
   * thenApply}, {@code allOf}) are plain ones, synced at the latest {@link #MAX_DELAY_NANOS} after
   * their record.
   */
  private final class Durable extends CompletableFuture<EventId> {
    @Override
    public EventId join() {
      urge(this);
      return super.join();
    }

    @Override
    public EventId get() throws InterruptedException, ExecutionException {
      urge(this);
      return super.get();
    }

    @Override
    public EventId get(long timeout, TimeUnit unit)
        throws InterruptedException, ExecutionException, TimeoutException {
      urge(this);
      return super.get(timeout, unit);
    }
  }

  GroupCommit(String name, Journal journal) {
    this(name, journal, QUIET_NANOS, MAX_DELAY_NANOS);
  }

  /** As above, with the pause and the longest delay given (tests). */
  GroupCommit(String name, Journal journal, long quietNanos, long maxDelayNanos) {
    this.name = name;
    this.journal = journal;
    this.quietNanos = quietNanos;
    this.maxDelayNanos = maxDelayNanos;
    this.thread = new Thread(this::run, "outlast-spill-" + name + "-sync");
    thread.setDaemon(true);
    thread.start();
  }

  /** A stage that completes when the record just appended for {@code id} is on the disk. */
  CompletableFuture<EventId> durable(EventId id) {
    Durable done = new Durable();
    lock.lock();
    try {
      if (!running) {
        // The writer stops this part only after it has closed to appends; reaching here is a bug.
        done.completeExceptionally(
            new IllegalStateException("spill queue " + name + " is closed; the sync has stopped"));
        return done;
      }
      if (waiting.isEmpty()) {
        oldestQueuedAt = System.nanoTime();
        // Only the first waiter wakes the thread: the next ones are what it watches for a pause.
        requested.signal();
      }
      waiting.addLast(new Waiter(id, done));
      queued++;
    } finally {
      lock.unlock();
    }
    return done;
  }

  private void urge(Durable stage) {
    if (stage.isDone()) {
      return;
    }
    lock.lock();
    try {
      if (!urgent) {
        urgent = true;
        requested.signal();
      }
    } finally {
      lock.unlock();
    }
  }

  private void run() {
    while (true) {
      List<Waiter> batch;
      lock.lock();
      try {
        while (running && waiting.isEmpty()) {
          requested.awaitUninterruptibly();
        }
        awaitPause();
        if (waiting.isEmpty()) {
          return; // stopped, and every waiter has been answered
        }
        batch = new ArrayList<>(waiting);
        waiting.clear();
        urgent = false;
      } finally {
        lock.unlock();
      }
      try {
        // Every waiter's record was appended before it was queued here, so this sync covers it.
        journal.syncToDisk();
        for (Waiter w : batch) {
          w.done.complete(w.id);
        }
      } catch (Throwable e) {
        // Whatever the sync threw, its waiters are answered and the thread goes on.
        log.error("{}: cannot sync the journal to disk: {}", name, e.toString(), e);
        for (Waiter w : batch) {
          w.done.completeExceptionally(
              new OutlastException(name + ": cannot sync the journal to disk: " + e, e));
        }
      }
    }
  }

  /**
   * With waiters queued, waits until the sync should begin (see the class comment). Holds the lock
   * except while it waits.
   */
  private void awaitPause() {
    while (running && !urgent && !waiting.isEmpty()) {
      long now = System.nanoTime();
      long left = oldestQueuedAt + maxDelayNanos - now;
      if (left <= 0) {
        return;
      }
      long before = queued;
      try {
        var unused = requested.awaitNanos(Math.min(left, quietNanos));
      } catch (InterruptedException e) {
        // Nobody interrupts this thread but a JVM going down; the waiters are synced all the same.
        return;
      }
      if (queued == before) {
        return; // no append came meanwhile: they paused
      }
    }
  }

  /**
   * Syncs what is still waiting and stops the thread. Called once no more appends can happen; waits
   * up to 30 s for the last sync, then fails whatever it did not answer.
   */
  void stop() {
    lock.lock();
    try {
      running = false;
      requested.signalAll();
    } finally {
      lock.unlock();
    }
    boolean interrupted = false;
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
    while (thread.isAlive() && deadline - System.nanoTime() > 0) {
      try {
        thread.join(100);
      } catch (InterruptedException e) {
        interrupted = true;
      }
    }
    if (interrupted) {
      Thread.currentThread().interrupt();
    }
    lock.lock();
    try {
      for (Waiter w : waiting) {
        w.done.completeExceptionally(
            new IllegalStateException(
                "spill queue " + name + " closed before its last sync finished (the disk hangs)"));
      }
      waiting.clear();
    } finally {
      lock.unlock();
    }
  }
}
