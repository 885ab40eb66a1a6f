package dev.outlast.benchmarks;

import dev.outlast.core.Guard;
import dev.outlast.core.GuardConfig;
import io.github.resilience4j.circuitbreaker.CircuitBreaker;
import io.github.resilience4j.circuitbreaker.CircuitBreakerConfig;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * A trivial call through a {@link Guard} (breaker, bulkhead, failure classification, retry loop)
 * beside the same call through a raw Resilience4j circuit breaker with the same settings ({@code
 * executeSupplier}), and beside no protection at all ({@code none}), in the same run.
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
    none
  }

  @Param Impl impl;

  private Guard guard;
  private CircuitBreaker breaker;
  private long counter;

  @Setup
  public void setUp() {
    GuardConfig config = GuardConfig.database();
    guard = Guard.of("bench", config);
    breaker =
        CircuitBreaker.of(
            "bench",
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
                .build());
  }

  private long work() {
    return ++counter;
  }

  @Benchmark
  public long call() {
    return switch (impl) {
      case outlast -> guard.call(this::work);
      case resilience4j -> breaker.executeSupplier(this::work);
      case none -> work();
    };
  }
}
