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
   */
  public static GuardConfig database() {
    return new Builder().build();
  }

  /**
   * Defaults for a message broker or search cluster written to in the background: as {@link
   * #database()}, but calls may take 10 s, the breaker waits 5 s before its first probes, and
   * nothing is retried by the guard (a spill queue retries on its own schedule); a recovery probe
   * runs every second.
   */
  public static GuardConfig broker() {
    return new Builder()
        .callTimeout(Duration.ofSeconds(10))
        .openWait(Duration.ofSeconds(5))
        .maxAttempts(1)
        .probeInterval(Duration.ofSeconds(1))
        .build();
  }

  /** A builder with the {@link #database()} defaults. */
  public static Builder custom() {
    return new Builder();
  }

  /** A builder that starts from the given configuration. */
  public static Builder from(GuardConfig base) {
    return new Builder(base);
  }

  /**
   * How long a call through {@link Guard#call} may take, retries included: at this point the caller
   * gets a {@link DependencyTimeoutException} and the call counts as failed. A permit taken with
   * {@link Guard#tryEnter()} that has reported nothing by then is counted as failed too, so that a
   * hung call cannot hold a bulkhead slot or a half-open probe for good.
   */
  public Duration callTimeout() {
    return callTimeout;
  }

  /** The percentage of failed or slow calls in the window at which the breaker opens. */
  public float failureRateThreshold() {
    return failureRateThreshold;
  }

  /** How many of the latest calls the breaker's failure rate is computed over. */
  public int slidingWindowSize() {
    return slidingWindowSize;
  }

  /** How many calls the window must hold before the breaker may open. */
  public int minimumNumberOfCalls() {
    return minimumNumberOfCalls;
  }

  /** How long the breaker stays open the first time, before probes go out. */
  public Duration openWait() {
    return openWait;
  }

  /**
   * The longest the breaker stays open after repeated failed probes (the wait doubles up to it).
   */
  public Duration maxOpenWait() {
    return maxOpenWait;
  }

  /** How many probe calls a half-open breaker lets through to test the dependency. */
  public int probes() {
    return probes;
  }

  /** How many times a call is tried in all (1 means no retry). */
  public int maxAttempts() {
    return maxAttempts;
  }

  /** The wait before the first retry; it doubles for each further one. */
  public Duration retryBackoff() {
    return retryBackoff;
  }

  /** The longest wait between two attempts. */
  public Duration maxRetryBackoff() {
    return maxRetryBackoff;
  }

  /**
   * How much each wait (retry backoff, open breaker) is spread at random: 0.5 means from 50% to
   * 150% of the nominal wait, so that many pods do not retry in lockstep.
   */
  public double jitter() {
    return jitter;
  }

  /** How many calls may be in flight at once; 0 for no limit. */
  public int maxConcurrentCalls() {
    return maxConcurrentCalls;
  }

  /** Which failures count against the dependency. */
  public FailureClassifier classifier() {
    return classifier;
  }

  /**
   * The wall clock, for timestamps people read (when the breaker entered its state, when the last
   * failure happened). No wait is measured with it.
   */
  public Clock clock() {
    return clock;
  }

  /**
   * The monotonic time source of every wait: the call timeout, the retry deadline, the breaker's
   * open wait, the probe schedule. Stepping the wall clock changes none of them.
   */
  public Ticker ticker() {
    return ticker;
  }

  /**
   * Whether a call that outlives {@link #callTimeout()} is interrupted (true, the default: JDBC
   * drivers, the JDK's HTTP client and most blocking I/O give up on an interrupt) or left to finish
   * on its own, its result dropped (for code that an interrupt would leave in a bad state).
   */
  public boolean interruptOnTimeout() {
    return interruptOnTimeout;
  }

  /**
   * How often a guard with a {@link RecoveryProbe} checks its dependency while the breaker is not
   * closed. A probe that answers closes the breaker, with or without traffic.
   */
  public Duration probeInterval() {
    return probeInterval;
  }

  /** How the guard waits between retries. */
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

  /** Waits between retries; tests substitute one that does not sleep. */
  @FunctionalInterface
  public interface Sleeper {
    /** Waits this long; throws if interrupted. */
    void sleep(Duration duration) throws InterruptedException;

    /** {@link Thread#sleep(long)}. */
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
     * How long a call may take, retries included; positive. The guard releases the caller then;
     * drivers are told to give up after it too.
     */
    public Builder callTimeout(Duration timeout) {
      this.callTimeout = positive("callTimeout", timeout);
      return this;
    }

    /** The failure percentage (1-100) at which the breaker opens. */
    public Builder failureRateThreshold(float percent) {
      if (!(percent > 0 && percent <= 100)) {
        throw new IllegalArgumentException(
            "failureRateThreshold must be in (0, 100] percent, was " + percent);
      }
      this.failureRateThreshold = percent;
      return this;
    }

    /** The number of latest calls the failure rate is computed over (1-10,000). */
    public Builder slidingWindowSize(int calls) {
      this.slidingWindowSize = inRange("slidingWindowSize", calls, 1, 10_000);
      return this;
    }

    /** The number of calls needed before the breaker may open (1-10,000). */
    public Builder minimumNumberOfCalls(int calls) {
      this.minimumNumberOfCalls = inRange("minimumNumberOfCalls", calls, 1, 10_000);
      return this;
    }

    /** How long the breaker stays open the first time; positive. */
    public Builder openWait(Duration wait) {
      this.openWait = positive("openWait", wait);
      return this;
    }

    /** The longest the breaker stays open after repeated failed probes; positive. */
    public Builder maxOpenWait(Duration wait) {
      this.maxOpenWait = positive("maxOpenWait", wait);
      return this;
    }

    /** How many probes a half-open breaker lets through (1-1,000). */
    public Builder probes(int calls) {
      this.probes = inRange("probes", calls, 1, 1_000);
      return this;
    }

    /** How many times a call is tried in all, 1-10 (1 means no retry). */
    public Builder maxAttempts(int attempts) {
      this.maxAttempts = inRange("maxAttempts", attempts, 1, 10);
      return this;
    }

    /** The wait before the first retry; positive. */
    public Builder retryBackoff(Duration wait) {
      this.retryBackoff = positive("retryBackoff", wait);
      return this;
    }

    /** The longest wait between two attempts; positive. */
    public Builder maxRetryBackoff(Duration wait) {
      this.maxRetryBackoff = positive("maxRetryBackoff", wait);
      return this;
    }

    /** The random spread of every wait, 0 (none) to 1 (0% to 200% of the nominal wait). */
    public Builder jitter(double spread) {
      if (!(spread >= 0 && spread <= 1)) {
        throw new IllegalArgumentException("jitter must be in [0, 1], was " + spread);
      }
      this.jitter = spread;
      return this;
    }

    /** How many calls may be in flight at once (0 for no limit, up to 100,000). */
    public Builder maxConcurrentCalls(int calls) {
      this.maxConcurrentCalls = inRange("maxConcurrentCalls", calls, 0, 100_000);
      return this;
    }

    /**
     * Which failures count against the dependency; the default is {@link
     * FailureClassifier#infrastructure()}.
     */
    public Builder classifier(FailureClassifier classifier) {
      this.classifier = Objects.requireNonNull(classifier, "classifier");
      return this;
    }

    /** The wall clock of the timestamps in snapshots and messages; for tests. */
    public Builder clock(Clock clock) {
      this.clock = Objects.requireNonNull(clock, "clock");
      return this;
    }

    /** The monotonic time source of every wait; for tests. */
    public Builder ticker(Ticker ticker) {
      this.ticker = Objects.requireNonNull(ticker, "ticker");
      return this;
    }

    /**
     * Whether a call past its timeout is interrupted (the default) or left to finish with its
     * result dropped.
     */
    public Builder interruptOnTimeout(boolean interrupt) {
      this.interruptOnTimeout = interrupt;
      return this;
    }

    /** How often the recovery probe runs while the breaker is not closed; 10 ms to 1 hour. */
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

    /** How the guard waits between retries; for tests. */
    public Builder sleeper(Sleeper sleeper) {
      this.sleeper = Objects.requireNonNull(sleeper, "sleeper");
      return this;
    }

    /**
     * Checks the settings against each other and builds the configuration.
     *
     * @throws IllegalArgumentException if they contradict each other
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
