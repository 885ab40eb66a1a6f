package dev.outlast.examples.drill;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;

/** What a drill measured, and the two files it is written to: report.json and report.html. */
record DrillReport(
    long readsTotal,
    long readsFresh,
    long readsStale,
    long readsFailed,
    long historyReads,
    long historyFailed,
    long eventsPublished,
    long eventsPublishFailed,
    long eventsSpilled,
    long eventsDelivered,
    long eventsLost,
    long eventsDuplicates,
    List<Phase> phases,
    List<Sample> timeline) {

  /** A phase, in seconds since the drill's load started. */
  record Phase(String name, String what, double start, double end) {}

  /** One second of the drill: rates over that second, and states at its end. */
  record Sample(
      double t,
      String phase,
      long fresh,
      long stale,
      long failed,
      long published,
      long delivered,
      long backlog,
      String health) {}

  void write(Path dir) throws IOException {
    Files.createDirectories(dir);
    Files.writeString(dir.resolve("report.json"), json(), StandardCharsets.UTF_8);
    Files.writeString(dir.resolve("report.html"), html(), StandardCharsets.UTF_8);
  }

  String json() {
    StringBuilder s = new StringBuilder("{\n");
    s.append("  \"reads\": {\"total\": ").append(readsTotal);
    s.append(", \"fresh\": ").append(readsFresh);
    s.append(", \"stale\": ").append(readsStale);
    s.append(", \"failed\": ").append(readsFailed).append("},\n");
    s.append("  \"history\": {\"total\": ").append(historyReads);
    s.append(", \"failed\": ").append(historyFailed).append("},\n");
    s.append("  \"events\": {\"published\": ").append(eventsPublished);
    s.append(", \"publishFailed\": ").append(eventsPublishFailed);
    s.append(", \"spilled\": ").append(eventsSpilled);
    s.append(", \"delivered\": ").append(eventsDelivered);
    s.append(", \"lost\": ").append(eventsLost);
    s.append(", \"duplicates\": ").append(eventsDuplicates).append("},\n");
    s.append("  \"phases\": [\n");
    for (int i = 0; i < phases.size(); i++) {
      Phase p = phases.get(i);
      s.append(
          String.format(
              Locale.ROOT,
              "    {\"name\": \"%s\", \"what\": \"%s\", \"start\": %.1f, \"end\": %.1f}%s%n",
              p.name(),
              p.what(),
              p.start(),
              p.end(),
              i + 1 < phases.size() ? "," : ""));
    }
    s.append("  ],\n  \"timeline\": [\n");
    for (int i = 0; i < timeline.size(); i++) {
      Sample x = timeline.get(i);
      s.append(
          String.format(
              Locale.ROOT,
              "    {\"t\": %.1f, \"phase\": \"%s\", \"fresh\": %d, \"stale\": %d, \"failed\": %d,"
                  + " \"published\": %d, \"delivered\": %d, \"backlog\": %d, \"health\": \"%s\"}%s%n",
              x.t(),
              x.phase(),
              x.fresh(),
              x.stale(),
              x.failed(),
              x.published(),
              x.delivered(),
              x.backlog(),
              x.health(),
              i + 1 < timeline.size() ? "," : ""));
    }
    return s.append("  ]\n}\n").toString();
  }

  /** One page, no script, no network: an SVG chart drawn here. */
  String html() {
    int w = 1000;
    int h = 320;
    int left = 50;
    int right = 60;
    int top = 40;
    int bottom = 30;
    double tMax = Math.max(1, timeline.isEmpty() ? 1 : timeline.get(timeline.size() - 1).t());
    long readMax = 1;
    long backlogMax = 1;
    for (Sample x : timeline) {
      readMax =
          Math.max(
              readMax, Math.max(x.fresh() + x.stale(), Math.max(x.published(), x.delivered())));
      backlogMax = Math.max(backlogMax, x.backlog());
    }
    double sx = (w - left - right) / tMax;
    double sy = (h - top - bottom) / (double) readMax;
    double sb = (h - top - bottom) / (double) backlogMax;
    StringBuilder svg = new StringBuilder();
    svg.append(String.format(Locale.ROOT, "<svg viewBox=\"0 0 %d %d\" width=\"100%%\">%n", w, h));
    for (int i = 0; i < phases.size(); i++) {
      Phase p = phases.get(i);
      double x0 = left + p.start() * sx;
      double x1 = left + p.end() * sx;
      svg.append(
          String.format(
              Locale.ROOT,
              "<rect x=\"%.1f\" y=\"%d\" width=\"%.1f\" height=\"%d\" fill=\"%s\"/>"
                  + "<text x=\"%.1f\" y=\"%d\" font-size=\"10\">%s</text>%n",
              x0,
              top,
              Math.max(0, x1 - x0),
              h - top - bottom,
              i % 2 == 0 ? "#f2f2f2" : "#e4e4e4",
              x0 + 2,
              top - (i % 2 == 0 ? 22 : 8),
              escape(p.name())));
    }
    svg.append(line("#2a9d3a", sx, sy, left, h - bottom, x -> x.fresh()));
    svg.append(line("#e9a100", sx, sy, left, h - bottom, x -> x.stale()));
    svg.append(line("#d62828", sx, sy, left, h - bottom, x -> x.failed()));
    svg.append(line("#7b2cbf", sx, sy, left, h - bottom, x -> x.published()));
    svg.append(line("#1d4ed8", sx, sb, left, h - bottom, x -> x.backlog()));
    svg.append(
        String.format(
            Locale.ROOT,
            "<text x=\"2\" y=\"%d\" font-size=\"10\">%d/s</text>"
                + "<text x=\"%d\" y=\"%d\" font-size=\"10\" fill=\"#1d4ed8\">%d</text>"
                + "<text x=\"%d\" y=\"%d\" font-size=\"10\">%.0f s</text>%n</svg>%n",
            top + 10,
            readMax,
            w - right + 4,
            top + 10,
            backlogMax,
            w - right - 30,
            h - 8,
            tMax));
    return "<!doctype html><html><head><meta charset=\"utf-8\"><title>Outlast outage drill</title>"
        + "<style>body{font-family:sans-serif;max-width:1040px;margin:2em auto}"
        + "td,th{padding:2px 10px;text-align:right}th{text-align:left}</style></head><body>\n"
        + "<h1>Outlast outage drill</h1>\n"
        + String.format(
            Locale.ROOT,
            "<p>Reads: %d answered fresh, %d stale, <b>%d failed</b>. Events: %d published, %d"
                + " spilled to disk, %d delivered, <b>%d lost</b>, %d duplicates (read back from"
                + " the index).</p>%n",
            readsFresh,
            readsStale,
            readsFailed,
            eventsPublished,
            eventsSpilled,
            eventsDelivered,
            eventsLost,
            eventsDuplicates)
        + "<p><span style=\"color:#2a9d3a\">&#9632; reads answered fresh/s</span> "
        + "<span style=\"color:#e9a100\">&#9632; stale/s</span> "
        + "<span style=\"color:#d62828\">&#9632; failed/s</span> "
        + "<span style=\"color:#7b2cbf\">&#9632; events published/s</span> "
        + "<span style=\"color:#1d4ed8\">&#9632; backlog on disk (right scale)</span></p>\n"
        + svg
        + phaseTable()
        + "</body></html>\n";
  }

  private String phaseTable() {
    StringBuilder t =
        new StringBuilder("<table><tr><th>phase</th><th>what</th><th>from</th><th>to</th></tr>\n");
    for (Phase p : phases) {
      t.append(
          String.format(
              Locale.ROOT,
              "<tr><th>%s</th><td style=\"text-align:left\">%s</td><td>%.1f s</td><td>%.1f s</td></tr>%n",
              escape(p.name()),
              escape(p.what()),
              p.start(),
              p.end()));
    }
    return t.append("</table>\n").toString();
  }

  private String line(
      String color,
      double sx,
      double sy,
      int left,
      int base,
      java.util.function.ToLongFunction<Sample> value) {
    StringBuilder points = new StringBuilder();
    for (Sample x : timeline) {
      points.append(
          String.format(
              Locale.ROOT, "%.1f,%.1f ", left + x.t() * sx, base - value.applyAsLong(x) * sy));
    }
    return "<polyline fill=\"none\" stroke=\""
        + color
        + "\" stroke-width=\"1.5\" points=\""
        + points.toString().trim()
        + "\"/>\n";
  }

  private static String escape(String s) {
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;");
  }
}
