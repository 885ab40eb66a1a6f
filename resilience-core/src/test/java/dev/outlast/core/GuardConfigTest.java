package dev.outlast.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import org.junit.jupiter.api.Test;

class GuardConfigTest {

  @Test
  void presets_suitTheirDependency() {
    GuardConfig db = GuardConfig.database();
    assertThat(db.callTimeout()).isEqualTo(Duration.ofSeconds(2));
    assertThat(db.maxAttempts()).isEqualTo(2);
    GuardConfig broker = GuardConfig.broker();
    assertThat(broker.callTimeout()).isEqualTo(Duration.ofSeconds(10));
    assertThat(broker.maxAttempts()).isEqualTo(1);
  }

  @Test
  void from_copiesAndChangesOnlyWhatIsSet() {
    GuardConfig base = GuardConfig.custom().probes(7).build();
    GuardConfig changed = GuardConfig.from(base).callTimeout(Duration.ofMillis(300)).build();
    assertThat(changed.probes()).isEqualTo(7);
    assertThat(changed.callTimeout()).isEqualTo(Duration.ofMillis(300));
    assertThat(base.callTimeout()).isEqualTo(Duration.ofSeconds(2));
  }

  @Test
  void setters_rejectBadValues_namingThem() {
    GuardConfig.Builder b = GuardConfig.custom();
    assertThatThrownBy(() -> b.callTimeout(Duration.ZERO))
        .hasMessage("callTimeout must be positive, was PT0S");
    assertThatThrownBy(() -> b.failureRateThreshold(0))
        .hasMessage("failureRateThreshold must be in (0, 100] percent, was 0.0");
    assertThatThrownBy(() -> b.probes(0)).hasMessage("probes must be in [1, 1000], was 0");
    assertThatThrownBy(() -> b.maxAttempts(11))
        .hasMessage("maxAttempts must be in [1, 10], was 11");
    assertThatThrownBy(() -> b.jitter(1.5)).hasMessage("jitter must be in [0, 1], was 1.5");
    assertThatThrownBy(() -> b.maxConcurrentCalls(-1))
        .hasMessage("maxConcurrentCalls must be in [0, 100000], was -1");
  }

  @Test
  void build_rejectsContradictions() {
    assertThatThrownBy(
            () -> GuardConfig.custom().slidingWindowSize(5).minimumNumberOfCalls(6).build())
        .hasMessageContaining("minimumNumberOfCalls (6) cannot exceed slidingWindowSize (5)");
    assertThatThrownBy(
            () ->
                GuardConfig.custom()
                    .openWait(Duration.ofSeconds(10))
                    .maxOpenWait(Duration.ofSeconds(5))
                    .build())
        .hasMessageContaining("maxOpenWait (PT5S) must be at least openWait (PT10S)");
  }
}
