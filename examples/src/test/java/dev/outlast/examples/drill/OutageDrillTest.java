package dev.outlast.examples.drill;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * A short drill, 3 seconds a phase, with real servers, run once for this class: checks what
 * report.json says, as a reader of it would (nothing lost, read back from the index; no read of a
 * warmed key failed; every phase there in order; the totals are the timeline's, without the
 * warm-up), and what report.html shows once Chromium has drawn it. The screenshot stays in {@code
 * target/drill-screenshot.png}.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class OutageDrillTest {
  static final Path SCREENSHOT = Path.of("target", "drill-screenshot.png");

  private Path out;
  private DrillReport r;
  private JsonNode report;

  @BeforeAll
  void runTheDrill() throws Exception {
    // A run id of its own each time: the drill refuses a run directory that exists.
    String runId = Long.toString(System.currentTimeMillis(), 36);
    out = Path.of("target", "outage-drill-test", runId);
    r =
        OutageDrill.run(
            Map.of("phase-seconds", "3", "out", out.getParent().toString(), "run-id", runId));
    report = new ObjectMapper().readTree(out.resolve("report.json").toFile());
  }

  @Test
  void shortDrill_losesNothing_andAnswersEveryRead() throws Exception {
    assertThat(out.resolve("work")).as("the work files, removed at the end").doesNotExist();
    assertThat(report.at("/events/lost").asLong(-1)).isZero();
    assertThat(report.at("/reads/failed").asLong(-1)).isZero();
    assertThat(report.at("/events/published").asLong()).isGreaterThan(300);
    assertThat(report.at("/events/spilled").asLong()).as("the sink outage spilled").isPositive();
    assertThat(report.at("/reads/stale").asLong()).as("the MySQL outage served stale").isPositive();
    assertThat(report.at("/reads/total").asLong())
        .isEqualTo(
            report.at("/reads/fresh").asLong()
                + report.at("/reads/stale").asLong()
                + report.at("/reads/failed").asLong());
    assertThat(report.at("/history/failed").asLong(-1)).as("history reads that failed").isZero();
    assertThat(report.at("/history/fallback").asLong())
        .as("history reads the ledger answered while the event store was down")
        .isPositive();
    List<String> names = new ArrayList<>();
    double end = 0;
    for (JsonNode p : report.path("phases")) {
      names.add(p.path("name").asText());
      assertThat(p.path("start").asDouble()).isGreaterThanOrEqualTo(end);
      assertThat(p.path("end").asDouble()).isGreaterThan(p.path("start").asDouble());
      end = p.path("end").asDouble();
    }
    assertThat(names)
        .containsExactly(
            "healthy",
            "mysql-killed",
            "mysql-frozen",
            "event-store-down",
            "sink-down",
            "service-restart",
            "restored",
            "drained");
    assertThat(report.path("timeline").size()).isGreaterThan(15);
    String html = Files.readString(out.resolve("report.html"));
    assertThat(html).contains("<svg").contains("mysql-killed").doesNotContain("http://", "<script");
    assertThat(r.eventsLost()).isZero();
  }

  /** Issue 18: the warm-up's reads were counted in the totals (and drawn in the first second). */
  @Test
  void totals_areTheTimelinesSums_withoutTheWarmUp() {
    long reads = 0;
    long fallback = 0;
    long history = 0;
    for (JsonNode x : report.path("timeline")) {
      reads += x.path("fresh").asLong() + x.path("stale").asLong() + x.path("failed").asLong();
      fallback += x.path("fallback").asLong();
      history +=
          x.path("historyFromStore").asLong()
              + x.path("fallback").asLong()
              + x.path("historyFailed").asLong();
    }
    assertThat(report.at("/reads/warmUp").asLong()).isEqualTo(OutageDrill.KEYS);
    assertThat(report.at("/reads/total").asLong()).isEqualTo(reads);
    assertThat(report.at("/history/fallback").asLong()).isEqualTo(fallback);
    assertThat(report.at("/history/total").asLong()).isEqualTo(history);
  }

  /**
   * Issue 18: "elasticsearch UP" for seconds after it was killed. Each server was broken in its
   * phase and the status line must have said so from the first second on, and the breakers must
   * show the outages in the timeline's guard states.
   */
  @Test
  void statusLine_leavesUpAtOnce_andGuardsShowEachOutage() {
    Map<String, String> brokenIn =
        Map.of(
            "mysql", "mysql-killed",
            "event-store", "event-store-down",
            "elasticsearch", "sink-down");
    Map<String, Set<String>> states = new java.util.HashMap<>();
    String previous = "";
    for (JsonNode x : report.path("timeline")) {
      String phase = x.path("phase").asText();
      // A phase's first second may have been checked just before its break: from its second on
      // the status line must say what happened.
      boolean settled = phase.equals(previous);
      previous = phase;
      x.path("guards")
          .fields()
          .forEachRemaining(
              g -> {
                states
                    .computeIfAbsent(g.getKey(), k -> new HashSet<>())
                    .add(g.getValue().path("state").asText());
                if (settled && phase.equals(brokenIn.get(g.getKey()))) {
                  assertThat(x.path("health").asText())
                      .as("status at %s s in %s", x.path("t"), phase)
                      .doesNotContain(g.getKey() + " UP");
                  assertThat(g.getValue().path("answering").asBoolean())
                      .as("%s answering at %s s in %s", g.getKey(), x.path("t"), phase)
                      .isFalse();
                }
              });
    }
    assertThat(states).containsOnlyKeys("mysql", "event-store", "ledger", "elasticsearch");
    // The moment each server stopped answering, as the drill's checks saw it: within a second and
    // a half of its phase's start (the checks run four times a second).
    for (Map.Entry<String, String> b : brokenIn.entrySet()) {
      double start = phaseStart(b.getValue());
      List<Double> down = new ArrayList<>();
      for (JsonNode c : report.path("servers")) {
        if (c.path("server").asText().equals(b.getKey())
            && c.path("state").asText().equals("not-answering")
            && c.path("t").asDouble() >= start) {
          down.add(c.path("t").asDouble());
        }
      }
      assertThat(down).as("%s stopped answering after %s s", b.getKey(), start).isNotEmpty();
      assertThat(down.get(0) - start).as(b.getKey()).isLessThan(1.5);
    }
    assertThat(states.get("mysql")).contains("closed", "open");
    assertThat(states.get("event-store")).contains("closed", "open");
    assertThat(states.get("elasticsearch")).contains("closed", "open");
  }

  @Test
  void report_drawnByChromium_showsWhenReadsWentStale_theBacklog_andTheFallback() throws Exception {
    ReportPage page = ReportPage.render(out.resolve("report.html"), SCREENSHOT);

    int samples = report.path("timeline").size();
    for (String s : ReportPage.SERIES) {
      assertThat(page.series.get(s)).as("points of %s", s).hasSizeGreaterThanOrEqualTo(samples);
    }
    for (String s : List.of("fresh", "stale", "fallback", "backlog", "published", "delivered")) {
      assertThat(page.seriesMax.get(s)).as("the highest value of %s", s).isPositive();
    }
    assertThat(page.guardStates.keySet())
        .containsExactlyInAnyOrder("mysql", "event-store", "ledger", "elasticsearch");
    for (String g : List.of("mysql", "event-store", "elasticsearch")) {
      assertThat(page.guardStates.get(g)).as(g).contains("closed", "open", "not-answering");
    }
    assertThat(page.phases).containsExactly(names());
    assertThat(ReportPage.pixelsOf(SCREENSHOT, 0xf4a100)).as("amber: stale reads").isPositive();
    assertThat(ReportPage.pixelsOf(SCREENSHOT, 0x7b2cbf)).as("purple: fallback").isPositive();
  }

  private double phaseStart(String name) {
    for (JsonNode p : report.path("phases")) {
      if (p.path("name").asText().equals(name)) {
        return p.path("start").asDouble();
      }
    }
    throw new AssertionError("no phase " + name);
  }

  private String[] names() {
    List<String> names = new ArrayList<>();
    report.path("phases").forEach(p -> names.add(p.path("name").asText()));
    return names.toArray(String[]::new);
  }
}
