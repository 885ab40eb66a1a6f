package dev.outlast.cache;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;

import dev.outlast.core.Guard;
import dev.outlast.core.GuardConfig;
import dev.outlast.core.health.Health;
import dev.outlast.core.health.Importance;
import java.sql.SQLTransientConnectionException;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/**
 * Issue 16, "credentials leak": a loader failure that quotes a JDBC URL with its password reached
 * the {@link NoUsableValueException} a caller gets, and the cache's health, as it was.
 */
class QueryCacheSecretsTest {
  private static final String PASSWORD = "s3cr3t-PW";

  @Test
  void aLoaderFailureWithAPassword_isRedactedInTheExceptionAndHealth() {
    Guard guard =
        Guard.of(
            "mysql",
            GuardConfig.custom()
                .maxAttempts(1)
                .slidingWindowSize(100)
                .minimumNumberOfCalls(100)
                .build());
    try (QueryCache<Long, String> cache =
        QueryCache.<Long, String>builder("products")
            .guard(guard)
            .freshness(Freshness.of(Duration.ofSeconds(1), Duration.ZERO, Duration.ofMinutes(1)))
            .build(
                id -> {
                  throw new SQLTransientConnectionException(
                      "Could not connect to jdbc:mariadb://db/shop?user=shop&password=" + PASSWORD,
                      "08001");
                })) {
      Throwable t = catchThrowable(() -> cache.get(1L));

      assertThat(t).isInstanceOf(NoUsableValueException.class);
      assertThat(t.getMessage()).contains("password=***").doesNotContain(PASSWORD);
      String json =
          Health.builder().check(cache.health(Importance.CORE)).build().snapshot().toJson();
      assertThat(json).doesNotContain(PASSWORD);
      assertThat(String.valueOf(guard.snapshot().lastFailure())).doesNotContain(PASSWORD);
    }
  }
}
