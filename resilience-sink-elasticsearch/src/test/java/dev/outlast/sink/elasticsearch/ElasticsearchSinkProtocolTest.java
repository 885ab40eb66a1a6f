package dev.outlast.sink.elasticsearch;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.sun.net.httpserver.HttpServer;
import dev.outlast.buffer.spi.Delivery;
import dev.outlast.buffer.spi.EventId;
import dev.outlast.buffer.spi.Outcome;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ConcurrentLinkedDeque;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.stream.IntStream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * How the sink speaks the bulk protocol and reads its answers, against a scripted HTTP server: the
 * request's shape, the mapping of each item's status to ok / retry / reject, whole-request
 * failures, and a 413 split. Pure protocol logic; outages are tested against a real node in {@link
 * ElasticsearchSinkOutageTest}.
 */
class ElasticsearchSinkProtocolTest {
  private HttpServer server;
  private final ConcurrentLinkedDeque<Reply> replies = new ConcurrentLinkedDeque<>();
  private final List<Seen> seen = Collections.synchronizedList(new ArrayList<>());

  private record Reply(int status, String body) {}

  private record Seen(String contentType, String authorization, String body) {}

  @BeforeEach
  void start() throws IOException {
    server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
    server.createContext(
        "/",
        exchange -> {
          String body =
              new String(exchange.getRequestBody().readAllBytes(), StandardCharsets.UTF_8);
          seen.add(
              new Seen(
                  String.valueOf(exchange.getRequestHeaders().getFirst("Content-Type")),
                  String.valueOf(exchange.getRequestHeaders().getFirst("Authorization")),
                  exchange.getRequestMethod() + " " + exchange.getRequestURI() + "\n" + body));
          Reply r = replies.pollFirst();
          byte[] out = (r == null ? "{}" : r.body()).getBytes(StandardCharsets.UTF_8);
          exchange.sendResponseHeaders(r == null ? 500 : r.status(), out.length);
          exchange.getResponseBody().write(out);
          exchange.close();
        });
    server.start();
  }

  @AfterEach
  void stop() {
    server.stop(0);
  }

  private ElasticsearchSink.Builder<Map<String, Object>> builder() {
    return ElasticsearchSink.<Map<String, Object>>builder(
            URI.create("http://127.0.0.1:" + server.getAddress().getPort()), "orders")
        .requestTimeout(Duration.ofSeconds(5));
  }

  private static List<Delivery<Map<String, Object>>> batch(int n) {
    return IntStream.rangeClosed(1, n)
        .mapToObj(i -> new Delivery<Map<String, Object>>(new EventId("p", i), Map.of("n", i), 0, 1))
        .toList();
  }

  private static String item(int status, String error) {
    return "{\"index\":{\"_index\":\"orders\",\"status\":"
        + status
        + (error.isEmpty() ? "" : ",\"error\":" + error)
        + "}}";
  }

  private static List<Outcome> deliver(
      ElasticsearchSink<Map<String, Object>> sink, List<Delivery<Map<String, Object>>> batch)
      throws Exception {
    return sink.deliver(batch).toCompletableFuture().get(10, TimeUnit.SECONDS);
  }

  @Test
  void writesNdjsonWithTheEventIdAsDocumentId_andMapsEachItem() throws Exception {
    replies.add(
        new Reply(
            200,
            "{\"errors\":true,\"items\":["
                + item(201, "")
                + ","
                + item(200, "")
                + ","
                + item(429, "{\"type\":\"rejected_execution_exception\",\"reason\":\"queue full\"}")
                + ","
                + item(503, "{\"type\":\"unavailable_shards_exception\",\"reason\":\"primary\"}")
                + ","
                + item(400, "{\"type\":\"mapper_parsing_exception\",\"reason\":\"field [n]\"}")
                + "]}"));
    // A scripted server on loopback: plain http is what there is.
    ElasticsearchSink<Map<String, Object>> sink =
        builder().basicAuth("elastic", "s3cret").allowCredentialsOverHttp().build();

    List<Outcome> outcomes = deliver(sink, batch(5));

    assertThat(outcomes)
        .extracting(Outcome::kind)
        .containsExactly(
            Outcome.Kind.OK,
            Outcome.Kind.OK,
            Outcome.Kind.RETRY,
            Outcome.Kind.RETRY,
            Outcome.Kind.REJECT);
    assertThat(outcomes.get(2).reason()).contains("429").contains("rejected_execution_exception");
    assertThat(outcomes.get(4).reason()).contains("mapper_parsing_exception: field [n]");
    Seen request = seen.get(0);
    assertThat(request.contentType()).isEqualTo("application/x-ndjson");
    assertThat(request.authorization()).isEqualTo("Basic ZWxhc3RpYzpzM2NyZXQ=");
    assertThat(request.body())
        .startsWith(
            """
            POST /_bulk
            {"index":{"_index":"orders","_id":"p-1"}}
            {"n":1}
            {"index":{"_index":"orders","_id":"p-2"}}
            {"n":2}
            """)
        .endsWith("{\"n\":5}\n");
  }

