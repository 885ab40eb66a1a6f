package dev.outlast.micrometer;

import dev.outlast.core.Guard;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.FunctionTimer;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tag;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.binder.MeterBinder;
import java.time.Duration;
import java.util.Locale;
import java.util.Objects;
import java.util.concurrent.TimeUnit;
import java.util.function.ToDoubleFunction;

/**
 * The meters of one {@link Guard}: its circuit breaker under Resilience4j's names, so that
 * dashboards and alerts made for {@code resilience4j-micrometer} work unchanged, and Outlast's own
 * (timeouts, retries, abandoned calls, plug-in failures). Every meter carries the tag {@code name}
 * = the dependency's name, and the extra tags given.
 *
 * <pre>{@code
 * new GuardMetrics(mysql).bindTo(registry);
 * }</pre>
 *
 * <table>
 *   <caption>Meters</caption>
 *   <tr><th>name</th><th>type</th><th>tags</th><th>meaning</th></tr>
 *   <tr><td>resilience4j.circuitbreaker.state</td><td>gauge</td><td>state = closed, open,
 *       half_open</td><td>1 for the breaker's state, 0 for the others</td></tr>
 *   <tr><td>resilience4j.circuitbreaker.calls</td><td>function timer</td><td>kind = successful,
 *       failed, ignored</td><td>calls made, and their time, by outcome: failed = infrastructure
 *       failures (timeouts included), ignored = failures the classifier does not count against
 *       the dependency</td></tr>
 *   <tr><td>resilience4j.circuitbreaker.not.permitted.calls</td><td>counter</td><td>kind =
 *       not_permitted</td><td>calls refused without being made (breaker open, bulkhead
 *       full)</td></tr>
 *   <tr><td>resilience4j.circuitbreaker.failure.rate</td><td>gauge</td><td></td><td>failure
 *       percentage of the sliding window, -1 until it holds the minimum number of calls</td></tr>
 *   <tr><td>resilience4j.circuitbreaker.slow.call.rate</td><td>gauge</td><td></td><td>slow-call
 *       percentage, likewise</td></tr>
 *   <tr><td>resilience4j.circuitbreaker.buffered.calls</td><td>gauge</td><td>kind = successful,
 *       failed</td><td>calls in the sliding window</td></tr>
 *   <tr><td>outlast.guard.timeouts</td><td>counter</td><td></td><td>calls that ran out of the
 *       call timeout</td></tr>
 *   <tr><td>outlast.guard.retries</td><td>counter</td><td></td><td>retries made</td></tr>
 *   <tr><td>outlast.guard.abandoned.calls</td><td>gauge</td><td></td><td>calls abandoned at their
 *       timeout whose threads the dependency still holds</td></tr>
 *   <tr><td>outlast.guard.plugin.failures</td><td>counter</td><td></td><td>times a classifier,
 *       listener or recovery probe threw</td></tr>
 * </table>
 *
 * <p>The meters read the guard when scraped (a reading is reused for 100 ms, so that one scrape
 * takes one snapshot); nothing is added to the call path beyond the guard's own counters. They hold
 * the guard weakly, as Micrometer's meters do: a registry does not keep a guard alive, and the
 * meters answer for as long as the guard lives, whether or not this binder is kept.
 *
 * <p>Threadsafe; may be bound to several registries.
 */
public final class GuardMetrics implements MeterBinder {
  private final Guard guard;
  private final Tags tags;
  private final Recent<Guard, Guard.Snapshot> snapshots;
  private final Recent<Guard, Guard.Calls> calls;

  /**
   * The meters of a guard.
   *
   * @param guard the guard to measure; its dependency's name is the {@code name} tag
   * @throws NullPointerException if the guard is null
   */
  public GuardMetrics(Guard guard) {
    this(guard, Tags.empty());
  }

  /**
   * The meters of a guard, with extra tags on each (e.g. the application's); a {@code name} tag
   * among them is replaced by the dependency's name.
   *
   * @param guard the guard to measure; its dependency's name is the {@code name} tag
   * @param extraTags tags added to every meter; may be empty
   * @throws NullPointerException if an argument is null
   */
  public GuardMetrics(Guard guard, Iterable<Tag> extraTags) {
    this(guard, extraTags, Recent.DEFAULT_REUSE);
  }

  GuardMetrics(Guard guard, Iterable<Tag> extraTags, Duration reuse) {
    this.guard = Objects.requireNonNull(guard, "guard");
    this.tags =
        Tags.of(Objects.requireNonNull(extraTags, "extraTags")).and("name", guard.dependency());
    String what = "guard " + guard.dependency();
    this.snapshots = new Recent<>(Guard::snapshot, reuse, what);
    this.calls = new Recent<>(Guard::calls, reuse, what);
  }

