package dev.outlast.testkit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import org.junit.jupiter.api.Test;

class SteadyStreamTest {
  @Test
  void runtimeFailuresAreRecorded_andTheStreamGoesOn() throws Exception {
    SteadyStream<Long> s =
        SteadyStream.start(
            "steady",
            n -> {
              if (n % 2 == 1) {
                throw new IllegalStateException("odd " + n);
              }
              return n;
            },
            Duration.ofNanos(1));
    assertThat(s.finish(6)).containsExactly(0L, 2L, 4L);
    assertThat(s.failures()).hasSize(3);
  }

  @Test
  void anErrorStopsTheStream_andFinishSaysSo_insteadOfReturningFewerResults() throws Exception {
    SteadyStream<Long> s =
        SteadyStream.start(
            "steady",
            n -> {
              if (n == 3) {
                throw new AssertionError("the test's own check failed");
              }
              return n;
            },
            Duration.ofNanos(1));
    assertThatThrownBy(() -> s.finish(10))
        .isInstanceOf(AssertionError.class)
        .hasMessageContaining("stopped after 3 results")
        .hasCauseInstanceOf(AssertionError.class);
    assertThat(s.failures()).hasSize(1);
  }
}
