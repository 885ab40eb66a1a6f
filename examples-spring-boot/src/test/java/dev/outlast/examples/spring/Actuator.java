package dev.outlast.examples.spring;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.Iterator;
import java.util.Map;
import org.jspecify.annotations.Nullable;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/** The shop's Actuator endpoints as a monitoring system reads them. */
final class Actuator {
  private static final JsonMapper JSON = JsonMapper.builder().build();

  private final URI base;
  private final HttpClient http =
      HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

  Actuator(URI base) {
    this.base = base;
  }

  /** An endpoint's answer: its HTTP status and body. */
  record Answer(int status, JsonNode body) {
    String health() {
      return body.path("status").asString("");
    }
  }

  /** {@code /actuator/health}. */
  Answer health() throws IOException, InterruptedException {
    return json("/actuator/health");
  }

  /** {@code /actuator/health/readiness}. */
  Answer readiness() throws IOException, InterruptedException {
    return json("/actuator/health/readiness");
  }

  /** {@code /actuator/health/liveness}. */
  Answer liveness() throws IOException, InterruptedException {
    return json("/actuator/health/liveness");
  }

  /** {@code /actuator/prometheus}, as text. */
  Prometheus prometheus() throws IOException, InterruptedException {
    HttpResponse<String> r = get("/actuator/prometheus");
    if (r.statusCode() != 200) {
      throw new IOException("/actuator/prometheus answered HTTP " + r.statusCode());
    }
    return new Prometheus(r.body());
  }

  /**
   * A component of a health answer by name (a guard, a cache, a queue), wherever the indicators put
   * it: the first object of that name, below a {@code components} object, that has a status.
   *
   * @throws AssertionError naming the answer if there is none
   */
  static JsonNode component(JsonNode health, String name) {
    JsonNode found = find(health, name);
    if (found == null) {
      throw new AssertionError("no component '" + name + "' in " + health);
    }
    return found;
  }

  /**
   * A component's own status: "UP", "DEGRADED", "DOWN". Where the indicator shows what the
   * component does to the service instead (a dependent guard that is down only degrades it), its
   * own is the detail {@code componentStatus}.
   */
  static String status(JsonNode health, String name) {
    JsonNode c = component(health, name);
    JsonNode own = c.path("details").path("componentStatus");
    return own.isString() ? own.asString() : c.path("status").asString("");
  }

  /** A whole-number detail of a component, or -1 if it has none. */
  static long detail(JsonNode health, String name, String detail) {
    return component(health, name).path("details").path(detail).asLong(-1);
  }

  private static @Nullable JsonNode find(JsonNode node, String name) {
    if (!node.isObject()) {
      return null;
    }
    JsonNode components = node.path("components");
    if (components.isObject() && components.path(name).has("status")) {
      return components.path(name);
    }
    for (Iterator<Map.Entry<String, JsonNode>> it = node.properties().iterator(); it.hasNext(); ) {
      JsonNode found = find(it.next().getValue(), name);
      if (found != null) {
        return found;
      }
    }
    return null;
  }

  private Answer json(String path) throws IOException, InterruptedException {
    HttpResponse<String> r = get(path);
    return new Answer(r.statusCode(), JSON.readTree(r.body()));
  }

  private HttpResponse<String> get(String path) throws IOException, InterruptedException {
    return http.send(
        HttpRequest.newBuilder(base.resolve(path)).timeout(Duration.ofSeconds(10)).GET().build(),
        HttpResponse.BodyHandlers.ofString());
  }

  /** One scrape of the Prometheus endpoint. */
  record Prometheus(String text) {
    /**
     * The sum of the samples of a meter ({@code name}, or {@code name_total} for a counter) that
     * carry every given label, e.g. {@code "name=\"products\""}; NaN if there is none.
     */
    double value(String meter, String... labels) {
      double sum = 0;
      boolean any = false;
      for (String line : text.split("\n", -1)) {
        if (line.startsWith("#") || line.isBlank()) {
          continue;
        }
        int brace = line.indexOf('{');
        int space = line.lastIndexOf(' ');
        String name = line.substring(0, brace >= 0 ? brace : space);
        if (!name.equals(meter) && !name.equals(meter + "_total")) {
          continue;
        }
        String tags = brace >= 0 ? line.substring(brace, line.indexOf('}') + 1) : "";
        boolean all = true;
        for (String label : labels) {
          all &= tags.contains(label);
        }
        if (all) {
          sum += Double.parseDouble(line.substring(space + 1));
          any = true;
        }
      }
      return any ? sum : Double.NaN;
    }
  }
}
