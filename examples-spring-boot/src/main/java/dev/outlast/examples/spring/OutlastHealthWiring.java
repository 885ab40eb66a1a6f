package dev.outlast.examples.spring;

import dev.outlast.buffer.SpillQueue;
import dev.outlast.cache.QueryCache;
import dev.outlast.core.Guard;
import dev.outlast.core.annotation.Outlast;
import dev.outlast.core.health.ComponentHealth;
import dev.outlast.core.health.Health;
import dev.outlast.core.health.HealthReport;
import dev.outlast.core.health.HealthStatus;
import dev.outlast.core.health.Importance;
import java.util.LinkedHashMap;
import java.util.Map;
import org.springframework.beans.factory.annotation.Qualifier;
import org.springframework.boot.health.contributor.HealthIndicator;
import org.springframework.boot.health.contributor.Status;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

/**
 * Outlast's health as Actuator's: {@code outlast} in {@code /actuator/health} (each component with
 * its status and details), {@code outlastReadiness} in the readiness group (down only when a core
 * component cannot serve) and {@code outlastLiveness} in the liveness group.
 *
 * <p>What is core: the product cache and the order queue, which the service cannot work without.
 * The guards are dependent: while MySQL is out the cache answers, while Elasticsearch is out the
 * queue holds the orders, and while the event store is out the ledger answers.
 */
@Configuration(proxyBeanMethods = false)
class OutlastHealthWiring {
  /** Answering, not fully: a cache serving stale values, a queue holding a backlog. */
  static final Status DEGRADED = new Status("DEGRADED", "answering, not fully");

  @Bean
  Health outlastHealth(
      @Qualifier("mysqlGuard") Guard mysql,
      @Qualifier("postgresGuard") Guard postgres,
      @Qualifier("elasticsearchGuard") Guard search,
      Outlast outlast,
      SpillQueue<Order> orders) {
    return Health.builder()
        .guard(mysql, Importance.DEPENDENT)
        .guard(postgres, Importance.DEPENDENT)
        .guard(search, Importance.DEPENDENT)
        .check(outlast.component("products", QueryCache.class).health(Importance.CORE))
        .check(orders.health(Importance.CORE))
        .build();
  }

  @Bean
  HealthIndicator outlastHealthIndicator(Health health) {
    return () -> {
      HealthReport report = health.snapshot();
      Map<String, Object> components = new LinkedHashMap<>();
      for (ComponentHealth c : report.components()) {
        Map<String, Object> details = new LinkedHashMap<>();
        details.put("kind", c.kind());
        details.put("dependency", c.dependency());
        details.put("importance", c.importance().name());
        details.put("reason", c.reason());
        details.putAll(c.details());
        Map<String, Object> component = new LinkedHashMap<>();
        component.put("status", status(c.status()).getCode());
        component.put("details", details);
        components.put(c.component(), component);
      }
      return org.springframework.boot.health.contributor.Health.status(status(report.status()))
          .withDetail("components", components)
          .build();
    };
  }

  @Bean
  HealthIndicator outlastReadinessHealthIndicator(Health health) {
    return () -> {
      HealthReport report = health.snapshot();
      if (report.readiness() == HealthStatus.UP) {
        return org.springframework.boot.health.contributor.Health.up().build();
      }
      return org.springframework.boot.health.contributor.Health.down()
          .withDetail(
              "cannotServe",
              report.components().stream()
                  .filter(c -> c.importance() == Importance.CORE && c.status() == HealthStatus.DOWN)
                  .map(c -> c.component() + ": " + c.reason())
                  .toList())
          .build();
    };
  }

  @Bean
  HealthIndicator outlastLivenessHealthIndicator(Health health) {
    return () -> {
      HealthReport report = health.snapshot();
      if (report.liveness() == HealthStatus.UP) {
        return org.springframework.boot.health.contributor.Health.up().build();
      }
      return org.springframework.boot.health.contributor.Health.down()
          .withDetail(
              "failedInProcess",
              report.components().stream()
                  .filter(ComponentHealth::processFailure)
                  .map(c -> c.component() + ": " + c.reason())
                  .toList())
          .build();
    };
  }

  private static Status status(HealthStatus s) {
    return switch (s) {
      case UP -> Status.UP;
      case DEGRADED -> DEGRADED;
      case DOWN -> Status.DOWN;
    };
  }
}
