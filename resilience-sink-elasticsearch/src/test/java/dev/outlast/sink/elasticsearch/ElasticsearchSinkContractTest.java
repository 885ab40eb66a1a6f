package dev.outlast.sink.elasticsearch;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.outlast.buffer.SinkContract;
import dev.outlast.buffer.spi.Sink;
import dev.outlast.testkit.OpenSearchServer;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.jspecify.annotations.Nullable;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;

/**
 * The sink contract against a real OpenSearch node: every acknowledged event stored once under its
 * own id, through a kill and a freeze of the node. An index keeps no order, so order is not checked
 * here (the Pulsar and in-process runs check it).
 */
class ElasticsearchSinkContractTest extends SinkContract {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final HttpClient HTTP =
      HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(3)).build();
  private static OpenSearchServer node;

  @BeforeAll
  static void start() {
    node = OpenSearchServer.launch();
  }

  @AfterAll
  static void stop() {
    if (node != null) {
      node.close();
    }
  }

  @Override
  protected Sink<byte[]> newSink(String stream) throws Exception {
    String mapping =
        "{\"settings\":{\"number_of_replicas\":0},"
            + "\"mappings\":{\"properties\":{\"p\":{\"type\":\"long\"},\"i\":{\"type\":\"long\"}}}}";
    HttpResponse<String> created = send("PUT", "/" + stream, mapping);
    assertThat(created.statusCode()).as(created.body()).isEqualTo(200);
    return ElasticsearchSink.<byte[]>builder(URI.create(node.httpUrl()), stream)
        .rawJson(b -> new String(b, StandardCharsets.UTF_8))
        .requestTimeout(Duration.ofSeconds(2))
        .connectTimeout(Duration.ofSeconds(1))
        .build();
  }

  @Override
  protected Duration callTimeout() {
    return Duration.ofSeconds(3);
  }

  @Override
  protected List<String> stored(String stream) throws Exception {
    HttpResponse<String> refreshed = send("POST", "/" + stream + "/_refresh", null);
    assertThat(refreshed.statusCode()).as(refreshed.body()).isEqualTo(200);
    List<String> events = new ArrayList<>();
    JsonNode after = null;
    while (true) {
      ObjectNode query = JSON.createObjectNode();
      query.put("size", 5_000);
      query
          .putArray("sort")
          .add(JSON.createObjectNode().put("p", "asc"))
          .add(JSON.createObjectNode().put("i", "asc"));
      if (after != null) {
        query.set("search_after", after);
      }
      HttpResponse<String> r =
          send("POST", "/" + stream + "/_search", JSON.writeValueAsString(query));
      assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
      JsonNode hits = JSON.readTree(r.body()).path("hits").path("hits");
      if (hits.isEmpty()) {
        return events;
      }
      for (JsonNode hit : hits) {
        JsonNode source = hit.path("_source");
        events.add(
            "{\"p\":" + source.path("p").asLong() + ",\"i\":" + source.path("i").asLong() + "}");
      }
      after = hits.get(hits.size() - 1).path("sort");
    }
  }

  private static HttpResponse<String> send(String method, String path, @Nullable String body)
      throws Exception {
    HttpRequest.Builder b =
        HttpRequest.newBuilder(URI.create(node.httpUrl() + path))
            .timeout(Duration.ofSeconds(30))
            .header("Content-Type", "application/json");
    b.method(
        method,
        body == null
            ? HttpRequest.BodyPublishers.noBody()
            : HttpRequest.BodyPublishers.ofString(body));
    return HTTP.send(b.build(), HttpResponse.BodyHandlers.ofString());
  }

  @Override
  protected boolean keepsOrder() {
    return false;
  }

  @Override
  protected void kill() {
    node.kill();
  }

  @Override
  protected void restart() {
    node.start();
  }

  @Override
  protected void freeze() {
    node.freeze();
  }

  @Override
  protected void thaw() {
    node.thaw();
  }
}
