package dev.outlast.spring;

import dev.outlast.core.health.ComponentHealth;
import dev.outlast.core.health.HealthReport;
import dev.outlast.core.health.HealthStatus;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.jspecify.annotations.Nullable;
import org.springframework.boot.autoconfigure.condition.ConditionalOnClass;
import org.springframework.boot.health.contributor.CompositeHealthContributor;
import org.springframework.boot.health.contributor.Health;
import org.springframework.boot.health.contributor.HealthContributor;
import org.springframework.boot.health.contributor.HealthContributors;
import org.springframework.boot.health.contributor.HealthIndicator;
import org.springframework.boot.health.contributor.Status;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

/**
 * Outlast's health in Spring Boot Actuator: a contributor {@code outlast} with an indicator per
 * guard, queue and cache ({@code /actuator/health/outlast/<component>}), and the indicators {@code
 * outlastReadiness} and {@code outlastLiveness}, which {@link OutlastEnvironmentDefaults} adds to
 * the readiness and liveness groups.
 *
 * <p>A component's status is what it does to the service ({@link
 * ComponentHealth#effectOnService()}): a DEPENDENT component that is down shows DEGRADED, so that
 * the aggregate, which sees statuses only, is the service's; its own status is the detail {@code
 * componentStatus}. DEGRADED is the status {@value #DEGRADED_CODE}, ordered between DOWN and UP and
 * answered with HTTP 200 by default.
 */
@Configuration(proxyBeanMethods = false)
@ConditionalOnClass(name = "org.springframework.boot.health.contributor.HealthIndicator")
class OutlastHealthConfiguration {
  static final String DEGRADED_CODE = "DEGRADED";

  /** Answering, not fully: a cache serving stale values, a queue spilling to disk. */
  static final Status DEGRADED = new Status(DEGRADED_CODE, "answering, not fully");

  @Bean
  CompositeHealthContributor outlastHealthContributor(
      OutlastAutoConfiguration.OutlastStartup startup) {
    return new Components(startup);
  }

  @Bean
  HealthIndicator outlastReadinessHealthIndicator(OutlastAutoConfiguration.OutlastStartup startup) {
    return new Probe(startup, true);
  }

  @Bean
  HealthIndicator outlastLivenessHealthIndicator(OutlastAutoConfiguration.OutlastStartup startup) {
    return new Probe(startup, false);
  }

  static Status status(HealthStatus s) {
    return switch (s) {
      case UP -> Status.UP;
      case DEGRADED -> DEGRADED;
      case DOWN -> Status.DOWN;
    };
  }

  /** One component as Actuator shows it. */
  static Health health(ComponentHealth c) {
    Map<String, Object> details = new LinkedHashMap<>();
    details.put("kind", c.kind());
    details.put("dependency", c.dependency());
    details.put("importance", c.importance().name());
    details.put("componentStatus", c.status().name());
    details.put("reason", c.reason());
    if (c.processFailure()) {
      details.put("processFailure", true);
    }
    details.putAll(c.details());
    return Health.status(status(c.effectOnService())).withDetails(details).build();
  }

  static HealthReport report(List<Parts.Part> parts) {
    dev.outlast.core.health.Health.Builder b = dev.outlast.core.health.Health.builder();
    for (Parts.Part p : parts) {
      b.check(p.check());
    }
    return b.build().snapshot();
  }

  /** The components, looked up at each request: those wired late are included. */
  private static final class Components implements CompositeHealthContributor {
    private final OutlastAutoConfiguration.OutlastStartup startup;

    Components(OutlastAutoConfiguration.OutlastStartup startup) {
      this.startup = startup;
    }

    private List<Parts.Part> parts() {
      // Before start-up ends, Actuator may look at the names: there are none yet.
      return startup.started() ? startup.parts() : List.of();
    }

    @Override
    public @Nullable HealthContributor getContributor(String name) {
      for (Parts.Part p : parts()) {
        if (p.name().equals(name)) {
          return indicator(p);
        }
      }
      return null;
    }

    @Override
    public Stream<HealthContributors.Entry> stream() {
      List<HealthContributors.Entry> out = new ArrayList<>();
      for (Parts.Part p : parts()) {
        out.add(new HealthContributors.Entry(p.name(), indicator(p)));
      }
      return out.stream();
    }

    private static HealthIndicator indicator(Parts.Part p) {
      // Through a Health of its own: the texts are redacted and a failing check is contained.
      return () -> health(report(List.of(p)).components().get(0));
    }
  }

  /** Readiness (DOWN only when a CORE component is down) or liveness (a failure inside). */
  private static final class Probe implements HealthIndicator {
    private final OutlastAutoConfiguration.OutlastStartup startup;
    private final boolean readiness;

    Probe(OutlastAutoConfiguration.OutlastStartup startup, boolean readiness) {
      this.startup = startup;
      this.readiness = readiness;
    }

    @Override
    public Health health() {
      if (!startup.started()) {
        return Health.unknown().withDetail("reason", "starting").build();
      }
      HealthReport r = report(startup.parts());
      HealthStatus s = readiness ? r.readiness() : r.liveness();
      List<String> why = new ArrayList<>();
      for (ComponentHealth c : r.components()) {
        boolean counts =
            readiness
                ? c.status() == HealthStatus.DOWN
                    && c.importance() == dev.outlast.core.health.Importance.CORE
                : c.processFailure();
        if (counts) {
          why.add(c.component() + ": " + c.reason());
        }
      }
      Health.Builder b = Health.status(status(s)).withDetail("service", r.status().name());
      if (!why.isEmpty()) {
        b.withDetail(readiness ? "coreComponentsDown" : "failuresInsideTheProcess", why);
      }
      return b.build();
    }
  }
}
