package dev.outlast.cache;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.outlast.core.Guard;
import dev.outlast.core.GuardConfig;
import dev.outlast.core.health.Importance;
import dev.outlast.testkit.ManualClock;
import java.net.ConnectException;
import java.time.Duration;
import java.util.Objects;
import java.util.stream.Stream;
import org.jspecify.annotations.Nullable;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The wall clock set an hour back or forth while the cache runs (NTP, a VM restored from a
 * snapshot, an operator): ages, backoffs and the guard cooldown run on the monotonic ticker, so
 * nothing changes but the dates on the answers. Before, a clock set back an hour refused every load
 * for an hour.
 */
class QueryCacheClockStepTest {
  private static final Freshness FRESHNESS =
      Freshness.of(Duration.ofSeconds(10), Duration.ofSeconds(10), Duration.ofSeconds(60));

  private final ManualClock wall = new ManualClock();
  private final ManualTicker ticker = new ManualTicker();
  private final ScriptedLoader loader = new ScriptedLoader();
  private @Nullable QueryCache<String, String> cache;

  static Stream<Duration> steps() {
    return Stream.of(Duration.ofHours(-1), Duration.ofHours(1));
  }

  private QueryCache<String, String> cache(Guard guard) {
    cache =
        QueryCache.<String, String>builder("stepped")
            .guard(guard)
            .freshness(FRESHNESS)
            .failureBackoff(Duration.ofSeconds(1), Duration.ofSeconds(8))
            .maxStaleWait(Duration.ofMillis(50))
            .clock(wall)
            .ticker(ticker)
            .build(loader);
    return cache;
  }

  /** A guard that does not open in these tests: only the cache's own deadlines are at stake. */
  private static Guard guard(int maxConcurrentCalls) {
    return Guard.of(
        "mysql",
        GuardConfig.custom()
            .maxAttempts(1)
            .slidingWindowSize(1_000)
            .minimumNumberOfCalls(1_000)
            .maxConcurrentCalls(maxConcurrentCalls)
            .callTimeout(Duration.ofMillis(500))
            .build());
  }

  @AfterEach
  void close() {
    QueryCache<String, String> c = cache;
    if (c != null) {
      c.close();
    }
  }

  @ParameterizedTest
  @MethodSource("steps")
  void freshness_followsTheAge_notTheWallClock(Duration step) {
    QueryCache<String, String> c = cache(guard(8));
    c.get("k");
    ticker.advance(Duration.ofSeconds(5));
    wall.advance(step);
    Answer<String> a = c.lookup("k");
    assertThat(a.state()).as("5 s old, whatever the wall clock says").isEqualTo(Answer.State.FRESH);
    assertThat(a.age()).isEqualTo(Duration.ofSeconds(5));
    assertThat(a.loadedAt())
        .as("dated by today's wall clock")
        .isEqualTo(wall.instant().minusSeconds(5));
    ticker.advance(Duration.ofSeconds(20));
    assertThat(c.lookup("k").state())
        .as("25 s old: past stale-while-revalidate, so a load answers")
        .isEqualTo(Answer.State.LOADED);
    assertThat(loader.callsFor("k")).isEqualTo(2);
    // Past serveStaleFor by its age: not served, however the wall clock moved.
    loader.failure = new ConnectException("Connection refused");
    wall.advance(step.negated());
    ticker.advance(Duration.ofSeconds(61));
    assertThatThrownBy(() -> c.get("k"))
        .isInstanceOf(NoUsableValueException.class)
        .hasMessageContaining("61 s old");
  }

  @ParameterizedTest
  @MethodSource("steps")
  void failureBackoff_endsAfterItsDuration_notAnHourEarlyOrLate(Duration step) {
    QueryCache<String, String> c = cache(guard(8));
    loader.failure = new ConnectException("Connection refused");
    assertThatThrownBy(() -> c.get("k")).isInstanceOf(NoUsableValueException.class);
    wall.advance(step);
    assertThatThrownBy(() -> c.get("k")).isInstanceOf(NoUsableValueException.class);
    assertThat(loader.callsFor("k")).as("still backed off after the step").isEqualTo(1);
    loader.failure = null;
    ticker.advance(Duration.ofMillis(1_600)); // past the first backoff: 1 s, jittered to <= 1.5 s
    assertThat(c.get("k")).as("loads again, no hour's wait").isEqualTo("k@2");
  }

  @ParameterizedTest
  @MethodSource("steps")
  void guardCooldown_endsAfter100ms_ofTheTicker(Duration step) {
    Guard guard = guard(1);
    QueryCache<String, String> c = cache(guard);
    Guard.Permit held = Objects.requireNonNull(guard.tryEnter());
    try {
      assertThatThrownBy(() -> c.get("k"))
          .isInstanceOf(NoUsableValueException.class)
          .hasMessageContaining("unavailable");
    } finally {
      held.release();
    }
    wall.advance(step);
    assertThatThrownBy(() -> c.get("k"))
        .as("within the cooldown, the guard is not asked again")
        .isInstanceOf(NoUsableValueException.class);
    ticker.advance(Duration.ofMillis(150));
    assertThat(c.get("k")).isEqualTo("k@1");
  }

  @ParameterizedTest
  @MethodSource("steps")
  void staleStatsAndHealth_describeTheLastMinute_ofTheTicker(Duration step) {
    QueryCache<String, String> c = cache(guard(8));
    c.get("k");
    loader.failure = new ConnectException("Connection refused");
    ticker.advance(Duration.ofSeconds(30));
    assertThat(c.lookup("k").state()).isEqualTo(Answer.State.STALE);
    wall.advance(step);
    assertThat(c.stats().oldestStaleServed()).isEqualTo(Duration.ofSeconds(30));
    assertThat(c.health(Importance.DEPENDENT).check().reason()).contains("stale answers");
    ticker.advance(Duration.ofSeconds(61));
    assertThat(c.stats().oldestStaleServed()).isEqualTo(Duration.ZERO);
    assertThat(c.health(Importance.DEPENDENT).check().status().name()).isEqualTo("UP");
  }
}
