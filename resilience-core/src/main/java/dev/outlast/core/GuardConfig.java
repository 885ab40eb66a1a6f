package dev.outlast.core;

import java.time.Clock;
import java.time.Duration;
import java.util.Objects;

/**
 * The policy of a {@link Guard}: when its circuit breaker opens and for how long, how many probes
 * test a recovering dependency, how calls are retried, how many may run at once, how long a call
 * may take, and which failures count.
 *
 * <p>Start from a preset ({@link #database()}, {@link #broker()}) or {@link #custom()}, change what
 * differs with {@link #from(GuardConfig)}. Every setter rejects a bad value at once, naming it.
 *
 * <p>Instances are immutable and threadsafe; builders are not.
 */
public final class GuardConfig {
  private final Duration callTimeout;
  private final float failureRateThreshold;
  private final int slidingWindowSize;
  private final int minimumNumberOfCalls;
  private final Duration openWait;
  private final Duration maxOpenWait;
  private final int probes;
  private final int maxAttempts;
  private final Duration retryBackoff;
  private final Duration maxRetryBackoff;
  private final double jitter;
  private final int maxConcurrentCalls;
  private final FailureClassifier classifier;
  private final Clock clock;
  private final Ticker ticker;
  private final Sleeper sleeper;
  private final boolean interruptOnTimeout;
  private final Duration probeInterval;

  private GuardConfig(Builder b) {
    this.callTimeout = b.callTimeout;
    this.failureRateThreshold = b.failureRateThreshold;
    this.slidingWindowSize = b.slidingWindowSize;
    this.minimumNumberOfCalls = b.minimumNumberOfCalls;
    this.openWait = b.openWait;
    this.maxOpenWait = b.maxOpenWait;
    this.probes = b.probes;
    this.maxAttempts = b.maxAttempts;
    this.retryBackoff = b.retryBackoff;
    this.maxRetryBackoff = b.maxRetryBackoff;
    this.jitter = b.jitter;
    this.maxConcurrentCalls = b.maxConcurrentCalls;
    this.classifier = b.classifier;
    this.clock = b.clock;
    this.ticker = b.ticker;
    this.sleeper = b.sleeper;
    this.interruptOnTimeout = b.interruptOnTimeout;
    this.probeInterval = b.probeInterval;
  }

  /**
   * Defaults for a database queried on the request path: calls time out after 2 s; the breaker
   * opens when half of the last 20 calls (at least 5) failed or took longer than that, stays open 2
   * s at first and up to 60 s when probes keep failing, then lets 3 probes through; one retry after
   * 100 ms (with jitter) within the same 2 s; at most 32 calls at once. A guard with a {@link
   * RecoveryProbe} checks an open breaker's dependency every 500 ms.
   *
   * @return the database defaults
   */
  public static GuardConfig database() {
    return new Builder().build();
  }

  /**
   * Defaults for a message broker or search cluster written to in the background: as {@link
   * #database()}, but calls may take 10 s, the breaker waits 5 s before its first probes, and
   * nothing is retried by the guard (a spill queue retries on its own schedule); a recovery probe
   * runs every second.
   *
   * @return the broker defaults
   */
  public static GuardConfig broker() {
    return new Builder()
        .callTimeout(Duration.ofSeconds(10))
        .openWait(Duration.ofSeconds(5))
        .maxAttempts(1)
        .probeInterval(Duration.ofSeconds(1))
        .build();
  }

  /** {@return a new builder with the {@link #database()} defaults} */
  public static Builder custom() {
    return new Builder();
  }

  /**
   * {@return a new builder that starts from every setting of {@code base}}
   *
   * @param base the configuration to copy; it is not changed
   */
  public static Builder from(GuardConfig base) {
    return new Builder(base);
  }

  /**
   * {@return how long a call through {@link Guard#call} may take, retries included} At this point
   * the caller gets a {@link DependencyTimeoutException} and the call counts as failed. A call that
   * takes as long as this counts as slow for the breaker even when it succeeds. A permit taken with
   * {@link Guard#tryEnter()} that has reported nothing by then is counted as failed too, so that a
   * hung call cannot hold a bulkhead slot or a half-open probe for good.
   */
  public Duration callTimeout() {
    return callTimeout;
  }

