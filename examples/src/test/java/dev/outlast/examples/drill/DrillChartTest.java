package dev.outlast.examples.drill;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.outlast.core.Guard;
import dev.outlast.examples.drill.DrillReport.Change;
import dev.outlast.examples.drill.DrillReport.GuardSample;
import dev.outlast.examples.drill.DrillReport.Phase;
import dev.outlast.examples.drill.DrillReport.Sample;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The chart's layout on a made-up drill whose figures are known: each kind of figure on a scale of
 * its own, the warm-up neither counted nor drawn, and the page as Chromium draws it.
 */
class DrillChartTest {
  private static final Guard.State C = Guard.State.CLOSED;
  private static final Guard.State H = Guard.State.HALF_OPEN;
  private static final Guard.State O = Guard.State.OPEN;

  @TempDir Path dir;

  @Test
  void scales_readsFillTheirPanel_whateverTheDrainAndTheBacklog() {
    DrillReport r = synthetic();
    DrillChart chart = new DrillChart(r.phases(), r.timeline(), r.breakers(), r.servers());

    // 250 product reads + 50 history reads a second; the drain delivers 5,000 in one second and
    // the backlog peaks at 3,200: neither may set the reads' scale, as they did in issue 18.
    assertThat(chart.readsMax()).isBetween(300L, 400L);
    assertThat(chart.backlogMax()).isBetween(3_200L, 4_000L);
    assertThat(chart.eventsMax()).isEqualTo(10_000L);
    // The second the restart skipped is one sample over two seconds: drawn as a rate, no spike.
    List<Map<String, String>> polygons = series(chart.svg());
    double top = Double.MAX_VALUE;
    for (Map<String, String> e : polygons) {
      if (DrillChart.readSeries().contains(e.get("data-series"))) {
        top = Math.min(top, minY(e.get("points")));
      }
    }
    double baseline = DrillChart.READS_TOP + DrillChart.READS_H;
    assertThat((baseline - top) / DrillChart.READS_H)
        .as("share of the reads panel the stacked reads reach")
        .isGreaterThan(0.8);
  }

  @Test
  void warmUp_isNotCounted_andNotDrawn() throws Exception {
    DrillReport r = synthetic();
    JsonNode json = new ObjectMapper().readTree(r.json());
    long fresh = 0;
    long stale = 0;
    for (Sample x : r.timeline()) {
      fresh += x.fresh();
      stale += x.stale();
    }
    assertThat(json.at("/reads/warmUp").asLong()).isEqualTo(200);
    assertThat(json.at("/reads/fresh").asLong()).isEqualTo(fresh);
    assertThat(json.at("/reads/total").asLong()).isEqualTo(fresh + stale);
    assertThat(r.html()).contains("the warm-up's 200 reads are not counted");
    // Time 0 is the load's start, the left edge of the plot: nothing is drawn before it.
    for (Map<String, String> e :
        series(new DrillChart(r.phases(), r.timeline(), r.breakers(), r.servers()).svg())) {
      assertThat(minX(e.get("points"))).as(e.get("data-series")).isEqualTo(DrillChart.LEFT);
    }
  }

  @Test
  void statusLine_saysUpOnlyWhileTheServerAnswersAndTheBreakerIsClosed() {
    assertThat(OutageDrill.status(C, true)).isEqualTo("UP");
    assertThat(OutageDrill.status(C, false)).as("killed, breaker not yet open").isEqualTo("DOWN");
    assertThat(OutageDrill.status(O, true)).as("back, breaker not yet closed").isEqualTo("DOWN");
    assertThat(OutageDrill.status(H, true)).isEqualTo("DEGRADED");
    assertThat(OutageDrill.status(H, false)).isEqualTo("DOWN");
  }

  @Test
  void page_drawnByChromium_showsEveryPanelAndStrip() throws Exception {
    DrillReport r = synthetic();
    r.write(dir);
    Path png = Path.of("target", "drill-chart-synthetic.png");

    ReportPage page = ReportPage.render(dir.resolve("report.html"), png);

    for (String s : ReportPage.SERIES) {
      assertThat(page.series.get(s)).as("points of %s", s).hasSizeGreaterThan(r.timeline().size());
    }
    assertThat(page.seriesMax.get("fallback")).isEqualTo(50.0);
    assertThat(page.seriesMax.get("backlog")).isEqualTo(3_200.0);
    assertThat(page.guardStates)
        .containsOnlyKeys("mysql", "event-store", "ledger", "elasticsearch");
    assertThat(page.guardStates.get("mysql")).contains("closed", "half-open", "open");
    assertThat(page.guardStates.get("event-store")).contains("open", "not-answering");
    assertThat(page.guardStates.get("ledger")).contains("closed").doesNotContain("open");
    assertThat(page.phases).hasSize(8).startsWith("healthy").endsWith("drained");
    // The picture itself: the fresh, stale and fallback areas are there, big enough to see.
    assertThat(ReportPage.pixelsOf(png, 0x2a9d3a)).as("green: fresh, closed").isGreaterThan(5_000);
    assertThat(ReportPage.pixelsOf(png, 0xf4a100)).as("amber: stale").isGreaterThan(5_000);
    assertThat(ReportPage.pixelsOf(png, 0x7b2cbf)).as("purple: fallback").isGreaterThan(1_000);
    assertThat(ReportPage.pixelsOf(png, 0xd62828)).as("red: open").isGreaterThan(1_000);
  }

