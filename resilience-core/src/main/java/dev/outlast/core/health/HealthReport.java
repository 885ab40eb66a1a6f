package dev.outlast.core.health;

import java.time.Instant;
import java.util.List;
import java.util.Objects;

/**
 * Every registered component's health at one moment, and the service's status from them: DOWN if a
 * core component is down, DEGRADED if any component is not up, else UP.
 *
 * @param at when it was taken
 * @param status the service's status
 * @param components each component, in registration order
 */
public record HealthReport(Instant at, HealthStatus status, List<ComponentHealth> components) {
  /** Validates and copies the parts. */
  public HealthReport {
    Objects.requireNonNull(at, "at");
    Objects.requireNonNull(status, "status");
    components = List.copyOf(components);
  }

  /**
   * The report as one JSON object: {@code {"status":..., "at":..., "components":[{"component":...,
   * "kind":..., "dependency":..., "status":..., "importance":..., "reason":...}, ...]}}.
   */
  public String toJson() {
    StringBuilder s = new StringBuilder(128 + components.size() * 160);
    s.append("{\"status\":");
    string(s, status.name());
    s.append(",\"at\":");
    string(s, at.toString());
    s.append(",\"components\":[");
    for (int i = 0; i < components.size(); i++) {
      ComponentHealth c = components.get(i);
      s.append(i == 0 ? "{" : ",{").append("\"component\":");
      string(s, c.component());
      s.append(",\"kind\":");
      string(s, c.kind());
      s.append(",\"dependency\":");
      string(s, c.dependency());
      s.append(",\"status\":");
      string(s, c.status().name());
      s.append(",\"importance\":");
      string(s, c.importance().name());
      s.append(",\"reason\":");
      string(s, c.reason());
      s.append('}');
    }
    return s.append("]}").toString();
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
