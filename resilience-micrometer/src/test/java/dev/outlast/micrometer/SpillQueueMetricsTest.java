package dev.outlast.micrometer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import dev.outlast.buffer.SpillQueue;
import dev.outlast.buffer.spi.Delivery;
import dev.outlast.buffer.spi.Outcome;
import dev.outlast.buffer.spi.Sink;
import dev.outlast.core.Guard;
import dev.outlast.core.GuardConfig;
import dev.outlast.core.spi.Codec;
import dev.outlast.testkit.ManualClock;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.net.ConnectException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SpillQueueMetricsTest {
  private static final long MAX_DISK = 64L << 20;

  @TempDir Path dir;
  private final ManualClock clock = new ManualClock();
  private final SimpleMeterRegistry registry = new SimpleMeterRegistry();
  private final TestSink sink = new TestSink();

  /** A sink a test steers: down, events it rejects for good, events it asks to retry once. */
  static final class TestSink implements Sink<String> {
    volatile boolean down;
    final Set<String> rejects = ConcurrentHashMap.newKeySet();
    final Set<String> retryOnce = ConcurrentHashMap.newKeySet();
    final List<String> delivered = Collections.synchronizedList(new ArrayList<>());

    @Override
    public CompletionStage<List<Outcome>> deliver(List<Delivery<String>> batch) {
      if (down) {
        return CompletableFuture.failedFuture(new ConnectException("Connection refused"));
      }
      List<Outcome> outcomes = new ArrayList<>();
      for (Delivery<String> d : batch) {
        if (rejects.contains(d.event())) {
          outcomes.add(Outcome.reject("mapping error"));
        } else if (retryOnce.remove(d.event())) {
          outcomes.add(Outcome.retry("overloaded"));
        } else {
          delivered.add(d.event());
          outcomes.add(Outcome.ok());
        }
      }
      return CompletableFuture.completedFuture(outcomes);
    }

    @Override
    public String name() {
      return "search";
    }
  }

  /**
   * A guard on the test's clock whose breaker opens at the first failure and stays open until the
   * test moves the clock 5 s, then closes after one good call: so the sink is called exactly when
   * the test says.
   */
  private Guard guard() {
    return Guard.of(
        "search",
        GuardConfig.custom()
            .clock(clock)
            .ticker(clock::nanos)
            .jitter(0)
            .slidingWindowSize(1)
            .minimumNumberOfCalls(1)
            .openWait(Duration.ofSeconds(5))
            .probes(1)
            .maxAttempts(1)
            .callTimeout(Duration.ofSeconds(5))
            .build());
  }

  private SpillQueue.Builder<String> builder(Path directory, Sink<String> s) {
    return SpillQueue.<String>builder("orders")
        .directory(directory)
        .codec(Codec.utf8())
        .sink(s)
        .guard(guard())
        .mode(SpillQueue.Mode.SPILL_ON_FAILURE)
        .maxDiskBytes(MAX_DISK)
        .segmentBytes(1 << 20)
        .batchSize(10)
        .retryBackoff(Duration.ofMillis(5), Duration.ofMillis(20))
        .minFreeDiskBytes(0)
        .clock(clock);
  }

  private double gauge(String name) {
    return registry.get(name).tags("name", "orders", "sink", "search").gauge().value();
  }

  private double counter(String name) {
    return registry.get(name).tags("name", "orders", "sink", "search").functionCounter().count();
  }

  private double seconds(String name) {
    return registry
        .get(name)
        .tags("name", "orders", "sink", "search")
        .timeGauge()
        .value(TimeUnit.SECONDS);
  }

  private Timer sinkCalls(String outcome) {
    return registry
        .get("outlast.sink.calls")
        .tags("name", "orders", "sink", "search", "outcome", outcome)
        .timer();
  }

  private Timer latency() {
    return registry
        .get("outlast.queue.delivery.latency")
        .tags("name", "orders", "sink", "search")
        .timer();
  }

  @Test
  void everyMeter_movesWithTheQueue_spillingThenDelivering() throws Exception {
    PrometheusMeterRegistry prometheus = Scrape.registry();
    SpillQueue<String> queue = builder(dir.resolve("q"), sink).build();
    try (SpillQueueMetrics metrics = new SpillQueueMetrics(queue, Tags.empty(), Duration.ZERO)) {
      metrics.bindTo(registry);
      metrics.bindTo(prometheus);
      metrics.bindTo(registry); // again: no second set of meters, no call counted twice

      // The sink is up: delivered directly, at once.
      queue.publish("o1");
      await().untilAsserted(() -> assertThat(sinkCalls("delivered").count()).isEqualTo(1));
      assertThat(latency().count()).isEqualTo(1);
      assertThat(latency().max(TimeUnit.SECONDS)).isZero();
      assertThat(counter("outlast.queue.published")).isEqualTo(1);
      assertThat(counter("outlast.queue.delivered")).isEqualTo(1);
      assertThat(gauge("outlast.queue.spilling")).isZero();
      assertThat(gauge("outlast.queue.backlog.events")).isZero();

      // The sink goes down: the direct call fails, the breaker opens, events spill to disk.
      sink.down = true;
      queue.publish("o2");
      queue.publish("o3");
      queue.publish("o4");
      clock.advance(Duration.ofSeconds(4));
      await().untilAsserted(() -> assertThat(sinkCalls("failed").count()).isEqualTo(1));
      assertThat(gauge("outlast.queue.spilling")).isEqualTo(1);
      assertThat(gauge("outlast.queue.backlog.events")).isEqualTo(3);
      assertThat(seconds("outlast.queue.backlog.oldest.age")).isEqualTo(4);
      double backlogBytes = gauge("outlast.queue.backlog.bytes");
      assertThat(backlogBytes).isPositive();
      assertThat(gauge("outlast.queue.space.left")).isEqualTo(MAX_DISK - backlogBytes);
      assertThat(counter("outlast.queue.published")).isEqualTo(4);
      assertThat(counter("outlast.queue.delivered")).isEqualTo(1);

      // Back after the open wait: one batch delivers two events and rejects one for good.
      sink.down = false;
      sink.rejects.add("o3");
      clock.advance(Duration.ofSeconds(6));
      assertThat(queue.awaitDrained(Duration.ofSeconds(10))).isTrue();
      await().untilAsserted(() -> assertThat(sinkCalls("rejected").count()).isEqualTo(1));
      assertThat(sink.delivered).containsExactly("o1", "o2", "o4");
      assertThat(latency().count()).isEqualTo(2);
      assertThat(latency().max(TimeUnit.SECONDS))
          .as("o2 waited from its publish to the sink's answer")
          .isEqualTo(10);
      assertThat(latency().totalTime(TimeUnit.SECONDS)).isEqualTo(10);
      assertThat(gauge("outlast.queue.dead.letters")).isEqualTo(1);
      assertThat(counter("outlast.queue.delivered")).isEqualTo(3);
      assertThat(gauge("outlast.queue.backlog.events")).isZero();
      assertThat(seconds("outlast.queue.backlog.oldest.age")).isZero();
      await().untilAsserted(() -> assertThat(gauge("outlast.queue.spilling")).isZero());

      // An event the sink asks to send again: that call's outcome is retry; it is delivered later.
      sink.retryOnce.add("o5");
      queue.publish("o5");
      await().untilAsserted(() -> assertThat(sinkCalls("retry").count()).isEqualTo(1));
      clock.advance(Duration.ofSeconds(6));
      assertThat(queue.awaitDrained(Duration.ofSeconds(10))).isTrue();
      await().untilAsserted(() -> assertThat(sinkCalls("delivered").count()).isEqualTo(2));
      assertThat(latency().count()).isEqualTo(3);
      assertThat(latency().max(TimeUnit.SECONDS)).isEqualTo(10);
      assertThat(sinkCalls("failed").count()).isEqualTo(1);
      assertThat(sinkCalls("rejected").count()).isEqualTo(1);
      assertThat(sinkCalls("retry").count()).isEqualTo(1);
      assertThat(sinkCalls("delivered").totalTime(TimeUnit.NANOSECONDS)).isPositive();
      assertThat(counter("outlast.queue.published")).isEqualTo(5);
      assertThat(counter("outlast.queue.delivered")).isEqualTo(4);
      assertThat(counter("outlast.queue.lost.ranges")).isZero();

      Scrape s = Scrape.of(prometheus);
      String[] tags = {"name=\"orders\"", "sink=\"search\""};
      assertThat(s.value("outlast_queue_backlog_events", tags)).isZero();
      assertThat(s.value("outlast_queue_backlog_bytes", tags)).isNotNegative();
      assertThat(s.value("outlast_queue_backlog_oldest_age_seconds", tags)).isZero();
      assertThat(s.value("outlast_queue_published_total", tags)).isEqualTo(5);
      assertThat(s.value("outlast_queue_delivered_total", tags)).isEqualTo(4);
      assertThat(s.value("outlast_queue_dead_letters", tags)).isEqualTo(1);
      assertThat(s.value("outlast_queue_lost_ranges_total", tags)).isZero();
      assertThat(s.value("outlast_queue_space_left_bytes", tags)).isPositive();
      assertThat(s.value("outlast_queue_spilling", tags)).isZero();
      assertThat(s.value("outlast_queue_delivery_latency_seconds_count", tags)).isEqualTo(3);
      assertThat(s.value("outlast_queue_delivery_latency_seconds_sum", tags)).isEqualTo(16);
      assertThat(s.value("outlast_queue_delivery_latency_seconds_max", tags)).isEqualTo(10);
      for (String outcome : List.of("delivered", "rejected", "retry", "failed")) {
        assertThat(
                s.value("outlast_sink_calls_seconds_count", tags[0], "outcome=\"" + outcome + "\""))
            .isEqualTo(outcome.equals("delivered") ? 2 : 1);
      }
      assertThat(registry.getMeters())
          .as("9 gauges and counters, the latency timer, 4 sink-call timers")
          .hasSize(14)
          .allSatisfy(
              m -> {
                assertThat(m.getId().getTag("name")).isEqualTo("orders");
                assertThat(m.getId().getTag("sink")).isEqualTo("search");
              });

      // A closed queue keeps its last figures, without an exception per scrape.
      queue.close();
      assertThat(counter("outlast.queue.delivered")).isEqualTo(4);
      assertThat(gauge("outlast.queue.dead.letters")).isEqualTo(1);
      assertThat(Scrape.of(prometheus).value("outlast_queue_published_total", tags)).isEqualTo(5);
    } finally {
      queue.close();
    }
    assertThat(registry.getMeters()).as("closing the binder removes its meters").isEmpty();
    assertThat(Scrape.of(prometheus).has("outlast_queue_published_total")).isFalse();
  }

  @Test
  void lostRanges_countWhatADeletedSegmentTookAway() throws Exception {
    Path q = dir.resolve("damaged");
    String pad = "x".repeat(900);
    TestSink down = new TestSink();
    down.down = true;
    try (SpillQueue<String> filling = builder(q, down).mode(SpillQueue.Mode.WRITE_AHEAD).build()) {
      for (int i = 0; i < 3_000; i++) {
        filling.publish(i + pad);
      }
    }
    List<Path> segments;
    try (Stream<Path> s = Files.list(q.resolve("journal"))) {
      segments = s.filter(Files::isDirectory).sorted(Comparator.naturalOrder()).toList();
    }
    assertThat(segments).as("a journal of several segments").hasSizeGreaterThanOrEqualTo(3);
    try (Stream<Path> files = Files.walk(segments.get(1))) {
      for (Path p : files.sorted(Comparator.reverseOrder()).toList()) {
        Files.delete(p);
      }
    }
    try (SpillQueue<String> queue = builder(q, sink).mode(SpillQueue.Mode.WRITE_AHEAD).build();
        SpillQueueMetrics metrics = new SpillQueueMetrics(queue)) {
      metrics.bindTo(registry);
      await()
          .atMost(Duration.ofSeconds(30))
          .untilAsserted(() -> assertThat(counter("outlast.queue.lost.ranges")).isEqualTo(1));
      await().untilAsserted(() -> assertThat(gauge("outlast.queue.backlog.events")).isZero());
    }
  }

  @Test
  void aClosedBinder_cannotBeBoundAgain() {
    try (SpillQueue<String> queue = builder(dir.resolve("q"), sink).build()) {
      SpillQueueMetrics metrics = new SpillQueueMetrics(queue);
      metrics.close();
      metrics.close();
      assertThatThrownBy(() -> metrics.bindTo(registry))
          .isInstanceOf(IllegalStateException.class)
          .hasMessageContaining("orders");
    }
  }
}