  /**
   * {@return the percentage, above 0 and up to 100, at which the breaker opens} The failure rate
   * and the slow-call rate of the window are each compared with it: either one reaching it opens
   * the breaker.
   */
  public float failureRateThreshold() {
    return failureRateThreshold;
  }

  /** {@return how many of the latest calls (1 to 10,000) the breaker's rates are computed over} */
  public int slidingWindowSize() {
    return slidingWindowSize;
  }

  /**
   * {@return how many calls the window must hold before the breaker may open, from 1 up to {@link
   * #slidingWindowSize()}}
   */
  public int minimumNumberOfCalls() {
    return minimumNumberOfCalls;
  }

  /**
   * {@return how long the breaker stays open the first time, before probes go out} The wait is
   * spread by {@link #jitter()}.
   */
  public Duration openWait() {
    return openWait;
  }

  /**
   * {@return the longest the breaker stays open after repeated failed probes} The wait doubles from
   * {@link #openWait()} up to this, then is spread by {@link #jitter()}, so one wait may exceed it
   * by up to that fraction.
   */
  public Duration maxOpenWait() {
    return maxOpenWait;
  }

  /**
   * {@return how many probe calls (1 to 1,000) a half-open breaker lets through to test the
   * dependency} Their failure and slow-call rates decide whether it closes or opens again.
   */
  public int probes() {
    return probes;
  }

  /**
   * {@return how many times a call is tried in all, 1 to 10 (1 means no retry)} Only infrastructure
   * failures are retried, and only while {@link #callTimeout()} leaves room for the backoff.
   */
  public int maxAttempts() {
    return maxAttempts;
  }

  /**
   * {@return the wait before the first retry} It doubles for each further retry up to {@link
   * #maxRetryBackoff()}, is spread by {@link #jitter()}, and is counted in whole milliseconds, at
   * least one.
   */
  public Duration retryBackoff() {
    return retryBackoff;
  }

  /**
   * {@return the cap on the doubling wait between two attempts} It is applied before {@link
   * #jitter()}, so one wait may exceed it by up to that fraction.
   */
  public Duration maxRetryBackoff() {
    return maxRetryBackoff;
  }

  /**
   * {@return how much each wait (retry backoff, open breaker) is spread at random, from 0 to 1} 0.5
   * means from 50% to 150% of the nominal wait, so that many pods do not retry in lockstep; 0 means
   * every wait is the nominal one.
   */
  public double jitter() {
    return jitter;
  }

  /**
   * {@return how many calls may be in flight at once, 0 for no limit} A call beyond the limit does
   * not wait for a slot: it is rejected at once with a {@link DependencyUnavailableException}.
   */
  public int maxConcurrentCalls() {
    return maxConcurrentCalls;
  }

  /**
   * {@return which failures count against the dependency} By default {@link
   * FailureClassifier#infrastructure()}.
   */
  public FailureClassifier classifier() {
    return classifier;
  }

  /**
   * {@return the wall clock, for timestamps people read} It dates when the breaker entered its
   * state and when the last failure happened; no wait is measured with it.
   */
  public Clock clock() {
    return clock;
  }

  /**
   * {@return the monotonic time source of every wait} It measures the call timeout, the retry
   * deadline, the breaker's open wait and the probe schedule; stepping the wall clock changes none
   * of them.
   */
  public Ticker ticker() {
    return ticker;
  }

  /**
   * {@return whether a call that outlives {@link #callTimeout()} is interrupted} True, the default,
   * suits JDBC drivers, the JDK's HTTP client and most blocking I/O, which give up on an interrupt;
   * false leaves the call to finish on its own, its result dropped, for code that an interrupt
   * would leave in a bad state. Either way the caller is released at the timeout.
   */
  public boolean interruptOnTimeout() {
    return interruptOnTimeout;
  }

  /**
   * {@return how often a guard with a {@link RecoveryProbe} checks its dependency while the breaker
   * is not closed} A probe that answers closes the breaker, with or without traffic.
   */
  public Duration probeInterval() {
    return probeInterval;
  }

  /** {@return how the guard waits between retries; {@link Sleeper#threadSleep()} by default} */
  public Sleeper sleeper() {
    return sleeper;
  }

