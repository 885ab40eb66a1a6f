package dev.outlast.spring;

import dev.outlast.core.annotation.WiringException;
import java.util.Objects;
import org.assertj.core.api.AbstractStringAssert;
import org.assertj.core.api.Assertions;
import org.springframework.boot.diagnostics.FailureAnalysis;
import org.springframework.boot.test.context.assertj.AssertableApplicationContext;

/** Start-up failures as a user sees them: through the failure analyzer's report. */
final class Failures {
  private Failures() {}

  /** The report's description and action, after checking the start failed through Outlast. */
  static AbstractStringAssert<?> assertThat(AssertableApplicationContext ctx) {
    Assertions.assertThat(ctx).hasFailed();
    Throwable failure = Objects.requireNonNull(ctx.getStartupFailure());
    FailureAnalysis a =
        Objects.requireNonNull(
            new OutlastFailureAnalyzer().analyze(failure),
            () -> "no Outlast failure analysis of " + failure);
    Assertions.assertThat(a.getCause())
        .isInstanceOfAny(OutlastConfigurationException.class, WiringException.class);
    Assertions.assertThat(a.getDescription()).startsWith("Outlast: ");
    Assertions.assertThat(a.getAction()).isNotBlank();
    return Assertions.assertThat(a.getDescription() + "\nAction: " + a.getAction());
  }
}
