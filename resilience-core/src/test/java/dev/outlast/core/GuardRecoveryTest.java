package dev.outlast.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import dev.outlast.testkit.ManualClock;
import java.net.ConnectException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** Recovery without traffic, contained plug-ins, and waits that ignore the wall clock. */
class GuardRecoveryTest {
  private final ScheduledExecutorService scheduler = Executors.newSingleThreadScheduledExecutor();
  private final CountDownLatch never = new CountDownLatch(1);

  @AfterEach
  void stop() {
    never.countDown();
    scheduler.shutdownNow();
  }

  private static GuardConfig.Builder config() {
    return GuardConfig.custom()
        .callTimeout(Duration.ofMillis(300))
        .jitter(0)
        .slidingWindowSize(10)
        .minimumNumberOfCalls(4)
        .openWait(Duration.ofSeconds(30))
        .maxOpenWait(Duration.ofMinutes(5))
        .probeInterval(Duration.ofMillis(20))
        .maxAttempts(1);
  }

  private static void open(Guard guard) {
    for (int i = 0; i < 4; i++) {
      Objects.requireNonNull(guard.tryEnter()).failure(1_000, new ConnectException("refused"));
    }
    assertThat(guard.state()).isEqualTo(Guard.State.OPEN);
  }

  @Test
  void anOpenBreaker_closesWithoutTraffic_whenTheProbeAnswers() {
    AtomicBoolean up = new AtomicBoolean();
    AtomicInteger checks = new AtomicInteger();
    Guard guard =
        Guard.builder("mysql")
            .config(config().build())
            .scheduler(scheduler)
            .recoveryProbe(
                () -> {
                  checks.incrementAndGet();
                  if (!up.get()) {
                    throw new ConnectException("still refused");
                  }
                })
            .build();
    List<String> seen = new ArrayList<>();
    guard.addListener((g, from, to) -> seen.add(from + "->" + to));
    open(guard);
    await().atMost(Duration.ofSeconds(5)).until(() -> checks.get() >= 3);
    assertThat(guard.state()).isEqualTo(Guard.State.OPEN);
    assertThat(guard.snapshot().lastFailure()).contains("recovery probe").contains("still refused");

    up.set(true);
    long upAt = System.nanoTime();
    await().atMost(Duration.ofSeconds(5)).until(() -> guard.state() == Guard.State.CLOSED);
    assertThat(Duration.ofNanos(System.nanoTime() - upAt))
        .as("seen within a few probe intervals, not after the 30 s open wait")
        .isLessThan(Duration.ofSeconds(1));
    assertThat(seen).containsExactly("CLOSED->OPEN", "OPEN->CLOSED");
    int after = checks.get();
    assertThat(guard.call(() -> "fresh")).isEqualTo("fresh");
    // Closed: the schedule stops (at most a probe already started still reports).
    await()
        .during(Duration.ofMillis(200))
        .atMost(Duration.ofSeconds(2))
        .until(() -> checks.get() <= after + 1);
  }

  @Test
  void aProbeThatHangs_doesNotHideTheRecovery() {
    AtomicInteger checks = new AtomicInteger();
    Guard guard =
        Guard.builder("mysql")
            .config(config().build())
            .scheduler(scheduler)
            .recoveryProbe(
                () -> {
                  if (checks.incrementAndGet() == 1) {
                    never.await(); // stuck on a dead connection
                  }
                })
            .build();
    open(guard);
    await().atMost(Duration.ofSeconds(5)).until(() -> guard.state() == Guard.State.CLOSED);
    assertThat(checks.get()).isGreaterThanOrEqualTo(2);
  }

  @Test
  void probeNow_checksAtOnce_andClosesTheBreaker() {
    AtomicBoolean up = new AtomicBoolean();
    Guard guard =
        Guard.builder("mysql")
            .config(config().probeInterval(java.time.Duration.ofHours(1)).build())
            .scheduler(scheduler)
            .recoveryProbe(
                () -> {
                  if (!up.get()) {
                    throw new ConnectException("refused");
                  }
                })
            .build();
    open(guard);
    assertThat(guard.probeNow()).isFalse();
    assertThat(guard.state()).isEqualTo(Guard.State.OPEN);
    up.set(true);
    assertThat(guard.probeNow()).isTrue();
    assertThat(guard.state()).isEqualTo(Guard.State.CLOSED);
  }

