package dev.outlast.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.outlast.testkit.ManualClock;
import java.net.ConnectException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.atomic.LongAdder;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The call timeout is a promise to the caller, whatever the call does. */
class GuardTimeoutTest {
  private final CountDownLatch never = new CountDownLatch(1);

  @AfterEach
  void releaseHungCalls() {
    never.countDown();
  }

  private static GuardConfig.Builder config(Duration timeout) {
    return GuardConfig.custom()
        .callTimeout(timeout)
        .jitter(0)
        .slidingWindowSize(10)
        .minimumNumberOfCalls(4)
        .maxAttempts(1);
  }

  /** A call that ignores interrupts and returns only when the test ends. */
  private String hangsDeaf() {
    while (true) {
      try {
        never.await();
        return "late";
      } catch (InterruptedException e) {
        // A driver stuck in a socket read does not hear it either.
      }
    }
  }

  @Test
  void call_thatNeverReturns_releasesTheCallerAtTheTimeout_andGivesItsSlotBack() {
    Guard guard = Guard.of("mysql", config(Duration.ofMillis(200)).maxConcurrentCalls(1).build());
    long start = System.nanoTime();
    assertThatThrownBy(() -> guard.call(this::hangsDeaf))
        .isInstanceOf(DependencyTimeoutException.class)
        .hasMessageContaining("mysql did not answer within the call timeout of 0.2 s")
        .hasCauseInstanceOf(java.util.concurrent.TimeoutException.class)
        .satisfies(e -> assertThat(guard.isOutage(e)).isTrue());
    long tookMillis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
    assertThat(tookMillis).isBetween(190L, 700L);

    Guard.Snapshot s = guard.snapshot();
    assertThat(s.failedCalls()).as("counted as failed once").isEqualTo(1);
    assertThat(s.timeouts()).isEqualTo(1);
    assertThat(s.abandonedCalls()).as("the hung call still holds its thread").isEqualTo(1);
    // The bulkhead of 1 has its slot back: a healthy call goes through.
    assertThat(guard.call(() -> "ok")).isEqualTo("ok");

    never.countDown();
    org.awaitility.Awaitility.await()
        .atMost(Duration.ofSeconds(5))
        .until(() -> guard.snapshot().abandonedCalls() == 0);
    assertThat(guard.snapshot().bufferedCalls()).as("the late answer is not counted").isEqualTo(2);
  }

  @Test
  void call_pastItsTimeout_isInterrupted_unlessConfiguredToBeLeftAlone() throws Exception {
    for (boolean interrupt : new boolean[] {true, false}) {
      Guard guard =
          Guard.of("mysql", config(Duration.ofMillis(100)).interruptOnTimeout(interrupt).build());
      CountDownLatch ended = new CountDownLatch(1);
      AtomicBoolean interrupted = new AtomicBoolean();
      assertThatThrownBy(
              () ->
                  guard.call(
                      () -> {
                        try {
                          Thread.sleep(interrupt ? 10_000 : 400);
                          return "done";
                        } catch (InterruptedException e) {
                          interrupted.set(true);
                          throw e;
                        } finally {
                          ended.countDown();
                        }
                      }))
          .isInstanceOf(DependencyTimeoutException.class);
      assertThat(ended.await(5, TimeUnit.SECONDS)).isTrue();
      assertThat(interrupted.get())
          .as("interrupted with interruptOnTimeout=%s", interrupt)
          .isEqualTo(interrupt);
    }
  }

  @Test
  void retries_stayWithinTheCallTimeout() {
    AtomicInteger calls = new AtomicInteger();
    Guard guard =
        Guard.of(
            "mysql",
            config(Duration.ofMillis(300))
                .maxAttempts(10)
                .retryBackoff(Duration.ofMillis(100))
                .maxRetryBackoff(Duration.ofMillis(100))
                .minimumNumberOfCalls(10)
                .build());
    long start = System.nanoTime();
    assertThatThrownBy(
            () ->
                guard.call(
                    () -> {
                      calls.incrementAndGet();
                      throw new ConnectException("refused");
                    }))
        .isInstanceOf(DependencyCallException.class);
    long tookMillis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
    // 300 ms, plus what a busy machine may add to the last sleep.
    assertThat(tookMillis).isLessThan(450);
    assertThat(calls.get()).as("retries that fit in 300 ms with 100 ms between").isBetween(2, 3);
  }

