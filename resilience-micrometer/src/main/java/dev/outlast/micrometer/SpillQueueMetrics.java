package dev.outlast.micrometer;

import dev.outlast.buffer.DeliveryObserver;
import dev.outlast.buffer.SpillQueue;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tag;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.TimeGauge;
import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.binder.BaseUnits;
import io.micrometer.core.instrument.binder.MeterBinder;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.jspecify.annotations.Nullable;

/**
 * The meters of one {@link SpillQueue} and its sink: the backlog (events, bytes, age of the
 * oldest), what was published, delivered, dead-lettered and lost, the room left, whether the queue
 * spills, how long events wait for the sink's acknowledgement, and how long the sink's calls take.
 * Every meter carries the tags {@code name} = the queue's name and {@code sink} = the sink's {@link
 * dev.outlast.buffer.spi.Sink#name() name}, and the extra tags given. (The sink's guard has meters
 * of its own: bind a {@link GuardMetrics} for it.)
 *
 * <pre>{@code
 * SpillQueueMetrics metrics = new SpillQueueMetrics(events);
 * metrics.bindTo(registry);
 * ...
 * metrics.close(); // before or after the queue: stops observing it, removes its meters
 * }</pre>
 *
 * <table>
 *   <caption>Meters</caption>
 *   <tr><th>name</th><th>type</th><th>tags</th><th>meaning</th></tr>
 *   <tr><td>outlast.queue.backlog.events</td><td>gauge</td><td></td><td>journaled events not yet
 *       delivered</td></tr>
 *   <tr><td>outlast.queue.backlog.bytes</td><td>gauge (bytes)</td><td></td><td>bytes the
 *       journal takes on disk</td></tr>
 *   <tr><td>outlast.queue.backlog.oldest.age</td><td>time gauge</td><td></td><td>age of the
 *       oldest event not yet delivered; 0 if none</td></tr>
 *   <tr><td>outlast.queue.published</td><td>counter</td><td></td><td>events accepted since the
 *       queue opened</td></tr>
 *   <tr><td>outlast.queue.delivered</td><td>counter</td><td></td><td>events the sink
 *       acknowledged since the queue opened</td></tr>
 *   <tr><td>outlast.queue.dead.letters</td><td>gauge</td><td></td><td>events in the dead-letter
 *       journal</td></tr>
 *   <tr><td>outlast.queue.lost.ranges</td><td>counter</td><td></td><td>ranges of journal records
 *       lost to damage or deletion since the queue opened</td></tr>
 *   <tr><td>outlast.queue.space.left</td><td>gauge (bytes)</td><td></td><td>bytes that may still
 *       be journaled before the bound or the disk reserve is reached</td></tr>
 *   <tr><td>outlast.queue.spilling</td><td>gauge</td><td></td><td>1 while events go to the
 *       journal because the sink failed (or, write-ahead, while a backlog waits), else 0</td></tr>
 *   <tr><td>outlast.queue.delivery.latency</td><td>timer</td><td></td><td>per sink call that
 *       delivered something: from the publish of the oldest event it delivered to the sink's
 *       answer</td></tr>
 *   <tr><td>outlast.sink.calls</td><td>timer</td><td>outcome = delivered, rejected, retry,
 *       failed</td><td>each call into the sink and how long it took: every event delivered; some
 *       rejected into the dead letters (none to retry); some to send again; the call itself failed
 *       (threw, timed out)</td></tr>
 * </table>
 *
 * <p>The gauges and counters read {@link SpillQueue#metrics()} when scraped (a reading is reused
 * for 100 ms, so that one scrape takes one); they hold the queue weakly, as Micrometer's meters do,
 * and keep the last figures once it is closed. The two timers are fed by a {@link DeliveryObserver}
 * that this binder registers with its first {@link #bindTo}; the observer runs off the delivery
 * lane, so the cost on the lane is one small record per sink call. {@link #close()} unregisters it
 * and removes this binder's meters from the registries it was bound to.
 *
 * <p>Threadsafe; may be bound to several registries.
 */
public final class SpillQueueMetrics implements MeterBinder, AutoCloseable {
  private static final List<String> OUTCOMES = List.of("delivered", "rejected", "retry", "failed");

  private final SpillQueue<?> queue;
  private final Tags tags;
  private final Recent<SpillQueue<?>, dev.outlast.buffer.SpillQueueMetrics> figures;
  private final List<Bound> bound = new CopyOnWriteArrayList<>();
  private DeliveryObserver.@Nullable Registration registration; // guarded by this
  private boolean closed; // guarded by this

  /** The meters one registry got; the timers are fed by the observer. */
  private record Bound(
      MeterRegistry registry, List<Meter> meters, Timer latency, List<Timer> calls) {}

  /**
   * The meters of a queue and its sink.
   *
   * @param queue the queue to measure; its name and its sink's name are the {@code name} and {@code
   *     sink} tags
   * @throws NullPointerException if the queue is null
   */
  public SpillQueueMetrics(SpillQueue<?> queue) {
    this(queue, Tags.empty());
  }

  /**
   * The meters of a queue and its sink, with extra tags on each; {@code name} and {@code sink} tags
   * among them are replaced by the queue's name and its sink's name.
   *
   * @param queue the queue to measure; its name and its sink's name are the {@code name} and {@code
   *     sink} tags
   * @param extraTags tags added to every meter; may be empty
   * @throws NullPointerException if an argument is null
   */
  public SpillQueueMetrics(SpillQueue<?> queue, Iterable<Tag> extraTags) {
    this(queue, extraTags, Recent.DEFAULT_REUSE);
  }

