package dev.outlast.core;

import io.github.resilience4j.bulkhead.Bulkhead;
import io.github.resilience4j.bulkhead.BulkheadConfig;
import io.github.resilience4j.circuitbreaker.CircuitBreaker;
import io.github.resilience4j.circuitbreaker.CircuitBreakerConfig;
import io.github.resilience4j.circuitbreaker.CircuitBreakerConfig.SlidingWindowType;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executor;
import java.util.concurrent.Future;
import java.util.concurrent.FutureTask;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.LongAdder;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The policy that stands between a service and one dependency ("mysql", "pulsar", "event-store"): a
 * Resilience4j circuit breaker, a bulkhead, retries with backoff and jitter, an enforced call
 * timeout, and an optional {@link RecoveryProbe} that watches an open breaker's dependency.
 *
 * <p>{@link #call} runs the call on the guard's executor and waits at most {@link
 * GuardConfig#callTimeout()}, retries included: then the caller gets a {@link
 * DependencyTimeoutException}, the call counts as failed once and is interrupted, whatever the
 * driver does. Thread-bound context (an MDC, a transaction bound to the thread) does not follow the
 * call to the executor's thread; give the guard an executor that carries it, or {@code
 * Runnable::run} to run calls on the caller's thread without an enforced timeout.
 *
 * <p>While the breaker is open no call reaches the dependency: {@link #call} throws {@link
 * DependencyUnavailableException} at once, so callers serve their fallback instead of waiting for a
 * timeout. After {@link GuardConfig#openWait()} (doubling, with jitter, while probes keep failing)
 * the breaker lets {@link GuardConfig#probes()} calls through; if they succeed it closes. With a
 * recovery probe the guard does not wait for that: every {@link GuardConfig#probeInterval()} it
 * checks the dependency on its own and closes the breaker as soon as it answers, with or without
 * traffic.
 *
 * <p>Only failures the {@link GuardConfig#classifier() classifier} calls infrastructure failures
 * count against the dependency and are retried. Other failures (a constraint violation, a bad
 * request) prove the dependency answered; they count as successful calls and are thrown at once. A
 * classifier, listener or probe that throws is contained: the guard falls back to {@link
 * FailureClassifier#infrastructure()}, logs the first failure of each with its stack trace and
 * shows the last in {@link #snapshot()}.
 *
 * <p>Code that runs calls on threads of its own (a cache's loader pool, a queue's drainer) takes a
 * {@link Permit} with {@link #tryEnter()} and reports the outcome on it. A permit that has reported
 * nothing by the call timeout is counted as failed and gives its slot back, so a hung call cannot
 * wedge the bulkhead or a half-open breaker.
 *
 * <p>Waits are measured with the monotonic {@link GuardConfig#ticker()}; the wall clock only dates
 * what people read.
 *
 * <p>This class is threadsafe.
 */
public final class Guard {
  private static final Logger log = LoggerFactory.getLogger(Guard.class);

  private static final long CALLER_SPIN_NANOS = TimeUnit.MICROSECONDS.toNanos(20);
  private static final int MAX_SPINNING =
      Math.max(1, Runtime.getRuntime().availableProcessors() / 2);
  private static final AtomicInteger SPINNING = new AtomicInteger();

  /** How often at most a rejected call looks for overdue permits. */
  private static final long EXPIRY_SCAN_NANOS = TimeUnit.MILLISECONDS.toNanos(10);

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
  private final Ticker ticker;
  private final CircuitBreaker breaker;
  private final @Nullable Bulkhead bulkhead;
  private final Executor executor;
  private final @Nullable Recovery recovery;
  private final List<Listener> listeners = new CopyOnWriteArrayList<>();
  private final Set<Permit> tracked = ConcurrentHashMap.newKeySet();
  private final PluginFailures pluginFailures;
  private final LongAdder rejected = new LongAdder();
  private final LongAdder retries = new LongAdder();
  private final LongAdder timeouts = new LongAdder();
  private final AtomicInteger abandoned = new AtomicInteger();
  // Totals of reported outcomes, for calls(): two striped adds per outcome, no allocation.
  private final LongAdder successfulCalls = new LongAdder();
  private final LongAdder successfulNanos = new LongAdder();
  private final LongAdder failedCalls = new LongAdder();
  private final LongAdder failedNanos = new LongAdder();
  private final LongAdder ignoredCalls = new LongAdder();
  private final LongAdder ignoredNanos = new LongAdder();
  private volatile long lastExpiryScan;
  private volatile @Nullable String lastFailure;
  private volatile @Nullable Instant lastFailureAt;
  private volatile Instant stateSince;

  private Guard(Builder b) {
    GuardConfig config = b.config;
    this.dependency = b.dependency;
    this.config = config;
    this.ticker = config.ticker();
    this.executor = b.executor != null ? b.executor : GuardThreads.calls();
    this.pluginFailures = new PluginFailures(dependency, log);
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
            // in one call), refusing the next calls for another open wait. A probe cannot hang it
            // for good instead: its permit is counted as failed at the call timeout.
            // Rejections are the hot path while a dependency is down: no stack traces.
            .writableStackTraceEnabled(false)
            // The breaker measures its open wait with this clock: monotonic, so that a wall clock
            // set back an hour does not keep it open an hour.
            .clock(monotonic(ticker))
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
    this.recovery =
        b.probe == null
            ? null
            : new Recovery(
                this,
                b.probe,
                executor,
                b.scheduler != null ? b.scheduler : GuardThreads.scheduler(),
                config);
    breaker.getEventPublisher().onStateTransition(e -> stateChanged(e.getStateTransition()));
  }

  /**
   * Creates a guard for one dependency, without a recovery probe, on the shared threads.
   *
   * @param dependency a short name that appears in logs, exceptions and health: "mysql"
   * @param config the policy
   * @return a new guard, its breaker closed
   * @throws IllegalArgumentException if the name is blank
   */
  public static Guard of(String dependency, GuardConfig config) {
    return builder(dependency).config(config).build();
  }

  /**
   * A builder for a guard with a recovery probe or threads of its own.
   *
   * <pre>{@code
   * Guard mysql = Guard.builder("mysql")
   *     .config(GuardConfig.database())
   *     .recoveryProbe(RecoveryProbe.jdbc(pool, Duration.ofSeconds(1)))
   *     .build();
   * }</pre>
   *
   * @param dependency a short name that appears in logs, exceptions and health: "mysql"
   * @return a builder with the {@link GuardConfig#database()} policy, the shared threads and no
   *     recovery probe
   * @throws IllegalArgumentException if the name is blank
   */
  public static Builder builder(String dependency) {
    Objects.requireNonNull(dependency, "dependency");
    if (dependency.isBlank()) {
      throw new IllegalArgumentException("a guard needs a dependency name, such as \"mysql\"");
    }
    return new Builder(dependency);
  }

  /**
   * Creates a guard with the {@link GuardConfig#database()} policy, without a recovery probe, on
   * the shared threads.
   *
   * @param dependency a short name that appears in logs, exceptions and health: "mysql"
   * @return a new guard, its breaker closed
   * @throws IllegalArgumentException if the name is blank
   */
  public static Guard ofDefaults(String dependency) {
    return of(dependency, GuardConfig.database());
  }

  /** {@return the dependency's name, as given to the builder} */
  public String dependency() {
    return dependency;
  }

  /** {@return the policy the guard was built with} */
  public GuardConfig config() {
    return config;
  }

  /**
   * Runs a call to the dependency under the policy: rejected at once while the breaker is open or
   * the bulkhead full; run on the guard's executor and abandoned at the call timeout; retried after
   * infrastructure failures, with backoff and jitter, up to {@link GuardConfig#maxAttempts()} while
   * the call timeout allows.
   *
   * @param <T> what the call returns
   * @param call the call; it runs on the guard's executor, once per attempt, and must not return
   *     null
   * @return what the call returned
   * @throws DependencyUnavailableException if no call was made (breaker open, bulkhead full, the
   *     executor saturated), also before a retry
   * @throws DependencyTimeoutException if the call timeout ran out
   * @throws DependencyCallException if the call threw a checked exception (its cause), or the
   *     caller was interrupted while waiting (the thread's interrupt flag is set again)
   * @throws RuntimeException what the call threw, unchanged, if unchecked
   */
  public <T> T call(GuardedCall<T> call) {
    Objects.requireNonNull(call, "call");
    long timeout = config.callTimeout().toNanos();
    long begin = ticker.read();
    for (int attempt = 1; ; attempt++) {
      Permit permit = enter(false);
      long start = ticker.read();
      long remaining = timeout - (start - begin);
      Attempt<T> task = new Attempt<>(call);
      try {
        executor.execute(task);
      } catch (RejectedExecutionException e) {
        permit.release();
        rejected.increment();
        throw new DependencyUnavailableException(
            dependency,
            DependencyUnavailableException.Reason.BULKHEAD_FULL,
            () -> "the guard's executor has no thread for the call (" + e.getMessage() + ")");
      }
      Throwable failure;
      try {
        spinBriefly(task);
        T result = task.get(Math.max(0, remaining), TimeUnit.NANOSECONDS);
        permit.success(ticker.read() - start);
        return result;
      } catch (ExecutionException e) {
        failure = e.getCause() == null ? e : e.getCause();
      } catch (TimeoutException e) {
        abandon(task);
        DependencyTimeoutException timedOut =
            new DependencyTimeoutException(dependency, config.callTimeout(), attempt);
        timeouts.increment();
        permit.failed(ticker.read() - start, timedOut, true);
        throw timedOut;
      } catch (InterruptedException e) {
        // The caller gives up, not the dependency: no outcome to count.
        abandon(task);
        permit.release();
        Thread.currentThread().interrupt();
        throw new DependencyCallException(dependency, e, false);
      }
      boolean infrastructure = permit.failure(ticker.read() - start, failure);
      long backoff = backoffNanos(attempt);
      if (!infrastructure
          || attempt >= config.maxAttempts()
          || failure instanceof Error
          || ticker.read() + backoff - begin >= timeout) {
        throw rethrow(failure, infrastructure);
      }
      pause(backoff, failure);
      if (ticker.read() - begin >= timeout) {
        // The wait overran the budget (a busy machine): no attempt is made that could only time
        // out; the caller gets the failure it already has.
        throw rethrow(failure, infrastructure);
      }
      retries.increment();
    }
  }

  /**
   * Waits a few microseconds for a fast call before parking: a park and wake-up costs more than a
   * call to an in-memory or local dependency. Only while fewer callers spin than half the cores, so
   * that spinning never takes the CPU the calls need.
   */
  private static void spinBriefly(Future<?> task) {
    if (task.isDone()) {
      return;
    }
    if (SPINNING.incrementAndGet() <= MAX_SPINNING) {
      long until = System.nanoTime() + CALLER_SPIN_NANOS;
      for (int i = 0; !task.isDone() && System.nanoTime() - until < 0; i++) {
        CallPool.pause(i);
      }
    }
    SPINNING.decrementAndGet();
  }

  /** Leaves a call that outlived its wait; the caller goes on without it. */
  private void abandon(Attempt<?> task) {
    if (task.abandon(config.interruptOnTimeout())) {
      abandoned.incrementAndGet();
    }
  }

  /**
   * A call on the executor. It knows whether its caller left, so that the count of abandoned calls
   * (threads still held by a dependency that did not answer) drops when the call finally returns.
   */
  private final class Attempt<T> extends FutureTask<T> {
    private static final int RUNNING = 0;
    private static final int FINISHED = 1;
    private static final int ABANDONED = 2;
    private final AtomicInteger state = new AtomicInteger(RUNNING);

    Attempt(GuardedCall<T> call) {
      super(call::call);
    }

    @Override
    public void run() {
      try {
        super.run();
      } finally {
        if (!state.compareAndSet(RUNNING, FINISHED)) {
          abandoned.decrementAndGet();
        }
      }
    }

    /** Cancels the call; true if it is still running (its thread is held). */
    boolean abandon(boolean interrupt) {
      cancel(interrupt);
      return state.compareAndSet(RUNNING, ABANDONED);
    }
  }

  /**
   * Takes permission for one call that the caller makes itself, e.g. on a thread of its own. The
   * caller must report exactly one outcome on the permit: {@link Permit#success}, {@link
   * Permit#failure}, or {@link Permit#release} if it did not make the call after all. A permit with
   * no outcome after the call timeout is counted as a failed call (a timeout) and its slot is given
   * back; what its holder reports later is ignored.
   *
   * @return the permit, or null if the call must not be made now (breaker open, bulkhead full)
   */
  public @Nullable Permit tryEnter() {
    return tryEnter(true);
  }

  private @Nullable Permit tryEnter(boolean track) {
    Permit p = acquire(track);
    if (p == null && expireOverduePermitsNow()) {
      // A hung holder kept the slot or the half-open probe: it is counted as failed now.
      p = acquire(track);
    }
    if (p == null) {
      rejected.increment();
    }
    return p;
  }

  private @Nullable Permit acquire(boolean track) {
    Bulkhead b = bulkhead;
    if (b != null && !b.tryAcquirePermission()) {
      return null;
    }
    if (!breaker.tryAcquirePermission()) {
      if (b != null) {
        b.releasePermission();
      }
      return null;
    }
    Permit p = new Permit(track ? ticker.read() + config.callTimeout().toNanos() : Long.MAX_VALUE);
    if (track) {
      tracked.add(p);
    }
    return p;
  }

  /**
   * After a refusal: whether a tracked permit was overdue and has now been counted as failed. Scans
   * at most every 10 ms, and only while something was overdue could matter (half-open, bulkhead).
   */
  private boolean expireOverduePermitsNow() {
    if (tracked.isEmpty()) {
      return false;
    }
    long now = ticker.read();
    long last = lastExpiryScan;
    if (now - last < EXPIRY_SCAN_NANOS && last != 0) {
      return false;
    }
    lastExpiryScan = now;
    return expireOverduePermits();
  }

  /** Counts every tracked permit past its deadline as a failed call; true if there was one. */
  boolean expireOverduePermits() {
    boolean any = false;
    long now = ticker.read();
    for (Permit p : tracked) {
      if (now - p.deadline > 0) {
        DependencyTimeoutException timedOut =
            new DependencyTimeoutException(dependency, config.callTimeout(), 1);
        if (p.failed(now - (p.deadline - config.callTimeout().toNanos()), timedOut, true)) {
          timeouts.increment();
          any = true;
          log.warn(
              "{}: a call made under a permit reported nothing within the call timeout of {};"
                  + " counted as failed, its slot given back",
              dependency,
              config.callTimeout());
        }
      }
    }
    return any;
  }

  /** As {@link #tryEnter()}, but throws the reason instead of returning null. */
  private Permit enter(boolean track) {
    Permit permit = tryEnter(track);
    if (permit == null) {
      throw unavailable();
    }
    return permit;
  }

  /**
   * {@return a new exception for a call that was not made, with the reason read now} For code that
   * got no permit from {@link #tryEnter()} and wants to fail as {@link #call} would: the reason is
   * {@link DependencyUnavailableException.Reason#BULKHEAD_FULL} if the breaker is closed and the
   * guard has a concurrency limit, else {@link DependencyUnavailableException.Reason#BREAKER_OPEN}.
   */
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
              switch (s) {
                case HALF_OPEN -> "half-open, all " + probes + " probes in flight";
                // Refused while open, and closed again since: with no concurrency limit a
                // closed breaker refuses nothing.
                case CLOSED -> "the breaker refused the call and has closed since, at " + since;
                default -> "open since " + since + (last == null ? "" : ", last failure: " + last);
              });
    }
    int limit = config.maxConcurrentCalls();
    return new DependencyUnavailableException(
        dependency,
        DependencyUnavailableException.Reason.BULKHEAD_FULL,
        () -> limit + " calls are in flight, the guard's limit");
  }

  /**
   * Whether a failure means the dependency is out, as opposed to an error of the call itself: this
   * guard (or another) refused the call, or it failed with what the classifier counts as an
   * infrastructure failure, anywhere in the cause chain. A {@link DependencyCallException} is not
   * an outage by itself: the guard wraps every checked exception in one, errors of the call
   * included.
   *
   * @param failure what a call (or this or another guard) threw
   * @return true if the failure says the dependency is out, false if it is an error of the call
   */
  public boolean isOutage(Throwable failure) {
    return failure instanceof DependencyUnavailableException
        || failure instanceof DependencyTimeoutException
        || isInfrastructureFailure(failure);
  }

  /**
   * Whether the configured classifier counts this failure against the dependency. A classifier that
   * throws is contained: the built-in {@link FailureClassifier#infrastructure()} decides instead.
   *
   * @param failure what a call threw
   * @return true if the failure counts against the dependency
   */
  public boolean isInfrastructureFailure(Throwable failure) {
    FailureClassifier classifier = config.classifier();
    try {
      return classifier.isInfrastructureFailure(failure);
    } catch (Throwable t) {
      pluginFailures.failed(
          "failure classifier", classifier, t, "the built-in classification decides instead");
      return FailureClassifier.infrastructure().isInfrastructureFailure(failure);
    }
  }

  /** {@return the breaker's state now} */
  public State state() {
    return map(breaker.getState());
  }

  /**
   * Checks the dependency now with the recovery probe, waiting at most the call timeout, and closes
   * the breaker if it answered: for an operator who knows the dependency is back, or a readiness
   * check that must not wait for the next scheduled probe.
   *
   * @return whether the dependency answered
   * @throws IllegalStateException if the guard has no recovery probe
   * @throws DependencyCallException if the calling thread was interrupted (its flag is set again)
   */
  public boolean probeNow() {
    Recovery r = recovery;
    if (r == null) {
      throw new IllegalStateException(
          dependency
              + " has no recovery probe to check it with: build the guard with"
              + " Guard.builder(name).recoveryProbe(...)");
    }
    try {
      return r.probeNow();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new DependencyCallException(dependency, e, false);
    }
  }

  /**
   * {@return whether the guard was built with a recovery probe, so that {@link #probeNow()} works}
   */
  public boolean hasRecoveryProbe() {
    return recovery != null;
  }

  /** The probe answered: the dependency is back; close the breaker if it is not closed. */
  void recovered(RecoveryProbe by) {
    if (breaker.getState() != CircuitBreaker.State.CLOSED) {
      log.info("{}: the recovery probe {} answered; closing the circuit breaker", dependency, by);
      breaker.transitionToClosedState();
    }
  }

  /** The probe did not answer: keep the reason for health. */
  void probeFailed(RecoveryProbe by, Throwable failure) {
    lastFailure = Redaction.redact("recovery probe: " + failure);
    lastFailureAt = config.clock().instant();
    log.debug("{}: the recovery probe {} failed", dependency, by, Redaction.forLog(failure));
  }

  /**
   * Registers a listener for breaker state changes.
   *
   * @param listener told on the thread whose call, report or probe moved the breaker, so it must
   *     not block; one that throws is logged and counted, and the other listeners are still told
   */
  public void addListener(Listener listener) {
    listeners.add(Objects.requireNonNull(listener, "listener"));
  }

  /**
   * Removes a listener (one that its owner's close no longer needs); no-op if not registered.
   *
   * @param listener the listener given to {@link #addListener}
   */
  public void removeListener(Listener listener) {
    listeners.remove(Objects.requireNonNull(listener, "listener"));
  }

  /** {@return an immutable picture of the guard now, for health reports and metrics} */
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
        timeouts.sum(),
        abandoned.get(),
        lastFailure,
        lastFailureAt,
        pluginFailures.count(),
        pluginFailures.last());
  }

  /**
   * {@return the calls made under this guard since it was created, by outcome, with their total
   * time} This is what a metrics binder turns into call counters and timers. Cheap: it sums a few
   * counters and holds no lock; the counts are read one after another, so a call reported meanwhile
   * may show in one and not yet in another.
   */
  public Calls calls() {
    return new Calls(
        successfulCalls.sum(),
        successfulNanos.sum(),
        failedCalls.sum(),
        failedNanos.sum(),
        ignoredCalls.sum(),
        ignoredNanos.sum());
  }

  @Override
  public String toString() {
    return "Guard[" + dependency + ", " + state() + "]";
  }

  /**
   * Totals of the calls a guard saw, by outcome, since it was created. Every call made (through
   * {@link Guard#call} or under a {@link Permit}) is counted once, by the first outcome reported
   * for it; each retry is a call of its own. Calls that were not made (rejected, or a permit
   * {@linkplain Permit#release() released}) are not here: see {@link Snapshot#rejectedCalls()}.
   *
   * @param successful calls that succeeded
   * @param successfulNanos their total duration, in nanoseconds
   * @param failed calls that failed with what the classifier counts as an infrastructure failure,
   *     timeouts included (and permits that reported nothing within the call timeout)
   * @param failedNanos their total duration, in nanoseconds
   * @param ignored calls that failed with what the classifier does not count against the dependency
   *     (a constraint violation, a bad request): the dependency answered
   * @param ignoredNanos their total duration, in nanoseconds
   */
  public record Calls(
      long successful,
      long successfulNanos,
      long failed,
      long failedNanos,
      long ignored,
      long ignoredNanos) {}

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
   * @param timeouts calls and permits that ran out of their call timeout, since the guard was
   *     created
   * @param abandonedCalls calls abandoned at their timeout whose threads are still held by the
   *     dependency now
   * @param lastFailure the last infrastructure failure (or failed recovery probe), or null if none
   * @param lastFailureAt when it happened, or null
   * @param pluginFailures how often a plug-in (classifier, listener, recovery probe) threw
   * @param lastPluginFailure the last of those, or null
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
      long timeouts,
      int abandonedCalls,
      @Nullable String lastFailure,
      @Nullable Instant lastFailureAt,
      long pluginFailures,
      @Nullable String lastPluginFailure) {}

  /**
   * Permission for one call. Report exactly one outcome; later reports are ignored, also the one
   * after the guard counted the permit as timed out. Threadsafe: the guard may time it out while
   * its holder reports.
   */
  public final class Permit {
    private final AtomicBoolean done = new AtomicBoolean();
    final long deadline;

    private Permit(long deadline) {
      this.deadline = deadline;
    }

    /**
     * The call succeeded.
     *
     * @param elapsedNanos how long it took; a call slower than the timeout counts as slow
     */
    public void success(long elapsedNanos) {
      if (done.compareAndSet(false, true)) {
        try {
          successfulCalls.increment();
          successfulNanos.add(Math.max(0, elapsedNanos));
          breaker.onSuccess(elapsedNanos, TimeUnit.NANOSECONDS);
        } finally {
          complete();
        }
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
      Objects.requireNonNull(failure, "failure");
      boolean infrastructure = isInfrastructureFailure(failure);
      failed(elapsedNanos, failure, infrastructure);
      return infrastructure;
    }

    /** Reports a classified failure; true if this was the permit's outcome. */
    boolean failed(long elapsedNanos, Throwable failure, boolean infrastructure) {
      if (!done.compareAndSet(false, true)) {
        return false;
      }
      try {
        if (infrastructure) {
          failedCalls.increment();
          failedNanos.add(Math.max(0, elapsedNanos));
          // Kept for health, logs and exception messages: never with a credential in it.
          lastFailure = Redaction.redact(failure.toString());
          lastFailureAt = config.clock().instant();
          breaker.onError(elapsedNanos, TimeUnit.NANOSECONDS, failure);
        } else {
          ignoredCalls.increment();
          ignoredNanos.add(Math.max(0, elapsedNanos));
          breaker.onSuccess(elapsedNanos, TimeUnit.NANOSECONDS);
        }
      } finally {
        complete();
      }
      return true;
    }

    /** The call was not made after all; gives the permission back without an outcome. */
    public void release() {
      if (done.compareAndSet(false, true)) {
        try {
          breaker.releasePermission();
        } finally {
          complete();
        }
      }
    }

    private void complete() {
      if (deadline != Long.MAX_VALUE) {
        tracked.remove(this);
      }
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
    if (t instanceof InterruptedException) {
      // The call was interrupted; whoever called it must still see that.
      Thread.currentThread().interrupt();
    }
    return new DependencyCallException(dependency, (Exception) t, infrastructure);
  }

  private long backoffNanos(int attempt) {
    return TimeUnit.MILLISECONDS.toNanos(
        backoffMillis(config.retryBackoff(), config.maxRetryBackoff(), attempt));
  }

  private void pause(long nanos, Throwable cause) {
    try {
      config.sleeper().sleep(Duration.ofNanos(nanos));
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
    Recovery r = recovery;
    if (r != null) {
      if (to == State.CLOSED) {
        r.breakerClosed();
      } else {
        r.breakerLeftClosed();
      }
    }
    if (to == State.OPEN) {
      CircuitBreaker.Metrics m = breaker.getMetrics();
      log.warn(
          "{} circuit breaker OPEN: {}% of the last {} calls failed, {}% were slow (last failure:"
              + " {}); calls are rejected until probes succeed{}",
          dependency,
          m.getFailureRate(),
          m.getNumberOfBufferedCalls(),
          m.getSlowCallRate(),
          lastFailure,
          recovery == null
              ? ""
              : "; a recovery probe checks every " + config.probeInterval().toMillis() + " ms");
    } else {
      log.info("{} circuit breaker {} (was {})", dependency, to, from);
    }
    for (Listener l : listeners) {
      try {
        l.onStateChange(this, from, to);
      } catch (Throwable t) {
        pluginFailures.failed("listener", l, t, "the other listeners were still told");
      }
    }
  }

  /**
   * The breaker's clock, read from the monotonic ticker: Resilience4j measures the open wait with
   * {@code clock.instant()}, and only differences of its readings matter.
   */
  private static Clock monotonic(Ticker ticker) {
    return new Clock() {
      @Override
      public ZoneId getZone() {
        return ZoneOffset.UTC;
      }

      @Override
      public Clock withZone(ZoneId zone) {
        return this;
      }

      @Override
      public Instant instant() {
        return Instant.ofEpochSecond(0, ticker.read());
      }
    };
  }

  /** Builds a {@link Guard}. Not threadsafe. */
  public static final class Builder {
    private final String dependency;
    private GuardConfig config = GuardConfig.database();
    private @Nullable RecoveryProbe probe;
    private @Nullable Executor executor;
    private @Nullable ScheduledExecutorService scheduler;

    private Builder(String dependency) {
      this.dependency = dependency;
    }

    /**
     * The policy; {@link GuardConfig#database()} if not set.
     *
     * @param config the policy
     * @return this builder
     */
    public Builder config(GuardConfig config) {
      this.config = Objects.requireNonNull(config, "config");
      return this;
    }

    /**
     * The check that tells an open breaker the dependency is back, run every {@link
     * GuardConfig#probeInterval()} while the breaker is not closed. Without one, the breaker closes
     * only through calls (its half-open probes).
     *
     * @param probe the check, run on the guard's executor and bounded by the call timeout
     * @return this builder
     */
    public Builder recoveryProbe(RecoveryProbe probe) {
      this.probe = Objects.requireNonNull(probe, "probe");
      return this;
    }

    /**
     * The threads calls and recovery probes run on; the guard never shuts it down. It should start
     * a call at once (not queue it: a queued call's wait counts against its timeout) and may refuse
     * (calls are then refused as saturated). {@code Runnable::run} runs calls on the caller's
     * thread: no thread hop, and no enforced timeout. Default: a pool shared by all guards of the
     * JVM.
     *
     * @param executor the threads; the guard never shuts it down
     * @return this builder
     */
    public Builder executor(Executor executor) {
      this.executor = Objects.requireNonNull(executor, "executor");
      return this;
    }

    /**
     * The scheduler of the recovery probe; the guard never shuts it down. Default: one daemon
     * thread shared by all guards of the JVM. Used only with a {@link #recoveryProbe}.
     *
     * @param scheduler the scheduler; the guard never shuts it down
     * @return this builder
     */
    public Builder scheduler(ScheduledExecutorService scheduler) {
      this.scheduler = Objects.requireNonNull(scheduler, "scheduler");
      return this;
    }

    /**
     * Builds the guard. Each call builds a new one, with a breaker and counters of its own.
     *
     * @return the guard, its breaker closed
     */
    public Guard build() {
      return new Guard(this);
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
