package dev.outlast.core.health;

/**
 * Something that can say how its dependency is: a guard, a query cache, a spill queue. Checks are
 * called on the snapshot's thread and must answer from what the component already knows, at once,
 * without calling the dependency.
 */
@FunctionalInterface
public interface HealthCheck {
  /**
   * {@return the component's health now} Should not throw: {@link Health#snapshot()} reports a
   * check that throws (or returns null) as a DOWN component of kind "check", and goes on with the
   * others.
   */
  ComponentHealth check();
}