  @Override
  public String toString() {
    return "GuardConfig{callTimeout="
        + callTimeout
        + ", failureRate="
        + failureRateThreshold
        + "% of "
        + slidingWindowSize
        + " (min "
        + minimumNumberOfCalls
        + "), openWait="
        + openWait
        + ".."
        + maxOpenWait
        + ", probes="
        + probes
        + ", maxAttempts="
        + maxAttempts
        + ", retryBackoff="
        + retryBackoff
        + ".."
        + maxRetryBackoff
        + ", jitter="
        + jitter
        + ", maxConcurrentCalls="
        + maxConcurrentCalls
        + ", interruptOnTimeout="
        + interruptOnTimeout
        + ", probeInterval="
        + probeInterval
        + "}";
  }

  /**
   * Waits between retries; tests substitute one that does not sleep. Called on the thread of the
   * caller of {@link Guard#call}, so implementations must be threadsafe.
   */
  @FunctionalInterface
  public interface Sleeper {
    /**
     * Waits for the backoff before a retry.
     *
     * @param duration how long to wait; positive, at least a millisecond
     * @throws InterruptedException if the thread was interrupted while waiting; the guard then
     *     makes no further attempt, sets the interrupt flag again and throws what the last attempt
     *     failed with, as {@link Guard#call} documents, with this exception suppressed on it
     */
    void sleep(Duration duration) throws InterruptedException;

    /** {@return a sleeper that calls {@link Thread#sleep(long)}, in whole milliseconds} */
    static Sleeper threadSleep() {
      return d -> Thread.sleep(d.toMillis());
    }
  }

  /** Builds a {@link GuardConfig}. Not threadsafe. */
  public static final class Builder {
    private Duration callTimeout = Duration.ofSeconds(2);
    private float failureRateThreshold = 50;
    private int slidingWindowSize = 20;
    private int minimumNumberOfCalls = 5;
    private Duration openWait = Duration.ofSeconds(2);
    private Duration maxOpenWait = Duration.ofMinutes(1);
    private int probes = 3;
    private int maxAttempts = 2;
    private Duration retryBackoff = Duration.ofMillis(100);
    private Duration maxRetryBackoff = Duration.ofSeconds(2);
    private double jitter = 0.5;
    private int maxConcurrentCalls = 32;
    private FailureClassifier classifier = FailureClassifier.infrastructure();
    private Clock clock = Clock.systemUTC();
    private Ticker ticker = Ticker.system();
    private Sleeper sleeper = Sleeper.threadSleep();
    private boolean interruptOnTimeout = true;
    private Duration probeInterval = Duration.ofMillis(500);

    private Builder() {}

    private Builder(GuardConfig base) {
      this.callTimeout = base.callTimeout;
      this.failureRateThreshold = base.failureRateThreshold;
      this.slidingWindowSize = base.slidingWindowSize;
      this.minimumNumberOfCalls = base.minimumNumberOfCalls;
      this.openWait = base.openWait;
      this.maxOpenWait = base.maxOpenWait;
      this.probes = base.probes;
      this.maxAttempts = base.maxAttempts;
      this.retryBackoff = base.retryBackoff;
      this.maxRetryBackoff = base.maxRetryBackoff;
      this.jitter = base.jitter;
      this.maxConcurrentCalls = base.maxConcurrentCalls;
      this.classifier = base.classifier;
      this.clock = base.clock;
      this.ticker = base.ticker;
      this.sleeper = base.sleeper;
      this.interruptOnTimeout = base.interruptOnTimeout;
      this.probeInterval = base.probeInterval;
    }

    /**
     * How long a call may take, retries included; 2 s by default. The guard releases the caller
     * then; drivers are told to give up after it too.
     *
     * @param timeout positive
     * @return this builder
     * @throws IllegalArgumentException if the timeout is zero or negative
     */
    public Builder callTimeout(Duration timeout) {
      this.callTimeout = positive("callTimeout", timeout);
      return this;
    }

    /**
     * The failure (and slow-call) percentage at which the breaker opens; 50 by default.
     *
     * @param percent above 0, up to 100
     * @return this builder
     * @throws IllegalArgumentException if the percentage is out of range (or NaN)
     */
    public Builder failureRateThreshold(float percent) {
      if (!(percent > 0 && percent <= 100)) {
        throw new IllegalArgumentException(
            "failureRateThreshold must be in (0, 100] percent, was " + percent);
      }
      this.failureRateThreshold = percent;
      return this;
    }

