package dev.outlast.sink.elasticsearch;

import static org.assertj.core.api.Assertions.assertThat;

import dev.outlast.buffer.CatchUpSinks;
import dev.outlast.buffer.SpillQueue;
import dev.outlast.buffer.spi.Sink;
import dev.outlast.core.Guard;
import dev.outlast.core.GuardConfig;
import dev.outlast.core.spi.Codec;
import dev.outlast.testkit.CpuMeter;
import dev.outlast.testkit.OpenSearchServer;
import java.io.ByteArrayOutputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Semaphore;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;
import org.junit.jupiter.api.io.TempDir;

/**
 * Catch-up after an outage into a real OpenSearch node (the Elasticsearch bulk API): how fast a
 * spill queue's backlog of N documents of about 256 bytes drains through {@link ElasticsearchSink}
 * ({@code outlast}), beside the same HTTP client posting the same bulk requests straight from
 * memory with as many requests in flight as the sink takes batches ({@code direct}). A measuring
 * harness, not a test: it runs only when asked.
 *
 * <pre>
 * mvn -B verify -pl resilience-sink-elasticsearch -am -Dtest=ElasticsearchCatchUpHarness \
 *     -Dsurefire.failIfNoSpecifiedTests=false -Doutlast.harness=true
 * </pre>
 *
 * <p>Properties: {@code outlast.harness.events} (200,000), {@code outlast.harness.rounds} (9),
 * {@code outlast.harness.batch} (documents per bulk request, and the queue's batch size, 500, its
 * default), {@code outlast.harness.batches} (bulk requests in flight, 2, the sink's default).
 */
@EnabledIfSystemProperty(named = "outlast.harness", matches = "true")
class ElasticsearchCatchUpHarness {
  private static final int EVENTS = Integer.getInteger("outlast.harness.events", 200_000);
  private static final int ROUNDS = Integer.getInteger("outlast.harness.rounds", 9);
  private static final int BATCH = Integer.getInteger("outlast.harness.batch", 500);
  private static final int BATCHES = Integer.getInteger("outlast.harness.batches", 2);
  private static final String PAD = "x".repeat(230);
  private static final HttpClient HTTP = HttpClient.newHttpClient();

  private static String document(long n) {
    return "{\"n\":" + n + ",\"pad\":\"" + PAD + "\"}";
  }

  @Test
  void catchUpRate_outlastBesideDirect(@TempDir Path dir) throws Exception {
    List<Double> outlast = new ArrayList<>();
    List<Double> direct = new ArrayList<>();
    try (OpenSearchServer node = OpenSearchServer.launch()) {
      URI base = URI.create(node.httpUrl());
      // Round 0 warms both paths up and is not counted.
      for (int round = 0; round <= ROUNDS; round++) {
        CpuMeter cpuO = CpuMeter.ofThisJvmAnd(node);
        double o = outlast(base, dir.resolve("q" + round), "o" + round, cpuO);
        CpuMeter cpuD = CpuMeter.ofThisJvmAnd(node);
        double d = direct(base, "d" + round, cpuD);
        if (round > 0) {
          outlast.add(o);
          direct.add(d);
        }
        System.out.printf(
            "round %d: outlast %.0f events/s (%s), direct %.0f/s (%s)%n", round, o, cpuO, d, cpuD);
      }
    }
    double o = median(outlast);
    double d = median(direct);
    System.out.printf(
        "elasticsearch catch-up, %d documents of %d B, batch %d, %d requests in flight, %d rounds,"
            + " medians: outlast %.0f events/s, direct %.0f/s, ratio %.2f%n",
        EVENTS, document(0).length(), BATCH, BATCHES, ROUNDS, o, d, o / d);
    assertThat(o).isPositive();
  }

