package dev.outlast.core;

import io.github.resilience4j.bulkhead.Bulkhead;
import io.github.resilience4j.bulkhead.BulkheadConfig;
import io.github.resilience4j.circuitbreaker.CircuitBreaker;
import io.github.resilience4j.circuitbreaker.CircuitBreakerConfig;
import io.github.resilience4j.circuitbreaker.CircuitBreakerConfig.SlidingWindowType;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.LongAdder;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The policy that stands between a service and one dependency ("mysql", "pulsar", "event-store"): a
 * Resilience4j circuit breaker, a bulkhead, retries with backoff and jitter, and a call timeout
 * that drivers are told to honour.
 *
 * <p>While the breaker is open no call reaches the dependency: {@link #call} throws {@link
 * DependencyUnavailableException} at once, so callers serve their fallback instead of waiting for a
 * timeout. After {@link GuardConfig#openWait()} (doubling, with jitter, while probes keep failing)
 * the breaker lets {@link GuardConfig#probes()} calls through; if they succeed it closes.
 *
 * <p>Only failures the {@link GuardConfig#classifier() classifier} calls infrastructure failures
 * count against the dependency and are retried. Other failures (a constraint violation, a bad
 * request) prove the dependency answered; they count as successful calls and are thrown at once.
 *
 * <p>Code that runs calls on threads of its own (a cache's loader pool, a queue's drainer) takes a
 * {@link Permit} with {@link #tryEnter()} and reports the outcome on it.
 *
 * <p>This class is threadsafe.
 */
public final class Guard {
  private static final Logger log = LoggerFactory.getLogger(Guard.class);

  /** The breaker's state, as callers experience it. */
  public enum State {
    /** Calls go through. */
    CLOSED,
    /** A few probe calls go through; the rest are rejected. */
    HALF_OPEN,
    /** Calls are rejected at once. */
    OPEN
  }

  /** Told when the breaker changes state; must not block. */
  @FunctionalInterface
  public interface Listener {
    /**
     * The breaker moved from one state to another.
     *
     * @param guard the guard whose breaker moved
     * @param from the state before
     * @param to the state now
     */
    void onStateChange(Guard guard, State from, State to);
  }

  private final String dependency;
  private final GuardConfig config;
  private final CircuitBreaker breaker;
  private final @Nullable Bulkhead bulkhead;
  private final List<Listener> listeners = new CopyOnWriteArrayList<>();
  private final LongAdder rejected = new LongAdder();
  private final LongAdder retries = new LongAdder();
  private volatile @Nullable String lastFailure;
  private volatile @Nullable Instant lastFailureAt;
  private volatile Instant stateSince;

  private Guard(String dependency, GuardConfig config) {
    this.dependency = dependency;
    this.config = config;
    float threshold = config.failureRateThreshold();
    CircuitBreakerConfig breakerConfig =
        CircuitBreakerConfig.custom()
            .slidingWindow(
                config.slidingWindowSize(),
                config.minimumNumberOfCalls(),
                SlidingWindowType.COUNT_BASED)
            .failureRateThreshold(threshold)
            // A call as slow as the timeout is as bad as a failed one: a frozen server looks so.
            .slowCallDurationThreshold(config.callTimeout())
            .slowCallRateThreshold(threshold)
            .permittedNumberOfCallsInHalfOpenState(config.probes())
            .waitIntervalFunctionInOpenState(
                attempt -> backoffMillis(config.openWait(), config.maxOpenWait(), attempt))
            .automaticTransitionFromOpenToHalfOpenEnabled(false)
            // Half-open lasts until the probes have reported. A time limit on it would send an
            // idle dependency back to open after one good probe (a queue that drained its backlog
            // in one call), refusing the next calls for another open wait. Every probe reports:
            // call() in all cases, a Permit by contract; one stuck for good in a driver leaves the
            // breaker refusing all but the probes, as an open one would.
            // Rejections are the hot path while a dependency is down: no stack traces.
            .writableStackTraceEnabled(false)
            .clock(config.clock())
            .build();
    this.breaker = CircuitBreaker.of(dependency, breakerConfig);
    this.bulkhead =
        config.maxConcurrentCalls() == 0
            ? null
            : Bulkhead.of(
                dependency,
                BulkheadConfig.custom()
                    .maxConcurrentCalls(config.maxConcurrentCalls())
                    .maxWaitDuration(Duration.ZERO)
                    .writableStackTraceEnabled(false)
                    .build());
    this.stateSince = config.clock().instant();
    breaker.getEventPublisher().onStateTransition(e -> stateChanged(e.getStateTransition()));
  }

  /**
   * Creates a guard for one dependency.
   *
   * @param dependency a short name that appears in logs, exceptions and health: "mysql"
   * @param config the policy
   * @throws IllegalArgumentException if the name is blank
   */
  public static Guard of(String dependency, GuardConfig config) {
    Objects.requireNonNull(dependency, "dependency");
    Objects.requireNonNull(config, "config");
    if (dependency.isBlank()) {
      throw new IllegalArgumentException("a guard needs a dependency name, such as \"mysql\"");
    }
    return new Guard(dependency, config);
  }

  /** Creates a guard with the {@link GuardConfig#database()} policy. */
  public static Guard ofDefaults(String dependency) {
    return of(dependency, GuardConfig.database());
  }

  /** The dependency's name. */
  public String dependency() {
    return dependency;
  }

  /** The policy. */
  public GuardConfig config() {
    return config;
  }

  /**
   * Runs a call to the dependency under the policy: rejected at once while the breaker is open or
   * the bulkhead full; retried after infrastructure failures, with backoff and jitter, up to {@link
   * GuardConfig#maxAttempts()}.
   *
   * @return what the call returned
   * @throws DependencyUnavailableException if no call was made (breaker open, bulkhead full), also
   *     before a retry
   * @throws DependencyCallException if the call threw a checked exception (its cause)
   * @throws RuntimeException what the call threw, unchanged, if unchecked
   */
  public <T> T call(GuardedCall<T> call) {
    Objects.requireNonNull(call, "call");
    for (int attempt = 1; ; attempt++) {
      Permit permit = enter();
      long start = System.nanoTime();
      T result;
      try {
        result = call.call();
      } catch (Throwable t) {
        boolean infrastructure = permit.failure(System.nanoTime() - start, t);
        if (!infrastructure || attempt >= config.maxAttempts() || t instanceof Error) {
          throw rethrow(t, infrastructure);
        }
        retries.increment();
        pause(attempt, t);
        continue;
      }
      permit.success(System.nanoTime() - start);
      return result;
    }
  }

  /**
   * Takes permission for one call that the caller makes itself, e.g. on a thread of its own. The
   * caller must report exactly one outcome on the permit: {@link Permit#success}, {@link
   * Permit#failure}, or {@link Permit#release} if it did not make the call after all.
   *
   * @return the permit, or null if the call must not be made now (breaker open, bulkhead full)
   */
  public @Nullable Permit tryEnter() {
    Bulkhead b = bulkhead;
    if (b != null && !b.tryAcquirePermission()) {
      rejected.increment();
      return null;
    }
    if (!breaker.tryAcquirePermission()) {
      if (b != null) {
        b.releasePermission();
      }
      rejected.increment();
      return null;
    }
    return new Permit();
  }

  /** As {@link #tryEnter()}, but throws the reason instead of returning null. */
  private Permit enter() {
    Permit permit = tryEnter();
    if (permit == null) {
      throw unavailable();
    }
    return permit;
  }

  /** The exception for a call that was not made, with the current reason. */
  public DependencyUnavailableException unavailable() {
    State s = state();
    if (s != State.CLOSED || bulkhead == null) {
      // Captured now, formatted only if the message is read.
      Instant since = stateSince;
      String last = lastFailure;
      int probes = config.probes();
      return new DependencyUnavailableException(
          dependency,
          DependencyUnavailableException.Reason.BREAKER_OPEN,
          () ->
              s == State.HALF_OPEN
                  ? "half-open, all " + probes + " probes in flight"
                  : "open since " + since + (last == null ? "" : ", last failure: " + last));
    }
    int limit = config.maxConcurrentCalls();
    return new DependencyUnavailableException(
        dependency,
        DependencyUnavailableException.Reason.BULKHEAD_FULL,
        () -> Integer.toString(limit));
  }

  /**
   * Whether a failure means the dependency is out, as opposed to an error of the call itself: this
   * guard (or another) refused the call, or it failed with what the classifier counts as an
   * infrastructure failure, anywhere in the cause chain. A {@link DependencyCallException} is not
   * an outage by itself: the guard wraps every checked exception in one, errors of the call
   * included.
   */
  public boolean isOutage(Throwable failure) {
    return failure instanceof DependencyUnavailableException || isInfrastructureFailure(failure);
  }

  /** Whether the configured classifier counts this failure against the dependency. */
  public boolean isInfrastructureFailure(Throwable failure) {
    return config.classifier().isInfrastructureFailure(failure);
  }

  /** The breaker's state now. */
  public State state() {
    return map(breaker.getState());
  }

  /** Registers a listener for breaker state changes. */
  public void addListener(Listener listener) {
    listeners.add(Objects.requireNonNull(listener, "listener"));
  }

  /** An immutable picture of the guard now, for health reports and metrics. */
  public Snapshot snapshot() {
    CircuitBreaker.Metrics m = breaker.getMetrics();
    return new Snapshot(
        dependency,
        state(),
        stateSince,
        m.getFailureRate(),
        m.getSlowCallRate(),
        m.getNumberOfBufferedCalls(),
        m.getNumberOfFailedCalls(),
        rejected.sum(),
        retries.sum(),
        lastFailure,
        lastFailureAt);
  }

  @Override
  public String toString() {
    return "Guard[" + dependency + ", " + state() + "]";
  }

  /**
   * What a guard looks like at one moment.
   *
   * @param dependency the dependency's name
   * @param state the breaker's state
   * @param stateSince when the breaker entered that state
   * @param failureRate the failure percentage of the sliding window, or -1 while it holds fewer
   *     calls than the minimum
   * @param slowCallRate the slow-call percentage, likewise
   * @param bufferedCalls how many calls the window holds
   * @param failedCalls how many of them failed
   * @param rejectedCalls calls rejected without being made, since the guard was created
   * @param retries retries made, since the guard was created
   * @param lastFailure the last infrastructure failure, or null if none
   * @param lastFailureAt when it happened, or null
   */
  public record Snapshot(
      String dependency,
      State state,
      Instant stateSince,
      float failureRate,
      float slowCallRate,
      int bufferedCalls,
      int failedCalls,
      long rejectedCalls,
      long retries,
      @Nullable String lastFailure,
      @Nullable Instant lastFailureAt) {}

  /**
   * Permission for one call. Report exactly one outcome; later reports are ignored. Not meant to be
   * shared between threads.
   */
  public final class Permit {
    private final AtomicBoolean done = new AtomicBoolean();

    private Permit() {}

    /**
     * The call succeeded.
     *
     * @param elapsedNanos how long it took; a call slower than the timeout counts as slow
     */
    public void success(long elapsedNanos) {
      if (done.compareAndSet(false, true)) {
        breaker.onSuccess(elapsedNanos, TimeUnit.NANOSECONDS);
        complete();
      }
    }

    /**
     * The call failed. Infrastructure failures count against the dependency; others prove that it
     * answered and count as successful calls.
     *
     * @param elapsedNanos how long it took
     * @param failure what it threw
     * @return whether the failure counted as an infrastructure failure
     */
    public boolean failure(long elapsedNanos, Throwable failure) {
      boolean infrastructure = isInfrastructureFailure(failure);
      if (done.compareAndSet(false, true)) {
        if (infrastructure) {
          lastFailure = failure.toString();
          lastFailureAt = config.clock().instant();
          breaker.onError(elapsedNanos, TimeUnit.NANOSECONDS, failure);
        } else {
          breaker.onSuccess(elapsedNanos, TimeUnit.NANOSECONDS);
        }
        complete();
      }
      return infrastructure;
    }

    /** The call was not made after all; gives the permission back without an outcome. */
    public void release() {
      if (done.compareAndSet(false, true)) {
        breaker.releasePermission();
        complete();
      }
    }

    private void complete() {
      Bulkhead b = bulkhead;
      if (b != null) {
        b.onComplete();
      }
    }
  }

  private RuntimeException rethrow(Throwable t, boolean infrastructure) {
    if (t instanceof Error e) {
      throw e;
    }
    if (t instanceof RuntimeException r) {
      return r;
    }
    return new DependencyCallException(dependency, (Exception) t, infrastructure);
  }

  private void pause(int attempt, Throwable cause) {
    long millis = backoffMillis(config.retryBackoff(), config.maxRetryBackoff(), attempt);
    try {
      config.sleeper().sleep(Duration.ofMillis(millis));
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      RuntimeException failure = rethrow(cause, true);
      failure.addSuppressed(e);
      throw failure;
    }
  }

  /** Exponential backoff: base * 2^(attempt-1), capped, spread by the configured jitter. */
  long backoffMillis(Duration base, Duration max, int attempt) {
    double nominal = base.toMillis() * Math.pow(2, Math.max(0, attempt - 1));
    double capped = Math.min(nominal, (double) max.toMillis());
    double spread = config.jitter();
    double factor = 1 - spread + 2 * spread * ThreadLocalRandom.current().nextDouble();
    return Math.max(1, Math.round(capped * factor));
  }

  private void stateChanged(CircuitBreaker.StateTransition transition) {
    State from = map(transition.getFromState());
    State to = map(transition.getToState());
    if (from == to) {
      return;
    }
    stateSince = config.clock().instant();
    if (to == State.OPEN) {
      CircuitBreaker.Metrics m = breaker.getMetrics();
      log.warn(
          "{} circuit breaker OPEN: {}% of the last {} calls failed, {}% were slow (last failure:"
              + " {}); calls are rejected until probes succeed",
          dependency,
          m.getFailureRate(),
          m.getNumberOfBufferedCalls(),
          m.getSlowCallRate(),
          lastFailure);
    } else {
      log.info("{} circuit breaker {} (was {})", dependency, to, from);
    }
    for (Listener l : listeners) {
      try {
        l.onStateChange(this, from, to);
      } catch (RuntimeException e) {
        log.warn("guard listener {} failed on {} -> {}", l, from, to, e);
      }
    }
  }

  private static State map(CircuitBreaker.State s) {
    return switch (s) {
      case OPEN, FORCED_OPEN -> State.OPEN;
      case HALF_OPEN -> State.HALF_OPEN;
      case CLOSED, DISABLED, METRICS_ONLY -> State.CLOSED;
    };
  }
}
