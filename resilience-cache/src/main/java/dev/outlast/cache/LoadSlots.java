package dev.outlast.cache;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.function.Consumer;
import org.jspecify.annotations.Nullable;

/**
 * Runs loads on an executor, at most {@code slots} at once, with at most {@code queueLimit} waiting
 * for a slot: the cache's bound on the queries it sends, whatever executor it was given (its own,
 * one shared by an {@code Outlast}, or the user's).
 *
 * <p>A slot is held from the moment a load is handed to the executor until that load's thread is
 * done with it, even if the load was abandoned at its time limit: a query hung in a driver keeps
 * its thread, so the slots also bound the threads a frozen database can hold. A thread that
 * finishes a load takes the next queued one itself, so no more than {@code slots} tasks are ever
 * handed to the executor at once.
 *
 * <p>Threadsafe: the queue and counts are guarded by this object's lock, held only to take or give
 * a slot; jobs run outside it. Any thread may submit; executor threads run and release.
 */
final class LoadSlots {
  /** What the slots run: a load; it contains its own failures and can be told it will not run. */
  interface Job {
    void run();

    /** The job will never run (queue full, executor refused, cache closed); called once. */
    void abandon(Throwable why);
  }

  private final String name;
  private final Executor executor;
  private final int slots;
  private final int queueLimit;
  private final Consumer<Throwable> escaped;

  // Guarded by this.
  private final ArrayDeque<Job> queue = new ArrayDeque<>();
  private int running;
  private boolean closed;

  /**
   * @param escaped told of a throwable that escaped a job (a bug: jobs contain their own)
   */
  LoadSlots(
      String name, Executor executor, int slots, int queueLimit, Consumer<Throwable> escaped) {
    this.name = name;
    this.executor = executor;
    this.slots = slots;
    this.queueLimit = queueLimit;
    this.escaped = escaped;
  }

  /**
   * Takes a job: runs it in a free slot, or queues it.
   *
   * @return null if taken, else why not (the caller abandons the job): the queue is full, or the
   *     slots are closed
   */
  @Nullable RuntimeException submit(Job job) {
    synchronized (this) {
      if (closed) {
        return new IllegalStateException(name + " is closed");
      }
      if (running >= slots) {
        if (queue.size() >= queueLimit) {
          return new RejectedExecutionException(
              name
                  + ": "
                  + queue.size()
                  + " loads queued, the limit; raise loadQueue or loadConcurrency");
        }
        queue.add(job);
        return null;
      }
      running++;
    }
    start(job);
    return null;
  }

  /** Hands a job, holding a slot, to the executor; if it refuses, the job is abandoned. */
  private void start(Job first) {
    Job job = first;
    while (job != null) {
      Job handed = job;
      try {
        executor.execute(() -> drain(handed));
        return;
      } catch (Throwable refused) {
        // The executor would not take it (shut down, saturated, or broken): this job will not
        // run, and the slot goes to the next queued one, which is tried the same way.
        handed.abandon(
            new RejectedExecutionException(name + ": the load executor refused the load", refused));
        synchronized (this) {
          job = queue.poll();
          if (job == null) {
            running--;
          }
        }
      }
    }
  }

  /**
   * Runs a job and then the queued ones, on one executor thread; gives the slot back at the end.
   */
  private void drain(Job first) {
    Job job = first;
    while (true) {
      try {
        job.run();
      } catch (Throwable t) {
        try {
          escaped.accept(t);
        } catch (Throwable ignored) {
          // Reporting failed too; the slot must still be given back below.
        }
      }
      synchronized (this) {
        job = queue.poll();
        if (job == null) {
          running--;
          return;
        }
      }
    }
  }

  /**
   * Refuses new jobs and returns the queued ones, for the caller to abandon; jobs running go on.
   */
  List<Job> close() {
    synchronized (this) {
      closed = true;
      List<Job> queued = new ArrayList<>(queue);
      queue.clear();
      return queued;
    }
  }

  /** Slots held: jobs running, or abandoned but still on their thread. */
  synchronized int running() {
    return running;
  }

  synchronized int queued() {
    return queue.size();
  }
}
