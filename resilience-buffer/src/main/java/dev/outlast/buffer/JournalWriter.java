package dev.outlast.buffer;

import dev.outlast.buffer.spi.EventId;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import org.jspecify.annotations.Nullable;

/**
 * The append side of the journal: appends records, applying the full policy, issues sequence
 * numbers for direct deliveries, hands records to the group commit, and closes the journal.
 *
 * <p>Threading: any thread may call it; appends, sequence numbers and close are serialised by one
 * lock, so sequence numbers are issued in append order and nothing reaches the journal once {@link
 * #close} has begun. A wait for room is bounded by the full policy and ended early by {@link
 * #beginClose}.
 */
final class JournalWriter {
  private final String name;
  private final String producerId;
  private final Journal journal;
  private final RecordFormat format;
  private final FullPolicy fullPolicy;
  private final @Nullable GroupCommit groupCommit;
  private final QueueCounters counters;
  private volatile Runnable appended = () -> {};

  private final ReentrantLock lock = new ReentrantLock();
  private final Condition roomMade = lock.newCondition();
  private volatile boolean closing;

  /**
   * Whether the last append found the journal full, for health: set when an append finds no room,
   * cleared by the next append that succeeds or when files are deleted. Read on the append path
   * only to skip the write.
   */
  private volatile boolean full;

  private boolean closed; // guarded by lock

  JournalWriter(
      String name,
      String producerId,
      Journal journal,
      RecordFormat format,
      FullPolicy fullPolicy,
      boolean powerLossDurable,
      QueueCounters counters) {
    this.name = name;
    this.producerId = producerId;
    this.journal = journal;
    this.format = format;
    this.fullPolicy = fullPolicy;
    this.counters = counters;
    this.groupCommit = powerLossDurable ? new GroupCommit(name, journal) : null;
  }

  /**
   * Appends one event.
   *
   * @param presetSequence a sequence number already issued for this event (a failed direct
   *     delivery), used if it keeps the journal in order; 0 to issue one
   * @return a stage that completes with the event's id once it is safe: at once, or after the group
   *     commit's sync (power-loss durability), which may fail it
   * @throws SpillQueueFullException if the full policy gave up; nothing was written
   * @throws IllegalStateException if the queue is closed, also while this call waited for room
   */
  CompletableFuture<EventId> append(byte[] encoded, long presetSequence, long publishedAt) {
    return append(encoded, presetSequence, publishedAt, fullPolicy.maxWait().toNanos(), false);
  }

  /**
   * Appends an event for the delivery lane, which journals what it could not deliver directly: it
   * never waits for room, since the lane itself is what makes room (and it holds publishers off
   * meanwhile).
   *
   * @param seenBySink the sink was handed the event under {@code presetSequence}: it may pass the
   *     byte bound (see {@link Journal#append(RecordFormat, byte[], long, long, boolean)})
   * @throws SpillQueueFullException if there is no room; nothing was written
   * @throws IllegalStateException if the queue is closed
   */
  CompletableFuture<EventId> appendForLane(
      byte[] encoded, long presetSequence, long publishedAt, boolean seenBySink) {
    return append(encoded, presetSequence, publishedAt, 0, seenBySink);
  }

  private CompletableFuture<EventId> append(
      byte[] encoded, long presetSequence, long publishedAt, long maxWaitNanos, boolean seen) {
    long deadline = 0; // set when the journal is first found full
    boolean interrupted = false;
    lock.lock();
    try {
      while (true) {
        requireOpen();
        try {
          long sequence = journal.append(format, encoded, publishedAt, presetSequence, seen);
          if (full) {
            full = false;
          }
          counters.journaled.lazySet(counters.journaled.get() + 1);
          counters.published.increment();
          if (counters.oldestUndelivered == 0) {
            counters.oldestUndelivered = publishedAt;
          }
          appended.run();
          EventId id = new EventId(producerId, sequence);
          GroupCommit commit = groupCommit;
          // Queued under the lock: close() cannot stop the sync between this append and its wait.
          return commit == null ? CompletableFuture.completedFuture(id) : commit.durable(id);
        } catch (Journal.FullException noRoom) {
          full = true;
          long now = System.nanoTime();
          if (deadline == 0) {
            deadline = now + maxWaitNanos;
          }
          long left = deadline - now;
          if (closing) {
            throw new IllegalStateException(
                "spill queue "
                    + name
                    + " was closed while the event waited for room; it was not written");
          }
          if (left <= 0) {
            throw new SpillQueueFullException(
                name
                    + ": cannot accept the event: "
                    + noRoom.getMessage()
                    + (maxWaitNanos == 0 && !fullPolicy.maxWait().isZero()
                        ? "; the delivery lane journals without waiting"
                        : "; full policy: " + fullPolicy)
                    + ". It was not written. The queue frees room as the sink takes events.");
          }
          try {
            // Woken when the lane deletes files or the queue closes; re-checked regularly for
            // space freed by others.
            roomMade.awaitNanos(Math.min(left, TimeUnit.MILLISECONDS.toNanos(100)));
          } catch (InterruptedException e) {
            interrupted = true;
            throw new SpillQueueFullException(
                name + ": interrupted while waiting for room: " + noRoom.getMessage());
          }
        }
      }
    } finally {
      lock.unlock();
      if (interrupted) {
        Thread.currentThread().interrupt();
      }
    }
  }

  /**
   * A sequence number for an event the lane delivers without the journal.
   *
   * @throws SpillQueueFullException if the sequence lease cannot be extended
   * @throws IllegalStateException if the queue is closed
   */
  long issueDirect() {
    lock.lock();
    try {
      requireOpen();
      return journal.issueDirect();
    } catch (Journal.FullException e) {
      throw new SpillQueueFullException(
          name + ": cannot issue a sequence number: " + e.getMessage());
    } finally {
      lock.unlock();
    }
  }

  /** Whether the last append found no room: the queue cannot take events now. */
  boolean full() {
    return full;
  }

  /** Who is told after every append (the lane's wake-up); must not block. Set before appends. */
  void onAppend(Runnable appended) {
    this.appended = appended;
  }

  /** Wakes publishers waiting for room: files were deleted. */
  void roomMade() {
    // The next event may fit: health stops saying full until an append finds no room again.
    full = false;
    lock.lock();
    try {
      roomMade.signalAll();
    } finally {
      lock.unlock();
    }
  }

  /**
   * Ends every wait for room (those publishers get {@code IllegalStateException}); appends that fit
   * still go through, so that the lane can journal what it holds.
   */
  void beginClose() {
    closing = true;
    roomMade();
  }

  /**
   * Refuses every later append, syncs what the group commit still waits for, closes the journal.
   */
  void close() {
    closing = true;
    lock.lock();
    try {
      closed = true;
      roomMade.signalAll();
      GroupCommit commit = groupCommit;
      if (commit != null) {
        commit.stop();
      }
      journal.close();
    } finally {
      lock.unlock();
    }
  }

  private void requireOpen() {
    if (closed) {
      throw new IllegalStateException("spill queue " + name + " is closed");
    }
  }
}
