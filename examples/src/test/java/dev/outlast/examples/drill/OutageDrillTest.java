package dev.outlast.examples.drill;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * A short drill, 3 seconds a phase, with real servers: checks what report.json says, as a reader of
 * it would: nothing lost (read back from the index), no read of a warmed key failed, every phase
 * there in order, and the page drawn.
 */
class OutageDrillTest {
  @Test
  void shortDrill_losesNothing_andAnswersEveryRead() throws Exception {
    // A run id of its own each time: the drill refuses a run directory that exists.
    String runId = Long.toString(System.currentTimeMillis(), 36);
    Path out = Path.of("target", "outage-drill-test", runId);
    DrillReport r =
        OutageDrill.run(
            Map.of("phase-seconds", "3", "out", out.getParent().toString(), "run-id", runId));

    assertThat(out.resolve("work")).as("the work files, removed at the end").doesNotExist();
    JsonNode report = new ObjectMapper().readTree(out.resolve("report.json").toFile());
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
}