  @Test
  void probeNow_withoutAProbe_saysHowToGetOne() {
    Guard guard = Guard.of("mysql", config().build());
    assertThatThrownBy(guard::probeNow)
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("Guard.builder(name).recoveryProbe");
  }

  @Test
  void aThrowingClassifier_leaksNoSlot_andTheBuiltInClassificationDecides() {
    AtomicInteger asked = new AtomicInteger();
    Guard guard =
        Guard.of(
            "mysql",
            config()
                .maxConcurrentCalls(1)
                .classifier(
                    f -> {
                      asked.incrementAndGet();
                      throw new AssertionError("classifier bug");
                    })
                .build());
    for (int i = 0; i < 3; i++) {
      assertThatThrownBy(
              () ->
                  guard.call(
                      () -> {
                        throw new IllegalArgumentException("bad id");
                      }))
          .isExactlyInstanceOf(IllegalArgumentException.class);
    }
    assertThat(guard.call(() -> "ok")).as("the one slot is free").isEqualTo("ok");
    assertThat(guard.state()).isEqualTo(Guard.State.CLOSED);
    // A connection failure still counts, by the built-in rules.
    for (int i = 0; i < 4; i++) {
      assertThatThrownBy(
              () ->
                  guard.call(
                      () -> {
                        throw new ConnectException("refused");
                      }))
          .isInstanceOf(DependencyCallException.class);
    }
    assertThat(guard.state()).isEqualTo(Guard.State.OPEN);
    Guard.Snapshot s = guard.snapshot();
    assertThat(s.pluginFailures()).isEqualTo(asked.get()).isGreaterThanOrEqualTo(7);
    assertThat(s.lastPluginFailure()).contains("failure classifier").contains("classifier bug");
  }

  @Test
  void aListenerThatThrowsAnError_doesNotStopTheOthers() {
    Guard guard = Guard.of("mysql", config().build());
    List<String> seen = new ArrayList<>();
    guard.addListener(
        (g, from, to) -> {
          throw new StackOverflowError("listener bug");
        });
    guard.addListener((g, from, to) -> seen.add(from + "->" + to));
    open(guard);
    assertThat(seen).containsExactly("CLOSED->OPEN");
    assertThat(guard.snapshot().lastPluginFailure()).contains("listener");
  }

  @Test
  void aProbeThatThrowsAnError_keepsTheScheduleAlive() {
    AtomicInteger checks = new AtomicInteger();
    Guard guard =
        Guard.builder("mysql")
            .config(config().build())
            .scheduler(scheduler)
            .recoveryProbe(
                () -> {
                  if (checks.incrementAndGet() < 3) {
                    throw new OutOfMemoryError("probe bug");
                  }
                })
            .build();
    open(guard);
    await().atMost(Duration.ofSeconds(5)).until(() -> guard.state() == Guard.State.CLOSED);
  }

  /** Setting the wall clock an hour either way changes no wait: the ticker measures them. */
  @Test
  void wallClockSteps_changeNoWait() {
    for (long hours : new long[] {-1, 1}) {
      ManualClock clock = new ManualClock();
      Guard guard =
          Guard.of(
              "mysql",
              config().clock(clock).ticker(clock::nanos).openWait(Duration.ofSeconds(2)).build());
      open(guard);
      clock.step(Duration.ofHours(hours));
      assertThat(guard.tryEnter()).as("still open after a step of %d h", hours).isNull();
      clock.advance(Duration.ofMillis(2_001));
      Guard.Permit probe = guard.tryEnter();
      assertThat(probe).as("probes out after the 2 s wait, step of %d h", hours).isNotNull();
      Objects.requireNonNull(probe).success(1_000);
      // A permit's deadline is on the ticker too: a step does not time it out.
      clock.step(Duration.ofHours(hours));
      Guard.Permit held = Objects.requireNonNull(guard.tryEnter());
      clock.step(Duration.ofHours(hours));
      assertThat(guard.snapshot().timeouts()).isZero();
      held.success(1_000);
    }
  }
}
