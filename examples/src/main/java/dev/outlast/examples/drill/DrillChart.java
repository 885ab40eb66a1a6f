package dev.outlast.examples.drill;

import dev.outlast.examples.drill.DrillReport.GuardSample;
import dev.outlast.examples.drill.DrillReport.Phase;
import dev.outlast.examples.drill.DrillReport.Sample;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.function.ToLongFunction;

/**
 * The drill's chart, inline SVG (no script, no network), on one time axis under the phases drawn as
 * labelled bands. One panel per kind of figure, each with a scale of its own, so that no figure
 * flattens another:
 *
 * <ul>
 *   <li>reads per second, stacked: product reads answered fresh, stale (from the cache while MySQL
 *       is away), history reads answered by the event store, by the ledger instead (the read
 *       fallback), and failed reads on top;
 *   <li>the backlog: events waiting on disk for Elasticsearch;
 *   <li>events published and delivered per second, on a log scale (the drain delivers thousands in
 *       a second, which on a linear scale would flatten the steady hundred a second);
 *   <li>a strip per guard coloured by its breaker's state, with a dark bar under it while its
 *       server did not answer the drill's own check; both drawn from the changes as they happened
 *       (dated to the millisecond), not from the once-a-second samples, so that a breaker is never
 *       drawn opening before its server went away.
 * </ul>
 *
 * <p>Rates are counts divided by the length of the sample's interval: a second missed (during the
 * service's restart) shows as one longer interval at the right height, not a spike. Every series
 * carries {@code data-series} (and {@code data-max}, its highest value), every guard strip {@code
 * data-guard}, so that a test finds them in the rendered page.
 */
final class DrillChart {
  static final int WIDTH = 1300;
  static final int LEFT = 110;
  private static final int RIGHT = 20;
  private static final int PLOT_W = WIDTH - LEFT - RIGHT;
  private static final int BANDS_TOP = 40;
  private static final int GAP = 36;
  static final int READS_TOP = 66;
  static final int READS_H = 240;
  private static final int BACKLOG_TOP = READS_TOP + READS_H + GAP;
  private static final int BACKLOG_H = 110;
  private static final int EVENTS_TOP = BACKLOG_TOP + BACKLOG_H + GAP;
  private static final int EVENTS_H = 90;
  private static final int GUARDS_TOP = EVENTS_TOP + EVENTS_H + GAP;
  private static final int STRIP_H = 16;
  private static final int ANSWER_H = 5;
  private static final int ROW_H = 30;

  static final String CLOSED = "#2a9d3a";
  static final String HALF_OPEN = "#f4a100";
  static final String OPEN = "#d62828";

  /** A stacked read series, bottom first. */
  private record Reads(String name, String label, String color, ToLongFunction<Sample> count) {}

  private static final List<Reads> READS =
      List.of(
          new Reads("fresh", "fresh", CLOSED, Sample::fresh),
          new Reads("stale", "stale (from the cache)", HALF_OPEN, Sample::stale),
          new Reads("history", "history from the event store", "#8fb3de", Sample::historyFromStore),
          new Reads("fallback", "history from the ledger (fallback)", "#7b2cbf", Sample::fallback),
          new Reads("failed", "failed", OPEN, x -> x.failed() + x.historyFailed()));

  private final List<Phase> phases;
  private final List<Sample> timeline;
  private final List<DrillReport.Change> breakers;
  private final List<DrillReport.Change> servers;
  private final double tEnd;
  private final long readsMax;
  private final long backlogMax;
  private final long eventsMax;

  DrillChart(
      List<Phase> phases,
      List<Sample> timeline,
      List<DrillReport.Change> breakers,
      List<DrillReport.Change> servers) {
    this.phases = phases;
    this.timeline = timeline;
    this.breakers = breakers;
    this.servers = servers;
    double end = timeline.isEmpty() ? 0 : timeline.get(timeline.size() - 1).t();
    for (Phase p : phases) {
      end = Math.max(end, Double.isNaN(p.end()) ? p.start() : p.end());
    }
    this.tEnd = Math.max(1, end);
    double reads = 0;
    long backlog = 0;
    double events = 0;
    for (int i = 0; i < timeline.size(); i++) {
      Sample x = timeline.get(i);
      double sum = 0;
      for (Reads r : READS) {
        sum += rate(i, r.count());
      }
      reads = Math.max(reads, sum);
      backlog = Math.max(backlog, x.backlog());
      events = Math.max(events, Math.max(rate(i, Sample::published), rate(i, Sample::delivered)));
    }
    // A little headroom above the highest figure, so that its line does not run along the top.
    this.readsMax = nice(Math.max(10, (long) Math.ceil(reads * 1.05)));
    this.backlogMax = nice(Math.max(10, (long) Math.ceil(backlog * 1.05)));
    long decade = 10;
    while (decade < events) {
      decade *= 10;
    }
    this.eventsMax = decade;
  }

