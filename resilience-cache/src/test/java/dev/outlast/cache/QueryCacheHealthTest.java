package dev.outlast.cache;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.outlast.core.Guard;
import dev.outlast.core.GuardConfig;
import dev.outlast.core.health.ComponentHealth;
import dev.outlast.core.health.HealthStatus;
import dev.outlast.core.health.Importance;
import java.net.ConnectException;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * What a cache's health says while its database is out (pure logic; the MariaDB tests check the
 * same against a real server): DEGRADED while it answers from what it holds, DOWN only when it
 * holds nothing to answer with.
 */
class QueryCacheHealthTest {
  private final ManualTicker ticker = new ManualTicker();
  private final AtomicBoolean databaseUp = new AtomicBoolean(true);
  private final Guard guard =
      Guard.of(
          "mysql",
          GuardConfig.custom()
              .maxAttempts(1)
              .slidingWindowSize(4)
              .minimumNumberOfCalls(2)
              .openWait(Duration.ofMinutes(10))
              .maxOpenWait(Duration.ofMinutes(10))
              .build());
  private final QueryCache<String, String> cache =
      QueryCache.<String, String>builder("products")
          .guard(guard)
          .freshness(Freshness.of(Duration.ofSeconds(10), Duration.ZERO, Duration.ofHours(1)))
          .failureBackoff(Duration.ofMillis(1), Duration.ofMillis(1))
          .maxStaleWait(Duration.ofMillis(50))
          .ticker(ticker)
          .build(
              key -> {
                if (!databaseUp.get()) {
                  throw new ConnectException("Connection refused");
                }
                return "row " + key;
              });

  @AfterEach
  void close() {
    cache.close();
  }

  private void openTheBreaker() {
    databaseUp.set(false);
    for (int i = 0; i < 10 && guard.state() != Guard.State.OPEN; i++) {
      String key = "missing " + i;
      assertThatThrownBy(() -> cache.get(key)).isInstanceOf(NoUsableValueException.class);
    }
    assertThat(guard.state()).isEqualTo(Guard.State.OPEN);
  }

  @Test
  void anEmptyCacheWhoseDatabaseIsOut_isDown() {
    assertThat(cache.health(Importance.CORE).check().status()).isEqualTo(HealthStatus.UP);
    openTheBreaker();
    ComponentHealth h = cache.health(Importance.CORE).check();
    assertThat(h.status()).as(h.reason()).isEqualTo(HealthStatus.DOWN);
    assertThat(h.details()).containsEntry("size", 0L).containsEntry("state", "OPEN");
  }

  @Test
  void aCacheAnsweringStale_isDegraded_evenAfterCallsForKeysItNeverHeld() {
    assertThat(cache.get("1")).isEqualTo("row 1");
    ticker.advance(Duration.ofSeconds(11));
    openTheBreaker();
    assertThat(cache.lookup("1").state()).isEqualTo(Answer.State.STALE);
    assertThatThrownBy(() -> cache.get("never held")).isInstanceOf(NoUsableValueException.class);
    ComponentHealth h = cache.health(Importance.CORE).check();
    assertThat(h.status()).as(h.reason()).isEqualTo(HealthStatus.DEGRADED);
    assertThat(h.effectOnService()).isEqualTo(HealthStatus.DEGRADED);
    assertThat((Long) h.details().get("staleAnswers")).isPositive();
    assertThat((Long) h.details().get("noValueErrors")).isGreaterThanOrEqualTo(2L);
  }

  @Test
  void aCacheHoldingValuesWhileTheBreakerIsOpen_isDegradedBeforeAnyStaleAnswer() {
    assertThat(cache.get("1")).isEqualTo("row 1");
    openTheBreaker();
    ComponentHealth h = cache.health(Importance.CORE).check();
    assertThat(h.status()).as(h.reason()).isEqualTo(HealthStatus.DEGRADED);
    assertThat(h.reason()).contains("breaker open since");
  }
}
