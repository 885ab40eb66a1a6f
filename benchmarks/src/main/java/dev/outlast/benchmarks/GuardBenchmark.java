package dev.outlast.benchmarks;

import dev.outlast.core.Guard;
import dev.outlast.core.GuardConfig;
import io.github.resilience4j.bulkhead.Bulkhead;
import io.github.resilience4j.bulkhead.BulkheadConfig;
import io.github.resilience4j.circuitbreaker.CircuitBreaker;
import io.github.resilience4j.circuitbreaker.CircuitBreakerConfig;
import io.github.resilience4j.decorators.Decorators;
import io.github.resilience4j.timelimiter.TimeLimiter;
import io.github.resilience4j.timelimiter.TimeLimiterConfig;
import java.time.Duration;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.SynchronousQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Threads;
import org.openjdk.jmh.annotations.Warmup;

/**
 * A trivial call through a {@link Guard} (breaker, bulkhead, enforced call timeout on the guard's
 * executor, failure classification, retry loop) beside the same protection composed from
 * Resilience4j with {@link Decorators}: circuit breaker + bulkhead + a time limiter over a future
 * run on an executor of the same kind (a cached pool on a synchronous hand-off, as the guard's own
 * shared pool is). Also beside the bare Resilience4j breaker ({@code executeSupplier}, on the
 * caller's thread, no timeout) and no protection at all, in the same run.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(
    value = 2,
    jvmArgs = {"-Xms1g", "-Xmx1g"})
public class GuardBenchmark {
  /** What the call goes through. */
  public enum Impl {
    outlast,
    resilience4j,
    breaker,
    none
  }

  @Param Impl impl;

  private Guard guard;
  private CircuitBreaker breaker;
  private Callable<Long> composed;
  private ExecutorService executor;
  private final AtomicLong counter = new AtomicLong();

  @Setup(Level.Trial)
  public void setUp() {
    GuardConfig config = GuardConfig.database();
    guard = Guard.of("bench", config);
    CircuitBreakerConfig breakerConfig =
        CircuitBreakerConfig.custom()
            .slidingWindow(
                config.slidingWindowSize(),
                config.minimumNumberOfCalls(),
                CircuitBreakerConfig.SlidingWindowType.COUNT_BASED)
            .failureRateThreshold(config.failureRateThreshold())
            .slowCallDurationThreshold(config.callTimeout())
            .slowCallRateThreshold(config.failureRateThreshold())
            .permittedNumberOfCallsInHalfOpenState(config.probes())
            .writableStackTraceEnabled(false)
            .build();
    breaker = CircuitBreaker.of("bench", breakerConfig);
    CircuitBreaker composedBreaker = CircuitBreaker.of("bench-composed", breakerConfig);
    Bulkhead bulkhead =
        Bulkhead.of(
            "bench",
            BulkheadConfig.custom()
                .maxConcurrentCalls(config.maxConcurrentCalls())
                .maxWaitDuration(Duration.ZERO)
                .writableStackTraceEnabled(false)
                .build());
    TimeLimiter limiter =
        TimeLimiter.of(
            TimeLimiterConfig.custom()
                .timeoutDuration(config.callTimeout())
                .cancelRunningFuture(true)
                .build());
    executor =
        new ThreadPoolExecutor(
            0,
            1_024,
            30,
            TimeUnit.SECONDS,
            new SynchronousQueue<>(),
            r -> {
              Thread t = new Thread(r, "r4j-call");
              t.setDaemon(true);
              return t;
            });
    composed =
        Decorators.ofCallable(
                TimeLimiter.decorateFutureSupplier(limiter, () -> executor.submit(this::work)))
            .withCircuitBreaker(composedBreaker)
            .withBulkhead(bulkhead)
            .decorate();
  }

  @TearDown(Level.Trial)
  public void tearDown() {
    executor.shutdownNow();
  }

  private long work() {
    return counter.incrementAndGet();
  }

  private long call() throws Exception {
    return switch (impl) {
      case outlast -> guard.call(this::work);
      case resilience4j -> composed.call();
      case breaker -> breaker.executeSupplier(this::work);
      case none -> work();
    };
  }

  @Benchmark
  public long oneThread() throws Exception {
    return call();
  }

  @Benchmark
  @Threads(4)
  public long fourThreads() throws Exception {
    return call();
  }
}
