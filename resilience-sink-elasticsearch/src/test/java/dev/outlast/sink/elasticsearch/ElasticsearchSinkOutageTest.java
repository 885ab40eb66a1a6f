package dev.outlast.sink.elasticsearch;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.outlast.buffer.DeadLetter;
import dev.outlast.buffer.SpillQueue;
import dev.outlast.buffer.spi.EventId;
import dev.outlast.core.Guard;
import dev.outlast.core.GuardConfig;
import dev.outlast.core.spi.Codec;
import dev.outlast.testkit.FaultProxy;
import dev.outlast.testkit.OpenSearchServer;
import dev.outlast.testkit.OutageTour;
import dev.outlast.testkit.SteadyStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A steady stream of events into a real OpenSearch node (standing in for Elasticsearch: same bulk
 * API) through a spill queue, while the node is killed and restarted, frozen and thawed, and cut
 * off by a proxy, twice each. Afterwards every published event is a document, once, under its id;
 * the one poison event is in the dead-letter journal; no publish failed or waited past the guard's
 * call timeout.
 */
class ElasticsearchSinkOutageTest {
  private static final String INDEX = "events";
  private static final int MIN_EVENTS = 10_000;
  private static final Duration CALL_TIMEOUT = Duration.ofSeconds(3);
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final HttpClient HTTP =
      HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(3)).build();

  private static OpenSearchServer node;
  private static FaultProxy proxy;

  @BeforeAll
  static void start() throws Exception {
    node = OpenSearchServer.launch();
    proxy = FaultProxy.to(node);
    // "n" is a number: a document whose n is not is refused by the mapping, for good.
    String mapping =
        "{\"settings\":{\"number_of_replicas\":0},"
            + "\"mappings\":{\"properties\":{\"n\":{\"type\":\"long\"}}}}";
    HttpResponse<String> created =
        HTTP.send(
            HttpRequest.newBuilder(URI.create(node.httpUrl() + "/" + INDEX))
                .header("Content-Type", "application/json")
                .PUT(HttpRequest.BodyPublishers.ofString(mapping))
                .build(),
            HttpResponse.BodyHandlers.ofString());
    assertThat(created.statusCode()).as(created.body()).isEqualTo(200);
  }

  @AfterAll
  static void stop() {
    if (proxy != null) {
      proxy.close();
    }
    if (node != null) {
      node.close();
    }
  }

  @Test
  void everyEventArrivesOnce_throughKillsFreezesAndCuts(@TempDir Path dir) throws Exception {
    ElasticsearchSink<String> sink =
        ElasticsearchSink.<String>builder(URI.create("http://127.0.0.1:" + proxy.port()), INDEX)
            .rawJson(s -> s)
            .requestTimeout(Duration.ofSeconds(2))
            .connectTimeout(Duration.ofSeconds(1))
            .build();
    Guard guard =
        Guard.of(
            "opensearch",
            GuardConfig.from(GuardConfig.broker())
                .callTimeout(CALL_TIMEOUT)
                .openWait(Duration.ofMillis(500))
                .maxOpenWait(Duration.ofSeconds(2))
                .build());
    List<String> ids;
    Duration slowest;
    EventId poison;
    try (SpillQueue<String> queue =
        SpillQueue.<String>builder("es-outage")
            .directory(dir.resolve("journal"))
            .codec(Codec.utf8())
            .sink(sink)
            .guard(guard)
            .mode(SpillQueue.Mode.SPILL_ON_FAILURE)
            .batchSize(500)
            .retryBackoff(Duration.ofMillis(100), Duration.ofSeconds(1))
            .build()) {
      poison = queue.publish("{\"n\":\"not a number\"}");
      // A steady stream of about 500 events a second, whatever the sink does.
      SteadyStream<String> stream =
          SteadyStream.start(
              "publisher",
              n -> queue.publish("{\"n\":" + n + "}").toString(),
              Duration.ofNanos(1_500_000));
      try {
        OutageTour.run(node, proxy, 2);
      } finally {
        ids = stream.finish(MIN_EVENTS);
      }
      slowest = stream.slowest();
      await()
          .atMost(Duration.ofMinutes(2))
          .pollInterval(Duration.ofMillis(200))
          .until(() -> queue.metrics().backlogEvents() == 0);

      assertThat(stream.failures()).as("publish calls that failed").isEmpty();
      assertThat(slowest).as("slowest publish").isLessThan(CALL_TIMEOUT.plusMillis(500));
      List<DeadLetter<String>> dead = queue.deadLetters();
      assertThat(dead).extracting(DeadLetter::id).containsExactly(poison);
      assertThat(dead.get(0).reason()).contains("400").contains("mapper_parsing_exception");
    }
    assertThat(ids).hasSizeGreaterThanOrEqualTo(MIN_EVENTS);
    refresh();
    Set<String> stored = allIds();
    assertThat(stored).hasSize(ids.size());
    assertThat(stored).isEqualTo(new HashSet<>(ids));
    assertThat(count()).isEqualTo(ids.size());
    System.out.printf(
        "elasticsearch sink outage: %d events published, all %d stored once; slowest publish %d"
            + " ms; 1 poison event dead-lettered%n",
        ids.size(), stored.size(), slowest.toMillis());
  }

  private static void refresh() throws Exception {
    HttpResponse<String> r =
        HTTP.send(
            HttpRequest.newBuilder(URI.create(node.httpUrl() + "/" + INDEX + "/_refresh"))
                .POST(HttpRequest.BodyPublishers.noBody())
                .build(),
            HttpResponse.BodyHandlers.ofString());
    assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
  }

  private static long count() throws Exception {
    return get("/" + INDEX + "/_count").path("count").asLong(-1);
  }

  /** Every document's id, paged by the number field with search_after. */
  private static Set<String> allIds() throws Exception {
    Set<String> ids = new HashSet<>();
    JsonNode after = null;
    while (true) {
      ObjectNode query = JSON.createObjectNode();
      query.put("size", 5_000).put("_source", false);
      query.putArray("sort").addObject().put("n", "asc");
      if (after != null) {
        query.set("search_after", after);
      }
      JsonNode hits = post("/" + INDEX + "/_search", query).path("hits").path("hits");
      if (hits.isEmpty()) {
        return ids;
      }
      for (JsonNode hit : hits) {
        assertThat(ids.add(hit.path("_id").asText())).as("duplicate id %s", hit).isTrue();
      }
      after = (ArrayNode) hits.get(hits.size() - 1).path("sort");
    }
  }

  private static JsonNode get(String path) throws Exception {
    HttpResponse<String> r =
        HTTP.send(
            HttpRequest.newBuilder(URI.create(node.httpUrl() + path)).build(),
            HttpResponse.BodyHandlers.ofString());
    assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
    return JSON.readTree(r.body());
  }

  private static JsonNode post(String path, JsonNode body) throws Exception {
    HttpResponse<String> r =
        HTTP.send(
            HttpRequest.newBuilder(URI.create(node.httpUrl() + path))
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(JSON.writeValueAsString(body)))
                .build(),
            HttpResponse.BodyHandlers.ofString());
    assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
    return JSON.readTree(r.body());
  }
}
