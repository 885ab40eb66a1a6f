package dev.outlast.buffer;

import dev.outlast.buffer.spi.Delivery;
import dev.outlast.buffer.spi.EventId;
import dev.outlast.buffer.spi.Outcome;
import dev.outlast.buffer.spi.Sink;
import dev.outlast.core.Guard;
import dev.outlast.core.OutlastException;
import dev.outlast.core.health.Health;
import dev.outlast.core.health.HealthCheck;
import dev.outlast.core.health.Importance;
import dev.outlast.core.spi.Codec;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.LockSupport;
import java.util.concurrent.locks.ReentrantLock;
import java.util.concurrent.locks.ReentrantReadWriteLock;
import javax.crypto.SecretKey;
import net.openhft.chronicle.queue.RollCycle;
import net.openhft.chronicle.queue.RollCycles;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Holds events durably on local disk while their sink (a broker, a search cluster) is unavailable,
 * and delivers them in order, at least once, when it is back.
 *
 * <pre>{@code
 * Guard pulsar = Guard.of("pulsar", GuardConfig.broker());
 * try (SpillQueue<Event> queue =
 *     SpillQueue.<Event>builder("events")
 *         .directory(Path.of("/var/lib/app/spill"))
 *         .codec(eventCodec)
 *         .sink(pulsarSink)
 *         .guard(pulsar)
 *         .build()) {
 *   EventId id = queue.publish(event); // safe once this returns
 * }
 * }</pre>
 *
 * <p>{@link #publish} returns only once the event is safe: appended to the journal (write-ahead
 * mode, and spill-on-failure mode while the sink is failing or a backlog remains), or acknowledged
 * by the sink (spill-on-failure mode while it is healthy). With {@link Durability#PROCESS_CRASH}
 * "appended" means in the operating system's page cache, which survives {@code kill -9}; with
 * {@link Durability#POWER_LOSS} it means on the disk, synced in groups.
 *
 * <p>The drainer delivers journaled events in batches through the sink's {@link Guard}, in publish
 * order: an event the sink asks to retry is sent again, in order, before anything newer, and events
 * published while anything is journaled queue behind it. The read position moves only over events
 * the sink acknowledged (or rejected into the dead-letter journal). Every event has a stable {@link
 * EventId}, kept across restarts, for sinks that deduplicate.
 *
 * <p>Every journal record carries its length, sequence number, the sequence number of the record
 * before it, and a CRC32C. A damaged or deleted journal file is found, moved to {@code quarantine/}
 * and reported ({@link #metrics()}, the log) with the range of sequence numbers lost; everything
 * intact is delivered.
 *
 * <p>This class is threadsafe: any number of threads may publish. Close it to stop its threads and
 * release its files; events not yet delivered stay in the journal for the next open.
 *
 * @param <E> the event type
 */
public final class SpillQueue<E> implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(SpillQueue.class);
  private static final long RATE_SAMPLE_NANOS = 1_000_000_000L;

  static {
    // Chronicle reports usage to a remote host unless told not to; a library must not make its
    // users' services do that. Set before any Chronicle class is loaded.
    if (System.getProperty("chronicle.analytics.disable") == null) {
      System.setProperty("chronicle.analytics.disable", "true");
    }
  }

  /** When events go through the journal. */
  public enum Mode {
    /**
     * Every event is journaled first; the drainer delivers it (the seed's "queue before the API").
     */
    WRITE_AHEAD,
    /**
     * Events go straight to the sink while it is healthy and nothing is journaled; when a delivery
     * fails, that event and all later ones are journaled until the backlog is drained.
     */
    SPILL_ON_FAILURE
  }

  /** What an accepted event survives. */
  public enum Durability {
    /** The process dying ({@code kill -9}, OOM kill): the journal is in the page cache. Default. */
    PROCESS_CRASH,
    /**
     * The machine losing power: {@code publish} returns once the journal is synced to disk; syncs
     * are shared by all events appended meanwhile (group commit).
     */
    POWER_LOSS
  }

  private final String name;
  private final Codec<E> codec;
  private final Sink<E> sink;
  private final Guard guard;
  private final Mode mode;
  private final Durability durability;
  private final FullPolicy fullPolicy;
  private final int maxEventBytes;
  private final boolean allowEmpty;
  private final int batchSize;
  private final double drainRate;
  private final Duration retryBackoff;
  private final Duration maxRetryBackoff;
  private final Clock clock;
  private final String producerId;
  private final Journal journal;
  private final DeadLetterLog deadLetters;

  private final ReentrantLock appendLock = new ReentrantLock();
  private final Condition roomMade = appendLock.newCondition();
  private final RecordFormat appendFormat;
  private final ReentrantReadWriteLock spillState = new ReentrantReadWriteLock();
  private volatile boolean spilling;

  private final Drainer drainer;
  private final @Nullable GroupCommit groupCommit;
  private final AtomicBoolean closed = new AtomicBoolean();
  private final List<LostRange> lost = new CopyOnWriteArrayList<>();

  private final LongAdder published = new LongAdder();
  private final AtomicLong journaled = new AtomicLong(); // written under appendLock only
  private final LongAdder delivered = new LongAdder();
  private volatile long oldestUndelivered;
  // Rates are measured from a sample 1-2 s old, so they do not depend on how often (or by how many
  // observers) metrics() is called. Guarded by this.
  private long olderSampleAt;
  private long olderJournaled;
  private long olderDelivered;
  private long newerSampleAt;
  private long newerJournaled;
  private long newerDelivered;

  private SpillQueue(Builder<E> b) throws IOException {
    this.name = b.name;
    this.codec = Objects.requireNonNull(b.codec);
    this.sink = Objects.requireNonNull(b.sink);
    this.guard = Objects.requireNonNull(b.guard);
    this.mode = b.mode;
    this.durability = b.durability;
    this.fullPolicy = b.fullPolicy;
    this.maxEventBytes = b.maxEventBytes;
    this.allowEmpty = b.allowEmpty;
    this.batchSize = b.batchSize;
    this.drainRate = b.drainRate;
    this.retryBackoff = b.retryBackoff;
    this.maxRetryBackoff = b.maxRetryBackoff;
    this.clock = b.clock;
    Path root = Objects.requireNonNull(b.directory);
    createPrivateDirectory(root);
    this.producerId = b.producerId != null ? b.producerId : producerId(root);
    this.appendFormat = new RecordFormat(b.key);
    boolean syncing = durability == Durability.POWER_LOSS;
    this.journal =
        Journal.open(
            root,
            new Journal.Settings(
                b.rollCycle,
                b.blockSize,
                b.segmentBytes,
                b.maxDiskBytes,
                b.minFreeDiskBytes,
                syncing,
                b.fallocate),
            clock,
            this::onLost);
    try {
      this.deadLetters = new DeadLetterLog(root.resolve("dead-letters"), syncing);
    } catch (IOException | RuntimeException e) {
      journal.close();
      throw e;
    }
    this.spilling = mode == Mode.WRITE_AHEAD || journal.backlogRecords() > 0;
    this.olderSampleAt = System.nanoTime();
    this.newerSampleAt = olderSampleAt;
    this.groupCommit = syncing ? new GroupCommit() : null;
    this.drainer = new Drainer(new RecordFormat(b.key));
    drainer.start();
    log.info(
        "spill queue {} open in {} ({}, {}), producer {}, {} events to deliver",
        name,
        root,
        mode,
        durability,
        producerId,
        journal.backlogRecords());
  }

  /**
   * Starts building a queue.
   *
   * @param name a short name for logs, metrics and threads: "events"
   */
  public static <E> Builder<E> builder(String name) {
    return new Builder<>(name);
  }

  /**
   * The JVM flags the queue needs on this JDK (Chronicle Queue reaches into JDK internals), as
   * written on a java command line: for launchers and scripts that start JVMs using it. {@code
   * build()} fails naming any that are missing.
   */
  public static List<String> requiredJvmFlags() {
    return List.copyOf(JvmFlags.required());
  }

  /** The queue's name. */
  public String name() {
    return name;
  }

  /** The producer id every event of this queue carries; fixed for its directory. */
  public String producerId() {
    return producerId;
  }

  /**
   * Accepts an event; returns once it is safe (journaled, or acknowledged by the sink).
   *
   * @return the event's id
   * @throws NullPointerException if the event is null
   * @throws IllegalArgumentException if the codec cannot encode it, or it encodes to more than
   *     {@code maxEventBytes} (or to nothing, unless empty events are allowed); nothing is written
   * @throws SpillQueueFullException if the journal is full and the full policy gave up
   * @throws IllegalStateException if the queue is closed
   */
  public EventId publish(E event) {
    long accepted = accept(event);
    EventId id = new EventId(producerId, Math.abs(accepted));
    GroupCommit commit = groupCommit;
    if (commit == null || accepted < 0) {
      return id; // safe already: no future to make and wait on
    }
    try {
      return commit.durable(accepted, id).join();
    } catch (java.util.concurrent.CompletionException e) {
      Throwable cause = Objects.requireNonNullElse(e.getCause(), e);
      if (cause instanceof RuntimeException r) {
        throw r;
      }
      throw new OutlastException(name + ": publish failed: " + cause, cause);
    }
  }

  /**
   * As {@link #publish}, but with {@link Durability#POWER_LOSS} returns before the sync: the stage
   * completes when the event is on the disk. With {@link Durability#PROCESS_CRASH} the stage is
   * already complete when this returns. Bad input and a full journal are thrown, not completed
   * exceptionally.
   */
  public CompletableFuture<EventId> publishAsync(E event) {
    long accepted = accept(event);
    EventId id = new EventId(producerId, Math.abs(accepted));
    GroupCommit commit = groupCommit;
    if (commit == null || accepted < 0) {
      return CompletableFuture.completedFuture(id);
    }
    return commit.durable(accepted, id);
  }

  /**
   * Delivers the event directly or journals it.
   *
   * @return its sequence number; negated if it was delivered directly (nothing to sync)
   */
  private long accept(E event) {
    Objects.requireNonNull(event, "event");
    byte[] encoded = encode(event);
    if (closed.get()) {
      throw new IllegalStateException("spill queue " + name + " is closed");
    }
    long sequence;
    if (mode == Mode.SPILL_ON_FAILURE) {
      Direct direct = tryDirect(event, encoded);
      EventId delivered = direct.delivered();
      if (delivered != null) {
        published.increment();
        return -delivered.sequence();
      }
      sequence = direct.journaled();
    } else {
      sequence = journal(encoded, 0);
    }
    published.increment();
    return sequence;
  }

  private byte[] encode(E event) {
    byte[] encoded;
    try {
      encoded = Objects.requireNonNull(codec.encode(event), "the codec returned null");
    } catch (RuntimeException e) {
      throw new IllegalArgumentException(
          name + ": the codec cannot encode the event (" + e + "); nothing was written", e);
    }
    if (encoded.length == 0 && !allowEmpty) {
      throw new IllegalArgumentException(
          name
              + ": the event encodes to no bytes; nothing was written. If empty events are"
              + " meaningful, build the queue with allowEmptyEvents()");
    }
    if (encoded.length > maxEventBytes) {
      throw new IllegalArgumentException(
          name
              + ": the event encodes to "
              + encoded.length
              + " bytes, more than maxEventBytes ("
              + maxEventBytes
              + "); nothing was written");
    }
    return encoded;
  }

  /**
   * Appends to the journal, applying the full policy.
   *
   * @param presetSequence a sequence number already issued for this event (a failed direct
   *     delivery), or 0 to issue one
   */
  private long journal(byte[] encoded, long presetSequence) {
    long publishedAt = clock.millis();
    long deadline = 0; // set when the journal is first found full
    boolean interrupted = false;
    appendLock.lock();
    try {
      while (true) {
        try {
          long sequence = journal.append(appendFormat, encoded, publishedAt, presetSequence);
          journaled.lazySet(journaled.get() + 1);
          if (oldestUndelivered == 0) {
            oldestUndelivered = publishedAt;
          }
          drainer.wake();
          return sequence;
        } catch (Journal.FullException full) {
          if (deadline == 0) {
            deadline = System.nanoTime() + fullPolicy.maxWait().toNanos();
          }
          long left = deadline - System.nanoTime();
          if (left <= 0) {
            throw new SpillQueueFullException(
                name
                    + ": cannot accept the event: "
                    + full.getMessage()
                    + "; full policy: "
                    + fullPolicy
                    + ". It was not written. The queue frees room as the sink takes events.");
          }
          try {
            // Woken when the drainer deletes files; re-checked regularly for space freed by others.
            roomMade.awaitNanos(Math.min(left, TimeUnit.MILLISECONDS.toNanos(100)));
          } catch (InterruptedException e) {
            interrupted = true;
            throw new SpillQueueFullException(
                name + ": interrupted while waiting for room: " + full.getMessage());
          }
        }
      }
    } finally {
      appendLock.unlock();
      if (interrupted) {
        Thread.currentThread().interrupt();
      }
    }
  }

  // ---- spill-on-failure: the direct path ----

  /** How a spill-on-failure publish ended: delivered directly, or journaled under a sequence. */
  private record Direct(@Nullable EventId delivered, long journaled) {}

  /**
   * Spill-on-failure: delivers an event straight to the sink if nothing is journaled and the sink
   * is healthy, else journals it. Appends while spilling hold the read side of {@link #spillState},
   * so that the drainer's switch back to direct delivery (the write side) waits for them and sees
   * them: no event can then overtake one in the journal.
   */
  private Direct tryDirect(E event, byte[] encoded) {
    long failedSequence = 0;
    String why;
    ReentrantReadWriteLock.ReadLock read = spillState.readLock();
    read.lock();
    try {
      if (spilling) {
        return new Direct(null, journal(encoded, 0));
      }
      Guard.Permit permit = guard.tryEnter();
      if (permit == null) {
        why = "the sink's guard refuses calls (" + guard.state() + ")";
      } else {
        long sequence;
        appendLock.lock();
        try {
          sequence = journal.issueDirect();
        } catch (Journal.FullException e) {
          permit.release();
          throw new SpillQueueFullException(
              name + ": cannot issue a sequence number: " + e.getMessage());
        } finally {
          appendLock.unlock();
        }
        EventId id = new EventId(producerId, sequence);
        Outcome outcome = deliverOne(permit, new Delivery<>(id, event, clock.millis(), 1));
        if (outcome.kind() == Outcome.Kind.OK) {
          delivered.increment();
          return new Direct(id, 0);
        }
        if (outcome.kind() == Outcome.Kind.REJECT) {
          try {
            deadLetters.append(id, clock.millis(), clock.millis(), outcome.reason(), encoded);
            return new Direct(id, 0);
          } catch (IOException e) {
            log.warn("{}: cannot write dead letter {}; journaling it: {}", name, id, e.toString());
          }
        }
        failedSequence = sequence;
        why = "direct delivery failed: " + outcome;
      }
    } finally {
      read.unlock();
    }
    // From here on everything queues behind this event, until the drainer has delivered it.
    return new Direct(null, spillFrom(failedSequence, encoded, why));
  }

  /**
   * Switches to spilling, after direct deliveries in flight have finished, and journals the event
   * (under the sequence number its failed delivery had, if that keeps the journal in order, so a
   * sink that got it after all can drop the repeat).
   */
  private long spillFrom(long sequence, byte[] encoded, String why) {
    ReentrantReadWriteLock.WriteLock write = spillState.writeLock();
    write.lock();
    try {
      if (!spilling) {
        spilling = true;
        log.warn("{}: spilling to the journal: {}", name, why);
      }
      return journal(encoded, sequence);
    } finally {
      write.unlock();
    }
  }

  private Outcome deliverOne(Guard.Permit permit, Delivery<E> delivery) {
    long start = System.nanoTime();
    try {
      List<Outcome> outcomes =
          sink.deliver(List.of(delivery))
              .toCompletableFuture()
              .get(guard.config().callTimeout().toNanos(), TimeUnit.NANOSECONDS);
      Outcome o =
          outcomes.size() == 1
              ? outcomes.get(0)
              : Outcome.retry("sink returned " + outcomes.size() + " outcomes for 1 event");
      if (o.kind() == Outcome.Kind.RETRY) {
        permit.failure(
            System.nanoTime() - start, new IOException("sink asked to retry: " + o.reason()));
      } else {
        permit.success(System.nanoTime() - start);
      }
      return o;
    } catch (ExecutionException | TimeoutException | RuntimeException e) {
      Throwable cause = e instanceof ExecutionException && e.getCause() != null ? e.getCause() : e;
      permit.failure(
          System.nanoTime() - start,
          cause instanceof TimeoutException ? cause : new IOException(cause));
      return Outcome.retry(cause.toString());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      permit.release();
      return Outcome.retry("interrupted");
    }
  }

  // ---- reading back ----

  /** The events in the dead-letter journal, oldest first. */
  public List<DeadLetter<E>> deadLetters() {
    try {
      return deadLetters.read(codec);
    } catch (IOException e) {
      throw new UncheckedIOException(name + ": cannot read the dead-letter journal", e);
    }
  }

  /**
   * The queue's health, for {@link dev.outlast.core.health.Health}: the sink's state as its guard
   * sees it, and the backlog. The sink's breaker open is DOWN (events are held, not delivered);
   * half-open, a backlog, or ranges lost to damage is DEGRADED; otherwise UP.
   */
  public HealthCheck health(Importance importance) {
    Objects.requireNonNull(importance, "importance");
    return () -> {
      SpillQueueMetrics m = metrics();
      StringBuilder why = new StringBuilder("backlog ").append(m.backlogEvents()).append(" events");
      if (m.backlogEvents() > 0) {
        why.append(" (")
            .append(m.backlogBytes())
            .append(" bytes, oldest ")
            .append(m.oldestEventAge().toMillis())
            .append(" ms, delivering ")
            .append(Math.round(m.deliverRate()))
            .append("/s)");
      }
      if (!m.lost().isEmpty()) {
        why.append("; ").append(m.lost().size()).append(" ranges lost to damage");
      }
      if (m.deadLetters() > 0) {
        why.append("; ").append(m.deadLetters()).append(" dead letters");
      }
      boolean holding = m.backlogEvents() > 0 || !m.lost().isEmpty();
      return Health.component(name, "queue", guard, importance, holding, why.toString());
    };
  }

  /** The guard of the queue's sink, for callers that reach the same dependency another way. */
  Guard guard() {
    return guard;
  }

  /** Whether journaled events wait for delivery: cheap, one counter read. */
  boolean holdsBacklog() {
    return journal.backlogRecords() > 0;
  }

  /** The queue now. */
  public SpillQueueMetrics metrics() {
    long d;
    double seconds;
    double appendRate;
    double deliverRate;
    synchronized (this) {
      // Read under the lock, so that a caller delayed on it cannot pair an old time with a newer
      // sample.
      long now = System.nanoTime();
      long j = journaled.get();
      d = delivered.sum();
      if (now - newerSampleAt >= RATE_SAMPLE_NANOS) {
        olderSampleAt = newerSampleAt;
        olderJournaled = newerJournaled;
        olderDelivered = newerDelivered;
        newerSampleAt = now;
        newerJournaled = j;
        newerDelivered = d;
      }
      seconds = Math.max(1e-3, (now - olderSampleAt) / 1e9);
      appendRate = (j - olderJournaled) / seconds;
      deliverRate = (d - olderDelivered) / seconds;
    }
    long oldest = oldestUndelivered;
    long backlog = journal.backlogRecords();
    return new SpillQueueMetrics(
        name,
        spilling,
        backlog,
        journal.usedBytes(),
        oldest == 0 || backlog == 0
            ? Duration.ZERO
            : Duration.ofMillis(Math.max(0, clock.millis() - oldest)),
        appendRate,
        deliverRate,
        published.sum(),
        d,
        deadLetters.count(),
        guard.state(),
        lost,
        journal.bytesLeft());
  }

  /**
   * Stops the drainer and releases the journal. Events not yet delivered stay on disk for the next
   * open. Idempotent.
   */
  @Override
  public void close() {
    if (!closed.compareAndSet(false, true)) {
      return;
    }
    drainer.stop();
    GroupCommit commit = groupCommit;
    if (commit != null) {
      commit.stop();
    }
    appendLock.lock();
    try {
      journal.close();
    } finally {
      appendLock.unlock();
    }
    try {
      deadLetters.close();
    } catch (IOException e) {
      log.warn("{}: closing the dead-letter journal: {}", name, e.toString());
    }
  }

  @Override
  public String toString() {
    return "SpillQueue[" + name + ", " + mode + ", " + journal.backlogRecords() + " to deliver]";
  }

  private void onLost(long from, long to, String reason, @Nullable Path quarantined) {
    LostRange range = new LostRange(from, to, reason, quarantined, clock.instant());
    lost.add(range);
    log.error(
        "{}: journal records {}..{} lost: {}{}",
        name,
        from,
        to < 0 ? "?" : Long.toString(to),
        reason,
        quarantined == null ? "" : "; files moved to " + quarantined);
  }

  // ---- the drainer ----

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

  /**
   * Delivers journaled events: reads them in order, sends them in batches through the guard, keeps
   * retries ahead of newer events, moves the acknowledged position over the events that are done,
   * and frees the journal's files.
   */
  private final class Drainer implements Runnable {
    private final RecordFormat format;
    private final Thread thread;
    private final ArrayDeque<Pending> window = new ArrayDeque<>();
    private volatile boolean running = true;
    private int failuresInARow;
    private volatile boolean idle;
    private double tokens;
    private long tokensAt = System.nanoTime();

    Drainer(RecordFormat format) {
      this.format = format;
      this.thread = new Thread(this, "outlast-spill-" + name + "-drainer");
      thread.setDaemon(true);
    }

    void start() {
      thread.start();
    }

    /**
     * Wakes the drainer if it sleeps for want of records. Not while it backs off or works: an
     * unpark of a parked thread is a system call on both sides, and one per append cost more than
     * the append itself while the sink was down.
     */
    void wake() {
      if (idle) {
        idle = false;
        LockSupport.unpark(thread);
      }
    }

    void stop() {
      running = false;
      LockSupport.unpark(thread);
      boolean interrupted = false;
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
      while (thread.isAlive() && System.nanoTime() < deadline) {
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
    }

    @Override
    public void run() {
      try (Journal.Reader reader = journal.reader(format)) {
        while (running) {
          try {
            if (!step(reader)) {
              // A wake missed between the last look and this flag costs at most this wait.
              idle = true;
              LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(20));
              idle = false;
            }
          } catch (IOException | RuntimeException e) {
            log.error("{}: drainer step failed; retrying: {}", name, e.toString(), e);
            pause(backoff(++failuresInARow));
          }
        }
      } catch (Throwable t) {
        log.error("{}: drainer stopped: {}", name, t.toString(), t);
      }
    }

    /** One batch. Returns false when there was nothing to do. */
    private boolean step(Journal.Reader reader) throws IOException {
      int notDone = 0;
      for (Pending p : window) {
        if (!p.done) {
          notDone++;
        }
      }
      while (notDone < batchSize && window.size() < 4 * batchSize) {
        Journal.Entry e = reader.next();
        if (e == null) {
          break;
        }
        window.addLast(new Pending(e));
        notDone++;
      }
      if (notDone == 0) {
        maybeStopSpilling();
        return false;
      }
      List<Pending> batch = new ArrayList<>(Math.min(notDone, batchSize));
      for (Pending p : window) {
        if (!p.done) {
          batch.add(p);
          if (batch.size() == batchSize) {
            break;
          }
        }
      }
      oldestUndelivered = window.peekFirst() == null ? 0 : window.peekFirst().publishedAt;
      throttle(batch.size());
      Guard.Permit permit = guard.tryEnter();
      if (permit == null) {
        // The sink's breaker is open: wait, then probe again with the same batch.
        pause(backoff(++failuresInARow));
        return true;
      }
      boolean progress = deliver(batch, permit);
      acknowledgeDone();
      if (progress) {
        failuresInARow = 0;
      } else {
        pause(backoff(++failuresInARow));
      }
      return true;
    }

    /** Sends a batch; marks what is done. Returns whether anything was done. */
    private boolean deliver(List<Pending> batch, Guard.Permit permit) {
      List<Delivery<E>> deliveries = new ArrayList<>(batch.size());
      List<Pending> sent = new ArrayList<>(batch.size());
      boolean progress = false;
      for (Pending p : batch) {
        E event;
        try {
          event = codec.decode(p.payload);
        } catch (RuntimeException e) {
          // The journal's bytes are intact (their CRC matched) but the codec no longer reads them.
          progress |= deadLetter(p, "the codec cannot decode the event: " + e);
          continue;
        }
        p.attempts++;
        deliveries.add(
            new Delivery<>(new EventId(producerId, p.sequence), event, p.publishedAt, p.attempts));
        sent.add(p);
      }
      if (deliveries.isEmpty()) {
        permit.release();
        return progress;
      }
      long start = System.nanoTime();
      List<Outcome> outcomes;
      try {
        CompletionStage<List<Outcome>> stage = sink.deliver(List.copyOf(deliveries));
        outcomes =
            stage
                .toCompletableFuture()
                .get(guard.config().callTimeout().toNanos(), TimeUnit.NANOSECONDS);
        if (outcomes.size() != sent.size()) {
          throw new IllegalStateException(
              "sink "
                  + sink.name()
                  + " returned "
                  + outcomes.size()
                  + " outcomes for "
                  + sent.size()
                  + " events");
        }
      } catch (ExecutionException | TimeoutException | RuntimeException e) {
        Throwable cause =
            e instanceof ExecutionException && e.getCause() != null ? e.getCause() : e;
        permit.failure(
            System.nanoTime() - start,
            cause instanceof TimeoutException ? cause : new IOException(cause));
        log.debug("{}: delivery of {} events failed: {}", name, sent.size(), cause.toString());
        return progress;
      } catch (InterruptedException e) {
        permit.release();
        return progress;
      }
      int retries = 0;
      String retryReason = "";
      for (int i = 0; i < sent.size(); i++) {
        Pending p = sent.get(i);
        Outcome o = Objects.requireNonNull(outcomes.get(i), "null outcome");
        switch (o.kind()) {
          case OK -> {
            p.done = true;
            delivered.increment();
            progress = true;
          }
          case REJECT -> progress |= deadLetter(p, o.reason());
          case RETRY -> {
            retries++;
            retryReason = o.reason();
          }
        }
      }
      if (retries == sent.size()) {
        permit.failure(
            System.nanoTime() - start, new IOException("sink asked to retry: " + retryReason));
      } else {
        permit.success(System.nanoTime() - start);
      }
      return progress;
    }

    private boolean deadLetter(Pending p, String reason) {
      EventId id = new EventId(producerId, p.sequence);
      try {
        deadLetters.append(id, p.publishedAt, clock.millis(), reason, p.payload);
        p.done = true;
        log.warn("{}: event {} moved to the dead-letter journal: {}", name, id, reason);
        return true;
      } catch (IOException e) {
        // Cannot drop it: it stays in line and is tried again.
        log.error("{}: cannot write dead letter {}: {}", name, id, e.toString());
        return false;
      }
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
        appendLock.lock();
        try {
          roomMade.signalAll();
        } finally {
          appendLock.unlock();
        }
      }
      Pending head = window.peekFirst();
      oldestUndelivered = head == null ? 0 : head.publishedAt;
    }

    /** Back to direct delivery once nothing is journaled (spill-on-failure mode). */
    private void maybeStopSpilling() {
      oldestUndelivered = 0;
      if (mode != Mode.SPILL_ON_FAILURE || !spilling || guard.state() != Guard.State.CLOSED) {
        return;
      }
      ReentrantReadWriteLock.WriteLock write = spillState.writeLock();
      if (!write.tryLock()) {
        return;
      }
      try {
        if (window.isEmpty() && journal.acknowledged() >= journal.lastAppended()) {
          spilling = false;
          log.info("{}: backlog drained; delivering directly again", name);
        }
      } finally {
        write.unlock();
      }
    }

    /** Waits for tokens of the catch-up rate limit, if one is set. */
    private void throttle(int events) {
      if (drainRate <= 0) {
        return;
      }
      long now = System.nanoTime();
      tokens = Math.min(drainRate, tokens + (now - tokensAt) / 1e9 * drainRate);
      tokensAt = now;
      tokens -= events;
      if (tokens < 0) {
        pause((long) (-tokens / drainRate * 1000));
      }
    }

    private long backoff(int failures) {
      double nominal =
          Math.min(
              (double) maxRetryBackoff.toMillis(),
              retryBackoff.toMillis() * Math.pow(2, Math.min(failures - 1, 30)));
      return Math.round(nominal * (0.5 + ThreadLocalRandom.current().nextDouble()));
    }

    private void pause(long millis) {
      long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(millis);
      while (running && System.nanoTime() < deadline) {
        LockSupport.parkNanos(
            Math.min(deadline - System.nanoTime(), TimeUnit.MILLISECONDS.toNanos(50)));
      }
    }
  }

  // ---- group commit (power-loss durability) ----

  /**
   * Syncs the journal for many appended events at once: a publisher waits until a sync that began
   * after its append has finished. One sync covers every event appended before it began.
   */
  private final class GroupCommit implements Runnable {
    private final Thread thread;
    private final ReentrantLock lock = new ReentrantLock();
    private final Condition requested = lock.newCondition();
    private final ArrayDeque<Waiter> waiting = new ArrayDeque<>();
    private volatile boolean running = true;

    private record Waiter(long sequence, EventId id, CompletableFuture<EventId> done) {}

    GroupCommit() {
      this.thread = new Thread(this, "outlast-spill-" + name + "-sync");
      thread.setDaemon(true);
      thread.start();
    }

    CompletableFuture<EventId> durable(long sequence, EventId id) {
      CompletableFuture<EventId> done = new CompletableFuture<>();
      lock.lock();
      try {
        waiting.addLast(new Waiter(sequence, id, done));
        requested.signal();
      } finally {
        lock.unlock();
      }
      return done;
    }

    @Override
    public void run() {
      while (running) {
        List<Waiter> batch = new ArrayList<>();
        lock.lock();
        try {
          while (running && waiting.isEmpty()) {
            requested.awaitUninterruptibly();
          }
          batch.addAll(waiting);
          waiting.clear();
        } finally {
          lock.unlock();
        }
        if (batch.isEmpty()) {
          continue;
        }
        try {
          // Every waiter's record was appended before it was queued here, so this sync covers it.
          journal.syncToDisk();
          for (Waiter w : batch) {
            w.done.complete(w.id);
          }
        } catch (IOException | RuntimeException e) {
          for (Waiter w : batch) {
            w.done.completeExceptionally(
                new OutlastException(name + ": cannot sync the journal to disk: " + e, e));
          }
        }
      }
    }

    void stop() {
      running = false;
      lock.lock();
      try {
        requested.signalAll();
      } finally {
        lock.unlock();
      }
      try {
        thread.join(10_000);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
  }

  // ---- setup helpers ----

  private static void createPrivateDirectory(Path root) throws IOException {
    if (!Files.exists(root)) {
      Files.createDirectories(
          root, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
    } else if (!Files.isDirectory(root) || !Files.isWritable(root)) {
      throw new IOException(root + " is not a writable directory");
    }
  }

  /** The directory's producer id: made once, at random, and kept in {@code producer.id}. */
  private static String producerId(Path root) throws IOException {
    Path file = root.resolve("producer.id");
    if (Files.exists(file)) {
      String id = Files.readString(file, StandardCharsets.UTF_8).trim();
      if (!id.matches("[A-Za-z0-9_.-]{1,64}")) {
        throw new IOException(file + " holds no valid producer id: '" + id + "'");
      }
      return id;
    }
    byte[] random = new byte[6];
    new SecureRandom().nextBytes(random);
    String id = "outlast-" + HexFormat.of().formatHex(random);
    Path temp = root.resolve("producer.id.tmp");
    Files.writeString(temp, id + "\n", StandardCharsets.UTF_8);
    try (FileChannel ch = FileChannel.open(temp, StandardOpenOption.WRITE)) {
      ch.force(true);
    }
    Files.move(temp, file, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
    return id;
  }

  /**
   * Builds a {@link SpillQueue}. Every setter checks its value at once, naming it; {@link #build}
   * checks them against each other and the JVM's flags. Not threadsafe.
   *
   * @param <E> the event type
   */
  public static final class Builder<E> {
    private final String name;
    private @Nullable Path directory;
    private @Nullable Codec<E> codec;
    private @Nullable Sink<E> sink;
    private @Nullable Guard guard;
    private Mode mode = Mode.WRITE_AHEAD;
    private Durability durability = Durability.PROCESS_CRASH;
    private FullPolicy fullPolicy = FullPolicy.block(Duration.ofSeconds(5));
    private long maxDiskBytes = 1L << 30;
    private long minFreeDiskBytes = 256L << 20;

    /** 0 until set: then 1 MiB, or a quarter of a segment if that is less. */
    private int maxEventBytes;

    private boolean allowEmpty;
    private int batchSize = 500;
    private double drainRate;
    private Duration retryBackoff = Duration.ofMillis(200);
    private Duration maxRetryBackoff = Duration.ofSeconds(30);
    private RollCycle rollCycle = RollCycles.FAST_DAILY;
    private boolean fallocate = true;
    private long blockSize = 4L << 20;
    private long segmentBytes = 64L << 20;
    private @Nullable String producerId;
    private @Nullable SecretKey key;
    private Clock clock = Clock.systemUTC();

    private Builder(String name) {
      Objects.requireNonNull(name, "name");
      if (!name.matches("[A-Za-z0-9._-]{1,64}")) {
        throw new IllegalArgumentException(
            "queue name must be 1-64 letters, digits, '.', '_' or '-', was '" + name + "'");
      }
      this.name = name;
    }

    /**
     * Where the journal lives; created (mode 0700) if missing. Required. One process per directory.
     */
    public Builder<E> directory(Path dir) {
      this.directory = Objects.requireNonNull(dir, "dir");
      return this;
    }

    /** How events become bytes on disk and back. Required. */
    public Builder<E> codec(Codec<E> codec) {
      this.codec = Objects.requireNonNull(codec, "codec");
      return this;
    }

    /** Where events are delivered. Required. */
    public Builder<E> sink(Sink<E> sink) {
      this.sink = Objects.requireNonNull(sink, "sink");
      return this;
    }

    /** The sink's guard: its breaker decides when the drainer waits. Required. */
    public Builder<E> guard(Guard guard) {
      this.guard = Objects.requireNonNull(guard, "guard");
      return this;
    }

    /** Write-ahead (default) or spill-on-failure. */
    public Builder<E> mode(Mode mode) {
      this.mode = Objects.requireNonNull(mode, "mode");
      return this;
    }

    /** Process crash (default) or power loss. */
    public Builder<E> durability(Durability durability) {
      this.durability = Objects.requireNonNull(durability, "durability");
      return this;
    }

    /** What publish does when the journal is full; default: block up to 5 s. */
    public Builder<E> whenFull(FullPolicy policy) {
      this.fullPolicy = Objects.requireNonNull(policy, "policy");
      return this;
    }

    /** The most the journal may take on disk; default 1 GiB, at least 4 MiB. */
    public Builder<E> maxDiskBytes(long bytes) {
      if (bytes < (4L << 20)) {
        throw new IllegalArgumentException("maxDiskBytes must be at least 4 MiB, was " + bytes);
      }
      this.maxDiskBytes = bytes;
      return this;
    }

    /**
     * Free space the queue leaves on the file system; default 256 MiB, not negative. The reserve
     * also covers the first record of each new journal file, which is written before its blocks can
     * be allocated: with 0, another process filling the disk at that moment can crash the JVM
     * (SIGBUS from Chronicle's memory mapping). Keep at least a few MiB.
     */
    public Builder<E> minFreeDiskBytes(long bytes) {
      if (bytes < 0) {
        throw new IllegalArgumentException("minFreeDiskBytes must not be negative, was " + bytes);
      }
      this.minFreeDiskBytes = bytes;
      return this;
    }

    /**
     * The largest encoded event accepted, 1 byte to 16 MiB; default 1 MiB, or a quarter of {@link
     * #segmentBytes} if that is less.
     */
    public Builder<E> maxEventBytes(int bytes) {
      if (bytes < 1 || bytes > (16 << 20)) {
        throw new IllegalArgumentException("maxEventBytes must be in [1, 16 MiB], was " + bytes);
      }
      this.maxEventBytes = bytes;
      return this;
    }

    /** Accept events that encode to no bytes (refused by default, as usually a bug). */
    public Builder<E> allowEmptyEvents() {
      this.allowEmpty = true;
      return this;
    }

    /** Events per delivery; default 500, 1 to 100,000. */
    public Builder<E> batchSize(int events) {
      if (events < 1 || events > 100_000) {
        throw new IllegalArgumentException("batchSize must be in [1, 100000], was " + events);
      }
      this.batchSize = events;
      return this;
    }

    /**
     * The most events per second the drainer sends, so that a sink recovering from an outage is not
     * flooded with the backlog; 0 (default) for no limit.
     */
    public Builder<E> drainRate(double eventsPerSecond) {
      if (!(eventsPerSecond >= 0) || Double.isInfinite(eventsPerSecond)) {
        throw new IllegalArgumentException("drainRate must be a rate >= 0, was " + eventsPerSecond);
      }
      this.drainRate = eventsPerSecond;
      return this;
    }

    /**
     * Wait after a failed delivery, doubling with jitter up to the maximum; default 200 ms, 30 s.
     */
    public Builder<E> retryBackoff(Duration initial, Duration maximum) {
      Objects.requireNonNull(initial, "initial");
      Objects.requireNonNull(maximum, "maximum");
      if (initial.isNegative() || initial.isZero() || maximum.compareTo(initial) < 0) {
        throw new IllegalArgumentException(
            "retryBackoff needs 0 < initial <= maximum, was " + initial + " and " + maximum);
      }
      this.retryBackoff = initial;
      this.maxRetryBackoff = maximum;
      return this;
    }

    /**
     * How big a journal segment grows before the next one starts (drained segments are deleted
     * whole); default 64 MiB, 1 MiB to 1 GiB. Also Chronicle's block size is at most a quarter of
     * it.
     */
    public Builder<E> segmentBytes(long bytes) {
      if (bytes < (1L << 20) || bytes > (1L << 30)) {
        throw new IllegalArgumentException("segmentBytes must be in [1 MiB, 1 GiB], was " + bytes);
      }
      this.segmentBytes = bytes;
      this.blockSize = Math.min(4L << 20, Math.max(256L << 10, Long.highestOneBit(bytes / 4)));
      return this;
    }

    /** The producer id; by default one is made at random and kept in the directory. */
    public Builder<E> producerId(String id) {
      Objects.requireNonNull(id, "id");
      if (!id.matches("[A-Za-z0-9_.-]{1,64}")) {
        throw new IllegalArgumentException(
            "producerId must be 1-64 letters, digits, '.', '_' or '-', was '" + id + "'");
      }
      this.producerId = id;
      return this;
    }

    /**
     * Encrypts every journaled payload with AES-GCM under this key (supplied by the application).
     */
    public Builder<E> encryption(SecretKey key) {
      Objects.requireNonNull(key, "key");
      if (!"AES".equalsIgnoreCase(key.getAlgorithm())) {
        throw new IllegalArgumentException(
            "encryption needs an AES key, was " + key.getAlgorithm());
      }
      this.key = key;
      return this;
    }

    /** Chronicle's roll cycle inside a segment; for tests. */
    Builder<E> rollCycle(RollCycle cycle) {
      this.rollCycle = Objects.requireNonNull(cycle, "cycle");
      return this;
    }

    /** Allocates journal space by writing zeros, not with fallocate; for tests of that path. */
    Builder<E> withoutFallocate() {
      this.fallocate = false;
      return this;
    }

    /** The clock of publish times and ages. For tests. */
    public Builder<E> clock(Clock clock) {
      this.clock = Objects.requireNonNull(clock, "clock");
      return this;
    }

    /**
     * Opens the journal (creating it if missing) and starts delivering what it holds.
     *
     * @throws IllegalStateException if a required setting is missing, or the JVM lacks the flags
     *     Chronicle Queue needs (the message lists them)
     * @throws IllegalArgumentException if settings contradict each other
     * @throws UncheckedIOException if the directory cannot be used or another process holds it
     */
    public SpillQueue<E> build() {
      requireSet(directory, "directory");
      requireSet(codec, "codec");
      requireSet(sink, "sink");
      requireSet(guard, "guard");
      if (maxEventBytes == 0) {
        maxEventBytes = (int) Math.min(1 << 20, segmentBytes / 4);
      }
      if (maxEventBytes + RecordFormat.OVERHEAD + 64L > segmentBytes) {
        throw new IllegalArgumentException(
            "maxEventBytes ("
                + maxEventBytes
                + ") does not fit a segment of "
                + segmentBytes
                + " bytes");
      }
      if (segmentBytes > maxDiskBytes) {
        throw new IllegalArgumentException(
            "segmentBytes (" + segmentBytes + ") exceeds maxDiskBytes (" + maxDiskBytes + ")");
      }
      // Chronicle refuses a document larger than a quarter of its block size (with an overflow
      // error from inside the write): the largest record, encrypted, must fit that.
      long largestRecord = maxEventBytes + RecordFormat.OVERHEAD + 64L;
      while (blockSize / 4 < largestRecord) {
        blockSize *= 2;
      }
      JvmFlags.check();
      try {
        return new SpillQueue<>(this);
      } catch (IOException e) {
        throw new UncheckedIOException(
            "spill queue " + name + ": cannot open " + directory + ": " + e.getMessage(), e);
      }
    }

    private void requireSet(@Nullable Object value, String what) {
      if (value == null) {
        throw new IllegalStateException("spill queue '" + name + "' needs " + what + "(...)");
      }
    }
  }
}
