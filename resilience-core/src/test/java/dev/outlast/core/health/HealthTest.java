package dev.outlast.core.health;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.outlast.core.Guard;
import dev.outlast.core.GuardConfig;
import java.net.ConnectException;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.LinkedHashMap;
import java.util.Map;
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
  void aCheckThatThrowsAnError_isContainedToo() {
    HealthReport r =
        Health.builder()
            .check(
                () -> {
                  throw new NoClassDefFoundError("dev/outlast/cache/QueryCache");
                })
            .check(fixed("queue", HealthStatus.UP, Importance.DEPENDENT))
            .build()
            .snapshot();
    assertThat(r.components().get(0).status()).isEqualTo(HealthStatus.DOWN);
    assertThat(r.components().get(0).reason()).contains("NoClassDefFoundError");
    assertThat(r.components().get(1).status()).isEqualTo(HealthStatus.UP);
  }

  @Test
  void json_isShapedAsActuators_keyedByName_withEveryFieldEscaped() {
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
                        "line\nbreak \\ tab\t\u0001",
                        false,
                        details(
                            "backlogEvents",
                            12L,
                            "spilling",
                            true,
                            "rate",
                            1.5,
                            "nan",
                            Double.NaN)))
            .clock(FIXED)
            .build()
            .snapshot();
    assertThat(r.toJson())
        .isEqualTo(
            "{\"status\":\"DEGRADED\",\"components\":{\"orders \\\"queue\\\"\":{"
                + "\"status\":\"DEGRADED\",\"details\":{\"kind\":\"queue\",\"dependency\":\"pulsar\","
                + "\"importance\":\"DEPENDENT\",\"reason\":\"line\\nbreak \\\\ tab\\t\\u0001\","
                + "\"backlogEvents\":12,\"spilling\":true,\"rate\":1.5,\"nan\":null}}}}");
  }

  @Test
  void json_keysANameUsedTwiceByKind_thenByNumber() {
    String json =
        Health.builder()
            .check(fixed("orders", HealthStatus.UP, Importance.CORE))
            .check(
                () ->
                    new ComponentHealth(
                        "orders", "queue", "es", HealthStatus.UP, Importance.CORE, "ok"))
            .check(
                () ->
                    new ComponentHealth(
                        "orders", "queue", "es", HealthStatus.UP, Importance.CORE, "ok"))
            .build()
            .snapshot()
            .toJson();
    assertThat(json)
        .contains("\"orders\":{")
        .contains("\"orders (queue)\":{")
        .contains("\"orders (queue 2)\":{");
  }

  @Test
  void aGuardsDetails_sayItsStateSinceAndLastFailure() {
    Guard ledger = openGuard("ledger");
    ComponentHealth h = Health.of(ledger, Importance.CORE).check();
    assertThat(h.details())
        .containsEntry("state", "OPEN")
        .containsEntry("since", ledger.snapshot().stateSince().toString())
        .containsEntry("failureRate", 100.0)
        .containsEntry("abandonedCalls", 0)
        .containsKeys("rejectedCalls", "timeouts", "lastFailureAt");
    assertThat((String) h.details().get("lastFailure")).contains("Connection refused");
    assertThat(h.details().keySet()).startsWith("state", "since");
    ComponentHealth fresh = Health.of(Guard.ofDefaults("mysql"), Importance.CORE).check();
    assertThat(fresh.details())
        .as("no failure rate before the window holds enough calls")
        .doesNotContainKeys("failureRate", "lastFailure");
  }

  @Test
  void readiness_isDownOnlyWhenACoreComponentIsDown() {
    HealthReport dependentDown =
        Health.builder()
            .check(fixed("search", HealthStatus.DOWN, Importance.DEPENDENT))
            .check(fixed("cache", HealthStatus.DEGRADED, Importance.CORE))
            .build()
            .snapshot();
    assertThat(dependentDown.status()).isEqualTo(HealthStatus.DEGRADED);
    assertThat(dependentDown.readiness()).isEqualTo(HealthStatus.UP);
    HealthReport coreDown =
        Health.builder()
            .check(fixed("cache", HealthStatus.DEGRADED, Importance.CORE))
            .check(fixed("ledger", HealthStatus.DOWN, Importance.CORE))
            .build()
            .snapshot();
    assertThat(coreDown.readiness()).isEqualTo(HealthStatus.DOWN);
    assertThat(coreDown.liveness())
        .as("a dependency being out is no reason to restart the process")
        .isEqualTo(HealthStatus.UP);
  }

  @Test
  void liveness_isDownOnlyForAFailureInsideTheProcess() {
    HealthReport r =
        Health.builder()
            .check(fixed("mysql", HealthStatus.UP, Importance.CORE))
            .check(
                () ->
                    new ComponentHealth(
                        "orders",
                        "queue",
                        "es",
                        HealthStatus.DOWN,
                        Importance.DEPENDENT,
                        "the delivery lane has stopped",
                        true,
                        Map.of()))
            .build()
            .snapshot();
    assertThat(r.liveness()).isEqualTo(HealthStatus.DOWN);
    assertThat(r.readiness()).isEqualTo(HealthStatus.UP);
    assertThat(r.toJson()).contains("\"processFailure\":true");
  }

  @Test
  void effectOnService_downOnlyForCore() {
    assertThat(fixed("a", HealthStatus.DOWN, Importance.CORE).check().effectOnService())
        .isEqualTo(HealthStatus.DOWN);
    assertThat(fixed("a", HealthStatus.DOWN, Importance.DEPENDENT).check().effectOnService())
        .isEqualTo(HealthStatus.DEGRADED);
    assertThat(fixed("a", HealthStatus.DEGRADED, Importance.CORE).check().effectOnService())
        .isEqualTo(HealthStatus.DEGRADED);
    assertThat(fixed("a", HealthStatus.UP, Importance.DEPENDENT).check().effectOnService())
        .isEqualTo(HealthStatus.UP);
  }

  @Test
  void aComponentThatAnswersWithoutItsDependency_isDegradedWhileTheBreakerIsOpen() {
    Guard es = openGuard("elasticsearch");
    ComponentHealth spilling =
        Health.component(
            "orders",
            "queue",
            es,
            Importance.CORE,
            HealthStatus.DEGRADED,
            false,
            "backlog 3 events",
            details("backlogEvents", 3L));
    assertThat(spilling.status()).isEqualTo(HealthStatus.DEGRADED);
    assertThat(spilling.reason()).contains("breaker open since").endsWith("; backlog 3 events");
    assertThat(spilling.details())
        .containsEntry("state", "OPEN")
        .containsEntry("backlogEvents", 3L);
    assertThat(
            Health.component(
                    "orders", "queue", es, Importance.CORE, HealthStatus.UP, false, "", Map.of())
                .status())
        .as("an open breaker degrades whatever the component says")
        .isEqualTo(HealthStatus.DEGRADED);
    ComponentHealth full =
        Health.component(
            "orders",
            "queue",
            Guard.ofDefaults("es"),
            Importance.CORE,
            HealthStatus.DOWN,
            true,
            "full",
            Map.of());
    assertThat(full.status()).isEqualTo(HealthStatus.DOWN);
    assertThat(full.processFailure()).isTrue();
    // The older form, for components that cannot answer without their dependency, keeps DOWN.
    assertThat(Health.component("orders", "queue", es, Importance.CORE, true, "").status())
        .isEqualTo(HealthStatus.DOWN);
  }

  @Test
  void details_areRedactedLikeTheReason_andCheckedForType() {
    HealthReport r =
        Health.builder()
            .check(
                () ->
                    new ComponentHealth(
                        "mysql",
                        "guard",
                        "mysql",
                        HealthStatus.DOWN,
                        Importance.CORE,
                        "refused",
                        false,
                        details("lastFailure", "jdbc:mariadb://h/db?user=app&password=hunter2")))
            .redactWith(t -> t.replace("mysql", "db"))
            .build()
            .snapshot();
    assertThat(r.toJson()).doesNotContain("hunter2").contains("\"db\":{");
    assertThat((String) r.components().get(0).details().get("lastFailure"))
        .doesNotContain("hunter2");
    assertThatThrownBy(
            () ->
                new ComponentHealth(
                    "a",
                    "b",
                    "c",
                    HealthStatus.UP,
                    Importance.CORE,
                    "ok",
                    false,
                    details("since", Instant.EPOCH)))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("detail since is a java.time.Instant")
        .hasMessageContaining("ISO-8601");
  }

  /** An ordered map of name, value pairs. */
  private static Map<String, Object> details(Object... pairs) {
    Map<String, Object> m = new LinkedHashMap<>();
    for (int i = 0; i < pairs.length; i += 2) {
      m.put((String) pairs[i], pairs[i + 1]);
    }
    return m;
  }
}
