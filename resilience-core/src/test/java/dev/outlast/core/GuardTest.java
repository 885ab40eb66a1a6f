package dev.outlast.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.outlast.testkit.ManualClock;
import java.io.IOException;
import java.net.ConnectException;
import java.sql.SQLException;
import java.sql.SQLIntegrityConstraintViolationException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

class GuardTest {
  private final ManualClock clock = new ManualClock();
  private final List<Duration> sleeps = new ArrayList<>();
  private final AtomicInteger calls = new AtomicInteger();

  private GuardConfig.Builder config() {
    return GuardConfig.custom()
        .clock(clock)
        .ticker(clock::nanos)
        .sleeper(sleeps::add)
        .jitter(0)
        .slidingWindowSize(10)
        .minimumNumberOfCalls(4)
        .openWait(Duration.ofSeconds(2))
        .maxOpenWait(Duration.ofSeconds(8))
        .probes(2)
        .maxAttempts(1);
  }

  private String refused() throws IOException {
    calls.incrementAndGet();
    throw new ConnectException("Connection refused");
  }

  private String ok() {
    calls.incrementAndGet();
    return "ok";
  }

  @Test
  void unavailable_ofAClosedBreakerWithNoLimit_saysItClosedSince_notThatItIsOpen() {
    // What a caller whose tryEnter was refused while the breaker was open reads once it closed.
    Guard guard = Guard.of("mysql", config().maxConcurrentCalls(0).build());
    assertThat(guard.unavailable().getMessage())
        .contains("the breaker refused the call and has closed since")
        .doesNotContain("open since");
  }

  @Test
  void call_whenHealthy_returnsTheAnswer() {
    Guard guard = Guard.of("mysql", config().build());
    assertThat(guard.call(this::ok)).isEqualTo("ok");
    assertThat(guard.state()).isEqualTo(Guard.State.CLOSED);
  }

  @Test
  void call_afterEnoughInfrastructureFailures_opensAndRejectsWithoutCalling() {
    Guard guard = Guard.of("mysql", config().build());
    for (int i = 0; i < 4; i++) {
      assertThatThrownBy(() -> guard.call(this::refused))
          .isInstanceOf(DependencyCallException.class)
          .hasCauseInstanceOf(ConnectException.class)
          .satisfies(
              e -> assertThat(((DependencyCallException) e).isInfrastructureFailure()).isTrue());
    }
    assertThat(guard.state()).isEqualTo(Guard.State.OPEN);
    int before = calls.get();
    assertThatThrownBy(() -> guard.call(this::ok))
        .isInstanceOf(DependencyUnavailableException.class)
        .hasMessageContaining("mysql is unavailable: its circuit breaker is open")
        .hasMessageContaining("Connection refused")
        .satisfies(
            e -> {
              DependencyUnavailableException u = (DependencyUnavailableException) e;
              assertThat(u.dependency()).isEqualTo("mysql");
              assertThat(u.reason()).isEqualTo(DependencyUnavailableException.Reason.BREAKER_OPEN);
              assertThat(u.getStackTrace()).as("hot path: no stack trace").isEmpty();
            });
    assertThat(calls.get()).as("no call reached the dependency").isEqualTo(before);
    assertThat(guard.snapshot().rejectedCalls()).isEqualTo(1);
  }

  @Test
  void call_withBusinessFailures_staysClosed_andRethrowsThemAsTheyAre() {
    Guard guard = Guard.of("mysql", config().build());
    for (int i = 0; i < 10; i++) {
      assertThatThrownBy(
              () ->
                  guard.call(
                      () -> {
                        throw new IllegalArgumentException("bad id");
                      }))
          .isExactlyInstanceOf(IllegalArgumentException.class);
      assertThatThrownBy(
              () ->
                  guard.call(
                      () -> {
                        throw new SQLIntegrityConstraintViolationException("dup", "23000");
                      }))
          .isInstanceOf(DependencyCallException.class)
          .satisfies(
              e -> assertThat(((DependencyCallException) e).isInfrastructureFailure()).isFalse());
    }
    assertThat(guard.state()).isEqualTo(Guard.State.CLOSED);
  }

  @Test
  void call_retriesInfrastructureFailuresWithExponentialBackoff() {
    Guard guard =
        Guard.of(
            "mysql",
            config()
                .maxAttempts(3)
                .retryBackoff(Duration.ofMillis(100))
                .slidingWindowSize(20)
                .minimumNumberOfCalls(20)
                .build());
    assertThatThrownBy(() -> guard.call(this::refused)).isInstanceOf(DependencyCallException.class);
    assertThat(calls.get()).isEqualTo(3);
    assertThat(sleeps).containsExactly(Duration.ofMillis(100), Duration.ofMillis(200));
    assertThat(guard.snapshot().retries()).isEqualTo(2);
  }

  @Test
  void call_doesNotRetryBusinessFailures() {
    Guard guard = Guard.of("mysql", config().maxAttempts(3).build());
    assertThatThrownBy(
            () ->
                guard.call(
                    () -> {
                      calls.incrementAndGet();
                      throw new SQLException("syntax", "42000");
                    }))
        .isInstanceOf(DependencyCallException.class);
    assertThat(calls.get()).isEqualTo(1);
    assertThat(sleeps).isEmpty();
  }