  SpillQueueMetrics(SpillQueue<?> queue, Iterable<Tag> extraTags, Duration reuse) {
    this.queue = Objects.requireNonNull(queue, "queue");
    this.tags =
        Tags.of(Objects.requireNonNull(extraTags, "extraTags"))
            .and("name", queue.name())
            .and("sink", queue.sinkName());
    this.figures = new Recent<>(SpillQueue::metrics, reuse, "spill queue " + queue.name());
  }

  /**
   * Registers the queue's meters.
   *
   * @throws IllegalStateException if this binder is closed
   */
  @Override
  public void bindTo(MeterRegistry registry) {
    Objects.requireNonNull(registry, "registry");
    synchronized (this) {
      if (closed) {
        throw new IllegalStateException(this + " is closed");
      }
      for (Bound b : bound) {
        if (b.registry() == registry) {
          return; // the same meters again: the observer would count each call twice
        }
      }
      bound.add(register(registry));
      if (registration == null) {
        List<Bound> feeds = bound;
        registration = queue.observeDeliveries(call -> record(feeds, call));
      }
    }
  }

  private Bound register(MeterRegistry registry) {
    // A local, so that no meter's function holds this binder (and through it the queue).
    Recent<SpillQueue<?>, dev.outlast.buffer.SpillQueueMetrics> f = figures;
    List<Meter> meters = new ArrayList<>();
    meters.add(
        Gauge.builder(
                "outlast.queue.backlog.events", queue, q -> f.figure(q, m -> m.backlogEvents()))
            .description("Journaled events not yet delivered")
            .tags(tags)
            .register(registry));
    meters.add(
        Gauge.builder("outlast.queue.backlog.bytes", queue, q -> f.figure(q, m -> m.backlogBytes()))
            .description("Bytes the journal takes on disk")
            .baseUnit(BaseUnits.BYTES)
            .tags(tags)
            .register(registry));
    meters.add(
        TimeGauge.builder(
                "outlast.queue.backlog.oldest.age",
                queue,
                TimeUnit.MILLISECONDS,
                q -> f.figure(q, m -> m.oldestEventAge().toMillis()))
            .description("The age of the oldest event not yet delivered; 0 if none")
            .tags(tags)
            .register(registry));
    meters.add(
        FunctionCounter.builder(
                "outlast.queue.published", queue, q -> f.figure(q, m -> m.published()))
            .description("Events accepted since the queue was opened")
            .tags(tags)
            .register(registry));
    meters.add(
        FunctionCounter.builder(
                "outlast.queue.delivered", queue, q -> f.figure(q, m -> m.delivered()))
            .description("Events the sink acknowledged since the queue was opened")
            .tags(tags)
            .register(registry));
    meters.add(
        Gauge.builder("outlast.queue.dead.letters", queue, q -> f.figure(q, m -> m.deadLetters()))
            .description("Events in the dead-letter journal")
            .tags(tags)
            .register(registry));
    meters.add(
        FunctionCounter.builder(
                "outlast.queue.lost.ranges", queue, q -> f.figure(q, m -> m.lost().size()))
            .description(
                "Ranges of journal records lost to damage or deletion since the queue was opened")
            .tags(tags)
            .register(registry));
    meters.add(
        Gauge.builder("outlast.queue.space.left", queue, q -> f.figure(q, m -> m.bytesLeft()))
            .description(
                "Bytes that may still be journaled before the bound or the disk reserve is reached")
            .baseUnit(BaseUnits.BYTES)
            .tags(tags)
            .register(registry));
    meters.add(
        Gauge.builder("outlast.queue.spilling", queue, q -> f.figure(q, m -> m.spilling() ? 1 : 0))
            .description("1 while events are journaled instead of delivered directly, else 0")
            .tags(tags)
            .register(registry));
    Timer latency =
        Timer.builder("outlast.queue.delivery.latency")
            .description(
                "Per sink call that delivered events: from the publish of the oldest of them to the"
                    + " sink's acknowledgement")
            .tags(tags)
            .register(registry);
    meters.add(latency);
    List<Timer> calls = new ArrayList<>(OUTCOMES.size());
    for (String outcome : OUTCOMES) {
      Timer t =
          Timer.builder("outlast.sink.calls")
              .description("Calls into the sink, by what came of them, and how long they took")
              .tags(tags)
              .tag("outcome", outcome)
              .register(registry);
      calls.add(t);
      meters.add(t);
    }
    return new Bound(registry, List.copyOf(meters), latency, List.copyOf(calls));
  }

  /** Runs on the queue's observer thread. */
  private static void record(List<Bound> feeds, DeliveryObserver.SinkCall call) {
    int outcome;
    if (call.failed()) {
      outcome = 3;
    } else if (call.retried() > 0) {
      outcome = 2;
    } else if (call.rejected() > 0) {
      outcome = 1;
    } else {
      outcome = 0;
    }
    for (Bound b : feeds) {
      b.calls().get(outcome).record(call.durationNanos(), TimeUnit.NANOSECONDS);
      if (call.oldestDeliveredAgeMillis() >= 0) {
        b.latency().record(call.oldestDeliveredAgeMillis(), TimeUnit.MILLISECONDS);
      }
    }
  }

  /**
   * Stops observing the queue's deliveries and removes the meters this binder registered from every
   * registry it was bound to, so that a queue opened again under the same name gets meters of its
   * own. Idempotent; the queue is left open.
   */
  @Override
  public void close() {
    DeliveryObserver.Registration r;
    synchronized (this) {
      if (closed) {
        return;
      }
      closed = true;
      r = registration;
      registration = null;
    }
    if (r != null) {
      r.close();
    }
    for (Bound b : bound) {
      for (Meter m : b.meters()) {
        b.registry().remove(m);
      }
    }
    bound.clear();
  }

  @Override
  public String toString() {
    return "SpillQueueMetrics[" + queue.name() + "]";
  }
}
