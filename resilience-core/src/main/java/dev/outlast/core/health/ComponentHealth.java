package dev.outlast.core.health;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;

/**
 * The health of one guard, cache or queue: its dependency's state, why, and the figures behind it.
 *
 * <p>{@link HealthStatus#DEGRADED} means "answering, not fully": a cache serving stale values, a
 * queue holding events on disk while its sink is out, a breaker probing after an outage. {@link
 * HealthStatus#DOWN} means the component cannot do its job now: a guard whose breaker is open, a
 * cache with nothing to serve, a queue that cannot take events.
 *
 * @param component the component's name ("product cache", "orders queue", "mysql")
 * @param kind what it is: "guard", "cache", "queue"
 * @param dependency the dependency it watches, as its guard names it
 * @param status the state
 * @param importance how much the service depends on it
 * @param reason why, in words: "breaker open since ...", "backlog 1,204 events, oldest 12 s"
 * @param processFailure whether something failed inside this process, which a restart could fix (a
 *     delivery thread that died), as opposed to a dependency being out; liveness looks only at this
 * @param details the figures behind the status, by name, in a stable order: {@code state}, {@code
 *     since}, {@code backlogEvents}, {@code oldestAgeMillis}, ... Values are strings, whole
 *     numbers, decimals or booleans; times are ISO-8601 strings and ages whole milliseconds.
 */
public record ComponentHealth(
    String component,
    String kind,
    String dependency,
    HealthStatus status,
    Importance importance,
    String reason,
    boolean processFailure,
    Map<String, Object> details) {
  /**
   * Validates the parts and copies the details, keeping their order.
   *
   * @param component the component's name ("product cache", "orders queue", "mysql")
   * @param kind what it is: "guard", "cache", "queue"
   * @param dependency the dependency it watches, as its guard names it
   * @param status the state
   * @param importance how much the service depends on it
   * @param reason why, in words; may be empty
   * @param processFailure whether something failed inside this process, which a restart could fix
   * @param details the figures behind the status, by name; iterated once, in its order, and copied
   * @throws IllegalArgumentException if a detail's value is not a String, Long, Integer, Double or
   *     Boolean
   */
  public ComponentHealth {
    Objects.requireNonNull(component, "component");
    Objects.requireNonNull(kind, "kind");
    Objects.requireNonNull(dependency, "dependency");
    Objects.requireNonNull(status, "status");
    Objects.requireNonNull(importance, "importance");
    Objects.requireNonNull(reason, "reason");
    Map<String, Object> copy = new LinkedHashMap<>();
    for (Map.Entry<String, Object> e : details.entrySet()) {
      String key = Objects.requireNonNull(e.getKey(), "a detail's name");
      Object v = Objects.requireNonNull(e.getValue(), () -> "the value of detail " + key);
      if (!(v instanceof String
          || v instanceof Long
          || v instanceof Integer
          || v instanceof Double
          || v instanceof Boolean)) {
        throw new IllegalArgumentException(
            "detail "
                + key
                + " is a "
                + v.getClass().getName()
                + "; details are String, Long, Integer, Double or Boolean (times as ISO-8601"
                + " strings)");
      }
      copy.put(key, v);
    }
    details = Collections.unmodifiableMap(copy);
  }

  /**
   * A component with no figures and no failure inside the process.
   *
   * @param component the component's name ("product cache", "orders queue", "mysql")
   * @param kind what it is: "guard", "cache", "queue"
   * @param dependency the dependency it watches, as its guard names it
   * @param status the state
   * @param importance how much the service depends on it
   * @param reason why, in words; may be empty
   */
  public ComponentHealth(
      String component,
      String kind,
      String dependency,
      HealthStatus status,
      Importance importance,
      String reason) {
    this(component, kind, dependency, status, importance, reason, false, Map.of());
  }

  /**
   * {@return what this component does to the service's status} DOWN only if it is down and the
   * service cannot work without it ({@link Importance#CORE}); DEGRADED if it is down but the
   * service does without it for a while, or if it is degraded; else UP. For aggregators that see
   * statuses only, such as Spring Boot Actuator's: a search cluster that is out must not make the
   * whole service report DOWN while it answers.
   */
  public HealthStatus effectOnService() {
    if (status == HealthStatus.DOWN) {
      return importance == Importance.CORE ? HealthStatus.DOWN : HealthStatus.DEGRADED;
    }
    return status;
  }
}