  @Test
  void wholeRequestOverloadOrAuthFailure_failsTheStage_soTheQueueRetriesAndCountsIt() {
    ElasticsearchSink<Map<String, Object>> sink =
        builder().apiKey("a2V5OnNlY3JldA==").allowCredentialsOverHttp().build();
    for (int status : new int[] {429, 503, 401}) {
      replies.add(new Reply(status, "{\"error\":\"nope\"}"));
      assertThatThrownBy(() -> deliver(sink, batch(2)))
          .isInstanceOf(ExecutionException.class)
          .hasMessageContaining("HTTP " + status);
    }
    assertThat(seen.get(0).authorization()).isEqualTo("ApiKey a2V5OnNlY3JldA==");
  }

  /** A missing index or a wrong address is not an event's fault, and needs someone: say so. */
  @Test
  void wholeRequestNotFoundOrBadRequest_failsTheStage_withWhatToCheck() {
    ElasticsearchSink<Map<String, Object>> sink = builder().build();
    replies.add(new Reply(404, "{\"error\":{\"type\":\"index_not_found_exception\"}}"));
    assertThatThrownBy(() -> deliver(sink, batch(2)))
        .isInstanceOf(ExecutionException.class)
        .hasMessageContaining("HTTP 404 (check the address, and that the index exists")
        .hasMessageContaining("index_not_found_exception");
    replies.add(new Reply(400, "{\"error\":\"bad\"}"));
    assertThatThrownBy(() -> deliver(sink, batch(2)))
        .isInstanceOf(ExecutionException.class)
        .hasMessageContaining("HTTP 400 (the cluster refused the request itself");
    replies.add(new Reply(301, ""));
    assertThatThrownBy(() -> deliver(sink, batch(2)))
        .isInstanceOf(ExecutionException.class)
        .hasMessageContaining("HTTP 301 (a redirect, which the sink does not follow");
  }

  @Test
  void responseWithTheWrongNumberOfItems_failsTheStage() {
    replies.add(new Reply(200, "{\"errors\":false,\"items\":[" + item(201, "") + "]}"));
    assertThatThrownBy(() -> deliver(builder().build(), batch(2)))
        .hasMessageContaining("1 items for 2 actions");
  }

  @Test
  void responseSayingNoErrors_isReadAsAStream_andAnythingElseWhole() throws Exception {
    // The usual answer, as clusters write it: every item delivered without a tree being built.
    replies.add(
        new Reply(
            200,
            "{\"took\":3,\"errors\":false,\"items\":["
                + item(201, "")
                + ","
                + item(200, "")
                + "]}"));
    // The same fields in another order, with a failed item: the whole read finds it.
    replies.add(
        new Reply(
            200,
            "{\"items\":["
                + item(201, "")
                + ","
                + item(400, "{\"type\":\"mapper_parsing_exception\",\"reason\":\"bad\"}")
                + "],\"errors\":false}"));
    // Cut short after "errors":false: an error, not two deliveries.
    replies.add(new Reply(200, "{\"errors\":false,\"items\":[" + item(201, "")));

    ElasticsearchSink<Map<String, Object>> sink = builder().build();
    assertThat(deliver(sink, batch(2)))
        .extracting(Outcome::kind)
        .containsExactly(Outcome.Kind.OK, Outcome.Kind.OK);
    assertThat(deliver(sink, batch(2)))
        .extracting(Outcome::kind)
        .containsExactly(Outcome.Kind.OK, Outcome.Kind.REJECT);
    assertThatThrownBy(() -> deliver(sink, batch(2))).hasRootCauseInstanceOf(IOException.class);
  }

