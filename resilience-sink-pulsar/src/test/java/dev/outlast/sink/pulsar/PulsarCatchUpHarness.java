package dev.outlast.sink.pulsar;

import static org.assertj.core.api.Assertions.assertThat;

import dev.outlast.buffer.CatchUpSinks;
import dev.outlast.buffer.SpillQueue;
import dev.outlast.buffer.spi.Sink;
import dev.outlast.core.Guard;
import dev.outlast.core.GuardConfig;
import dev.outlast.core.spi.Codec;
import dev.outlast.testkit.CpuMeter;
import dev.outlast.testkit.PulsarServer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.apache.pulsar.client.api.MessageId;
import org.apache.pulsar.client.api.Producer;
import org.apache.pulsar.client.api.PulsarClient;
import org.apache.pulsar.client.api.Schema;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;
import org.junit.jupiter.api.io.TempDir;

/**
 * Catch-up after an outage into a real Pulsar broker: how fast a spill queue's backlog of N events
 * of 256 bytes drains through {@link PulsarSink} ({@code outlast}), beside the same client sending
 * N messages straight from memory with {@code sendAsync} ({@code direct}: same batching, same
 * pending limit, no queue). A measuring harness, not a test: it runs only when asked.
 *
 * <pre>
 * mvn -B verify -pl resilience-sink-pulsar -am -Dtest=PulsarCatchUpHarness \
 *     -Dsurefire.failIfNoSpecifiedTests=false -Doutlast.harness=true
 * </pre>
 *
 * <p>Properties: {@code outlast.harness.events} (200,000), {@code outlast.harness.rounds} (9),
 * {@code outlast.harness.batch} (the queue's batch size, 500, its default), {@code
 * outlast.harness.inflight} (the sink's and the direct producer's limit of messages in flight,
 * 1,000, the sink's default), {@code outlast.harness.batches} (the batches the sink takes in
 * flight, 4, its default).
 */
@EnabledIfSystemProperty(named = "outlast.harness", matches = "true")
class PulsarCatchUpHarness {
  private static final int EVENTS = Integer.getInteger("outlast.harness.events", 200_000);
  private static final int ROUNDS = Integer.getInteger("outlast.harness.rounds", 9);
  private static final int BATCH = Integer.getInteger("outlast.harness.batch", 500);
  private static final int IN_FLIGHT = Integer.getInteger("outlast.harness.inflight", 1_000);
  private static final int BATCHES = Integer.getInteger("outlast.harness.batches", 4);
  private static final byte[] PAYLOAD = new byte[256];

  @Test
  void catchUpRate_outlastBesideDirect(@TempDir Path dir) throws Exception {
    List<Double> outlast = new ArrayList<>();
    List<Double> direct = new ArrayList<>();
    try (PulsarServer broker = PulsarServer.launch();
        PulsarClient client = PulsarClient.builder().serviceUrl(broker.serviceUrl()).build()) {
      // Round 0 warms both paths up and is not counted.
      for (int round = 0; round <= ROUNDS; round++) {
        CpuMeter cpuO = CpuMeter.ofThisJvmAnd(broker);
        double o =
            outlast(
                client, dir.resolve("q" + round), "persistent://public/default/o" + round, cpuO);
        CpuMeter cpuD = CpuMeter.ofThisJvmAnd(broker);
        double d = direct(client, "persistent://public/default/d" + round, cpuD);
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
        "pulsar catch-up, %d events of %d B, batch %d, %d in flight, %d batches, %d rounds,"
            + " medians: outlast %.0f events/s, direct %.0f/s, ratio %.2f%n",
        EVENTS, PAYLOAD.length, BATCH, IN_FLIGHT, BATCHES, ROUNDS, o, d, o / d);
    assertThat(o).isPositive();
  }

  /**
   * Events per second draining a backlog of EVENTS, from when the sink is back until it is empty.
   */
  private static double outlast(PulsarClient client, Path journal, String topic, CpuMeter cpu)
      throws Exception {
    Guard guard = Guard.of("pulsar", GuardConfig.broker());
    // The outage: the sink is down while the events are published; they all go to the journal.
    try (SpillQueue<byte[]> q = queue(journal, CatchUpSinks.<byte[]>down(), guard)) {
      for (int i = 0; i < EVENTS; i++) {
        q.publish(PAYLOAD);
      }
    }
    CountDownLatch sinkBack = new CountDownLatch(1);
    try (PulsarSink<byte[]> sink =
            PulsarSink.builder(client, topic, Schema.BYTES)
                .maxInFlight(IN_FLIGHT)
                .maxBatchesInFlight(BATCHES)
                .build();
        SpillQueue<byte[]> q =
            queue(
                journal,
                CatchUpSinks.gated(sink, sinkBack),
                Guard.of("pulsar", GuardConfig.broker()))) {
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

  /** Events per second sending EVENTS messages straight from memory. */
  private static double direct(PulsarClient client, String topic, CpuMeter cpu) throws Exception {
    long start = System.nanoTime();
    cpu.start();
    try (Producer<byte[]> producer =
        client
            .newProducer(Schema.BYTES)
            .topic(topic)
            .producerName("direct-" + topic.substring(topic.lastIndexOf('/') + 1))
            .sendTimeout(5, TimeUnit.SECONDS)
            .maxPendingMessages(IN_FLIGHT)
            .blockIfQueueFull(true)
            .enableBatching(true)
            .batchingMaxPublishDelay(1, TimeUnit.MILLISECONDS)
            .create()) {
      CompletableFuture<MessageId> last = null;
      long eventTime = System.currentTimeMillis();
      for (int i = 0; i < EVENTS; i++) {
        // The same messages as the sink's: its sequence id, an event time, the payload.
        last =
            producer
                .newMessage()
                .sequenceId(i + 1L)
                .eventTime(eventTime)
                .value(PAYLOAD)
                .sendAsync();
      }
      if (last != null) {
        last.get(60, TimeUnit.SECONDS);
      }
      double rate = EVENTS * 1e9 / (System.nanoTime() - start);
      cpu.stop(EVENTS);
      return rate;
    }
  }

  private static SpillQueue<byte[]> queue(Path journal, Sink<byte[]> sink, Guard guard) {
    return SpillQueue.<byte[]>builder("catch-up")
        .directory(journal)
        .codec(Codec.bytes())
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
