package dev.outlast.sink.elasticsearch;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.outlast.buffer.SpillQueue;
import dev.outlast.core.Guard;
import dev.outlast.core.GuardConfig;
import dev.outlast.core.annotation.Guarded;
import dev.outlast.core.annotation.Outlast;
import dev.outlast.core.annotation.SpillOnFailure;
import dev.outlast.core.spi.Codec;
import dev.outlast.testkit.FaultProxy;
import dev.outlast.testkit.OpenSearchServer;
import dev.outlast.testkit.OutageTour;
import dev.outlast.testkit.SteadyStream;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A service's own event publisher interface, annotated {@code @SpillOnFailure}, wired by one call,
 * in front of a real OpenSearch node that is killed, frozen and cut off: no publish call fails, and
 * after recovery every event is in the index (at least once: a call that timed out may have
 * arrived, and the queue delivers it again).
 */
class AnnotatedPublisherOutageTest {
  private static final String INDEX = "orders";
  private static final int MIN_EVENTS = 4_000;
  private static final ObjectMapper JSON = new ObjectMapper();

  private static OpenSearchServer node;
  private static FaultProxy proxy;

  /** The service's interface. */
  interface OrderEvents {
    @Guarded("opensearch")
    @SpillOnFailure(queue = "orders")
    void orderPlaced(String json) throws IOException;
  }

  /** The service's own implementation: one HTTP request per event, no Outlast in it. */
  static final class HttpOrderEvents implements OrderEvents {
    private final HttpClient http =
        HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(1)).build();
    private final URI uri;

    HttpOrderEvents(URI base) {
      this.uri = base.resolve("/" + INDEX + "/_doc");
    }

    @Override
    public void orderPlaced(String json) throws IOException {
      HttpResponse<String> r;
      try {
        r =
            http.send(
                HttpRequest.newBuilder(uri)
                    .timeout(Duration.ofSeconds(2))
                    .header("Content-Type", "application/json")
                    .POST(HttpRequest.BodyPublishers.ofString(json))
                    .build(),
                HttpResponse.BodyHandlers.ofString());
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IOException("interrupted", e);
      }
      if (r.statusCode() >= 500 || r.statusCode() == 429) {
        throw new IOException("HTTP " + r.statusCode() + ": " + r.body());
      }
      if (r.statusCode() >= 300) {
        throw new IllegalArgumentException("refused: HTTP " + r.statusCode() + ": " + r.body());
      }
    }
  }

  @BeforeAll
  static void start() throws Exception {
    node = OpenSearchServer.launch();
    proxy = FaultProxy.to(node);
    String mapping =
        "{\"settings\":{\"number_of_replicas\":0},"
            + "\"mappings\":{\"properties\":{\"n\":{\"type\":\"long\"}}}}";
    HttpResponse<String> created = send("PUT", "/" + INDEX, mapping);
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
  void noCallFails_andEveryEventArrives_throughKillFreezeAndCut(@TempDir Path dir)
      throws Exception {
    URI through = URI.create("http://127.0.0.1:" + proxy.port());
    Guard guard =
        Guard.of(
            "opensearch",
            GuardConfig.from(GuardConfig.broker())
                .callTimeout(Duration.ofSeconds(3))
                .openWait(Duration.ofMillis(500))
                .maxOpenWait(Duration.ofSeconds(2))
                .build());
    List<String> sent;
    try (SpillQueue<String> queue =
            SpillQueue.<String>builder("orders")
                .directory(dir)
                .codec(Codec.utf8())
                .sink(
                    ElasticsearchSink.<String>builder(through, INDEX)
                        .rawJson(s -> s)
                        .requestTimeout(Duration.ofSeconds(2))
                        .connectTimeout(Duration.ofSeconds(1))
                        .build())
                .guard(guard)
                .batchSize(500)
                .retryBackoff(Duration.ofMillis(100), Duration.ofSeconds(1))
                .build();
        Outlast outlast = Outlast.builder().guard(guard).resource("orders", queue).build()) {
      OrderEvents events = outlast.wrap(OrderEvents.class, new HttpOrderEvents(through));
      SteadyStream<String> stream =
          SteadyStream.start(
              "order-events",
              n -> {
                try {
                  events.orderPlaced("{\"n\":" + n + "}");
                } catch (IOException e) {
                  throw new AssertionError("the proxy let an outage through", e);
                }
                return Long.toString(n);
              },
              Duration.ofMillis(3));
      try {
        OutageTour.run(node, proxy, 1);
      } finally {
        sent = stream.finish(MIN_EVENTS);
      }
      assertThat(stream.failures()).as("publish calls that failed").isEmpty();
      assertThat(queue.metrics().published()).as("events that were spilled").isPositive();
      await()
          .atMost(Duration.ofMinutes(2))
          .pollInterval(Duration.ofMillis(200))
          .until(() -> queue.metrics().backlogEvents() == 0);
    }
    assertThat(send("POST", "/" + INDEX + "/_refresh", "").statusCode()).isEqualTo(200);
    Map<String, Integer> stored = storedCounts();
    assertThat(stored.keySet()).containsExactlyInAnyOrderElementsOf(sent);
    long duplicates = stored.values().stream().mapToLong(c -> c - 1).sum();
    System.out.printf(
        "annotated publisher outage: %d events published, none failed, all stored; %d stored"
            + " twice (at least once)%n",
        sent.size(), duplicates);
  }

  /** How often each n is stored, paged by n with search_after. */
  private static Map<String, Integer> storedCounts() throws Exception {
    Map<String, Integer> counts = new HashMap<>();
    JsonNode after = null;
    while (true) {
      ObjectNode query = JSON.createObjectNode();
      query.put("size", 5_000);
      query.putArray("sort").addObject().put("n", "asc");
      query.putArray("_source").add("n");
      if (after != null) {
        query.set("search_after", after);
      }
      HttpResponse<String> r =
          send("POST", "/" + INDEX + "/_search", JSON.writeValueAsString(query));
      assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
      JsonNode hits = JSON.readTree(r.body()).path("hits").path("hits");
      if (hits.isEmpty()) {
        return counts;
      }
      for (JsonNode hit : hits) {
        counts.merge(hit.path("_source").path("n").asText(), 1, Integer::sum);
      }
      after = hits.get(hits.size() - 1).path("sort");
    }
  }

  private static HttpResponse<String> send(String method, String path, String body)
      throws Exception {
    return HttpClient.newHttpClient()
        .send(
            HttpRequest.newBuilder(URI.create(node.httpUrl() + path))
                .header("Content-Type", "application/json")
                .method(method, HttpRequest.BodyPublishers.ofString(body))
                .build(),
            HttpResponse.BodyHandlers.ofString());
  }
}
