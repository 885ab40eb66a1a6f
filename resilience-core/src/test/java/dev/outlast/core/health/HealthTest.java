package dev.outlast.core.health;

import static org.assertj.core.api.Assertions.assertThat;

import dev.outlast.core.Guard;
import dev.outlast.core.GuardConfig;
import java.net.ConnectException;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import org.junit.jupiter.api.Test;

/** How components add up to the service's status, and the JSON (pure logic). */
class HealthTest {
  private static final Clock FIXED =
      Clock.fixed(Instant.parse("2026-11-21T10:00:00Z"), ZoneOffset.UTC);

  private static Guard openGuard(String name) {
    Guard g = Guard.of(name, GuardConfig.custom().maxAttempts(1).minimumNumberOfCalls(2).build());
    for (int i = 0; i < 5 && g.state() != Guard.State.OPEN; i++) {
      try {
        g.call(
            () -> {
              throw new ConnectException("Connection refused");
            });
      } catch (RuntimeException expected) {
        // counted by the guard
      }
    }
    assertThat(g.state()).isEqualTo(Guard.State.OPEN);
    return g;
  }

  private static HealthCheck fixed(String name, HealthStatus status, Importance importance) {
    return () -> new ComponentHealth(name, "test", name, status, importance, "because");
  }

  @Test
  void allUp_isUp() {
    HealthReport r =
        Health.builder()
            .guard(Guard.ofDefaults("mysql"), Importance.CORE)
            .clock(FIXED)
            .build()
            .snapshot();
    assertThat(r.status()).isEqualTo(HealthStatus.UP);
    assertThat(r.components().get(0).reason()).startsWith("breaker closed");
    assertThat(r.at()).isEqualTo(FIXED.instant());
  }

  @Test
  void aCoreComponentDown_isDown_aDependentOneOnlyDegrades() {
    Guard down = openGuard("ledger");
    assertThat(Health.builder().guard(down, Importance.CORE).build().snapshot().status())
        .isEqualTo(HealthStatus.DOWN);
    HealthReport dependent =
        Health.builder()
            .guard(Guard.ofDefaults("mysql"), Importance.CORE)
            .guard(openGuard("pulsar"), Importance.DEPENDENT)
            .build()
            .snapshot();
    assertThat(dependent.status()).isEqualTo(HealthStatus.DEGRADED);
    ComponentHealth pulsar = dependent.components().get(1);
    assertThat(pulsar.status()).isEqualTo(HealthStatus.DOWN);
    assertThat(pulsar.reason()).contains("breaker open since").contains("Connection refused");
    assertThat(
            Health.builder()
                .check(fixed("cache", HealthStatus.DEGRADED, Importance.CORE))
                .build()
                .snapshot()
                .status())
        .isEqualTo(HealthStatus.DEGRADED);
  }

  @Test
  void aCheckThatThrows_isReportedDown_andTheOthersStillReport() {
    HealthReport r =
        Health.builder()
            .check(
                () -> {
                  throw new IllegalStateException("broken check");
                })
            .check(fixed("queue", HealthStatus.UP, Importance.DEPENDENT))
            .build()
            .snapshot();
    assertThat(r.components()).hasSize(2);
    assertThat(r.components().get(0).status()).isEqualTo(HealthStatus.DOWN);
    assertThat(r.components().get(0).reason()).contains("broken check");
    assertThat(r.status()).isEqualTo(HealthStatus.DEGRADED);
  }

  @Test
  void json_hasEveryFieldAndEscapesText() {
    HealthReport r =
        Health.builder()
            .check(
                () ->
                    new ComponentHealth(
                        "orders \"queue\"",
                        "queue",
                        "pulsar",
                        HealthStatus.DEGRADED,
                        Importance.DEPENDENT,
                        "line\nbreak \\ tab\t\u0001"))
            .clock(FIXED)
            .build()
            .snapshot();
    assertThat(r.toJson())
        .isEqualTo(
            "{\"status\":\"DEGRADED\",\"at\":\"2026-11-21T10:00:00Z\",\"components\":[{"
                + "\"component\":\"orders \\\"queue\\\"\",\"kind\":\"queue\",\"dependency\":\"pulsar\","
                + "\"status\":\"DEGRADED\",\"importance\":\"DEPENDENT\","
                + "\"reason\":\"line\\nbreak \\\\ tab\\t\\u0001\"}]}");
  }
}
