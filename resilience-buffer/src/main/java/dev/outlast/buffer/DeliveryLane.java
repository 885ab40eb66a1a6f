package dev.outlast.buffer;

import dev.outlast.buffer.spi.Delivery;
import dev.outlast.buffer.spi.EventId;
import dev.outlast.buffer.spi.Outcome;
import dev.outlast.core.Guard;
import dev.outlast.core.Redaction;
import java.io.IOException;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import java.util.concurrent.locks.ReentrantReadWriteLock;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The one thread that talks to the sink. It delivers journaled events in order, in batches, through
 * the sink's guard; in spill-on-failure mode it also delivers the events publishers hand it while
 * nothing is journaled, batching what several publishers handed over at once. A broker that
 * deduplicates by sequence number drops whatever arrives behind a higher number, so one caller, in
 * sequence order, is what makes "acknowledged" mean "stored".
 *
 * <p>Spill-on-failure: publishers check {@link #spilling} and either journal (spilling) or hand
 * over (not) under the read side of {@link #spillState}; the lane switches between the two under
 * the write side. So when a direct delivery fails, the lane journals that batch and then everything
 * handed over behind it before any publisher can journal: nothing overtakes. It switches back only
 * once the journal is drained, while no publisher is between its check and its append.
 *
 * <p>Threading: {@link #offer}, {@link #awaitDrained} and the getters from any thread; everything
 * else (the window, the reader, the sink, the dead-letter journal's appends, acknowledgements) on
 * the lane's thread only. The lane never stops while the queue is open: whatever a step throws is
 * logged, shown in {@link #trouble()}, and the step is tried again after a backoff.
 */
final class DeliveryLane<E> {
  private static final Logger log = LoggerFactory.getLogger(DeliveryLane.class);
  private static final long IDLE_PARK_NANOS = TimeUnit.MILLISECONDS.toNanos(20);
  private static final long SPIN_NANOS = TimeUnit.MICROSECONDS.toNanos(50);

  /** The most calls in flight whatever a sink declares: bounds the window to 19 batches. */
  static final int MAX_CALLS = 16;

  private final SpillQueueConfig<E> config;
  private final String name;
  private final String producerId;
  private final Journal journal;
  private final JournalWriter writer;
  private final DeadLetterLog deadLetters;
  private final QueueCounters counters;
  private final RecordFormat format;
  private final SinkCaller<E> caller;
  private final Guard guard;
  private final Clock clock;
  private final Thread thread;
  private final int maxCalls;
  private final Runnable answered;

  private final ReentrantReadWriteLock spillState = new ReentrantReadWriteLock();
  private volatile boolean spilling;
  private boolean accepting = true; // written under the write side of spillState
  // Written under the write side of spillState: events in stranded hold publishers off.
  private boolean strandedAhead;

  /**
   * Events the sink was handed in a direct delivery that failed, which the journal had no room for
   * (a full disk): they keep their numbers and go into the journal, in order, before anything else,
   * once there is room; meanwhile publishers are refused. Dropping them would not lose an
   * acknowledged event, but a sink that holds its line at the first number it could not send (the
   * Pulsar sink) would wait for them for good. The lane's thread only.
   */
  private final ArrayDeque<Handoff<E>> stranded = new ArrayDeque<>();

  private long strandedRetryAt;
  private int strandedFailures;
  // How many are stranded, for awaitDrained on other threads: they are accepted and not yet safe.
  private volatile int strandedCount;

  /** Events handed over by publishers while not spilling, in the order they were handed over. */
  private final ConcurrentLinkedQueue<Handoff<E>> handoffs = new ConcurrentLinkedQueue<>();

  private final Object drainedSignal = new Object();
  private volatile boolean running = true;
  private volatile boolean idle;
  private volatile @Nullable String trouble;

  // The lane thread's own state.
  private final ArrayDeque<Pending> window = new ArrayDeque<>();
  // The window's events not yet handed to the sink (nor done), in order: the next batches.
  private final ArrayDeque<Pending> unsent = new ArrayDeque<>();
  // Calls in flight, in the order they were made; they may be answered in any order.
  private final ArrayDeque<Call<E>> calls = new ArrayDeque<>();
  // A call failed (or answered retry): nothing new is sent until every call in flight is finished;
  // then the lane sends again from the first event not done.
  private boolean resending;
  private boolean failedWithoutProgress;
  private Journal.@Nullable Reader reader;
  private int failuresInARow;
  private double tokens;
  private long tokensAt = System.nanoTime();

  /** An event a publisher handed over; its stage completes when it is delivered or journaled. */
  private static final class Handoff<E> {
    final E event;
    final byte[] encoded;
    final long publishedAt;
    final CompletableFuture<EventId> done = new CompletableFuture<>();
    long sequence; // issued by the lane just before the delivery

    Handoff(E event, byte[] encoded, long publishedAt) {
      this.event = event;
      this.encoded = encoded;
      this.publishedAt = publishedAt;
    }
  }

  /** One journaled event on its way to the sink. */
  private static final class Pending {
    final long sequence;
    final long publishedAt;
    final byte[] payload;
    int attempts;
    boolean done;

    Pending(Journal.Entry entry) {
      this.sequence = entry.sequence();
      this.publishedAt = entry.publishedAt();
      this.payload = entry.payload();
    }
  }

  /** A call in flight and the window's events it carries, in the order of its deliveries. */
  private record Call<E>(SinkCaller.InFlight<E> call, List<Pending> sent) {}

  DeliveryLane(
      SpillQueueConfig<E> config,
      String producerId,
      Journal journal,
      JournalWriter writer,
      DeadLetterLog deadLetters,
      QueueCounters counters,
      RecordFormat format,
      DeliveryNotifier notifier) {
    this.config = config;
    this.name = config.name();
    this.producerId = producerId;
    this.journal = journal;
    this.writer = writer;
    this.deadLetters = deadLetters;
    this.counters = counters;
    this.format = format;
    this.guard = config.guard();
    this.clock = config.clock();
    this.caller = new SinkCaller<>(config.sink(), config.callTimeout(), clock, notifier);
    this.spilling = config.mode() == SpillQueue.Mode.WRITE_AHEAD || journal.backlogRecords() > 0;
    this.thread = new Thread(this::run, "outlast-spill-" + name + "-lane");
    thread.setDaemon(true);
    this.maxCalls = batchesInFlight(config.sink());
    // An answer on the sink's thread wakes the lane if it waits for one (a plain unpark: one per
    // call, not per event).
    this.answered = () -> LockSupport.unpark(thread);
  }

  /**
   * How many batches the lane keeps in flight: what the sink declares, within [1, {@value
   * #MAX_CALLS}]; 1 if asking throws.
   */
  static int batchesInFlight(dev.outlast.buffer.spi.Sink<?> sink) {
    int declared;
    try {
      declared = sink.maxBatchesInFlight();
    } catch (RuntimeException e) {
      log.warn("sink {}: maxBatchesInFlight() threw; one batch at a time: {}", sink, clean(e));
      return 1;
    }
    return Math.max(1, Math.min(MAX_CALLS, declared));
  }

  void start() {
    thread.start();
  }

  // ---- called by publishers ----

  /**
   * Spill-on-failure: journals the event if anything is journaled, else hands it to the lane.
   *
   * @return a stage that completes with the event's id once it is delivered, dead-lettered or
   *     journaled (and synced, with power-loss durability), or exceptionally if it is none of these
   * @throws SpillQueueFullException if it had to be journaled and the full policy gave up, or (at
   *     once, whatever the policy) while events the sink was handed wait for room in the journal
   * @throws IllegalStateException if the queue is closed or the lane has stopped
   */
  CompletableFuture<EventId> offer(E event, byte[] encoded) {
    long publishedAt = clock.millis();
    ReentrantReadWriteLock.ReadLock read = spillState.readLock();
    read.lock();
    try {
      if (!accepting) {
        throw new IllegalStateException("spill queue " + name + " is closed");
      }
      if (spilling) {
        if (strandedAhead) {
          throw strandedFull();
        }
        return writer.append(encoded, 0, publishedAt);
      }
      Handoff<E> h = new Handoff<>(event, encoded, publishedAt);
      handoffs.add(h);
      wake();
      return h.done;
    } finally {
      read.unlock();
    }
  }

  /**
   * Wakes the lane if it sleeps for want of work. Not while it works or backs off: an unpark of a
   * parked thread is a system call on both sides, and one per append cost more than the append
   * itself while the sink was down.
   */
  void wake() {
    if (idle) {
      idle = false;
      LockSupport.unpark(thread);
    }
  }

  boolean spilling() {
    return spilling;
  }

  /** Whether the lane's thread has ended while the queue is open (it catches every Throwable). */
  boolean died() {
    return running && !thread.isAlive() && thread.getState() != Thread.State.NEW;
  }

  /** What keeps the lane from working, if anything: null while its steps succeed. */
  @Nullable String trouble() {
    return died() ? "the delivery lane has stopped" : trouble;
  }

  /**
   * Waits until nothing is journaled or handed over, or the timeout passes.
   *
   * @return whether everything accepted so far has been delivered (or dead-lettered)
   */
  boolean awaitDrained(Duration timeout) throws InterruptedException {
    long deadline = System.nanoTime() + timeout.toNanos();
    synchronized (drainedSignal) {
      while (!drained()) {
        long left = deadline - System.nanoTime();
        if (left <= 0) {
          return false;
        }
        // Bounded, so that a signal sent between the check and the wait costs at most this.
        TimeUnit.NANOSECONDS.timedWait(drainedSignal, Math.min(left, IDLE_PARK_NANOS));
      }
      return true;
    }
  }

  private boolean drained() {
    return journal.backlogRecords() <= 0 && handoffs.isEmpty() && strandedCount == 0;
  }

  private void signalDrained() {
    if (drained()) {
      synchronized (drainedSignal) {
        drainedSignal.notifyAll();
      }
    }
  }

  /**
   * Stops taking events, lets the lane finish its call in flight (bounded by the sink's time
   * limit), journal what was handed over and not yet delivered, and stop. Whatever it could not
   * answer in time is failed with {@code IllegalStateException}.
   */
  void stop() {
    ReentrantReadWriteLock.WriteLock write = spillState.writeLock();
    write.lock();
    try {
      accepting = false;
    } finally {
      write.unlock();
    }
    running = false;
    LockSupport.unpark(thread);
    boolean interrupted = false;
    long deadline =
        System.nanoTime() + config.callTimeout().toNanos() + TimeUnit.SECONDS.toNanos(10);
    while (thread.isAlive() && deadline - System.nanoTime() > 0) {
      try {
        thread.join(100);
      } catch (InterruptedException e) {
        interrupted = true;
      }
      LockSupport.unpark(thread);
    }
    if (interrupted) {
      Thread.currentThread().interrupt();
    }
    if (thread.isAlive()) {
      log.error("{}: the delivery lane did not stop in time; closing without it", name);
    }
    for (Handoff<E> h; (h = handoffs.poll()) != null; ) {
      h.done.completeExceptionally(
          new IllegalStateException(
              "spill queue " + name + " closed before the event was delivered or journaled"));
    }
  }

  // ---- the lane's thread ----

  private void run() {
    while (running) {
      try {
        long journaled = counters.journaled.get();
        if (!step()) {
          signalDrained();
          if (!spilling && spinForHandoff()) {
            continue;
          }
          idle = true;
          // Looked at again after the flag is up: work that arrived between the step and the flag
          // did not wake us (its wake() saw the flag down) and would otherwise wait out the park,
          // a publisher in spill-on-failure mode with it. Work after this look finds the flag up.
          if (handoffs.isEmpty() && counters.journaled.get() == journaled) {
            LockSupport.parkNanos(IDLE_PARK_NANOS);
          }
          idle = false;
        }
        trouble = stranded.isEmpty() ? null : strandedFull().getMessage();
      } catch (Throwable t) {
        trouble = "delivery lane step failed: " + clean(t);
        log.error(
            "{}: delivery lane step failed; trying again: {}", name, clean(t), Redaction.forLog(t));
        pause(backoff(++failuresInARow));
      }
    }
    finishInFlight();
    try {
      // Nothing handed over is left unanswered: it goes to the journal, behind what is there.
      if (!stranded.isEmpty()) {
        journalStranded();
      }
      if (!handoffs.isEmpty()) {
        spill(List.of(), false, "the queue is closing");
      }
    } catch (Throwable t) {
      log.error("{}: journaling events at close failed: {}", name, clean(t), Redaction.forLog(t));
    }
    strandedCount = 0;
    for (Handoff<E> h; (h = stranded.poll()) != null; ) {
      h.done.completeExceptionally(
          new IllegalStateException(
              "spill queue "
                  + name
                  + " closed while the event waited for room in the journal; it was handed to"
                  + " the sink, which may have stored it"));
    }
    Journal.Reader r = reader;
    if (r != null) {
      try {
        r.close();
      } catch (Throwable t) {
        log.warn("{}: closing the journal reader: {}", name, clean(t));
      }
    }
  }

  /**
   * Direct delivery: waits a few microseconds for the next handoff before parking. The publishers
   * just answered usually hand over again within that time, and parking costs the lane and the next
   * publisher a wake-up each, which takes longer than a fast sink's call.
   */
  private boolean spinForHandoff() {
    long deadline = System.nanoTime() + SPIN_NANOS;
    while (deadline - System.nanoTime() > 0) {
      if (!handoffs.isEmpty()) {
        return true;
      }
      Thread.onSpinWait();
    }
    return false;
  }

  /** One batch. Returns false when there was nothing to do. */
  private boolean step() throws IOException {
    if (!spilling) {
      return directStep();
    }
    if (!stranded.isEmpty() && System.nanoTime() - strandedRetryAt >= 0) {
      journalStranded();
    }
    return drainStep();
  }

  // ---- direct delivery (spill-on-failure, nothing journaled) ----

  private boolean directStep() {
    Handoff<E> first = handoffs.poll();
    if (first == null) {
      return false;
    }
    List<Handoff<E>> batch = new ArrayList<>();
    batch.add(first);
    for (Handoff<E> h; batch.size() < config.batchSize() && (h = handoffs.poll()) != null; ) {
      batch.add(h);
    }
    deliverDirect(batch);
    return true;
  }

  private void deliverDirect(List<Handoff<E>> batch) {
    Guard.Permit permit = guard.tryEnter();
    if (permit == null) {
      spill(batch, false, "the sink's guard refuses calls (" + guard.state() + ")");
      return;
    }
    List<Delivery<E>> deliveries = new ArrayList<>(batch.size());
    try {
      for (Handoff<E> h : batch) {
        h.sequence = writer.issueDirect();
        deliveries.add(
            new Delivery<>(new EventId(producerId, h.sequence), h.event, h.publishedAt, 1));
      }
    } catch (RuntimeException e) {
      permit.release();
      for (Handoff<E> h : batch) {
        h.done.completeExceptionally(e);
      }
      return;
    }
    SinkCaller.Result result = caller.call(deliveries, permit);
    List<Outcome> outcomes = result.outcomes();
    if (outcomes == null) {
      spill(batch, true, "direct delivery failed: " + clean(result.failure()));
      return;
    }
    List<Handoff<E>> again = new ArrayList<>();
    String why = "";
    for (int i = 0; i < batch.size(); i++) {
      Handoff<E> h = batch.get(i);
      EventId id = deliveries.get(i).id();
      Outcome o = outcomes.get(i);
      switch (o.kind()) {
        case OK -> {
          counters.delivered.increment();
          counters.published.increment();
          h.done.complete(id);
        }
        case REJECT -> {
          if (deadLetter(id, h.publishedAt, o.reason(), h.encoded)) {
            counters.published.increment();
            h.done.complete(id);
          } else {
            again.add(h);
            why = "cannot write the dead letter " + id;
          }
        }
        case RETRY -> {
          again.add(h);
          why = "direct delivery failed: " + clean(o);
        }
      }
    }
    if (!again.isEmpty()) {
      spill(again, true, why);
    }
  }

  /**
   * Switches to spilling and journals these events, then everything handed over since, in order:
   * all before any publisher journals. Events the sink was handed ({@code seen}) keep the numbers
   * it saw (a sink that got them after all drops the repeat; one that holds its line waits for
   * exactly that number) and may pass the journal's byte bound; what the disk has no room for stays
   * {@link #stranded}. None of these waits for room: the lane holds publishers off while it
   * journals, and it is what makes room.
   */
  private void spill(List<Handoff<E>> failed, boolean seen, String why) {
    ReentrantReadWriteLock.WriteLock write = spillState.writeLock();
    write.lock();
    try {
      if (!spilling) {
        spilling = true;
        log.warn("{}: spilling to the journal: {}", name, why);
      }
      for (Handoff<E> h : failed) {
        if (!seen) {
          journal(h, 0, false);
        } else if (!stranded.isEmpty() || !journal(h, h.sequence, true)) {
          stranded.addLast(h);
        }
      }
      strandedCount = stranded.size();
      if (!stranded.isEmpty() && !strandedAhead) {
        strandedAhead = true;
        strandedFailures = 0;
        strandedRetryAt = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(backoff(1));
        log.error(
            "{}: {} events the sink was handed cannot be journaled for want of disk space; they"
                + " wait in memory, and publishers are refused until they are journaled",
            name,
            stranded.size());
      }
      for (Handoff<E> h; (h = handoffs.poll()) != null; ) {
        if (strandedAhead) {
          h.done.completeExceptionally(strandedFull()); // it was not sent: nothing is lost
        } else {
          journal(h, 0, false);
        }
      }
    } finally {
      write.unlock();
    }
  }

  /** Journals stranded events in order, as far as there is room; publishers wait meanwhile. */
  private void journalStranded() {
    ReentrantReadWriteLock.WriteLock write = spillState.writeLock();
    write.lock();
    try {
      for (Handoff<E> h; (h = stranded.peekFirst()) != null; ) {
        if (!journal(h, h.sequence, true)) {
          strandedRetryAt =
              System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(backoff(++strandedFailures));
          return;
        }
        stranded.pollFirst();
        strandedCount = stranded.size();
      }
      strandedAhead = false;
      log.info("{}: the events the sink was handed are journaled; accepting events again", name);
    } finally {
      write.unlock();
    }
  }

  private SpillQueueFullException strandedFull() {
    return new SpillQueueFullException(
        name
            + ": cannot accept events: "
            + stranded.size()
            + " events the sink was handed before it failed wait for room in the journal, and"
            + " go first (they may use half the free-space reserve; the disk has less). It was"
            + " not written; free disk space, and the queue takes events again once they are"
            + " journaled.");
  }

  /**
   * Journals one handed-over event, passing the outcome on to its publisher.
   *
   * @return false if it could not be written (no room, or the queue is closed): its publisher is
   *     told unless the sink was handed it ({@code seen}), which keeps it for another try
   */
  private boolean journal(Handoff<E> h, long presetSequence, boolean seen) {
    CompletableFuture<EventId> written;
    try {
      written = writer.appendForLane(h.encoded, presetSequence, h.publishedAt, seen);
    } catch (RuntimeException e) {
      if (!seen) {
        h.done.completeExceptionally(e);
      } else {
        log.debug("{}: journaling event {} the sink was handed: {}", name, h.sequence, clean(e));
      }
      return false;
    }
    // The relay's own stage completes with the same result; the publisher waits on h.done.
    CompletableFuture<EventId> unused =
        written.whenComplete(
            (id, t) -> {
              if (t != null) {
                h.done.completeExceptionally(t);
              } else {
                h.done.complete(id);
              }
            });
    return true;
  }

  // ---- draining the journal ----

  /**
   * One journal step: finishes the calls the sink has answered (or whose time is up), moves the
   * acknowledged position over what is done at the head, then starts as many calls as the sink
   * takes in flight, and waits for an answer if it could do nothing else.
   */
  private boolean drainStep() throws IOException {
    Journal.Reader r = reader;
    if (r == null) {
      r = journal.reader(format);
      reader = r;
    }
    boolean worked = finishAnswered();
    if (worked) {
      // Before reading on, as with one call at a time: a segment is deleted only once the reader
      // has moved past it and everything in it is done.
      acknowledgeDone();
    }
    if (resending && calls.isEmpty()) {
      // Every call sent before the failure is finished: send again from the first event not done.
      resending = false;
      unsent.clear();
      for (Pending p : window) {
        if (!p.done) {
          unsent.addLast(p);
        }
      }
      if (failedWithoutProgress) {
        failedWithoutProgress = false;
        pause(backoff(++failuresInARow));
      }
      worked = true;
    }
    int batchSize = config.batchSize();
    int windowLimit = (maxCalls + 3) * batchSize;
    while (!resending && running && calls.size() < maxCalls) {
      while (unsent.size() < batchSize && window.size() < windowLimit) {
        Journal.Entry e = r.next();
        if (e == null) {
          break;
        }
        Pending p = new Pending(e);
        window.addLast(p);
        unsent.addLast(p);
      }
      if (unsent.isEmpty()) {
        break;
      }
      Pending head = window.peekFirst();
      counters.oldestUndelivered = head == null ? 0 : head.publishedAt;
      Guard.Permit permit = guard.tryEnter();
      if (permit == null) {
        if (calls.isEmpty()) {
          // The sink's breaker is open: wait, then probe again with the same events.
          pause(backoff(++failuresInARow));
          return true;
        }
        break; // a half-open breaker or a full bulkhead: the calls in flight answer first
      }
      throttle(Math.min(unsent.size(), batchSize));
      List<Pending> batch = new ArrayList<>(Math.min(unsent.size(), batchSize));
      while (batch.size() < batchSize && !unsent.isEmpty()) {
        batch.add(unsent.pollFirst());
      }
      boolean progress = send(batch, permit);
      if (progress) {
        failuresInARow = 0;
      }
      worked = true;
    }
    if (calls.isEmpty()) {
      acknowledgeDone();
      if (!worked && unsent.isEmpty() && window.isEmpty()) {
        maybeStopSpilling();
        return false;
      }
      return true;
    }
    acknowledgeDone();
    if (!worked) {
      awaitAnswer();
    }
    return true;
  }

  /**
   * Decodes a batch and hands it to the sink, without waiting for the answer. Events the codec can
   * no longer read go to the dead-letter journal here.
   *
   * @return whether anything was done (dead-lettered) before the call
   */
  private boolean send(List<Pending> batch, Guard.Permit permit) {
    List<Delivery<E>> deliveries = new ArrayList<>(batch.size());
    List<Pending> sent = new ArrayList<>(batch.size());
    boolean progress = false;
    try {
      for (Pending p : batch) {
        E event;
        try {
          event = config.codec().decode(p.payload);
        } catch (Throwable e) {
          if (e instanceof OutOfMemoryError) {
            throw e; // says nothing about the event; the lane backs off and tries again
          }
          // The journal's bytes are intact (their CRC matched) but the codec no longer reads them:
          // whatever it throws (a StackOverflowError of a recursive decoder too), the event would
          // fail the same way on every attempt and hold up every event behind it.
          if (!deadLetter(p, "the codec cannot decode the event: " + e)) {
            // It stays in line and is tried again once the calls in flight are finished.
            resending = true;
            failedWithoutProgress = true;
          }
          progress |= p.done;
          continue;
        }
        p.attempts++;
        deliveries.add(
            new Delivery<>(new EventId(producerId, p.sequence), event, p.publishedAt, p.attempts));
        sent.add(p);
      }
    } catch (Throwable t) {
      permit.release();
      // Not sent: these go back in line, before anything not yet taken.
      for (int i = batch.size() - 1; i >= 0; i--) {
        unsent.addFirst(batch.get(i));
      }
      throw t;
    }
    if (deliveries.isEmpty()) {
      permit.release();
      return progress;
    }
    calls.addLast(new Call<>(caller.start(List.copyOf(deliveries), permit, answered), sent));
    return progress;
  }

  /** Finishes every call the sink has answered and every call whose time is up, in any order. */
  private boolean finishAnswered() {
    if (calls.isEmpty()) {
      return false;
    }
    boolean finished = false;
    long now = System.nanoTime();
    for (Iterator<Call<E>> it = calls.iterator(); it.hasNext(); ) {
      Call<E> c = it.next();
      if (c.call.answered() || c.call.overdue(now)) {
        it.remove();
        finished = true;
        try {
          finish(c);
        } catch (Throwable t) {
          // Its events not marked done are sent again once the other calls are finished.
          resending = true;
          failedWithoutProgress = true;
          throw t;
        }
      }
    }
    return finished;
  }

  /** Reads one call's outcomes; any failure sends the lane into resending. */
  private void finish(Call<E> c) {
    SinkCaller.Result result = caller.finish(c.call);
    List<Outcome> outcomes = result.outcomes();
    if (outcomes == null) {
      log.debug(
          "{}: delivery of {} events failed: {}", name, c.sent.size(), clean(result.failure()));
      resending = true;
      failedWithoutProgress = true;
      return;
    }
    boolean progress = false;
    boolean again = false;
    for (int i = 0; i < c.sent.size(); i++) {
      Pending p = c.sent.get(i);
      Outcome o = outcomes.get(i);
      switch (o.kind()) {
        case OK -> {
          p.done = true;
          counters.delivered.increment();
          progress = true;
        }
        case REJECT -> {
          boolean written = deadLetter(p, o.reason());
          progress |= written;
          again |= !written;
        }
        case RETRY -> again = true;
      }
    }
    if (progress) {
      failuresInARow = 0;
    }
    if (again) {
      resending = true;
      failedWithoutProgress |= !progress;
    }
  }

  /**
   * Parks until a call is answered or its time is up; new journal records wake it too, since a free
   * slot may take them.
   */
  private void awaitAnswer() {
    long until = Long.MAX_VALUE;
    long now = System.nanoTime();
    for (Call<E> c : calls) {
      if (c.call.answered()) {
        return;
      }
      until = Math.min(until, c.call.deadlineNanos - now);
    }
    long journaled = counters.journaled.get();
    idle = true;
    // Looked at again after the flag is up, as in run(): an answer or a record that came in between
    // did not see it.
    boolean answered = false;
    for (Call<E> c : calls) {
      answered |= c.call.answered();
    }
    if (!answered && counters.journaled.get() == journaled && until > 0) {
      LockSupport.parkNanos(Math.min(until, IDLE_PARK_NANOS));
    }
    idle = false;
  }

  /** At close: the calls in flight are finished (each within its time limit) and acknowledged. */
  private void finishInFlight() {
    while (!calls.isEmpty()) {
      if (!finishAnswered()) {
        long until = Long.MAX_VALUE;
        long now = System.nanoTime();
        for (Call<E> c : calls) {
          until = Math.min(until, c.call.deadlineNanos - now);
        }
        if (until > 0) {
          LockSupport.parkNanos(Math.min(until, IDLE_PARK_NANOS));
        }
      }
    }
    try {
      acknowledgeDone();
    } catch (Throwable t) {
      log.warn("{}: acknowledging the last calls at close: {}", name, clean(t));
    }
  }

  private boolean deadLetter(Pending p, String reason) {
    boolean written =
        deadLetter(new EventId(producerId, p.sequence), p.publishedAt, reason, p.payload);
    p.done |= written;
    return written;
  }

  private boolean deadLetter(EventId id, long publishedAt, String sinkReason, byte[] payload) {
    // A credential a sink quotes is never needed to understand a rejection.
    String reason = clean(sinkReason);
    try {
      deadLetters.append(id, publishedAt, clock.millis(), reason, payload);
      // A sealed queue's reasons are sealed too: they often quote the event.
      log.warn(
          "{}: event {} moved to the dead-letter journal: {}",
          name,
          id,
          config.key() == null ? reason : "(reason sealed with the event; see deadLetters())");
      return true;
    } catch (IOException e) {
      // Cannot drop it: it stays in line and is tried again.
      log.error("{}: cannot write dead letter {}: {}", name, id, clean(e));
      return false;
    }
  }

  /** Text of a failure or outcome for a log line or health, secrets masked (see Redaction). */
  static String clean(@Nullable Object what) {
    String text = Redaction.redact(String.valueOf(what));
    return text == null ? "" : text;
  }

  /** Moves the acknowledged position over the done events at the head of the window. */
  private void acknowledgeDone() throws IOException {
    long last = 0;
    int records = 0;
    while (!window.isEmpty() && window.peekFirst().done) {
      last = window.pollFirst().sequence;
      records++;
    }
    if (records > 0) {
      journal.acknowledge(last, records);
      writer.roomMade();
      signalDrained();
    }
    Pending head = window.peekFirst();
    counters.oldestUndelivered = head == null ? 0 : head.publishedAt;
  }

  /** Back to direct delivery once nothing is journaled (spill-on-failure mode). */
  private void maybeStopSpilling() {
    counters.oldestUndelivered = 0;
    if (config.mode() != SpillQueue.Mode.SPILL_ON_FAILURE
        || !spilling
        || guard.state() != Guard.State.CLOSED) {
      return;
    }
    ReentrantReadWriteLock.WriteLock write = spillState.writeLock();
    if (!write.tryLock()) {
      return;
    }
    try {
      if (accepting
          && window.isEmpty()
          && stranded.isEmpty()
          && journal.acknowledged() >= journal.lastAppended()) {
        spilling = false;
        log.info("{}: backlog drained; delivering directly again", name);
      }
    } finally {
      write.unlock();
    }
  }

  /** Waits for tokens of the catch-up rate limit, if one is set. */
  private void throttle(int events) {
    double rate = config.drainRate();
    if (rate <= 0) {
      return;
    }
    long now = System.nanoTime();
    tokens = Math.min(rate, tokens + (now - tokensAt) / 1e9 * rate);
    tokensAt = now;
    tokens -= events;
    if (tokens < 0) {
      pause((long) (-tokens / rate * 1000));
    }
  }

  private long backoff(int failures) {
    double nominal =
        Math.min(
            (double) config.maxRetryBackoff().toMillis(),
            config.retryBackoff().toMillis() * Math.pow(2, Math.min(failures - 1, 30)));
    return Math.round(nominal * (0.5 + ThreadLocalRandom.current().nextDouble()));
  }

  private void pause(long millis) {
    long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(millis);
    while (running && deadline - System.nanoTime() > 0) {
      LockSupport.parkNanos(
          Math.min(deadline - System.nanoTime(), TimeUnit.MILLISECONDS.toNanos(50)));
    }
  }
}
