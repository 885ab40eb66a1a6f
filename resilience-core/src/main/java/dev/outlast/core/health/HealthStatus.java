package dev.outlast.core.health;

/** How a dependency is, as seen from this service. */
public enum HealthStatus {
  /** Answering normally. */
  UP,
  /** Working around a problem: serving stale values, holding a backlog, probing after an outage. */
  DEGRADED,
  /** Not reachable: calls are not made (breaker open) or fail. */
  DOWN
}
