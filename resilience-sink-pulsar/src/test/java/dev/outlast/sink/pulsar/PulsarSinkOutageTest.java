package dev.outlast.sink.pulsar;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.outlast.buffer.DeadLetter;
import dev.outlast.buffer.SpillQueue;
import dev.outlast.buffer.spi.EventId;
import dev.outlast.core.Guard;
import dev.outlast.core.GuardConfig;
import dev.outlast.core.spi.Codec;
import dev.outlast.testkit.FaultProxy;
import dev.outlast.testkit.OutageTour;
import dev.outlast.testkit.PulsarServer;
import dev.outlast.testkit.SteadyStream;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.apache.pulsar.client.api.Consumer;
import org.apache.pulsar.client.api.Message;
import org.apache.pulsar.client.api.PulsarClient;
import org.apache.pulsar.client.api.Schema;
import org.apache.pulsar.client.api.SubscriptionInitialPosition;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A steady stream of events into a real Pulsar broker (deduplication on) through a spill queue,
 * while the broker is killed and restarted, frozen and thawed, and cut off by a proxy, twice each.
 * Afterwards a subscription made before the stream finds every published event in the topic once,
 * in publish order; the one poison event (larger than the broker takes) is in the dead-letter
 * journal; no publish failed or waited past the guard's call timeout.
 */
class PulsarSinkOutageTest {
  private static final int MIN_EVENTS = 10_000;
  private static final Duration CALL_TIMEOUT = Duration.ofSeconds(5);

  private static PulsarServer broker;
  private static PulsarClient direct;

  @BeforeAll
  static void start() throws Exception {
    // The client unpacks a native checksum library on first use; load it before any timing.
    Class.forName("com.scurrilous.circe.checksum.Crc32cIntChecksum");
    broker = PulsarServer.builder().proxied().start();
    direct = PulsarClient.builder().serviceUrl(broker.serviceUrl()).build();
  }

  @AfterAll
  static void stop() throws Exception {
    if (direct != null) {
      direct.close();
    }
    if (broker != null) {
      broker.close();
    }
  }

  /** A client that reaches the broker only through its fault proxy. */
  private static PulsarClient proxiedClient() throws Exception {
    return PulsarClient.builder()
        .serviceUrl("pulsar://127.0.0.1:" + broker.proxy().port())
        .listenerName(PulsarServer.PROXIED_LISTENER)
        .operationTimeout(3, TimeUnit.SECONDS)
        .connectionTimeout(1, TimeUnit.SECONDS)
        .lookupTimeout(3, TimeUnit.SECONDS)
        // A frozen broker is noticed at the next keep-alive; the default is 30 s.
        .keepAliveInterval(2, TimeUnit.SECONDS)
        .build();
  }

  /** The test's own subscription, straight to the broker (not through the proxy). */
  private static Consumer<byte[]> subscribe(String topic) throws Exception {
    return direct
        .newConsumer(Schema.BYTES)
        .topic(topic)
        .subscriptionName("check")
        .subscriptionInitialPosition(SubscriptionInitialPosition.Earliest)
        .subscribe();
  }

  private static byte[] event(long n) {
    return ByteBuffer.allocate(64).putLong(n).array();
  }

  @Test
  void everyEventArrivesOnceInOrder_throughKillsFreezesAndCuts(@TempDir Path dir) throws Exception {
    String topic = "persistent://public/default/outage-" + System.nanoTime();
    FaultProxy proxy = broker.proxy();
    List<Long> published;
    Duration slowest;
    Guard guard =
        Guard.of(
            "pulsar",
            GuardConfig.from(GuardConfig.broker())
                .callTimeout(CALL_TIMEOUT)
                .openWait(Duration.ofMillis(500))
                .maxOpenWait(Duration.ofSeconds(2))
                .build());
    // A durable subscription from the start: without one the broker trims closed ledgers (no
    // retention), and every restart closes one.
    subscribe(topic).close();
    EventId poison;
    try (PulsarClient client = proxiedClient();
        PulsarSink<byte[]> sink =
            PulsarSink.builder(client, topic, Schema.BYTES)
                .sendTimeout(Duration.ofSeconds(2))
                .build();
        SpillQueue<byte[]> queue =
            SpillQueue.<byte[]>builder("pulsar-outage")
                .directory(dir.resolve("journal"))
                .codec(Codec.bytes())
                .sink(sink)
                .guard(guard)
                .mode(SpillQueue.Mode.WRITE_AHEAD)
                .maxEventBytes(8 << 20)
                .batchSize(500)
                .retryBackoff(Duration.ofMillis(100), Duration.ofSeconds(1))
                .build()) {
      // More than the broker's 5 MB maximum message size: the client refuses it for good.
      poison = queue.publish(new byte[6 << 20]);
      // A steady stream of about 500 events a second, whatever the broker does.
      SteadyStream<Long> stream =
          SteadyStream.start(
              "publisher", n -> queue.publish(event(n)).sequence(), Duration.ofNanos(1_500_000));
      try {
        OutageTour.run(broker, proxy, 2);
      } finally {
        published = stream.finish(MIN_EVENTS);
      }
      slowest = stream.slowest();
      await()
          .atMost(Duration.ofMinutes(2))
          .pollInterval(Duration.ofMillis(200))
          .until(() -> queue.metrics().backlogEvents() == 0);

      assertThat(stream.failures()).as("publish calls that failed").isEmpty();
      assertThat(slowest).as("slowest publish").isLessThan(CALL_TIMEOUT);
      List<DeadLetter<byte[]>> dead = queue.deadLetters();
      assertThat(dead).extracting(DeadLetter::id).containsExactly(poison);
      assertThat(dead.get(0).reason()).contains("InvalidMessageException");
    }
    assertThat(published).hasSizeGreaterThanOrEqualTo(MIN_EVENTS);

    List<Long> inTopic = new ArrayList<>();
    try (Consumer<byte[]> consumer = subscribe(topic)) {
      while (true) {
        Message<byte[]> m = consumer.receive(5, TimeUnit.SECONDS);
        if (m == null) {
          break;
        }
        inTopic.add(m.getSequenceId());
        assertThat(ByteBuffer.wrap(m.getValue()).getLong()).isEqualTo(inTopic.size() - 1L);
      }
    }
    assertThat(inTopic).as("sequence ids in the topic, in order").isEqualTo(published);
    System.out.printf(
        "pulsar sink outage: %d events published, all in the topic once and in order; slowest"
            + " publish %d ms; 1 poison event dead-lettered%n",
        published.size(), slowest.toMillis());
  }
}
