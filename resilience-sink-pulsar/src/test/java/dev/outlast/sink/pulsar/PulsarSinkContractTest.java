package dev.outlast.sink.pulsar;

import dev.outlast.buffer.SinkContract;
import dev.outlast.buffer.spi.Sink;
import dev.outlast.testkit.PulsarServer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.apache.pulsar.client.api.Consumer;
import org.apache.pulsar.client.api.Message;
import org.apache.pulsar.client.api.PulsarClient;
import org.apache.pulsar.client.api.Schema;
import org.apache.pulsar.client.api.SubscriptionInitialPosition;
import org.jspecify.annotations.Nullable;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;

/**
 * The sink contract against a real Pulsar broker with deduplication on, the broker that drops a
 * sequence id arriving behind a higher one and still answers OK: eight publishers through one queue
 * must still find every acknowledged event in the topic, once, in each publisher's order.
 */
class PulsarSinkContractTest extends SinkContract {
  private static PulsarServer broker;
  private static PulsarClient reader;
  private @Nullable PulsarClient client;

  @BeforeAll
  static void start() throws Exception {
    // The client unpacks a native checksum library on first use; load it before any timing.
    Class.forName("com.scurrilous.circe.checksum.Crc32cIntChecksum");
    broker = PulsarServer.builder().deduplication(true).start();
    reader = PulsarClient.builder().serviceUrl(broker.serviceUrl()).build();
  }

  @AfterAll
  static void stop() throws Exception {
    if (reader != null) {
      reader.close();
    }
    if (broker != null) {
      broker.close();
    }
  }

  private static String topic(String stream) {
    return "persistent://public/default/" + stream;
  }

  private static Consumer<byte[]> subscribe(String stream) throws Exception {
    return reader
        .newConsumer(Schema.BYTES)
        .topic(topic(stream))
        .subscriptionName("check")
        .subscriptionInitialPosition(SubscriptionInitialPosition.Earliest)
        .subscribe();
  }

  @Override
  protected Sink<byte[]> newSink(String stream) throws Exception {
    // A durable subscription from the start: without one the broker trims closed ledgers, and
    // every restart closes one.
    subscribe(stream).close();
    PulsarClient c =
        PulsarClient.builder()
            .serviceUrl(broker.serviceUrl())
            .operationTimeout(3, TimeUnit.SECONDS)
            .connectionTimeout(1, TimeUnit.SECONDS)
            .lookupTimeout(3, TimeUnit.SECONDS)
            // A frozen broker is noticed at the next keep-alive; the default is 30 s.
            .keepAliveInterval(2, TimeUnit.SECONDS)
            .build();
    client = c;
    return PulsarSink.builder(c, topic(stream), Schema.BYTES)
        .sendTimeout(Duration.ofSeconds(2))
        .build();
  }

  @Override
  protected void closeSink(Sink<byte[]> sink) throws Exception {
    super.closeSink(sink);
    PulsarClient c = client;
    if (c != null) {
      c.close();
    }
  }

  @Override
  protected List<String> stored(String stream) throws Exception {
    List<String> events = new ArrayList<>();
    try (Consumer<byte[]> consumer = subscribe(stream)) {
      while (true) {
        Message<byte[]> m = consumer.receive(5, TimeUnit.SECONDS);
        if (m == null) {
          return events;
        }
        events.add(new String(m.getValue(), StandardCharsets.UTF_8));
      }
    }
  }

  @Override
  protected boolean keepsOrder() {
    return true;
  }

  @Override
  protected void kill() {
    broker.kill();
  }

  @Override
  protected void restart() {
    broker.start();
  }

  @Override
  protected void freeze() {
    broker.freeze();
  }

  @Override
  protected void thaw() {
    broker.thaw();
  }
}