  /** A retry wait that overran the budget (a descheduled thread) is not followed by an attempt. */
  @Test
  void aRetryWaitThatOverrunsTheBudget_endsTheCallWithItsFailure() {
    ManualClock clock = new ManualClock();
    AtomicInteger calls = new AtomicInteger();
    Guard guard =
        Guard.of(
            "mysql",
            config(Duration.ofMillis(300))
                .clock(clock)
                .ticker(clock::nanos)
                .maxAttempts(5)
                .retryBackoff(Duration.ofMillis(100))
                .minimumNumberOfCalls(10)
                .sleeper(d -> clock.advance(Duration.ofMillis(400)))
                .build());
    assertThatThrownBy(
            () ->
                guard.call(
                    () -> {
                      calls.incrementAndGet();
                      throw new ConnectException("refused");
                    }))
        .isInstanceOf(DependencyCallException.class)
        .hasCauseInstanceOf(ConnectException.class);
    assertThat(calls.get()).isEqualTo(1);
    assertThat(guard.snapshot().retries()).isZero();
  }

  /**
   * Three probes that hang in a half-open breaker used to refuse every later call for good: their
   * permits now count as failed at the call timeout, the breaker opens again and probes anew.
   */
  @Test
  void hungProbePermits_cannotWedgeAHalfOpenBreaker() {
    ManualClock clock = new ManualClock();
    Guard guard =
        Guard.of(
            "mysql",
            config(Duration.ofSeconds(1))
                .clock(clock)
                .ticker(clock::nanos)
                .probes(3)
                .openWait(Duration.ofSeconds(2))
                .build());
    for (int i = 0; i < 4; i++) {
      Objects.requireNonNull(guard.tryEnter()).failure(1_000, new ConnectException("refused"));
    }
    clock.advance(Duration.ofMillis(2_001));
    for (int i = 0; i < 3; i++) {
      assertThat(guard.tryEnter()).as("probe %d", i).isNotNull(); // and never reported
    }
    assertThat(guard.state()).isEqualTo(Guard.State.HALF_OPEN);
    assertThat(guard.tryEnter()).isNull();

    clock.advance(Duration.ofMillis(1_001));
    assertThat(guard.tryEnter()).as("refused while open again").isNull();
    assertThat(guard.state()).isEqualTo(Guard.State.OPEN);
    assertThat(guard.snapshot().timeouts()).isEqualTo(3);
    clock.advance(Duration.ofSeconds(10));
    Guard.Permit probe = Objects.requireNonNull(guard.tryEnter(), "a fresh probe");
    probe.success(1_000);
    assertThat(guard.state()).isEqualTo(Guard.State.HALF_OPEN);
  }

  @Test
  void aPermitThatNeverReports_givesItsBulkheadSlotBackAtTheTimeout() {
    ManualClock clock = new ManualClock();
    Guard guard =
        Guard.of(
            "mysql",
            config(Duration.ofSeconds(1))
                .clock(clock)
                .ticker(clock::nanos)
                .maxConcurrentCalls(2)
                .build());
    Guard.Permit a = Objects.requireNonNull(guard.tryEnter());
    assertThat(guard.tryEnter()).isNotNull(); // leaked by its holder
    assertThat(guard.tryEnter()).isNull();
    clock.advance(Duration.ofMillis(1_001));
    Guard.Permit c = guard.tryEnter();
    assertThat(c).as("both overdue slots came back").isNotNull();
    a.success(10); // too late: ignored
    assertThat(guard.snapshot().failedCalls()).isEqualTo(2);
  }

  @Test
  void aCallerInterruptedWhileWaiting_isReleased_withItsFlagSet() throws Exception {
    Guard guard = Guard.of("mysql", config(Duration.ofSeconds(30)).maxConcurrentCalls(1).build());
    AtomicReference<Throwable> thrown = new AtomicReference<>();
    AtomicBoolean flag = new AtomicBoolean();
    Thread caller =
        new Thread(
            () -> {
              try {
                guard.call(this::hangsDeaf);
              } catch (Throwable t) {
                thrown.set(t);
                flag.set(Thread.currentThread().isInterrupted());
              }
            });
    caller.start();
    org.awaitility.Awaitility.await().until(() -> caller.getState() != Thread.State.RUNNABLE);
    caller.interrupt();
    caller.join(5_000);
    assertThat(caller.isAlive()).isFalse();
    assertThat(thrown.get())
        .isInstanceOf(DependencyCallException.class)
        .hasCauseInstanceOf(InterruptedException.class);
    assertThat(flag).isTrue();
    assertThat(guard.call(() -> "ok")).as("the slot was given back").isEqualTo("ok");
    assertThat(guard.snapshot().failedCalls()).as("the caller gave up, not mysql").isZero();
  }

  @Test
  void anInterruptedExceptionFromTheCall_keepsTheInterruptFlag() {
    for (boolean inline : new boolean[] {true, false}) {
      Guard.Builder b = Guard.builder("mysql").config(config(Duration.ofSeconds(5)).build());
      if (inline) {
        b.executor(Runnable::run);
      }
      Guard guard = b.build();
      assertThatThrownBy(
              () ->
                  guard.call(
                      () -> {
                        throw new InterruptedException("driver interrupted");
                      }))
          .isInstanceOf(DependencyCallException.class)
          .hasCauseInstanceOf(InterruptedException.class);
      assertThat(Thread.interrupted())
          .as("flag set (inline=%s), and cleared here", inline)
          .isTrue();
    }
  }

