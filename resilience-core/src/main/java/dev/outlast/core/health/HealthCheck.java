package dev.outlast.core.health;

/**
 * Something that can say how its dependency is: a guard, a query cache, a spill queue. Checks are
 * called on the snapshot's thread and must answer from what the component already knows, at once,
 * without calling the dependency.
 */
@FunctionalInterface
public interface HealthCheck {
  /** The component's health now. */
  ComponentHealth check();
}
