package dev.outlast.core.health;

import java.util.Objects;

/**
 * The health of one guard, cache or queue: its dependency's state and why.
 *
 * @param component the component's name ("product cache", "orders queue", "mysql")
 * @param kind what it is: "guard", "cache", "queue"
 * @param dependency the dependency it watches, as its guard names it
 * @param status the state
 * @param importance how much the service depends on it
 * @param reason why, in words: "breaker open since ...", "backlog 1,204 events, oldest 12 s"
 */
public record ComponentHealth(
    String component,
    String kind,
    String dependency,
    HealthStatus status,
    Importance importance,
    String reason) {
  /** Validates the parts. */
  public ComponentHealth {
    Objects.requireNonNull(component, "component");
    Objects.requireNonNull(kind, "kind");
    Objects.requireNonNull(dependency, "dependency");
    Objects.requireNonNull(status, "status");
    Objects.requireNonNull(importance, "importance");
    Objects.requireNonNull(reason, "reason");
  }
}