  /** The top of the reads panel's scale, in reads a second. */
  long readsMax() {
    return readsMax;
  }

  /** The top of the backlog panel's scale, in events. */
  long backlogMax() {
    return backlogMax;
  }

  /** The top of the events panel's (log) scale, in events a second: a power of ten. */
  long eventsMax() {
    return eventsMax;
  }

  /**
   * The smallest round number at least {@code v}: 1, 1.2, 1.4, ... 9 times a power of ten, steps
   * fine enough that the highest figure fills most of its panel.
   */
  static long nice(long v) {
    long decade = 1;
    while (true) {
      for (long m : new long[] {10, 12, 14, 16, 18, 20, 25, 30, 35, 40, 45, 50, 60, 70, 80, 90}) {
        long candidate = m * decade / 10;
        if (candidate >= v && candidate > 0) {
          return candidate;
        }
      }
      decade *= 10;
    }
  }

  String svg() {
    int rows = timeline.isEmpty() ? 0 : timeline.get(0).guards().size();
    int guardsBottom = GUARDS_TOP + rows * ROW_H;
    int height = guardsBottom + 44;
    StringBuilder s = new StringBuilder();
    s.append(
        format(
            "<svg viewBox=\"0 0 %d %d\" width=\"100%%\""
                + " font-family=\"sans-serif\" font-size=\"12\">%n",
            WIDTH, height));
    phaseBands(s, guardsBottom);
    readsPanel(s);
    backlogPanel(s);
    eventsPanel(s);
    guardStrips(s);
    timeAxis(s, guardsBottom);
    return s.append("</svg>\n").toString();
  }

  private void phaseBands(StringBuilder s, int bottom) {
    for (int i = 0; i < phases.size(); i++) {
      Phase p = phases.get(i);
      double x0 = x(p.start());
      double x1 = x(Double.isNaN(p.end()) ? tEnd : p.end());
      s.append(
          format(
              "<g class=\"phase\" data-phase=\"%s\"><title>%s: %s</title>"
                  + "<rect x=\"%.1f\" y=\"%d\" width=\"%.1f\" height=\"%d\" fill=\"%s\"/>"
                  + "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" stroke=\"#999\"/>"
                  + "<text x=\"%.1f\" y=\"%d\" font-weight=\"bold\"%s>%s</text></g>%n",
              escape(p.name()),
              escape(p.name()),
              escape(p.what()),
              x0,
              BANDS_TOP,
              Math.max(0, x1 - x0),
              bottom - BANDS_TOP,
              i % 2 == 0 ? "#f4f4f4" : "#e8e8e8",
              x0,
              i % 2 == 0 ? 6 : 22,
              x0,
              bottom,
              // A label that would run off the right edge ends there instead.
              overflows(x0, p.name()) ? WIDTH - 2.0 : x0 + 3,
              i % 2 == 0 ? 16 : 32,
              overflows(x0, p.name()) ? " text-anchor=\"end\"" : "",
              escape(p.name())));
    }
  }

  private static boolean overflows(double x0, String label) {
    return x0 + 3 + label.length() * 7.5 > WIDTH;
  }

  private void readsPanel(StringBuilder s) {
    title(s, READS_TOP, "Reads per second");
    legend(s, READS_TOP, READS.stream().map(r -> new String[] {r.color(), r.label()}).toList());
    yAxis(s, READS_TOP, READS_H, readsMax, "/s");
    double[] below = new double[timeline.size()];
    for (Reads r : READS) {
      StringBuilder top = new StringBuilder();
      StringBuilder bottom = new StringBuilder();
      double max = 0;
      for (int i = 0; i < timeline.size(); i++) {
        double v = rate(i, r.count());
        max = Math.max(max, v);
        double y0 = READS_TOP + READS_H - below[i] * READS_H / readsMax;
        double y1 = y0 - v * READS_H / readsMax;
        top.append(format("%.1f,%.1f %.1f,%.1f ", x(from(i)), y1, x(to(i)), y1));
        bottom.insert(0, format("%.1f,%.1f %.1f,%.1f ", x(to(i)), y0, x(from(i)), y0));
        below[i] += v;
      }
      s.append(
          format(
              // No stroke: a series at zero would draw a line along the top of the stack.
              "<polygon class=\"series %s\" data-series=\"%s\" data-max=\"%.0f\" fill=\"%s\""
                  + " points=\"%s\"/>%n",
              r.name(), r.name(), max, r.color(), (top.toString() + bottom).trim()));
    }
  }