  @Test
  void batchesBeyondTheRequestsInFlight_waitBuilt_andGoOutAsAnswersCome() throws Exception {
    // A server of its own that answers several requests at once, each after 100 ms.
    java.util.concurrent.atomic.AtomicInteger now = new java.util.concurrent.atomic.AtomicInteger();
    java.util.concurrent.atomic.AtomicInteger most =
        new java.util.concurrent.atomic.AtomicInteger();
    HttpServer slow =
        HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
    java.util.concurrent.ExecutorService threads =
        java.util.concurrent.Executors.newFixedThreadPool(4);
    slow.setExecutor(threads);
    slow.createContext(
        "/",
        exchange -> {
          most.accumulateAndGet(now.incrementAndGet(), Math::max);
          exchange.getRequestBody().readAllBytes();
          try {
            Thread.sleep(100);
          } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
          }
          byte[] out =
              ("{\"errors\":false,\"items\":[" + item(201, "") + "," + item(201, "") + "]}")
                  .getBytes(StandardCharsets.UTF_8);
          now.decrementAndGet();
          exchange.sendResponseHeaders(200, out.length);
          exchange.getResponseBody().write(out);
          exchange.close();
        });
    slow.start();
    try {
      URI base = URI.create("http://127.0.0.1:" + slow.getAddress().getPort());
      ElasticsearchSink<Map<String, Object>> sink =
          ElasticsearchSink.<Map<String, Object>>builder(base, "orders")
              .maxBatchesInFlight(2)
              .build();
      assertThat(sink.maxBatchesInFlight()).as("batches taken: one built ahead").isEqualTo(3);
      List<java.util.concurrent.CompletableFuture<List<Outcome>>> calls = new ArrayList<>();
      for (int i = 0; i < 5; i++) {
        calls.add(sink.deliver(batch(2)).toCompletableFuture());
      }
      for (var call : calls) {
        assertThat(call.get(10, TimeUnit.SECONDS))
            .extracting(Outcome::kind)
            .containsOnly(Outcome.Kind.OK);
      }
      assertThat(most.get()).as("requests the server had at once").isEqualTo(2);

      assertThat(builder().documentId(m -> "x").build().maxBatchesInFlight())
          .as("the application's ids, one request: nothing built ahead")
          .isEqualTo(1);
      assertThat(builder().maxBatchesInFlight(1).build().maxBatchesInFlight()).isEqualTo(2);
    } finally {
      slow.stop(0);
      threads.shutdownNow();
    }
  }

  @Test
  void requestsOfABatchTheQueueGaveUpOn_areNotPostedAfterwards() throws Exception {
    java.util.concurrent.CountDownLatch release = new java.util.concurrent.CountDownLatch(1);
    java.util.concurrent.atomic.AtomicInteger requests =
        new java.util.concurrent.atomic.AtomicInteger();
    HttpServer held =
        HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
    java.util.concurrent.ExecutorService threads =
        java.util.concurrent.Executors.newFixedThreadPool(2);
    held.setExecutor(threads);
    held.createContext(
        "/",
        exchange -> {
          requests.incrementAndGet();
          exchange.getRequestBody().readAllBytes();
          try {
            release.await();
          } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
          }
          byte[] out =
              ("{\"errors\":false,\"items\":[" + item(201, "") + "]}")
                  .getBytes(StandardCharsets.UTF_8);
          exchange.sendResponseHeaders(200, out.length);
          exchange.getResponseBody().write(out);
          exchange.close();
        });
    held.start();
    try {
      ElasticsearchSink<Map<String, Object>> sink =
          ElasticsearchSink.<Map<String, Object>>builder(
                  URI.create("http://127.0.0.1:" + held.getAddress().getPort()), "orders")
              .documentId(m -> String.valueOf(m.get("n")))
              .maxBulkBytes(1024)
              .build();
      // Two documents of 600 bytes: two requests, one after the other.
      List<Delivery<Map<String, Object>>> big =
          List.of(
              new Delivery<>(new EventId("p", 1), Map.of("n", 1, "pad", "x".repeat(600)), 0, 1),
              new Delivery<>(new EventId("p", 2), Map.of("n", 2, "pad", "y".repeat(600)), 0, 1));
      var call = sink.deliver(big).toCompletableFuture();
      org.awaitility.Awaitility.await().until(() -> requests.get() == 1);
      call.cancel(true); // the queue's call timeout
      release.countDown();
      // The second request would go out as soon as the first is answered: it must not, for a while.
      org.awaitility.Awaitility.await()
          .during(Duration.ofMillis(500))
          .atMost(Duration.ofSeconds(2))
          .until(() -> requests.get() == 1);
    } finally {
      release.countDown();
      held.stop(0);
      threads.shutdownNow();
    }
  }

  @Test
  void tooLarge_splitsTheRequest_andRejectsOnlyADocumentThatIsTooLargeAlone() throws Exception {
    replies.add(new Reply(413, ""));
    replies.add(new Reply(200, "{\"items\":[" + item(201, "") + "]}"));
    replies.add(new Reply(413, ""));

    List<Outcome> outcomes = deliver(builder().build(), batch(2));

    assertThat(outcomes)
        .extracting(Outcome::kind)
        .containsExactly(Outcome.Kind.OK, Outcome.Kind.REJECT);
    assertThat(outcomes.get(1).reason()).contains("413");
    assertThat(seen).hasSize(3);
  }

  @Test
  void largeBatches_goAsSeveralRequestsWithinMaxBulkBytes() throws Exception {
    ElasticsearchSink<Map<String, Object>> sink =
        builder()
            .maxBulkBytes(1024)
            .documents(m -> Map.of("pad", "x".repeat(200), "n", m.get("n")))
            .build();
    // About 262 bytes per document with its action line: three fit in 1024.
    for (int i = 0; i < 4; i++) {
      replies.add(
          new Reply(
              200,
              "{\"items\":[" + String.join(",", Collections.nCopies(3, item(201, ""))) + "]}"));
    }
    List<Outcome> outcomes = deliver(sink, batch(12));
    assertThat(outcomes).hasSize(12).allMatch(o -> o.kind() == Outcome.Kind.OK);
    assertThat(seen).hasSize(4);
    assertThat(seen).allMatch(s -> s.body().length() <= 1024 + "POST /_bulk\n".length());
  }

  /**
   * Found by review: per-item 403 (an index blocked at the disk's flood stage), 404 (a missing
   * index the cluster may not create) and 408 were rejected, dead-lettering the whole stream.
   */
  @Test
  void itemsRefusedForTheClustersSake_areRetried_notDeadLettered() throws Exception {
    replies.add(
        new Reply(
            200,
            "{\"errors\":true,\"items\":["
                + item(403, "{\"type\":\"cluster_block_exception\",\"reason\":\"read-only\"}")
                + ","
                + item(404, "{\"type\":\"index_not_found_exception\",\"reason\":\"orders\"}")
                + ","
                + item(408, "{\"type\":\"timeout\",\"reason\":\"slow\"}")
                + ","
                + item(409, "{\"type\":\"version_conflict_engine_exception\",\"reason\":\"v\"}")
                + "]}"));
    assertThat(deliver(builder().build(), batch(4)))
        .extracting(Outcome::kind)
        .containsExactly(
            Outcome.Kind.RETRY, Outcome.Kind.RETRY, Outcome.Kind.RETRY, Outcome.Kind.REJECT);
  }

  /** Found by review: an Error from the application's mapper escaped and held the queue. */
  @Test
  void aMapperThatOverflowsTheStack_rejectsThatEvent_andTheOthersAreSent() throws Exception {
    replies.add(new Reply(200, "{\"items\":[" + item(201, "") + "]}"));
    ElasticsearchSink<Map<String, Object>> sink =
        builder()
            .documents(
                m -> {
                  if (Integer.valueOf(1).equals(m.get("n"))) {
                    throw new StackOverflowError();
                  }
                  return m;
                })
            .build();
    List<Outcome> outcomes = deliver(sink, batch(2));
    assertThat(outcomes)
        .extracting(Outcome::kind)
        .containsExactly(Outcome.Kind.REJECT, Outcome.Kind.OK);
    assertThat(outcomes.get(0).reason()).contains("StackOverflowError");
  }

  /**
   * Found by review: the JDK client's request timeout ends with the response's headers; a body that
   * stalled after them held the only request slot (with documentId) for good.
   */
  @Test
  void aResponseBodyThatStalls_failsItsBatch_andFreesTheSlotForTheNext() throws Exception {
    java.util.concurrent.CountDownLatch end = new java.util.concurrent.CountDownLatch(1);
    java.util.concurrent.atomic.AtomicInteger requests =
        new java.util.concurrent.atomic.AtomicInteger();
    HttpServer stalling =
        HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
    java.util.concurrent.ExecutorService threads =
        java.util.concurrent.Executors.newFixedThreadPool(2);
    stalling.setExecutor(threads);
    stalling.createContext(
        "/",
        exchange -> {
          exchange.getRequestBody().readAllBytes();
          if (requests.incrementAndGet() == 1) {
            exchange.sendResponseHeaders(200, 0); // chunked: headers now, the body never ends
            exchange.getResponseBody().write("{\"errors\":".getBytes(StandardCharsets.UTF_8));
            exchange.getResponseBody().flush();
            try {
              end.await();
            } catch (InterruptedException e) {
              Thread.currentThread().interrupt();
            }
            exchange.close();
            return;
          }
          byte[] out =
              ("{\"errors\":false,\"items\":[" + item(201, "") + "]}")
                  .getBytes(StandardCharsets.UTF_8);
          exchange.sendResponseHeaders(200, out.length);
          exchange.getResponseBody().write(out);
          exchange.close();
        });
    stalling.start();
    try {
      ElasticsearchSink<Map<String, Object>> sink =
          ElasticsearchSink.<Map<String, Object>>builder(
                  URI.create("http://127.0.0.1:" + stalling.getAddress().getPort()), "orders")
              .documentId(m -> String.valueOf(m.get("n")))
              .requestTimeout(Duration.ofMillis(300))
              .build();
      long start = System.nanoTime();
      assertThatThrownBy(() -> deliver(sink, batch(1))).isInstanceOf(ExecutionException.class);
      assertThat((System.nanoTime() - start) / 1_000_000)
          .as("ms until the stalled batch failed (twice the request timeout)")
          .isBetween(400L, 5_000L);
      assertThat(deliver(sink, batch(1)))
          .as("the next batch, on the slot the stalled one held")
          .extracting(Outcome::kind)
          .containsExactly(Outcome.Kind.OK);
    } finally {
      end.countDown();
      stalling.stop(0);
      threads.shutdownNow();
    }
  }

  @Test
  void anEventThatCannotBecomeADocument_isRejected_andTheOthersAreSent() throws Exception {
    replies.add(new Reply(200, "{\"items\":[" + item(201, "") + "]}"));
    ElasticsearchSink<Map<String, Object>> sink =
        builder()
            .documents(
                m -> {
                  if (Integer.valueOf(1).equals(m.get("n"))) {
                    throw new IllegalStateException("no document for 1");
                  }
                  return m;
                })
            .build();
    List<Outcome> outcomes = deliver(sink, batch(2));
    assertThat(outcomes)
        .extracting(Outcome::kind)
        .containsExactly(Outcome.Kind.REJECT, Outcome.Kind.OK);
    assertThat(outcomes.get(0).reason()).contains("no document for 1");
  }

  @Test
  void documentId_takesTheIdFromTheEvent_andRejectsOnlyAnEventWithoutAUsableOne() throws Exception {
    replies.add(new Reply(200, "{\"items\":[" + item(201, "") + "," + item(201, "") + "]}"));
    ElasticsearchSink<Map<String, Object>> sink =
        builder()
            .documentId(
                m ->
                    switch ((Integer) Objects.requireNonNull(m.get("n"))) {
                      case 1 -> "order-\"1\"";
                      case 2 -> "";
                      case 3 -> "x".repeat(513);
                      default -> "order-" + m.get("n");
                    })
            .build();
    List<Outcome> outcomes = deliver(sink, batch(4));
    assertThat(outcomes)
        .extracting(Outcome::kind)
        .containsExactly(
            Outcome.Kind.OK, Outcome.Kind.REJECT, Outcome.Kind.REJECT, Outcome.Kind.OK);
    assertThat(outcomes.get(1).reason()).contains("an id of 0 bytes; Elasticsearch takes 1 to 512");
    assertThat(outcomes.get(2).reason()).contains("an id of 513 bytes");
    assertThat(seen.get(0).body())
        .isEqualTo(
            """
            POST /_bulk
            {"index":{"_index":"orders","_id":"order-\\"1\\""}}
            {"n":1}
            {"index":{"_index":"orders","_id":"order-4"}}
            {"n":4}
            """);
  }

  @Test
  void aPrettyPrintingMapper_stillWritesOneLinePerDocument() throws Exception {
    replies.add(new Reply(200, "{\"items\":[" + item(201, "") + "]}"));
    ElasticsearchSink<Map<String, Object>> sink =
        builder()
            .objectMapper(new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT))
            .build();
    assertThat(deliver(sink, batch(1))).extracting(Outcome::kind).containsExactly(Outcome.Kind.OK);
    assertThat(seen.get(0).body())
        .isEqualTo("POST /_bulk\n{\"index\":{\"_index\":\"orders\",\"_id\":\"p-1\"}}\n{\"n\":1}\n");
  }

  @Test
  void badSettings_failAtBuildTime_withWhatToChange() {
    assertThatThrownBy(() -> ElasticsearchSink.builder(URI.create("ftp://x:9200"), "orders"))
        .hasMessageContaining("http or https");
    assertThatThrownBy(() -> ElasticsearchSink.builder(URI.create("http://x:9200"), "Orders"))
        .hasMessageContaining("not a valid index name");
    assertThatThrownBy(() -> builder().maxBulkBytes(10)).hasMessageContaining("at least 1024");
    assertThatThrownBy(() -> builder().requestTimeout(Duration.ZERO))
        .hasMessageContaining("requestTimeout must be positive");
    assertThatThrownBy(() -> builder().basicAuth("a:b", "c")).hasMessageContaining("':'");
  }
}
