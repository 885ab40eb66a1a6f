package dev.outlast.spring;

import java.util.LinkedHashMap;
import java.util.Map;
import org.springframework.boot.EnvironmentPostProcessor;
import org.springframework.boot.SpringApplication;
import org.springframework.boot.cloud.CloudPlatform;
import org.springframework.core.env.ConfigurableEnvironment;
import org.springframework.core.env.MapPropertySource;

/**
 * Defaults for Actuator that any property of the application overrides (they come last): the status
 * DEGRADED ordered between DOWN and UP and answered with HTTP 200, and, when the probes are on
 * ({@code management.endpoint.health.probes.enabled=true}, or on Kubernetes), {@code
 * outlastReadiness} and {@code outlastLiveness} in the readiness and liveness groups beside
 * Spring's own states. Found through {@code META-INF/spring.factories}.
 */
final class OutlastEnvironmentDefaults implements EnvironmentPostProcessor {
  static final String SOURCE = "outlastDefaults";

  @Override
  public void postProcessEnvironment(
      ConfigurableEnvironment environment, SpringApplication application) {
    if (!environment.getProperty("outlast.enabled", Boolean.class, true)) {
      return;
    }
    environment.getPropertySources().addLast(new MapPropertySource(SOURCE, defaults(environment)));
  }

  static Map<String, Object> defaults(ConfigurableEnvironment environment) {
    Map<String, Object> d = new LinkedHashMap<>();
    d.put("management.endpoint.health.status.order", "down,out-of-service,degraded,up,unknown");
    d.put("management.endpoint.health.status.http-mapping.degraded", "200");
    boolean probes =
        environment.getProperty("management.endpoint.health.probes.enabled", Boolean.class, false)
            || CloudPlatform.getActive(environment) == CloudPlatform.KUBERNETES;
    if (probes) {
      d.put(
          "management.endpoint.health.group.readiness.include", "readinessState,outlastReadiness");
      d.put("management.endpoint.health.group.liveness.include", "livenessState,outlastLiveness");
    }
    return d;
  }
}