  /**
   * Events per second draining a backlog of EVENTS, from when the sink is back until it is empty.
   */
  private static double outlast(URI base, Path journal, String index, CpuMeter cpu)
      throws Exception {
    Guard guard = Guard.of("opensearch", GuardConfig.broker());
    // The outage: the sink is down while the events are published; they all go to the journal.
    try (SpillQueue<String> q = queue(journal, CatchUpSinks.<String>down(), guard)) {
      for (int i = 0; i < EVENTS; i++) {
        q.publish(document(i));
      }
    }
    CountDownLatch sinkBack = new CountDownLatch(1);
    ElasticsearchSink<String> sink =
        ElasticsearchSink.<String>builder(base, index)
            .rawJson(s -> s)
            .maxBatchesInFlight(BATCHES)
            .build();
    try (SpillQueue<String> q =
        queue(
            journal,
            CatchUpSinks.gated(sink, sinkBack),
            Guard.of("opensearch", GuardConfig.broker()))) {
      // The service is running with its backlog; the sink comes back now.
      long start = System.nanoTime();
      cpu.start();
      sinkBack.countDown();
      while (q.metrics().backlogEvents() > 0) {
        Thread.sleep(1); // polling more often would take CPU from the drainer on two cores
      }
      long nanos = System.nanoTime() - start;
      cpu.stop(EVENTS);
      assertThat(q.metrics().delivered()).isEqualTo(EVENTS);
      return EVENTS * 1e9 / nanos;
    }
  }

  /**
   * Events per second posting EVENTS documents from memory, BATCH per bulk request, BATCHES
   * requests in flight.
   */
  private static double direct(URI base, String index, CpuMeter cpu) throws Exception {
    URI bulk = base.resolve("/_bulk");
    Semaphore slots = new Semaphore(BATCHES);
    List<CompletableFuture<HttpResponse<String>>> answers = new ArrayList<>();
    // The same bodies as the queue's: its document ids are its event ids, <producer id>-<sequence>,
    // with a producer id of "outlast-" and 12 random hex digits. (Until issue 19 this side posted
    // shorter "d-<n>" ids, which cost the node less CPU per document: about 10% in one run.)
    byte[] random = new byte[6];
    new java.security.SecureRandom().nextBytes(random);
    String producer = "outlast-" + java.util.HexFormat.of().formatHex(random);
    long start = System.nanoTime();
    cpu.start();
    for (int from = 0; from < EVENTS; from += BATCH) {
      ByteArrayOutputStream body = new ByteArrayOutputStream();
      for (int i = from; i < Math.min(EVENTS, from + BATCH); i++) {
        String line =
            "{\"index\":{\"_index\":\""
                + index
                + "\",\"_id\":\""
                + producer
                + "-"
                + (i + 1)
                + "\"}}\n"
                + document(i)
                + "\n";
        body.writeBytes(line.getBytes(StandardCharsets.UTF_8));
      }
      slots.acquire();
      answers.add(
          HTTP.sendAsync(
                  HttpRequest.newBuilder(bulk)
                      .header("Content-Type", "application/x-ndjson")
                      .POST(HttpRequest.BodyPublishers.ofByteArray(body.toByteArray()))
                      .build(),
                  HttpResponse.BodyHandlers.ofString())
              .whenComplete((r, t) -> slots.release()));
    }
    for (CompletableFuture<HttpResponse<String>> a : answers) {
      HttpResponse<String> r = a.get();
      assertThat(r.statusCode()).isEqualTo(200);
      assertThat(r.body()).contains("\"errors\":false");
    }
    double rate = EVENTS * 1e9 / (System.nanoTime() - start);
    cpu.stop(EVENTS);
    return rate;
  }

  private static SpillQueue<String> queue(Path journal, Sink<String> sink, Guard guard) {
    return SpillQueue.<String>builder("catch-up")
        .directory(journal)
        .codec(Codec.utf8())
        .sink(sink)
        .guard(guard)
        .mode(SpillQueue.Mode.WRITE_AHEAD)
        .batchSize(BATCH)
        .build();
  }

  private static double median(List<Double> values) {
    List<Double> sorted = new ArrayList<>(values);
    Collections.sort(sorted);
    return sorted.get(sorted.size() / 2);
  }
}