  @Test
  void anExecutorThatRefuses_isASaturatedGuard_andLeaksNothing() {
    Guard guard =
        Guard.builder("mysql")
            .config(config(Duration.ofSeconds(1)).maxConcurrentCalls(1).build())
            .executor(
                r -> {
                  throw new java.util.concurrent.RejectedExecutionException("pool full");
                })
            .build();
    for (int i = 0; i < 3; i++) {
      assertThatThrownBy(() -> guard.call(() -> "x"))
          .isInstanceOf(DependencyUnavailableException.class)
          .hasMessageContaining("pool full");
    }
    assertThat(guard.snapshot().bufferedCalls()).isZero();
    assertThat(guard.tryEnter()).as("the bulkhead slot came back each time").isNotNull();
  }

  /**
   * Eight threads call through one guard; calls take 0-3 ms, some hang past the 20 ms timeout, some
   * fail. The dependency double is not synchronised: it counts the calls it is in. Every call is
   * accounted for exactly once, no caller waits much past the timeout, and every slot is back.
   */
  @Test
  void manyThreads_everyCallAccountedOnce_everySlotBack() throws Exception {
    int limit = 4;
    Guard guard =
        Guard.of(
            "mysql",
            config(Duration.ofMillis(20))
                .maxConcurrentCalls(limit)
                .slidingWindowSize(10_000)
                .minimumNumberOfCalls(10_000)
                .build());
    AtomicInteger inside = new AtomicInteger();
    AtomicInteger waitedByGuard = new AtomicInteger();
    LongAdder ok = new LongAdder();
    LongAdder failed = new LongAdder();
    LongAdder timedOut = new LongAdder();
    LongAdder refused = new LongAdder();
    List<Long> worst = new ArrayList<>();
    ExecutorService pool = Executors.newFixedThreadPool(8);
    List<Future<Long>> results = new ArrayList<>();
    for (int t = 0; t < 8; t++) {
      results.add(
          pool.submit(
              () -> {
                long worstNanos = 0;
                for (int i = 0; i < 150; i++) {
                  int kind = ThreadLocalRandom.current().nextInt(20);
                  long start = System.nanoTime();
                  try {
                    guard.call(
                        () -> {
                          int now = inside.incrementAndGet();
                          waitedByGuard.accumulateAndGet(now, Math::max);
                          try {
                            if (kind == 0) {
                              Thread.sleep(60); // past the timeout
                            } else if (kind == 1) {
                              throw new ConnectException("refused");
                            } else {
                              Thread.sleep(ThreadLocalRandom.current().nextInt(3));
                            }
                            return "ok";
                          } finally {
                            inside.decrementAndGet();
                          }
                        });
                    ok.increment();
                  } catch (DependencyTimeoutException e) {
                    timedOut.increment();
                  } catch (DependencyUnavailableException e) {
                    refused.increment();
                  } catch (DependencyCallException e) {
                    failed.increment();
                  }
                  worstNanos = Math.max(worstNanos, System.nanoTime() - start);
                }
                return worstNanos;
              }));
    }
    for (Future<Long> f : results) {
      worst.add(f.get(60, TimeUnit.SECONDS));
    }
    pool.shutdown();
    long calls = ok.sum() + failed.sum() + timedOut.sum();
    assertThat(calls + refused.sum()).isEqualTo(8 * 150);
    assertThat(timedOut.sum()).as("some calls hung").isPositive();
    Guard.Snapshot s = guard.snapshot();
    assertThat((long) s.bufferedCalls()).as("every made call counted once").isEqualTo(calls);
    assertThat((long) s.failedCalls()).isEqualTo(failed.sum() + timedOut.sum());
    assertThat(s.timeouts()).isEqualTo(timedOut.sum());
    assertThat((long) waitedByGuard.get())
        .as("at most the limit, plus calls abandoned at their timeout")
        .isLessThanOrEqualTo(limit + timedOut.sum());
    assertThat(worst.stream().mapToLong(Long::longValue).max().orElseThrow())
        .as("no caller waited much past 20 ms")
        .isLessThan(TimeUnit.MILLISECONDS.toNanos(500));
    org.awaitility.Awaitility.await().until(() -> guard.snapshot().abandonedCalls() == 0);
    List<Guard.Permit> all = new ArrayList<>();
    for (int i = 0; i < limit; i++) {
      all.add(Objects.requireNonNull(guard.tryEnter(), "slot " + i));
    }
    assertThat(guard.tryEnter()).isNull();
    all.forEach(Guard.Permit::release);
  }
}
