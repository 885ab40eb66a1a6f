package dev.outlast.examples.drill;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.outlast.core.Guard;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;

/**
 * What a drill measured, and the two files it is written to: report.json and report.html. The
 * totals count the load only: the warm-up before it (one read of every key) is reported apart, in
 * {@code warmUpReads}, and is not in the timeline either.
 *
 * @param readsTotal product reads of the load: fresh + stale + failed
 * @param warmUpReads reads made before the load started, to warm the cache; not in any other figure
 * @param historyReads history reads of the load, however answered
 * @param historyFallback history reads the ledger answered because the event store did not
 * @param breakers every change of a guard's breaker, at the moment it happened
 * @param servers every change of a server's answer to the drill's check, when it was seen
 */
record DrillReport(
    long readsTotal,
    long readsFresh,
    long readsStale,
    long readsFailed,
    long warmUpReads,
    long historyReads,
    long historyFailed,
    long historyFallback,
    long eventsPublished,
    long eventsPublishFailed,
    long eventsSpilled,
    long eventsDelivered,
    long eventsLost,
    long eventsDuplicates,
    List<Phase> phases,
    List<Sample> timeline,
    List<Change> breakers,
    List<Change> servers) {

  private static final ObjectMapper JSON =
      new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

  DrillReport {
    phases = List.copyOf(phases);
    timeline = List.copyOf(timeline);
    breakers = List.copyOf(breakers);
    servers = List.copyOf(servers);
  }

  /**
   * Something changed at {@code t}: a guard's breaker ("closed", "half-open", "open"), or a server
   * ("answering", "not-answering").
   *
   * @param name the guard's or the server's name
   */
  record Change(String name, double t, String state) {}

  /** A phase, in seconds since the drill's load started. */
  record Phase(String name, String what, double start, double end) {}

  /**
   * One second of the drill: rates over that second (from the sample before, or the start of the
   * load, to {@code t}), the backlog at its end.
   *
   * @param historyFromStore history reads the event store answered
   * @param fallback history reads the ledger answered instead (the read fallback)
   * @param guards each guard's state over that second, in a fixed order
   * @param health the status line of the terminal, as printed
   */
  record Sample(
      double t,
      String phase,
      long fresh,
      long stale,
      long failed,
      long historyFromStore,
      long fallback,
      long historyFailed,
      long published,
      long delivered,
      long backlog,
      List<GuardSample> guards,
      String health) {
    Sample {
      guards = List.copyOf(guards);
    }
  }

  /**
   * A guard over one second.
   *
   * @param name the guard's dependency name: "mysql"
   * @param server the server its calls go to ("mysql" for the ledger, a table there)
   * @param state the worst state its breaker was in during the second (open over half-open over
   *     closed), so that an opening shorter than a second still shows
   * @param answering whether its server answered the drill's own check at the end of the second
   *     (through the proxy, as the service reaches it)
   */
  record GuardSample(String name, String server, Guard.State state, boolean answering) {}

  void write(Path dir) throws IOException {
    Files.createDirectories(dir);
    Files.writeString(dir.resolve("report.json"), json(), StandardCharsets.UTF_8);
    Files.writeString(dir.resolve("report.html"), html(), StandardCharsets.UTF_8);
  }

  String json() {
    ObjectNode root = JSON.createObjectNode();
    ObjectNode reads = root.putObject("reads");
    reads.put("total", readsTotal);
    reads.put("fresh", readsFresh);
    reads.put("stale", readsStale);
    reads.put("failed", readsFailed);
    reads.put("warmUp", warmUpReads);
    ObjectNode history = root.putObject("history");
    history.put("total", historyReads);
    history.put("failed", historyFailed);
    history.put("fallback", historyFallback);
    ObjectNode events = root.putObject("events");
    events.put("published", eventsPublished);
    events.put("publishFailed", eventsPublishFailed);
    events.put("spilled", eventsSpilled);
    events.put("delivered", eventsDelivered);
    events.put("lost", eventsLost);
    events.put("duplicates", eventsDuplicates);
    ArrayNode ps = root.putArray("phases");
    for (Phase p : phases) {
      ObjectNode o = ps.addObject();
      o.put("name", p.name());
      o.put("what", p.what());
      // To the millisecond, as the changes are: a server seen down 30 ms after a phase began must
      // not read as down before it (a tenth rounded 9.26 up to 9.3, after a change at 9.28).
      putSeconds(o, "start", p.start(), 1000);
      putSeconds(o, "end", p.end(), 1000);
    }
    ArrayNode tl = root.putArray("timeline");
    for (Sample x : timeline) {
      ObjectNode o = tl.addObject();
      putSeconds(o, "t", x.t(), 10);
      o.put("phase", x.phase());
      o.put("fresh", x.fresh());
      o.put("stale", x.stale());
      o.put("failed", x.failed());
      o.put("historyFromStore", x.historyFromStore());
      o.put("fallback", x.fallback());
      o.put("historyFailed", x.historyFailed());
      o.put("published", x.published());
      o.put("delivered", x.delivered());
      o.put("backlog", x.backlog());
      ObjectNode guards = o.putObject("guards");
      for (GuardSample g : x.guards()) {
        ObjectNode gs = guards.putObject(g.name());
        gs.put("server", g.server());
        gs.put("state", stateName(g.state()));
        gs.put("answering", g.answering());
      }
      o.put("health", x.health());
    }
    changes(root.putArray("breakers"), "guard", breakers);
    changes(root.putArray("servers"), "server", servers);
    try {
      return JSON.writeValueAsString(root) + "\n";
    } catch (JsonProcessingException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static void changes(ArrayNode into, String what, List<Change> changes) {
    for (Change c : changes) {
      ObjectNode o = into.addObject();
      o.put(what, c.name());
      putSeconds(o, "t", c.t(), 1000);
      o.put("state", c.state());
    }
  }

  /** "closed", "half-open", "open": as the page and report.json name a breaker's state. */
  static String stateName(Guard.State s) {
    return s.name().toLowerCase(Locale.ROOT).replace('_', '-');
  }

  /**
   * Seconds rounded to {@code 1 / perSecond}; a phase still running (no end: NaN, not JSON) as
   * null.
   */
  private static void putSeconds(ObjectNode o, String field, double seconds, int perSecond) {
    if (Double.isNaN(seconds)) {
      o.putNull(field);
    } else {
      o.put(field, (double) Math.round(seconds * perSecond) / perSecond);
    }
  }

  /** One page, no script, no network: the chart drawn here as SVG, then the phases. */
  String html() {
    return "<!doctype html><html><head><meta charset=\"utf-8\"><title>Outlast outage drill</title>"
        + "<style>body{font-family:sans-serif;max-width:1320px;margin:12px auto;color:#222}"
        + "h1{font-size:22px;margin:0 0 6px}p{margin:4px 0 8px;font-size:14px}"
        + "td,th{padding:2px 10px;text-align:right;font-size:13px}th{text-align:left}</style>"
        + "</head><body>\n"
        + "<h1>Outlast outage drill</h1>\n"
        + String.format(
            Locale.ROOT,
            "<p>Product reads: %d answered fresh, %d stale, <b>%d failed</b> (the warm-up's %d"
                + " reads are not counted). History reads: %d, %d answered by the ledger"
                + " (fallback), <b>%d failed</b>. Events: %d published, %d spilled to disk, %d"
                + " delivered, <b>%d lost</b>, %d duplicates (read back from the index).</p>%n",
            readsFresh,
            readsStale,
            readsFailed,
            warmUpReads,
            historyReads,
            historyFallback,
            historyFailed,
            eventsPublished,
            eventsSpilled,
            eventsDelivered,
            eventsLost,
            eventsDuplicates)
        + new DrillChart(phases, timeline, breakers, servers).svg()
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
              DrillChart.escape(p.name()),
              DrillChart.escape(p.what()),
              p.start(),
              p.end()));
    }
    return t.append("</table>\n").toString();
  }
}