  private void backlogPanel(StringBuilder s) {
    title(s, BACKLOG_TOP, "Backlog: events waiting on disk for Elasticsearch");
    yAxis(s, BACKLOG_TOP, BACKLOG_H, backlogMax, "");
    int base = BACKLOG_TOP + BACKLOG_H;
    StringBuilder line = new StringBuilder();
    long max = 0;
    for (int i = 0; i < timeline.size(); i++) {
      long b = timeline.get(i).backlog();
      max = Math.max(max, b);
      if (i == 0) {
        line.append(format("%.1f,%.1f ", x(0), base - (double) b * BACKLOG_H / backlogMax));
      }
      line.append(format("%.1f,%.1f ", x(to(i)), base - (double) b * BACKLOG_H / backlogMax));
    }
    String points = line.toString().trim();
    double last = timeline.isEmpty() ? 0 : to(timeline.size() - 1);
    s.append(
        format(
            "<polygon class=\"series backlog\" data-series=\"backlog\" data-max=\"%d\""
                + " fill=\"#1d4ed8\" fill-opacity=\"0.35\" stroke=\"#1d4ed8\" stroke-width=\"1.5\""
                + " points=\"%.1f,%d %s %.1f,%d\"/>%n",
            max, x(0), base, points, x(last), base));
  }

  private void eventsPanel(StringBuilder s) {
    title(s, EVENTS_TOP, "Events per second (log scale)");
    legend(
        s,
        EVENTS_TOP,
        List.of(new String[] {"#555555", "published"}, new String[] {"#0e9f9a", "delivered"}));
    int base = EVENTS_TOP + EVENTS_H;
    for (long tick = 1; tick <= eventsMax; tick *= 10) {
      double y = base - logY((double) tick);
      gridLine(s, y, tick + "/s");
    }
    eventLine(s, "published", "#555555", Sample::published, base);
    eventLine(s, "delivered", "#0e9f9a", Sample::delivered, base);
  }

  private void eventLine(
      StringBuilder s, String name, String color, ToLongFunction<Sample> count, int base) {
    StringBuilder points = new StringBuilder();
    double max = 0;
    for (int i = 0; i < timeline.size(); i++) {
      double v = rate(i, count);
      max = Math.max(max, v);
      double y = base - logY(v);
      points.append(format("%.1f,%.1f %.1f,%.1f ", x(from(i)), y, x(to(i)), y));
    }
    s.append(
        format(
            "<polyline class=\"series %s\" data-series=\"%s\" data-max=\"%.0f\" fill=\"none\""
                + " stroke=\"%s\" stroke-width=\"1.8\" points=\"%s\"/>%n",
            name, name, max, color, points.toString().trim()));
  }

  private double logY(double v) {
    // A counter read a moment apart from another can make one second's figure -1: drawn as 0.
    return Math.log10(1 + Math.max(0, v)) / Math.log10(1.0 + eventsMax) * EVENTS_H;
  }

  private void guardStrips(StringBuilder s) {
    title(s, GUARDS_TOP, "Guards: each breaker's state");
    legend(
        s,
        GUARDS_TOP,
        List.of(
            new String[] {CLOSED, "closed"},
            new String[] {HALF_OPEN, "half-open"},
            new String[] {OPEN, "open"},
            new String[] {"#222222", "dark bar: its server did not answer the drill's check"}));
    if (timeline.isEmpty()) {
      return;
    }
    List<GuardSample> first = timeline.get(0).guards();
    for (int row = 0; row < first.size(); row++) {
      GuardSample g = first.get(row);
      int y = GUARDS_TOP + 6 + row * ROW_H;
      s.append(format("<g class=\"guard\" data-guard=\"%s\">", escape(g.name())));
      s.append(
          format(
              "<text x=\"%d\" y=\"%d\" text-anchor=\"end\" font-weight=\"bold\">%s</text>",
              LEFT - 8, y + 12, escape(g.name())));
      s.append(
          format(
              "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"#ffffff\""
                  + " stroke=\"#bbb\"/>",
              LEFT, y + STRIP_H + 1, PLOT_W, ANSWER_H));
      // Closed until told otherwise: a guard starts closed.
      for (Span span : spans(breakers, g.name(), "closed")) {
        rect(s, span, y, STRIP_H, colour(span.state()));
      }
      for (Span span : spans(servers, g.server(), "not-answering")) {
        if (span.state().equals("not-answering")) {
          rect(s, span, y + STRIP_H + 1, ANSWER_H, "#222222");
        }
      }
      s.append("</g>\n");
    }
  }

  /** A state from one time to another. */
  private record Span(String state, double from, double to) {}

