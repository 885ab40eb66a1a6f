package dev.outlast.micrometer;

import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.util.ArrayList;
import java.util.List;

/** A Prometheus scrape, read the way Prometheus reads it: by sample name and labels. */
final class Scrape {
  private final String text;

  private Scrape(String text) {
    this.text = text;
  }

  static PrometheusMeterRegistry registry() {
    return new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
  }

  static Scrape of(PrometheusMeterRegistry registry) {
    return new Scrape(registry.scrape());
  }

  /**
   * The value of the one sample with this name and (at least) these labels.
   *
   * @param labels each as Prometheus writes it: {@code name="mysql"}
   * @throws AssertionError if there is none, or more than one
   */
  double value(String name, String... labels) {
    List<String> found = new ArrayList<>();
    for (String line : text.lines().toList()) {
      if (line.isBlank() || line.startsWith("#")) {
        continue;
      }
      int brace = line.indexOf('{');
      int space = line.lastIndexOf(' ');
      String sample = line.substring(0, brace >= 0 ? brace : line.indexOf(' '));
      if (!sample.equals(name)) {
        continue;
      }
      String labelText = brace >= 0 ? line.substring(brace, line.lastIndexOf('}') + 1) : "";
      boolean all = true;
      for (String l : labels) {
        all &= labelText.contains(l);
      }
      if (all) {
        found.add(line.substring(space + 1));
      }
    }
    if (found.size() != 1) {
      throw new AssertionError(
          found.size() + " samples " + name + " " + List.of(labels) + " in:\n" + text);
    }
    return Double.parseDouble(found.get(0));
  }

  /** Whether the scrape has a sample of this name, with any labels. */
  boolean has(String name) {
    for (String line : text.lines().toList()) {
      if (line.startsWith(name + "{") || line.startsWith(name + " ")) {
        return true;
      }
    }
    return false;
  }

  @Override
  public String toString() {
    return text;
  }
}
