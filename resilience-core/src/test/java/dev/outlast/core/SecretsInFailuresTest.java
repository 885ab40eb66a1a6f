package dev.outlast.core;

import static org.assertj.core.api.Assertions.assertThat;

import dev.outlast.core.health.ComponentHealth;
import dev.outlast.core.health.Health;
import dev.outlast.core.health.HealthReport;
import dev.outlast.core.health.HealthStatus;
import dev.outlast.core.health.Importance;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.net.ConnectException;
import java.nio.charset.StandardCharsets;
import java.sql.SQLTransientConnectionException;
import java.time.Duration;
import java.util.Objects;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Issue 16, "credentials leak": a failure whose text holds a password (a driver quoting its URL, a
 * client quoting a request) reached the guard's last failure, the exceptions Outlast throws, the
 * WARN line of an opening breaker and the health JSON as it was. Each place is searched here.
 */
class SecretsInFailuresTest {
  private static final String PASSWORD = "s3cr3t-PW";
  private static final String URL = "jdbc:mariadb://db:3306/shop?user=shop&password=" + PASSWORD;

  private final ScheduledExecutorService scheduler = Executors.newSingleThreadScheduledExecutor();

  @AfterEach
  void stop() {
    scheduler.shutdownNow();
  }

  private static GuardConfig config() {
    return GuardConfig.custom()
        .callTimeout(Duration.ofSeconds(2))
        .jitter(0)
        .slidingWindowSize(4)
        .minimumNumberOfCalls(4)
        .openWait(Duration.ofMinutes(1))
        .maxAttempts(1)
        .build();
  }

  @Test
  void aPasswordInAFailure_reachesNoSnapshotExceptionLogOrHealthJson() {
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    PrintStream old = System.err;
    StringBuilder thrown = new StringBuilder();
    Guard guard;
    HealthReport report;
    System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
    try {
      guard = Guard.builder("mysql").config(config()).build();
      for (int i = 0; i < 4; i++) {
        // A checked exception comes back wrapped: the wrapper quotes it.
        Throwable t =
            catchThrowable(
                guard,
                () -> {
                  throw new SQLTransientConnectionException("cannot connect to " + URL, "08001");
                });
        assertThat(t).isInstanceOf(DependencyCallException.class);
        thrown.append(t.getMessage()).append('\n');
      }
      assertThat(guard.state()).isEqualTo(Guard.State.OPEN);
      thrown.append(catchThrowable(guard, () -> "not called").getMessage()).append('\n');
      thrown.append(guard.unavailable().getMessage()).append('\n');
      report = Health.builder().guard(guard, Importance.CORE).build().snapshot();
    } finally {
      System.setErr(old);
    }
    String log = err.toString(StandardCharsets.UTF_8);
    assertThat(log).as("the breaker's WARN line was captured").contains("circuit breaker OPEN");
    String snapshot = String.valueOf(guard.snapshot().lastFailure());
    String json = report.toJson();

    for (String text : new String[] {log, thrown.toString(), snapshot, json}) {
      assertThat(text).doesNotContain(PASSWORD).contains("password=***");
    }
    assertThat(thrown.toString()).contains("mysql call failed", "mysql is unavailable");
    assertThat(json).contains("\"status\":\"DOWN\"");
  }

  @Test
  void aRecoveryProbeFailure_isRedactedInTheSnapshot() {
    Guard guard =
        Guard.builder("search")
            .config(config())
            .scheduler(scheduler)
            .recoveryProbe(
                () -> {
                  throw new ConnectException("http://elastic:" + PASSWORD + "@search:9200 refused");
                })
            .build();
    for (int i = 0; i < 4; i++) {
      Objects.requireNonNull(guard.tryEnter()).failure(1_000, new ConnectException("refused"));
    }
    assertThat(guard.probeNow()).isFalse();
    assertThat(guard.snapshot().lastFailure())
        .startsWith("recovery probe: java.net.ConnectException: http://***@search:9200")
        .doesNotContain(PASSWORD);
  }

  @Test
  void aTimeoutOrAnUnavailableGuard_saysNothingSecretEither() {
    assertThat(
            new DependencyTimeoutException("pwd=" + PASSWORD, Duration.ofSeconds(1), 1)
                .getMessage())
        .doesNotContain(PASSWORD);
    assertThat(
            new DependencyUnavailableException(
                    "mysql",
                    DependencyUnavailableException.Reason.BULKHEAD_FULL,
                    () -> "executor refused: token=" + PASSWORD)
                .getMessage())
        .doesNotContain(PASSWORD)
        .contains("token=***");
    assertThat(new OutlastException("Authorization: Bearer " + PASSWORD).getMessage())
        .isEqualTo("Authorization: Bearer ***");
  }

  @Test
  void health_redactsFailedChecks_andAppliesTheApplicationsRedactorAfterwards() {
    Health health =
        Health.builder()
            .check(
                () -> {
                  throw new IllegalStateException("db-7.internal.bank: password=" + PASSWORD);
                })
            .check(
                () ->
                    new ComponentHealth(
                        "orders queue",
                        "queue",
                        "search@db-7.internal.bank",
                        HealthStatus.DEGRADED,
                        Importance.DEPENDENT,
                        "backlog; last: http://u:" + PASSWORD + "@db-7.internal.bank:9200"))
            .redactWith(s -> s.replace("db-7.internal.bank", "[host]"))
            .build();

    String json = health.snapshot().toJson();

    assertThat(json)
        .doesNotContain(PASSWORD, "db-7.internal.bank")
        .contains("the health check failed: java.lang.IllegalStateException: [host]: password=***")
        .contains("http://***@[host]:9200")
        .contains("search@[host]");
  }

  @Test
  void aRedactorThatThrows_withholdsTheText_andTheOtherComponentsStillReport() {
    Health health =
        Health.builder()
            .guard(Guard.ofDefaults("mysql"), Importance.CORE)
            .redactWith(
                s -> {
                  if (s.contains("breaker")) {
                    throw new IllegalArgumentException("cannot redact " + s);
                  }
                  return s;
                })
            .build();

    HealthReport r = health.snapshot();

    assertThat(r.status()).isEqualTo(HealthStatus.UP);
    assertThat(r.components().get(0).component()).isEqualTo("mysql");
    assertThat(r.components().get(0).reason()).isEqualTo("(withheld: the health redactor failed)");
  }

  private static Throwable catchThrowable(Guard guard, GuardedCall<?> call) {
    try {
      guard.call(call);
    } catch (RuntimeException e) {
      return e;
    }
    throw new AssertionError("the call did not fail");
  }
}