  /** One name's changes as spans from 0 to the end, starting in {@code initial}. */
  private List<Span> spans(List<DrillReport.Change> changes, String name, String initial) {
    List<Span> spans = new ArrayList<>();
    String state = initial;
    double since = 0;
    for (DrillReport.Change c : changes) {
      if (!c.name().equals(name) || c.state().equals(state)) {
        continue;
      }
      double at = Math.max(0, c.t());
      if (at > since) {
        spans.add(new Span(state, since, at));
      }
      state = c.state();
      since = at;
    }
    if (tEnd > since) {
      spans.add(new Span(state, since, tEnd));
    }
    return spans;
  }

  private void rect(StringBuilder s, Span span, int y, int h, String fill) {
    double x0 = x(span.from());
    s.append(
        format(
            "<rect class=\"state %s\" data-state=\"%s\" x=\"%.1f\" y=\"%d\" width=\"%.1f\""
                + " height=\"%d\" fill=\"%s\"><title>%s %.1f-%.1f s</title></rect>",
            span.state(),
            span.state(),
            x0,
            y,
            Math.max(0.5, x(span.to()) - x0),
            h,
            fill,
            span.state(),
            span.from(),
            span.to()));
  }

  private void timeAxis(StringBuilder s, int bottom) {
    long step = 1;
    for (long c : new long[] {1, 2, 5, 10, 15, 20, 30, 60, 120, 300, 600}) {
      step = c;
      if (tEnd / c <= 14) {
        break;
      }
    }
    s.append(
        format(
            "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"#444\"/>",
            LEFT, bottom + 4, LEFT + PLOT_W, bottom + 4));
    for (int t = 0; t <= tEnd; t += (int) step) {
      s.append(
          format(
              "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" stroke=\"#444\"/>"
                  + "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">%d s</text>",
              x(t), bottom + 4, x(t), bottom + 9, x(t), bottom + 22, t));
    }
    s.append(
        format(
            "<text x=\"%d\" y=\"%d\" fill=\"#555\">seconds since the load started (the warm-up"
                + " before it is not drawn)</text>%n",
            LEFT, bottom + 38));
  }

  private static void title(StringBuilder s, int panelTop, String text) {
    s.append(
        format(
            "<text x=\"%d\" y=\"%d\" font-size=\"14\" font-weight=\"bold\">%s</text>%n",
            LEFT, panelTop - 8, escape(text)));
  }

  /** Swatches after the panel's title, right-aligned on the plot. */
  private static void legend(StringBuilder s, int panelTop, List<String[]> items) {
    double width = 0;
    for (String[] item : items) {
      width += 22 + item[1].length() * 6.4;
    }
    double x = LEFT + PLOT_W - width;
    for (String[] item : items) {
      s.append(
          format(
              "<rect x=\"%.1f\" y=\"%d\" width=\"12\" height=\"12\" fill=\"%s\"/>"
                  + "<text x=\"%.1f\" y=\"%d\">%s</text>",
              x, panelTop - 19, item[0], x + 16, panelTop - 9, escape(item[1])));
      x += 22 + item[1].length() * 6.4;
    }
    s.append('\n');
  }

  private static void yAxis(StringBuilder s, int top, int height, long max, String unit) {
    for (int k = 0; k <= 4; k++) {
      long v = max * k / 4;
      gridLine(s, top + height - (double) height * k / 4, v + unit);
    }
  }

  private static void gridLine(StringBuilder s, double y, String label) {
    s.append(
        format(
            "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" stroke=\"#c8c8c8\""
                + " stroke-dasharray=\"3,3\"/><text x=\"%d\" y=\"%.1f\" text-anchor=\"end\""
                + " fill=\"#555\">%s</text>%n",
            LEFT, y, LEFT + PLOT_W, y, LEFT - 6, y + 4, label));
  }

  private double rate(int i, ToLongFunction<Sample> count) {
    double seconds = Math.max(0.25, to(i) - from(i));
    return count.applyAsLong(timeline.get(i)) / seconds;
  }

  private double from(int i) {
    return i == 0 ? 0 : timeline.get(i - 1).t();
  }

  private double to(int i) {
    return timeline.get(i).t();
  }

  private double x(double t) {
    return LEFT + Math.max(0, Math.min(t, tEnd)) / tEnd * PLOT_W;
  }

  private static String colour(String state) {
    return switch (state) {
      case "open" -> OPEN;
      case "half-open" -> HALF_OPEN;
      default -> CLOSED;
    };
  }

  private static String format(String f, Object... args) {
    return String.format(Locale.ROOT, f, args);
  }

  static String escape(String s) {
    return s.replace("&", "&amp;")
        .replace("<", "&lt;")
        .replace(">", "&gt;")
        .replace("\"", "&quot;");
  }

  /** The read series, bottom first: what {@code data-series} a test may look for. */
  static List<String> readSeries() {
    List<String> names = new ArrayList<>();
    READS.forEach(r -> names.add(r.name()));
    return names;
  }
}
