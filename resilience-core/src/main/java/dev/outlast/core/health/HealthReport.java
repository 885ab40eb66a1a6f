package dev.outlast.core.health;

import java.time.Instant;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;

/**
 * Every registered component's health at one moment, and what it means for the service.
 *
 * <ul>
 *   <li>{@link #status()}: DOWN if a {@link Importance#CORE} component is down, DEGRADED if any
 *       component is not up, else UP.
 *   <li>{@link #readiness()}: whether the service should get traffic. DOWN only when a core
 *       component is down, i.e. a dependency the service cannot do without cannot be served at all;
 *       a cache answering stale, a queue spilling to disk, a dependent sink out all leave it ready,
 *       because the service still answers.
 *   <li>{@link #liveness()}: whether the process should be restarted. DOWN only when something
 *       inside it failed ({@link ComponentHealth#processFailure()}: a delivery thread died), never
 *       because a dependency is out: restarting pods does not bring a database back.
 * </ul>
 *
 * @param at when it was taken
 * @param status the service's status
 * @param components each component, in registration order
 */
public record HealthReport(Instant at, HealthStatus status, List<ComponentHealth> components) {
  /**
   * Validates and copies the parts. The status is taken as given, not computed from the components.
   *
   * @param at when it was taken
   * @param status the service's status
   * @param components each component, in registration order
   */
  public HealthReport {
    Objects.requireNonNull(at, "at");
    Objects.requireNonNull(status, "status");
    components = List.copyOf(components);
  }

  /** {@return whether the service should get traffic: UP, or DOWN if a core component is down} */
  public HealthStatus readiness() {
    for (ComponentHealth c : components) {
      if (c.status() == HealthStatus.DOWN && c.importance() == Importance.CORE) {
        return HealthStatus.DOWN;
      }
    }
    return HealthStatus.UP;
  }

  /**
   * {@return whether the process should keep running: UP, or DOWN if a component reports a failure
   * inside the process}
   */
  public HealthStatus liveness() {
    for (ComponentHealth c : components) {
      if (c.processFailure()) {
        return HealthStatus.DOWN;
      }
    }
    return HealthStatus.UP;
  }

  /**
   * The report as JSON shaped as Spring Boot Actuator's health endpoint, so that tools built for it
   * read it: {@code {"status":"DEGRADED","components":{"mysql":{"status":"DOWN","details":{"kind":
   * "guard","dependency":"mysql","importance":"CORE","reason":"...","state":"OPEN",...}}}}}. The
   * components are keyed by name, in registration order; a name used twice gets its kind appended
   * ({@code "orders (queue)"}), then a number. {@code processFailure} appears only when true. A
   * decimal that is not a number is written as {@code null}.
   *
   * @return the JSON text, on one line
   */
  public String toJson() {
    StringBuilder s = new StringBuilder(64 + components.size() * 400);
    s.append("{\"status\":");
    string(s, status.name());
    s.append(",\"components\":{");
    Set<String> keys = new HashSet<>();
    for (int i = 0; i < components.size(); i++) {
      ComponentHealth c = components.get(i);
      String key = c.component();
      if (!keys.add(key)) {
        key = c.component() + " (" + c.kind() + ")";
        for (int n = 2; !keys.add(key); n++) {
          key = c.component() + " (" + c.kind() + " " + n + ")";
        }
      }
      if (i > 0) {
        s.append(',');
      }
      string(s, key);
      s.append(":{\"status\":");
      string(s, c.status().name());
      s.append(",\"details\":{\"kind\":");
      string(s, c.kind());
      s.append(",\"dependency\":");
      string(s, c.dependency());
      s.append(",\"importance\":");
      string(s, c.importance().name());
      s.append(",\"reason\":");
      string(s, c.reason());
      if (c.processFailure()) {
        s.append(",\"processFailure\":true");
      }
      for (Map.Entry<String, Object> d : c.details().entrySet()) {
        s.append(',');
        string(s, d.getKey());
        s.append(':');
        value(s, d.getValue());
      }
      s.append("}}");
    }
    return s.append("}}").toString();
  }

  private static void value(StringBuilder s, Object v) {
    if (v instanceof String text) {
      string(s, text);
    } else if (v instanceof Double d && (d.isNaN() || d.isInfinite())) {
      s.append("null");
    } else {
      // Long, Integer, Boolean, finite Double: their toString is valid JSON.
      s.append(v);
    }
  }

  /** A JSON string literal (RFC 8259): quotes, backslashes and control characters escaped. */
  private static void string(StringBuilder s, String v) {
    s.append('"');
    for (int i = 0; i < v.length(); i++) {
      char ch = v.charAt(i);
      switch (ch) {
        case '"' -> s.append("\\\"");
        case '\\' -> s.append("\\\\");
        case '\n' -> s.append("\\n");
        case '\r' -> s.append("\\r");
        case '\t' -> s.append("\\t");
        default -> {
          if (ch < 0x20) {
            s.append(String.format(java.util.Locale.ROOT, "\\u%04x", (int) ch));
          } else {
            s.append(ch);
          }
        }
      }
    }
    s.append('"');
  }
}
