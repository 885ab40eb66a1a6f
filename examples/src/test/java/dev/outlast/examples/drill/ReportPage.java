package dev.outlast.examples.drill;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * report.html as Chromium draws it: a screenshot (kept) and the DOM, with the checks that both
 * drill tests make on them. What the DOM says is collected here; what must be in it is the
 * caller's.
 */
final class ReportPage {
  private static final java.util.regex.Pattern POINT =
      java.util.regex.Pattern.compile("(-?[0-9.]+),(-?[0-9.]+)");
  static final List<String> SERIES =
      List.of(
          "fresh", "stale", "history", "fallback", "failed", "backlog", "published", "delivered");

  /** data-series → its points, as "x,y" pairs. */
  final Map<String, List<double[]>> series = new HashMap<>();

  /** data-series → its data-max, the highest value drawn. */
  final Map<String, Double> seriesMax = new HashMap<>();

  /** data-guard → the data-state of the rects in its strip ("closed", "open", "not-answering"). */
  final Map<String, Set<String>> guardStates = new HashMap<>();

  /** The phase bands' names, in order. */
  final List<String> phases = new java.util.ArrayList<>();

  final Chromium.Pixels chart;

  private ReportPage(String dom, Chromium.Pixels chart) {
    this.chart = chart;
    String guard = null;
    for (Map<String, String> e : Chromium.elements(dom)) {
      String element = e.get("");
      if (element.equals("/g")) {
        guard = null;
      } else if (element.equals("g")) {
        guard = e.get("data-guard");
        if (e.containsKey("data-phase")) {
          phases.add(e.get("data-phase"));
        }
      } else if (e.containsKey("data-series")) {
        String name = e.get("data-series");
        series.put(name, points(e.getOrDefault("points", "")));
        seriesMax.put(name, Double.parseDouble(e.getOrDefault("data-max", "-1")));
      } else if (guard != null && e.containsKey("data-state")) {
        guardStates.computeIfAbsent(guard, k -> new HashSet<>()).add(e.get("data-state"));
      }
    }
  }

  /**
   * Draws the page in Chromium, keeps the screenshot at {@code png}, and checks that the picture is
   * not blank: many colours and a good share of ink where the chart is.
   */
  static ReportPage render(Path html, Path png) throws IOException, InterruptedException {
    Chromium chromium = Chromium.require();
    chromium.screenshot(html, png);
    String dom = chromium.dom(html);
    assertThat(dom).as("the DOM Chromium drew").contains("<svg").doesNotContain("<script");
    // The chart: below the heading and the summary, across the page.
    Chromium.Pixels chart = Chromium.Pixels.of(png, 60, 120, Chromium.WIDTH - 60, 900);
    assertThat(chart.colours()).as("distinct colours where the chart is").isGreaterThan(40);
    assertThat(chart.inked()).as("share of the chart's area that is not white").isGreaterThan(0.3);
    ReportPage page = new ReportPage(dom, chart);
    assertThat(page.series.keySet()).as("the series drawn").containsAll(SERIES);
    return page;
  }

  /** Pixels of exactly this colour in the screenshot: the inside of a filled shape. */
  static long pixelsOf(Path png, int rgb) throws IOException {
    java.awt.image.BufferedImage img = javax.imageio.ImageIO.read(png.toFile());
    long n = 0;
    for (int y = 0; y < img.getHeight(); y++) {
      for (int x = 0; x < img.getWidth(); x++) {
        if ((img.getRGB(x, y) & 0xffffff) == rgb) {
          n++;
        }
      }
    }
    return n;
  }

  static List<double[]> points(String attribute) {
    List<double[]> pts = new java.util.ArrayList<>();
    java.util.regex.Matcher m = POINT.matcher(attribute);
    while (m.find()) {
      pts.add(new double[] {Double.parseDouble(m.group(1)), Double.parseDouble(m.group(2))});
    }
    return pts;
  }
}
