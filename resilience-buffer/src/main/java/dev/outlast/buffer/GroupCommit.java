package dev.outlast.buffer;

import dev.outlast.buffer.spi.EventId;
import dev.outlast.core.OutlastException;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Syncs the journal for many appended events at once (power-loss durability): a publisher's stage
 * completes once a sync that began after its append has finished. One sync covers every event
 * appended before it began.
 *
 * <p>Threading: {@link #durable} is called by the {@link JournalWriter} under its lock, right after
 * the append, so that every appended record has its waiter queued before the writer can close; the
 * sync runs on this part's own thread; {@link #stop} is called once, by the writer's close. Every
 * waiter queued before {@code stop} is completed by it: synced, or failed with the reason.
 */
final class GroupCommit {
  private static final Logger log = LoggerFactory.getLogger(GroupCommit.class);

  private final String name;
  private final Journal journal;
  private final Thread thread;
  private final ReentrantLock lock = new ReentrantLock();
  private final Condition requested = lock.newCondition();
  private final ArrayDeque<Waiter> waiting = new ArrayDeque<>(); // guarded by lock
  private boolean running = true; // guarded by lock

  private record Waiter(EventId id, CompletableFuture<EventId> done) {}

  GroupCommit(String name, Journal journal) {
    this.name = name;
    this.journal = journal;
    this.thread = new Thread(this::run, "outlast-spill-" + name + "-sync");
    thread.setDaemon(true);
    thread.start();
  }

  /** A stage that completes when the record just appended for {@code id} is on the disk. */
  CompletableFuture<EventId> durable(EventId id) {
    CompletableFuture<EventId> done = new CompletableFuture<>();
    lock.lock();
    try {
      if (!running) {
        // The writer stops this part only after it has closed to appends; reaching here is a bug.
        done.completeExceptionally(
            new IllegalStateException("spill queue " + name + " is closed; the sync has stopped"));
        return done;
      }
      waiting.addLast(new Waiter(id, done));
      requested.signal();
    } finally {
      lock.unlock();
    }
    return done;
  }

  private void run() {
    while (true) {
      List<Waiter> batch;
      lock.lock();
      try {
        while (running && waiting.isEmpty()) {
          requested.awaitUninterruptibly();
        }
        if (waiting.isEmpty()) {
          return; // stopped, and every waiter has been answered
        }
        batch = new ArrayList<>(waiting);
        waiting.clear();
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