  @Test
  void call_recoversThroughLimitedProbes_afterTheOpenWait() throws Exception {
    Guard guard = Guard.of("mysql", config().build());
    for (int i = 0; i < 4; i++) {
      assertThatThrownBy(() -> guard.call(this::refused))
          .isInstanceOf(DependencyCallException.class);
    }
    clock.advance(Duration.ofMillis(1_900));
    assertThatThrownBy(() -> guard.call(this::ok))
        .isInstanceOf(DependencyUnavailableException.class);

    clock.advance(Duration.ofMillis(200));
    // Half-open: two probes may be in flight; a third caller is rejected meanwhile.
    Guard.Permit first = Objects.requireNonNull(guard.tryEnter(), "first probe");
    Guard.Permit second = Objects.requireNonNull(guard.tryEnter(), "second probe");
    assertThat(guard.state()).isEqualTo(Guard.State.HALF_OPEN);
    assertThat(guard.tryEnter()).as("only the configured probes go out").isNull();
    first.success(1_000);
    second.success(1_000);
    assertThat(guard.state()).isEqualTo(Guard.State.CLOSED);
    assertThat(guard.call(this::ok)).isEqualTo("ok");
  }

  /**
   * A dependency that recovers while little traffic goes to it (a queue that drained its backlog in
   * one call): after one good probe the guard stays half-open until the next calls, and does not
   * fall back to open on its own, which would refuse them for another open wait.
   */
  @Test
  void afterAGoodProbe_anIdleGuardStaysHalfOpen_andClosesWithTheNextCalls() throws Exception {
    Guard guard = Guard.of("pulsar", config().callTimeout(Duration.ofMillis(50)).build());
    for (int i = 0; i < 4; i++) {
      assertThatThrownBy(() -> guard.call(this::refused))
          .isInstanceOf(DependencyCallException.class);
    }
    clock.advance(Duration.ofMillis(2_100));
    assertThat(guard.call(this::ok)).isEqualTo("ok");
    assertThat(guard.state()).isEqualTo(Guard.State.HALF_OPEN);
    // Idle for many call timeouts, in real time (Resilience4j's half-open timer is not on the
    // guard's clock) and on the guard's clock.
    Thread.sleep(400);
    clock.advance(Duration.ofSeconds(30));
    assertThat(guard.state()).isEqualTo(Guard.State.HALF_OPEN);
    assertThat(guard.call(this::ok)).isEqualTo("ok");
    assertThat(guard.state()).isEqualTo(Guard.State.CLOSED);
  }

  @Test
  void openWait_doublesWhileProbesFail_upToTheMaximum() {
    Guard guard = Guard.of("mysql", config().probes(1).build());
    for (int i = 0; i < 4; i++) {
      assertThatThrownBy(() -> guard.call(this::refused))
          .isInstanceOf(DependencyCallException.class);
    }
    long[] waits = {2_000, 4_000, 8_000, 8_000};
    for (long wait : waits) {
      clock.advance(Duration.ofMillis(wait - 1));
      assertThat(guard.tryEnter()).as("still open just before %d ms", wait).isNull();
      // Resilience4j lets probes out strictly after the wait.
      clock.advance(Duration.ofMillis(2));
      assertThatThrownBy(() -> guard.call(this::refused))
          .as("probe after %d ms", wait)
          .isInstanceOf(DependencyCallException.class);
      assertThat(guard.state()).isEqualTo(Guard.State.OPEN);
    }
  }

  @Test
  void bulkhead_rejectsCallsBeyondTheLimit_withoutCountingThemAsFailures() throws Exception {
    Guard guard = Guard.of("mysql", config().maxConcurrentCalls(1).build());
    CountDownLatch inside = new CountDownLatch(1);
    CountDownLatch release = new CountDownLatch(1);
    Thread holder =
        new Thread(
            () ->
                guard.call(
                    () -> {
                      inside.countDown();
                      release.await();
                      return "held";
                    }));
    holder.start();
    inside.await();
    assertThatThrownBy(() -> guard.call(this::ok))
        .isInstanceOf(DependencyUnavailableException.class)
        .hasMessageContaining("mysql is saturated: 1 calls are in flight")
        .satisfies(
            e ->
                assertThat(((DependencyUnavailableException) e).reason())
                    .isEqualTo(DependencyUnavailableException.Reason.BULKHEAD_FULL));
    release.countDown();
    holder.join();
    assertThat(guard.call(this::ok)).isEqualTo("ok");
    assertThat(guard.snapshot().failedCalls()).isZero();
  }

  @Test
  void permit_countsOnlyTheFirstOutcome() {
    Guard guard = Guard.of("mysql", config().build());
    Guard.Permit permit = Objects.requireNonNull(guard.tryEnter());
    permit.success(10);
    permit.failure(10, new ConnectException("late"));
    permit.release();
    assertThat(guard.snapshot().bufferedCalls()).isEqualTo(1);
    assertThat(guard.snapshot().failedCalls()).isZero();
  }

  @Test
  void slowCalls_countLikeFailures() {
    Guard guard = Guard.of("mysql", config().callTimeout(Duration.ofMillis(50)).build());
    for (int i = 0; i < 4; i++) {
      Guard.Permit p = Objects.requireNonNull(guard.tryEnter());
      p.success(Duration.ofMillis(80).toNanos());
    }
    assertThat(guard.state()).isEqualTo(Guard.State.OPEN);
  }

  @Test
  void listeners_hearStateChanges_andAFailingListenerBreaksNothing() {
    Guard guard = Guard.of("mysql", config().build());
    List<String> seen = new ArrayList<>();
    guard.addListener(
        (g, from, to) -> {
          throw new IllegalStateException("listener bug");
        });
    guard.addListener((g, from, to) -> seen.add(g.dependency() + ":" + from + "->" + to));
    for (int i = 0; i < 4; i++) {
      assertThatThrownBy(() -> guard.call(this::refused))
          .isInstanceOf(DependencyCallException.class);
    }
    assertThat(seen).containsExactly("mysql:CLOSED->OPEN");
  }

  @Test
  void of_rejectsABlankName() {
    assertThatThrownBy(() -> Guard.of(" ", GuardConfig.database()))
        .hasMessageContaining("dependency name");
  }
}