    /**
     * The number of latest calls the failure rate is computed over; 20 by default.
     *
     * @param calls 1 to 10,000, and at least {@link #minimumNumberOfCalls} (checked by {@link
     *     #build()})
     * @return this builder
     * @throws IllegalArgumentException if the number is out of range
     */
    public Builder slidingWindowSize(int calls) {
      this.slidingWindowSize = inRange("slidingWindowSize", calls, 1, 10_000);
      return this;
    }

    /**
     * The number of calls needed before the breaker may open; 5 by default.
     *
     * @param calls 1 to 10,000, and at most {@link #slidingWindowSize} (checked by {@link
     *     #build()})
     * @return this builder
     * @throws IllegalArgumentException if the number is out of range
     */
    public Builder minimumNumberOfCalls(int calls) {
      this.minimumNumberOfCalls = inRange("minimumNumberOfCalls", calls, 1, 10_000);
      return this;
    }

    /**
     * How long the breaker stays open the first time; 2 s by default.
     *
     * @param wait positive, and at most {@link #maxOpenWait} (checked by {@link #build()})
     * @return this builder
     * @throws IllegalArgumentException if the wait is zero or negative
     */
    public Builder openWait(Duration wait) {
      this.openWait = positive("openWait", wait);
      return this;
    }

    /**
     * The longest the breaker stays open after repeated failed probes; 60 s by default.
     *
     * @param wait positive, and at least {@link #openWait} (checked by {@link #build()})
     * @return this builder
     * @throws IllegalArgumentException if the wait is zero or negative
     */
    public Builder maxOpenWait(Duration wait) {
      this.maxOpenWait = positive("maxOpenWait", wait);
      return this;
    }

    /**
     * How many probes a half-open breaker lets through; 3 by default.
     *
     * @param calls 1 to 1,000
     * @return this builder
     * @throws IllegalArgumentException if the number is out of range
     */
    public Builder probes(int calls) {
      this.probes = inRange("probes", calls, 1, 1_000);
      return this;
    }

    /**
     * How many times a call is tried in all; 2 by default (one retry).
     *
     * @param attempts 1 to 10; 1 means no retry
     * @return this builder
     * @throws IllegalArgumentException if the number is out of range
     */
    public Builder maxAttempts(int attempts) {
      this.maxAttempts = inRange("maxAttempts", attempts, 1, 10);
      return this;
    }

    /**
     * The wait before the first retry; 100 ms by default.
     *
     * @param wait positive (counted in whole milliseconds, at least one), and at most {@link
     *     #maxRetryBackoff} (checked by {@link #build()})
     * @return this builder
     * @throws IllegalArgumentException if the wait is zero or negative
     */
    public Builder retryBackoff(Duration wait) {
      this.retryBackoff = positive("retryBackoff", wait);
      return this;
    }

    /**
     * The cap on the doubling wait between two attempts, before jitter; 2 s by default.
     *
     * @param wait positive, and at least {@link #retryBackoff} (checked by {@link #build()})
     * @return this builder
     * @throws IllegalArgumentException if the wait is zero or negative
     */
    public Builder maxRetryBackoff(Duration wait) {
      this.maxRetryBackoff = positive("maxRetryBackoff", wait);
      return this;
    }

    /**
     * The random spread of every wait (retry backoff, open breaker); 0.5 by default.
     *
     * @param spread 0 (none) to 1 (0% to 200% of the nominal wait)
     * @return this builder
     * @throws IllegalArgumentException if the spread is out of range (or NaN)
     */
    public Builder jitter(double spread) {
      if (!(spread >= 0 && spread <= 1)) {
        throw new IllegalArgumentException("jitter must be in [0, 1], was " + spread);
      }
      this.jitter = spread;
      return this;
    }

    /**
     * How many calls may be in flight at once; 32 by default. Calls beyond it are rejected at once.
     *
     * @param calls 0 for no limit, or up to 100,000
     * @return this builder
     * @throws IllegalArgumentException if the number is out of range
     */
    public Builder maxConcurrentCalls(int calls) {
      this.maxConcurrentCalls = inRange("maxConcurrentCalls", calls, 0, 100_000);
      return this;
    }