  @Override
  public void bindTo(MeterRegistry registry) {
    Objects.requireNonNull(registry, "registry");
    // Locals, so that no meter's function holds this binder (and through it the guard).
    Recent<Guard, Guard.Snapshot> snap = snapshots;
    Recent<Guard, Guard.Calls> c = calls;
    for (Guard.State state : Guard.State.values()) {
      Gauge.builder(
              "resilience4j.circuitbreaker.state",
              guard,
              g -> {
                Guard.Snapshot s = snap.get(g);
                return s != null && s.state() == state ? 1 : 0;
              })
          .description("The states of the circuit breaker: 1 for the current one, 0 for the others")
          .tags(tags)
          .tag("state", state.name().toLowerCase(Locale.ROOT))
          .register(registry);
    }
    calls(
        registry,
        c,
        "successful",
        Guard.Calls::successful,
        Guard.Calls::successfulNanos,
        "Calls that succeeded");
    calls(
        registry,
        c,
        "failed",
        Guard.Calls::failed,
        Guard.Calls::failedNanos,
        "Calls that failed with an infrastructure failure, timeouts included");
    calls(
        registry,
        c,
        "ignored",
        Guard.Calls::ignored,
        Guard.Calls::ignoredNanos,
        "Calls that failed with what the classifier does not count against the dependency");
    FunctionCounter.builder(
            "resilience4j.circuitbreaker.not.permitted.calls",
            guard,
            g -> snap.figure(g, Guard.Snapshot::rejectedCalls))
        .description("Calls refused without being made: breaker open or bulkhead full")
        .tags(tags)
        .tag("kind", "not_permitted")
        .register(registry);
    Gauge.builder(
            "resilience4j.circuitbreaker.failure.rate",
            guard,
            g -> snap.figure(g, Guard.Snapshot::failureRate))
        .description(
            "The failure percentage of the sliding window; -1 until it holds the minimum calls")
        .tags(tags)
        .register(registry);
    Gauge.builder(
            "resilience4j.circuitbreaker.slow.call.rate",
            guard,
            g -> snap.figure(g, Guard.Snapshot::slowCallRate))
        .description(
            "The slow-call percentage of the sliding window; -1 until it holds the minimum calls")
        .tags(tags)
        .register(registry);
    Gauge.builder(
            "resilience4j.circuitbreaker.buffered.calls",
            guard,
            g -> snap.figure(g, s -> s.bufferedCalls() - s.failedCalls()))
        .description("The successful calls in the sliding window")
        .tags(tags)
        .tag("kind", "successful")
        .register(registry);
    Gauge.builder(
            "resilience4j.circuitbreaker.buffered.calls",
            guard,
            g -> snap.figure(g, Guard.Snapshot::failedCalls))
        .description("The failed calls in the sliding window")
        .tags(tags)
        .tag("kind", "failed")
        .register(registry);
    FunctionCounter.builder(
            "outlast.guard.timeouts", guard, g -> snap.figure(g, Guard.Snapshot::timeouts))
        .description("Calls that ran out of the guard's call timeout")
        .tags(tags)
        .register(registry);
    FunctionCounter.builder(
            "outlast.guard.retries", guard, g -> snap.figure(g, Guard.Snapshot::retries))
        .description("Retries made after infrastructure failures")
        .tags(tags)
        .register(registry);
    Gauge.builder(
            "outlast.guard.abandoned.calls",
            guard,
            g -> snap.figure(g, Guard.Snapshot::abandonedCalls))
        .description("Calls abandoned at their timeout whose threads the dependency still holds")
        .tags(tags)
        .register(registry);
    FunctionCounter.builder(
            "outlast.guard.plugin.failures",
            guard,
            g -> snap.figure(g, Guard.Snapshot::pluginFailures))
        .description("Times a classifier, listener or recovery probe of the guard threw")
        .tags(tags)
        .register(registry);
  }

  private void calls(
      MeterRegistry registry,
      Recent<Guard, Guard.Calls> c,
      String kind,
      ToDoubleFunction<Guard.Calls> count,
      ToDoubleFunction<Guard.Calls> nanos,
      String description) {
    FunctionTimer.builder(
            "resilience4j.circuitbreaker.calls",
            guard,
            g -> (long) c.figure(g, count),
            g -> c.figure(g, nanos),
            TimeUnit.NANOSECONDS)
        .description(description)
        .tags(tags)
        .tag("kind", kind)
        .register(registry);
  }

  @Override
  public String toString() {
    return "GuardMetrics[" + guard.dependency() + "]";
  }
}