  /**
   * A minute of a drill as the real one goes: MySQL away 8-24 s and 40-50 s (stale reads), the
   * event store 24-32 s (the ledger answers history), Elasticsearch 32-52 s (the backlog rises to
   * 3,200, then 5,000 are delivered in a second), one second skipped by the service's restart.
   */
  static DrillReport synthetic() {
    List<Phase> phases =
        List.of(
            new Phase("healthy", "everything up", 0, 8),
            new Phase("mysql-killed", "MySQL killed", 8, 16),
            new Phase("mysql-frozen", "MySQL restarting, then frozen", 16, 24),
            new Phase("event-store-down", "PostgreSQL killed", 24, 32),
            new Phase("sink-down", "Elasticsearch killed", 32, 40),
            new Phase("service-restart", "MySQL killed; restart", 40, 48),
            new Phase("restored", "MySQL and Elasticsearch restarting", 48, 56),
            new Phase("drained", "until the backlog is delivered", 56, 60));
    List<Sample> timeline = new ArrayList<>();
    List<Change> breakers = new ArrayList<>();
    List<Change> servers = new ArrayList<>();
    Map<String, String> was = new HashMap<>();
    long backlog = 0;
    for (int t = 1; t <= 60; t++) {
      if (t == 43) {
        continue; // the restart's second: the next sample covers two
      }
      long span = t == 44 ? 2 : 1;
      boolean mysqlAway = (t > 8 && t <= 24) || (t > 40 && t <= 50);
      boolean storeAway = t > 24 && t <= 32;
      boolean searchAway = t > 32 && t <= 52;
      long published = 100 * span;
      long delivered = searchAway ? 0 : t == 53 ? 5_000 : published;
      backlog = searchAway ? backlog + published : t == 53 ? 0 : backlog;
      if (t == 52) {
        backlog = 3_200;
      }
      Guard.State mysql = !mysqlAway ? C : t % 4 == 0 ? H : O;
      List<GuardSample> guards =
          List.of(
              new GuardSample("mysql", "mysql", mysql, !mysqlAway),
              new GuardSample("event-store", "event-store", storeAway ? O : C, !storeAway),
              new GuardSample("ledger", "mysql", C, !mysqlAway),
              new GuardSample("elasticsearch", "elasticsearch", searchAway ? O : C, !searchAway));
      // The changes as they happened: here at the start of each second.
      for (GuardSample g : guards) {
        String state = DrillReport.stateName(g.state());
        if (!state.equals(was.put("guard " + g.name(), state))) {
          breakers.add(new Change(g.name(), t - 1, state));
        }
        String answers = g.answering() ? "answering" : "not-answering";
        if (!answers.equals(was.put("server " + g.server(), answers))) {
          servers.add(new Change(g.server(), t - 1, answers));
        }
      }
      timeline.add(
          new Sample(
              t,
              phaseAt(phases, t),
              mysqlAway ? 0 : 250 * span,
              mysqlAway ? 250 * span : 0,
              0,
              storeAway ? 0 : 50 * span,
              storeAway ? 50 * span : 0,
              0,
              published,
              delivered,
              backlog,
              guards,
              "mysql " + OutageDrill.status(mysql, !mysqlAway)));
    }
    long fresh = timeline.stream().mapToLong(Sample::fresh).sum();
    long stale = timeline.stream().mapToLong(Sample::stale).sum();
    long fallback = timeline.stream().mapToLong(Sample::fallback).sum();
    long history = timeline.stream().mapToLong(Sample::historyFromStore).sum() + fallback;
    long published = timeline.stream().mapToLong(Sample::published).sum();
    return new DrillReport(
        fresh + stale,
        fresh,
        stale,
        0,
        200,
        history,
        0,
        fallback,
        published,
        0,
        2_000,
        published,
        0,
        0,
        phases,
        timeline,
        breakers,
        servers);
  }

  private static String phaseAt(List<Phase> phases, double t) {
    for (Phase p : phases) {
      if (t > p.start() && t <= p.end()) {
        return p.name();
      }
    }
    return "drained";
  }

  private static List<Map<String, String>> series(String svg) {
    return Chromium.elements(svg).stream().filter(e -> e.containsKey("data-series")).toList();
  }

  private static double minY(String points) {
    return ReportPage.points(points).stream().mapToDouble(p -> p[1]).min().orElseThrow();
  }

  private static double minX(String points) {
    return ReportPage.points(points).stream().mapToDouble(p -> p[0]).min().orElseThrow();
  }
}