    /**
     * Which failures count against the dependency; the default is {@link
     * FailureClassifier#infrastructure()}.
     *
     * @param classifier called on every failed call, so it must be fast and threadsafe; if it
     *     throws, the default classification decides instead
     * @return this builder
     */
    public Builder classifier(FailureClassifier classifier) {
      this.classifier = Objects.requireNonNull(classifier, "classifier");
      return this;
    }

    /**
     * The wall clock of the timestamps in snapshots and messages; UTC system time by default.
     *
     * @param clock a clock a test controls; no wait is measured with it
     * @return this builder
     */
    public Builder clock(Clock clock) {
      this.clock = Objects.requireNonNull(clock, "clock");
      return this;
    }

    /**
     * The monotonic time source of every wait; {@link Ticker#system()} by default.
     *
     * @param ticker a ticker a test moves instead of sleeping
     * @return this builder
     */
    public Builder ticker(Ticker ticker) {
      this.ticker = Objects.requireNonNull(ticker, "ticker");
      return this;
    }

    /**
     * Whether a call past its timeout is interrupted (the default) or left to finish with its
     * result dropped.
     *
     * @param interrupt true to interrupt the call's thread at the timeout, false to leave it
     *     running
     * @return this builder
     */
    public Builder interruptOnTimeout(boolean interrupt) {
      this.interruptOnTimeout = interrupt;
      return this;
    }

    /**
     * How often the recovery probe runs while the breaker is not closed; 500 ms by default. Used
     * only by a guard built with a {@link RecoveryProbe}.
     *
     * @param interval 10 ms to 1 hour
     * @return this builder
     * @throws IllegalArgumentException if the interval is out of range
     */
    public Builder probeInterval(Duration interval) {
      positive("probeInterval", interval);
      if (interval.compareTo(Duration.ofMillis(10)) < 0
          || interval.compareTo(Duration.ofHours(1)) > 0) {
        throw new IllegalArgumentException(
            "probeInterval must be from 10 ms to 1 hour, was " + interval);
      }
      this.probeInterval = interval;
      return this;
    }

    /**
     * How the guard waits between retries; {@link Sleeper#threadSleep()} by default.
     *
     * @param sleeper a sleeper a test controls, so that retries need no real waiting
     * @return this builder
     */
    public Builder sleeper(Sleeper sleeper) {
      this.sleeper = Objects.requireNonNull(sleeper, "sleeper");
      return this;
    }

    /**
     * Checks the settings against each other and builds the configuration. The builder may be used
     * again afterwards; the configuration does not change with it.
     *
     * @return the configuration
     * @throws IllegalArgumentException if they contradict each other: a minimum number of calls
     *     above the window size, a maximum open wait below the open wait, or a maximum retry
     *     backoff below the retry backoff
     */
    public GuardConfig build() {
      if (minimumNumberOfCalls > slidingWindowSize) {
        throw new IllegalArgumentException(
            "minimumNumberOfCalls ("
                + minimumNumberOfCalls
                + ") cannot exceed slidingWindowSize ("
                + slidingWindowSize
                + "): the breaker could never open");
      }
      if (maxOpenWait.compareTo(openWait) < 0) {
        throw new IllegalArgumentException(
            "maxOpenWait (" + maxOpenWait + ") must be at least openWait (" + openWait + ")");
      }
      if (maxRetryBackoff.compareTo(retryBackoff) < 0) {
        throw new IllegalArgumentException(
            "maxRetryBackoff ("
                + maxRetryBackoff
                + ") must be at least retryBackoff ("
                + retryBackoff
                + ")");
      }
      return new GuardConfig(this);
    }

    private static Duration positive(String name, Duration value) {
      Objects.requireNonNull(value, name);
      if (value.isNegative() || value.isZero()) {
        throw new IllegalArgumentException(name + " must be positive, was " + value);
      }
      return value;
    }

    private static int inRange(String name, int value, int min, int max) {
      if (value < min || value > max) {
        throw new IllegalArgumentException(
            name + " must be in [" + min + ", " + max + "], was " + value);
      }
      return value;
    }
  }
}
