package dev.outlast.buffer;

import dev.outlast.buffer.spi.EventId;
import dev.outlast.buffer.spi.Sink;
import dev.outlast.core.Guard;
import dev.outlast.core.OutlastException;
import dev.outlast.core.health.Health;
import dev.outlast.core.health.HealthCheck;
import dev.outlast.core.health.HealthStatus;
import dev.outlast.core.health.Importance;
import dev.outlast.core.spi.Codec;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
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
  private static final long PUBLISH_SPIN_NANOS = 20_000L;
  private static final int SPIN_CORES = Runtime.getRuntime().availableProcessors();

  /** How long the oldest event of a write-ahead queue may wait before health says it lags. */
  private static final Duration WRITE_AHEAD_LAG = Duration.ofSeconds(5);

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

  private final SpillQueueConfig<E> config;
  private final String name;
  private final String producerId;
  private final Journal journal;
  private final DeadLetterLog deadLetters;
  private final QueueCounters counters = new QueueCounters();
  private final JournalWriter writer;
  private final DeliveryLane<E> lane;
  private final DeliveryNotifier notifier;
  private final List<LostRange> lost = new CopyOnWriteArrayList<>();
  private final AtomicBoolean closed = new AtomicBoolean();
  private final AtomicInteger spinners = new AtomicInteger(); // publishers spinning for an answer

  /** The longest a publisher waits for its event's fate: the lane's call, a full wait, a sync. */
  private final long publishWaitNanos;

  // Rates are measured from a sample 1-2 s old, so they do not depend on how often (or by how many
  // observers) metrics() is called. Guarded by this.
  private long olderSampleAt;
  private long olderJournaled;
  private long olderDelivered;
  private long newerSampleAt;
  private long newerJournaled;
  private long newerDelivered;

  private SpillQueue(SpillQueueConfig<E> config) throws IOException {
    this.config = config;
    this.name = config.name();
    Path root = config.directory();
    QueueDirectory.createPrivate(root);
    String id = config.producerId();
    this.producerId = id != null ? id : QueueDirectory.producerId(root);
    Keyring keys = Keyring.of(config.key(), config.retiredKeys(), producerId);
    this.journal =
        Journal.open(
            root, config.journalSettings(), config.clock(), this::onLost, new RecordFormat(keys));
    try {
      this.deadLetters =
          new DeadLetterLog(root.resolve("dead-letters"), config.powerLossDurable(), keys);
    } catch (IOException | RuntimeException e) {
      journal.close();
      throw e;
    }
    this.writer =
        new JournalWriter(
            name,
            producerId,
            journal,
            new RecordFormat(keys),
            config.fullPolicy(),
            config.powerLossDurable(),
            counters);
    this.notifier = new DeliveryNotifier(name);
    this.lane =
        new DeliveryLane<>(
            config,
            producerId,
            journal,
            writer,
            deadLetters,
            counters,
            new RecordFormat(keys),
            notifier);
    writer.onAppend(lane::wake);
    this.publishWaitNanos =
        config.callTimeout().toNanos()
            + config.fullPolicy().maxWait().toNanos()
            + TimeUnit.SECONDS.toNanos(60);
    this.olderSampleAt = System.nanoTime();
    this.newerSampleAt = olderSampleAt;
    lane.start();
    log.info(
        "spill queue {} open in {} ({}, {}), producer {}, {} events to deliver",
        name,
        root,
        config.mode(),
        config.durability(),
        producerId,
        journal.backlogRecords());
  }

  /**
   * Starts building a queue.
   *
   * @param name a short name for logs, metrics and threads: "events"
   * @param <E> the event type
   * @return a builder with the defaults, which needs a directory, a codec, a sink and the sink's
   *     guard before {@link Builder#build}
   * @throws IllegalArgumentException if the name is not 1-64 letters, digits, '.', '_' or '-'
   */
  public static <E> Builder<E> builder(String name) {
    return new Builder<>(name);
  }

  /**
   * {@return the JVM flags the queue needs on this JDK (Chronicle Queue reaches into JDK
   * internals), as written on a java command line}
   *
   * <p>For launchers and scripts that start JVMs using it. {@code build()} fails naming any that
   * are missing.
   */
  public static List<String> requiredJvmFlags() {
    return List.copyOf(JvmFlags.required());
  }

  /** {@return the queue's name, as given to the builder} */
  public String name() {
    return name;
  }

  /**
   * {@return the name of the queue's sink, as its {@link Sink#name()} gave it (for logs and
   * metrics); the sink's class name if that threw}
   */
  public String sinkName() {
    Sink<E> sink = config.sink();
    try {
      return String.valueOf(sink.name());
    } catch (RuntimeException e) {
      return sink.getClass().getName();
    }
  }

  /**
   * Tells an observer about every call the queue makes into its sink from now on, until the
   * registration or the queue is closed: for delivery-latency and sink-call metrics. The observer
   * runs on a thread of the queue, never on the delivery lane; one that throws or is slow does not
   * hold up delivery (see {@link DeliveryObserver}). On a closed queue the registration is never
   * called.
   *
   * @param observer called, on the queue's notifier thread, with each sink call's figures
   * @return the registration; close it to stop the calls
   * @throws NullPointerException if the observer is null
   */
  public DeliveryObserver.Registration observeDeliveries(DeliveryObserver observer) {
    return notifier.register(Objects.requireNonNull(observer, "observer"));
  }

  /**
   * {@return the producer id every event of this queue carries: the one given to the builder, or
   * the one made at random and kept in the directory}
   */
  public String producerId() {
    return producerId;
  }

  /**
   * Accepts an event; returns once it is safe (journaled, or acknowledged by the sink).
   *
   * <p>Any number of threads may publish at once. In spill-on-failure mode the event is handed to
   * the queue's delivery lane, the one thread that calls the sink, which batches what several
   * publishers handed over; the publisher waits for the sink's answer (at most the guard's call
   * timeout) or, if the sink fails, for the event to be journaled.
   *
   * <p>An interrupt does not cut the wait short (the event's fate is being decided and the wait is
   * bounded); the thread's interrupt flag is set again when this returns.
   *
   * @param event the event; encoded by the queue's codec on the calling thread
   * @return the event's id
   * @throws NullPointerException if the event is null
   * @throws IllegalArgumentException if the codec cannot encode it, or it encodes to more than
   *     {@code maxEventBytes} (or to nothing, unless empty events are allowed); nothing is written
   * @throws SpillQueueFullException if the journal is full and the full policy gave up
   * @throws IllegalStateException if the queue is closed, also if it closed while this call waited
   *     (then the event was not accepted)
   * @throws OutlastException if the event could not be made safe (a sync to disk failed); it may
   *     still be delivered
   */
  public EventId publish(E event) {
    CompletableFuture<EventId> stage = accept(event);
    if (stage.isDone() && !stage.isCompletedExceptionally()) {
      return stage.join(); // the common case, safe already: nothing to wait for
    }
    // A healthy sink often answers the lane within microseconds: a short spin saves the park and
    // the lane's unpark, each a system call that costs more than such a sink call. Only for the
    // lane's answers (a sync to disk takes milliseconds), and only while a core is left for the
    // lane: spinning publishers on every core slow the lane they wait for.
    if (config.mode() == Mode.SPILL_ON_FAILURE) {
      if (spinners.incrementAndGet() < SPIN_CORES) {
        long spinUntil = System.nanoTime() + PUBLISH_SPIN_NANOS;
        while (!stage.isDone() && spinUntil - System.nanoTime() > 0) {
          Thread.onSpinWait();
        }
      }
      spinners.decrementAndGet();
    }
    boolean interrupted = false;
    long deadline = System.nanoTime() + publishWaitNanos;
    try {
      while (true) {
        try {
          return stage.get(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
        } catch (InterruptedException e) {
          // The event's fate is being decided by the lane or the sync; the answer is worth waiting
          // for, and the wait is bounded. The flag is put back below.
          interrupted = true;
        }
      }
    } catch (ExecutionException e) {
      Throwable cause = Objects.requireNonNullElse(e.getCause(), e);
      if (cause instanceof RuntimeException r) {
        throw r;
      }
      throw new OutlastException(name + ": publish failed: " + cause, cause);
    } catch (TimeoutException e) {
      throw new OutlastException(
          name
              + ": the event was not confirmed within "
              + TimeUnit.NANOSECONDS.toSeconds(publishWaitNanos)
              + " s; it may still be delivered");
    } finally {
      if (interrupted) {
        Thread.currentThread().interrupt();
      }
    }
  }

  /**
   * As {@link #publish}, without waiting: the stage completes when the event is safe (delivered by
   * the sink, or journaled, and with {@link Durability#POWER_LOSS} synced). With write-ahead mode
   * and {@link Durability#PROCESS_CRASH} it is already complete when this returns. Bad input, a
   * full journal and a closed queue are thrown when known at once; the stage completes
   * exceptionally with the same exceptions when they happen later (a spill-on-failure event that
   * had to be journaled into a full journal, a queue closed before the event was safe).
   *
   * @param event the event; encoded by the queue's codec on the calling thread
   * @return a stage completed with the event's id once it is safe
   * @throws NullPointerException if the event is null
   * @throws IllegalArgumentException if the codec cannot encode it, or its size is refused, as for
   *     {@link #publish}; nothing is written
   * @throws SpillQueueFullException if a write-ahead queue's journal is full and the full policy
   *     gave up (with {@link FullPolicy#block}, after waiting for room on the calling thread)
   * @throws IllegalStateException if the queue is closed, or its delivery lane has stopped
   */
  public CompletableFuture<EventId> publishAsync(E event) {
    return accept(event);
  }

  private CompletableFuture<EventId> accept(E event) {
    Objects.requireNonNull(event, "event");
    byte[] encoded = encode(event);
    if (closed.get()) {
      throw new IllegalStateException("spill queue " + name + " is closed");
    }
    if (config.mode() == Mode.SPILL_ON_FAILURE) {
      if (lane.died()) {
        throw new IllegalStateException("spill queue " + name + ": the delivery lane has stopped");
      }
      return lane.offer(event, encoded);
    }
    return writer.append(encoded, 0, config.clock().millis());
  }

  private byte[] encode(E event) {
    byte[] encoded;
    try {
      encoded = Objects.requireNonNull(config.codec().encode(event), "the codec returned null");
    } catch (RuntimeException | LinkageError | StackOverflowError | AssertionError e) {
      // A codec's bug, whatever it throws, is this event's problem: the queue is untouched.
      throw new IllegalArgumentException(
          name + ": the codec cannot encode the event (" + e + "); nothing was written", e);
    }
    if (encoded.length == 0 && !config.allowEmpty()) {
      throw new IllegalArgumentException(
          name
              + ": the event encodes to no bytes; nothing was written. If empty events are"
              + " meaningful, build the queue with allowEmptyEvents()");
    }
    if (encoded.length > config.maxEventBytes()) {
      throw new IllegalArgumentException(
          name
              + ": the event encodes to "
              + encoded.length
              + " bytes, more than maxEventBytes ("
              + config.maxEventBytes()
              + "); nothing was written");
    }
    return encoded;
  }

  /**
   * Waits until every event accepted so far has been delivered (or dead-lettered), or the timeout
   * passes: for a service that wants to stop only once its backlog is out, and for tests.
   *
   * @param timeout the longest to wait
   * @return whether the queue was drained within the timeout
   * @throws InterruptedException if the waiting thread is interrupted
   */
  public boolean awaitDrained(Duration timeout) throws InterruptedException {
    Objects.requireNonNull(timeout, "timeout");
    return lane.awaitDrained(timeout);
  }

  // ---- reading back ----

  /**
   * {@return the events in the dead-letter journal, oldest first; read from disk at each call}
   *
   * @throws UncheckedIOException if the dead-letter journal cannot be read
   */
  public List<DeadLetter<E>> deadLetters() {
    try {
      return deadLetters.read(config.codec());
    } catch (IOException e) {
      throw new UncheckedIOException(name + ": cannot read the dead-letter journal", e);
    }
  }

  /**
   * The queue's health, for {@link dev.outlast.core.health.Health}: the sink's state as its guard
   * sees it, the backlog, and its figures as details. The queue takes events while its sink is out,
   * so the sink's breaker open or half-open is DEGRADED, not DOWN; so are events held because the
   * sink failed (spill-on-failure), a write-ahead backlog whose oldest event waits longer than 5
   * seconds, ranges lost to damage, counter files rebuilt at open, and a segment that cannot be
   * read now. DOWN: the last event found no room, or the delivery lane cannot work (its steps fail,
   * or it stopped; a stopped lane is a failure inside the process, for liveness).
   *
   * @param importance how much the service needs this queue's sink, reported with its state
   * @return a check that computes the health afresh each time it is called
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
      List<String> repairs = journal.repairs();
      if (!repairs.isEmpty()) {
        why.append("; repaired at open: ").append(String.join("; ", repairs));
      }
      String waiting = journal.waitingOn();
      if (waiting != null) {
        why.append("; ").append(waiting);
      }
      Map<String, Object> figures = new LinkedHashMap<>();
      figures.put("spilling", m.spilling());
      figures.put("backlogEvents", m.backlogEvents());
      figures.put("backlogBytes", m.backlogBytes());
      figures.put("oldestAgeMillis", m.oldestEventAge().toMillis());
      figures.put("published", m.published());
      figures.put("delivered", m.delivered());
      figures.put("deadLetters", m.deadLetters());
      figures.put("lostRanges", m.lost().size());
      figures.put("bytesLeft", m.bytesLeft());
      String trouble = lane.trouble();
      boolean open = !closed.get();
      HealthStatus own;
      if (trouble != null && open) {
        // Nothing is delivered while the lane cannot work; if its thread died, only a restart of
        // the process helps, which is what liveness is for.
        why.insert(0, trouble + "; ");
        return Health.component(
            name,
            "queue",
            config.guard(),
            importance,
            HealthStatus.DOWN,
            lane.died(),
            DeliveryLane.clean(why.toString()),
            figures);
      } else if (open && writer.full()) {
        why.append("; full: the last event found no room and was not accepted");
        own = HealthStatus.DOWN;
      } else if (behind(m) || !m.lost().isEmpty() || !repairs.isEmpty() || waiting != null) {
        own = HealthStatus.DEGRADED;
      } else {
        own = HealthStatus.UP;
      }
      return Health.component(
          name, "queue", config.guard(), importance, own, false, why.toString(), figures);
    };
  }

  /**
   * Whether events wait because the sink fails or lags: in spill-on-failure mode any backlog
   * (events are journaled only when the sink failed); in write-ahead mode, where every event passes
   * through the journal, only a backlog whose oldest event has waited longer than a healthy lane
   * takes.
   */
  private boolean behind(SpillQueueMetrics m) {
    if (config.mode() == Mode.SPILL_ON_FAILURE) {
      return m.backlogEvents() > 0;
    }
    return m.backlogEvents() > 0 && m.oldestEventAge().compareTo(WRITE_AHEAD_LAG) > 0;
  }

  /** The guard of the queue's sink, for callers that reach the same dependency another way. */
  Guard guard() {
    return config.guard();
  }

  /** Whether journaled events wait for delivery: cheap, one counter read. */
  boolean holdsBacklog() {
    return journal.backlogRecords() > 0;
  }

  /**
   * {@return the queue's figures now}
   *
   * <p>Cheap enough to poll: counters, the journal's sizes, and rates measured from a sample 1 to 2
   * seconds old, however often it is called.
   */
  public SpillQueueMetrics metrics() {
    long d;
    double seconds;
    double appendRate;
    double deliverRate;
    synchronized (this) {
      // Read under the lock, so that a caller delayed on it cannot pair an old time with a newer
      // sample.
      long now = System.nanoTime();
      long j = counters.journaled.get();
      d = counters.delivered.sum();
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
    long oldest = counters.oldestUndelivered;
    long backlog = journal.backlogRecords();
    return new SpillQueueMetrics(
        name,
        // The write-ahead lane always reads from the journal; what the figure says is whether
        // anything waits there, as the record documents.
        config.mode() == Mode.WRITE_AHEAD ? backlog > 0 : lane.spilling(),
        backlog,
        journal.usedBytes(),
        oldest == 0 || backlog == 0
            ? Duration.ZERO
            : Duration.ofMillis(Math.max(0, config.clock().millis() - oldest)),
        appendRate,
        deliverRate,
        counters.published.sum(),
        d,
        deadLetters.count(),
        config.guard().state(),
        lost,
        journal.bytesLeft());
  }

  /**
   * Stops delivering and releases the journal. Events not yet delivered stay on disk for the next
   * open. Idempotent; safe to call while other threads publish.
   *
   * <p>No publisher is left waiting: one whose event is already safe returns normally; one whose
   * event the lane still held has it journaled, or gets {@code IllegalStateException}; one waiting
   * for room gets {@code IllegalStateException}; later calls get {@code IllegalStateException}.
   * Takes at most the sink's call timeout plus a few seconds (a sink call in flight is let finish).
   */
  @Override
  public void close() {
    if (!closed.compareAndSet(false, true)) {
      return;
    }
    writer.beginClose();
    lane.stop();
    // After the lane: its last calls reach the observers.
    notifier.close();
    writer.close();
    try {
      deadLetters.close();
    } catch (IOException e) {
      log.warn("{}: closing the dead-letter journal: {}", name, e.toString());
    }
  }

  @Override
  public String toString() {
    return "SpillQueue["
        + name
        + ", "
        + config.mode()
        + ", "
        + journal.backlogRecords()
        + " to deliver]";
  }

  private void onLost(long from, long to, String reason, @Nullable Path quarantined) {
    LostRange range = new LostRange(from, to, reason, quarantined, config.clock().instant());
    lost.add(range);
    log.error(
        "{}: journal records {}..{} lost: {}{}",
        name,
        from,
        to < 0 ? "?" : Long.toString(to),
        reason,
        quarantined == null ? "" : "; files moved to " + quarantined);
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
    private List<SecretKey> retiredKeys = List.of();
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
     *
     * @param dir the queue's own directory; the journal, the dead letters, the producer id and
     *     quarantined files go in it
     * @return this builder
     */
    public Builder<E> directory(Path dir) {
      this.directory = Objects.requireNonNull(dir, "dir");
      return this;
    }

    /**
     * How events become bytes on disk and back. Required.
     *
     * @param codec encodes on the publishing thread and decodes on the delivery lane; an event it
     *     cannot encode is refused, one it can no longer decode goes to the dead-letter journal
     * @return this builder
     */
    public Builder<E> codec(Codec<E> codec) {
      this.codec = Objects.requireNonNull(codec, "codec");
      return this;
    }

    /**
     * Where events are delivered. Required.
     *
     * @param sink called from the queue's delivery lane only (see {@link Sink})
     * @return this builder
     */
    public Builder<E> sink(Sink<E> sink) {
      this.sink = Objects.requireNonNull(sink, "sink");
      return this;
    }

    /**
     * The sink's guard: its breaker decides when the drainer waits. Required.
     *
     * @param guard the guard of the sink's dependency; its call timeout is the time limit of each
     *     sink call
     * @return this builder
     */
    public Builder<E> guard(Guard guard) {
      this.guard = Objects.requireNonNull(guard, "guard");
      return this;
    }

    /**
     * Write-ahead (default) or spill-on-failure.
     *
     * @param mode when events go through the journal
     * @return this builder
     */
    public Builder<E> mode(Mode mode) {
      this.mode = Objects.requireNonNull(mode, "mode");
      return this;
    }

    /**
     * Process crash (default) or power loss.
     *
     * @param durability what an accepted event survives
     * @return this builder
     */
    public Builder<E> durability(Durability durability) {
      this.durability = Objects.requireNonNull(durability, "durability");
      return this;
    }

    /**
     * What publish does when the journal is full; default: block up to 5 s.
     *
     * @param policy fail at once, or wait for room up to a timeout
     * @return this builder
     */
    public Builder<E> whenFull(FullPolicy policy) {
      this.fullPolicy = Objects.requireNonNull(policy, "policy");
      return this;
    }

    /**
     * The most the journal may take on disk; default 1 GiB. The dead-letter journal is not counted.
     * In spill-on-failure mode, the events of a failed direct delivery (at most one batch per
     * outage) are journaled past it: the sink has seen their numbers and must see them again.
     *
     * @param bytes at least 4 MiB, and at least {@link #segmentBytes} (checked at {@link #build})
     * @return this builder
     * @throws IllegalArgumentException if it is below 4 MiB
     */
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
     *
     * @param bytes free space to leave, in bytes
     * @return this builder
     * @throws IllegalArgumentException if it is negative
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
     * #segmentBytes} if that is less. Larger events are refused by {@code publish}.
     *
     * @param bytes the largest encoded size, in bytes; must leave room in a segment (checked at
     *     {@link #build})
     * @return this builder
     * @throws IllegalArgumentException if it is not in [1, 16 MiB]
     */
    public Builder<E> maxEventBytes(int bytes) {
      if (bytes < 1 || bytes > (16 << 20)) {
        throw new IllegalArgumentException("maxEventBytes must be in [1, 16 MiB], was " + bytes);
      }
      this.maxEventBytes = bytes;
      return this;
    }

    /**
     * Accept events that encode to no bytes (refused by default, as usually a bug).
     *
     * @return this builder
     */
    public Builder<E> allowEmptyEvents() {
      this.allowEmpty = true;
      return this;
    }

    /**
     * The most events per call into the sink; default 500.
     *
     * @param events in [1, 100,000]
     * @return this builder
     * @throws IllegalArgumentException if it is out of range
     */
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
     *
     * @param eventsPerSecond finite and not negative; 0 for no limit
     * @return this builder
     * @throws IllegalArgumentException if it is negative, infinite or NaN
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
     *
     * @param initial the wait after the first failure; positive
     * @param maximum the longest wait; at least {@code initial}
     * @return this builder
     * @throws IllegalArgumentException unless {@code 0 < initial <= maximum}
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
     *
     * @param bytes in [1 MiB, 1 GiB], and at most {@link #maxDiskBytes} (checked at {@link #build})
     * @return this builder
     * @throws IllegalArgumentException if it is out of range
     */
    public Builder<E> segmentBytes(long bytes) {
      if (bytes < (1L << 20) || bytes > (1L << 30)) {
        throw new IllegalArgumentException("segmentBytes must be in [1 MiB, 1 GiB], was " + bytes);
      }
      this.segmentBytes = bytes;
      this.blockSize = Math.min(4L << 20, Math.max(256L << 10, Long.highestOneBit(bytes / 4)));
      return this;
    }

    /**
     * The producer id every event's {@link EventId} carries; by default one is made at random and
     * kept in the directory's {@code producer.id} file (which a given id neither reads nor
     * replaces).
     *
     * <p>Give each directory its own id, and keep it: sequence numbers are counted per directory,
     * so two queues with one id issue the same event ids (a sink that deduplicates drops one of
     * each pair); events already journaled are delivered under the current id; and an encrypted
     * queue's keys are derived from it, so a changed id cannot open what was sealed before.
     *
     * @param id 1-64 letters, digits, '.', '_' or '-'
     * @return this builder
     * @throws IllegalArgumentException if the id is not of that form
     */
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
     * Seals every event the queue writes to disk (journal and dead letters) with AES-GCM, under
     * keys of this queue's own derived from {@code key}: a key the application supplies (16, 24 or
     * 32 bytes, from a secret store, the same for every pod).
     *
     * <p>To rotate a key while a backlog waits on disk, pass the new key and the old one as
     * retired: new events are sealed with the new key, and what the old one sealed is still opened.
     * Drop the retired key once {@code metrics().backlogEvents()} and the dead letters no longer
     * need it; {@code build()} fails (and changes nothing) if the journal holds records that none
     * of the keys opens.
     *
     * @param key the key that seals
     * @param retired keys that only open what is already on disk
     * @return this builder
     * @throws IllegalArgumentException if a key is not an exportable AES key of 16, 24 or 32 bytes
     */
    public Builder<E> encryption(SecretKey key, SecretKey... retired) {
      Keyring.check(key, "encryption key");
      for (SecretKey r : retired) {
        Keyring.check(r, "retired key");
      }
      this.key = key;
      this.retiredKeys = List.of(retired);
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

    /**
     * The wall clock of publish times, dead-letter times and event ages; default the system's UTC
     * clock. For tests.
     *
     * @param clock the wall clock
     * @return this builder
     */
    public Builder<E> clock(Clock clock) {
      this.clock = Objects.requireNonNull(clock, "clock");
      return this;
    }

    /**
     * Opens the journal (creating it if missing) and starts delivering what it holds.
     *
     * @return the queue, open; close it to stop its threads and release its files
     * @throws IllegalStateException if a required setting is missing, or the JVM lacks the flags
     *     Chronicle Queue needs (the message lists them)
     * @throws IllegalArgumentException if settings contradict each other
     * @throws IllegalStateException also if the journal holds records the configured keys do not
     *     open (a wrong or missing key): nothing on disk is changed
     * @throws UncheckedIOException if the directory cannot be used or another process holds it
     */
    public SpillQueue<E> build() {
      Path dir = requireSet(directory, "directory");
      Codec<E> c = requireSet(codec, "codec");
      Sink<E> s = requireSet(sink, "sink");
      Guard g = requireSet(guard, "guard");
      int eventBytes =
          maxEventBytes != 0 ? maxEventBytes : (int) Math.min(1 << 20, segmentBytes / 4);
      if (eventBytes + RecordFormat.OVERHEAD + 64L > segmentBytes) {
        throw new IllegalArgumentException(
            "maxEventBytes ("
                + eventBytes
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
      long largestRecord = eventBytes + RecordFormat.OVERHEAD + 64L;
      long block = blockSize;
      while (block / 4 < largestRecord) {
        block *= 2;
      }
      JvmFlags.check();
      SpillQueueConfig<E> config =
          new SpillQueueConfig<>(
              name,
              dir,
              c,
              s,
              g,
              mode,
              durability,
              fullPolicy,
              maxDiskBytes,
              minFreeDiskBytes,
              eventBytes,
              allowEmpty,
              batchSize,
              drainRate,
              retryBackoff,
              maxRetryBackoff,
              rollCycle,
              fallocate,
              block,
              segmentBytes,
              producerId,
              key,
              retiredKeys,
              clock);
      try {
        return new SpillQueue<>(config);
      } catch (KeyCheck.WrongKeyException e) {
        throw new IllegalStateException("spill queue " + name + ": " + e.getMessage(), e);
      } catch (IOException e) {
        throw new UncheckedIOException(
            "spill queue " + name + ": cannot open " + dir + ": " + e.getMessage(), e);
      }
    }

    private <T> T requireSet(@Nullable T value, String what) {
      if (value == null) {
        throw new IllegalStateException("spill queue '" + name + "' needs " + what + "(...)");
      }
      return value;
    }
  }
}
