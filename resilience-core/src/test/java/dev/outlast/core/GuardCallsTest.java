package dev.outlast.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.outlast.testkit.ManualClock;
import java.net.ConnectException;
import java.sql.SQLIntegrityConstraintViolationException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** {@link Guard#calls()}: every call made is counted once, by its first outcome, with its time. */
class GuardCallsTest {
  private final ManualClock clock = new ManualClock();

  private GuardConfig.Builder config() {
    return GuardConfig.custom()
        .clock(clock)
        .ticker(clock::nanos)
        .sleeper(d -> {})
        .jitter(0)
        .slidingWindowSize(10)
        .minimumNumberOfCalls(4)
        .callTimeout(Duration.ofSeconds(1))
        .maxAttempts(1);
  }

  @Test
  void calls_countsEachOutcomeOnce_withItsTime() {
    Guard guard = Guard.of("mysql", config().build());
    assertThat(guard.calls()).isEqualTo(new Guard.Calls(0, 0, 0, 0, 0, 0));

    Guard.Permit ok = Objects.requireNonNull(guard.tryEnter());
    ok.success(7);
    ok.failure(100, new ConnectException("a late report is ignored"));
    Objects.requireNonNull(guard.tryEnter()).success(3);
    Objects.requireNonNull(guard.tryEnter()).failure(20, new ConnectException("refused"));
    Objects.requireNonNull(guard.tryEnter())
        .failure(30, new SQLIntegrityConstraintViolationException("duplicate key"));
    Objects.requireNonNull(guard.tryEnter()).release();
    Objects.requireNonNull(guard.tryEnter()).success(-5); // a clock that went back counts as 0

    assertThat(guard.calls()).isEqualTo(new Guard.Calls(3, 10, 1, 20, 1, 30));
  }

  @Test
  void calls_countsRetriesAsCalls_andRejectionsNot() {
    Guard guard = Guard.of("mysql", config().maxAttempts(3).minimumNumberOfCalls(3).build());
    assertThatThrownBy(
            () ->
                guard.call(
                    () -> {
                      clock.advance(Duration.ofMillis(2));
                      throw new ConnectException("refused");
                    }))
        .isInstanceOf(DependencyCallException.class);
    Guard.Calls c = guard.calls();
    assertThat(c.failed()).isEqualTo(3);
    assertThat(c.failedNanos()).isEqualTo(Duration.ofMillis(6).toNanos());
    assertThat(guard.state()).isEqualTo(Guard.State.OPEN);

    assertThatThrownBy(() -> guard.call(() -> "never"))
        .isInstanceOf(DependencyUnavailableException.class);
    assertThat(guard.calls()).isEqualTo(c);
    assertThat(guard.snapshot().rejectedCalls()).isEqualTo(1);
  }

  @Test
  void calls_countsAPermitOverdueAtTheTimeoutAsFailed() {
    Guard guard = Guard.of("mysql", config().build());
    Guard.Permit hung = Objects.requireNonNull(guard.tryEnter());
    clock.advance(Duration.ofSeconds(2));
    assertThat(guard.expireOverduePermits()).isTrue();
    hung.success(1);
    Guard.Calls c = guard.calls();
    assertThat(c.failed()).isEqualTo(1);
    assertThat(c.failedNanos()).isEqualTo(Duration.ofSeconds(2).toNanos());
    assertThat(c.successful()).isZero();
    assertThat(guard.snapshot().timeouts()).isEqualTo(1);
  }

  @Test
  void calls_isExactWith8Threads() throws Exception {
    Guard guard =
        Guard.builder("mysql")
            .config(config().slidingWindowSize(100).minimumNumberOfCalls(100).build())
            .executor(Runnable::run)
            .build();
    int threads = 8;
    int each = 5_000;
    ExecutorService pool = Executors.newFixedThreadPool(threads);
    CountDownLatch start = new CountDownLatch(1);
    List<Future<?>> done = new ArrayList<>();
    try {
      for (int t = 0; t < threads; t++) {
        done.add(
            pool.submit(
                () -> {
                  start.await();
                  for (int i = 0; i < each; i++) {
                    Guard.Permit p = Objects.requireNonNull(guard.tryEnter());
                    if (i % 2 == 0) {
                      p.success(2);
                    } else {
                      p.failure(1, new IllegalArgumentException("a bad request"));
                    }
                  }
                  return null;
                }));
      }
      start.countDown();
      for (Future<?> f : done) {
        f.get(1, TimeUnit.MINUTES);
      }
    } finally {
      pool.shutdownNow();
    }
    int total = threads * each;
    assertThat(guard.calls())
        .isEqualTo(new Guard.Calls(total / 2, total, 0, 0, total / 2, total / 2));
  }
}
