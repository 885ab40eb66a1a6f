package dev.outlast.testkit;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.concurrent.TimeUnit;
import org.apache.pulsar.client.api.Message;
import org.apache.pulsar.client.api.MessageId;
import org.apache.pulsar.client.api.Producer;
import org.apache.pulsar.client.api.PulsarClient;
import org.apache.pulsar.client.api.PulsarClientException;
import org.apache.pulsar.client.api.Reader;
import org.apache.pulsar.client.api.Schema;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class PulsarServerTest extends TestServerContract<PulsarServer> {
  private static final String TOPIC = "persistent://public/default/kit";

  /**
   * The Pulsar client in this JVM unpacks its native checksum library into the temp directory on
   * first use (once per JVM, removed at exit). Load it now, so that the leftovers check after each
   * lifecycle sees only what the server leaves.
   */
  @BeforeAll
  static void loadTheClientsNativeLibrary() throws ClassNotFoundException {
    Class.forName(
        "com.scurrilous.circe.checksum.Crc32cIntChecksum",
        true,
        PulsarServerTest.class.getClassLoader());
  }

  @Override
  PulsarServer launch() {
    return PulsarServer.launch();
  }

  private static PulsarClient client(PulsarServer pulsar) throws PulsarClientException {
    int ms = (int) CLIENT_TIMEOUT.toMillis();
    return PulsarClient.builder()
        .serviceUrl(pulsar.serviceUrl())
        .operationTimeout(ms, TimeUnit.MILLISECONDS)
        .connectionTimeout(ms, TimeUnit.MILLISECONDS)
        .lookupTimeout(ms, TimeUnit.MILLISECONDS)
        // The handshake with a frozen broker is only given up at the next keep-alive (30 s).
        .keepAliveInterval(ms, TimeUnit.MILLISECONDS)
        .build();
  }

  /** The binary client retries refused connections until its operation timeout; REST does not. */
  @Override
  void callThatFailsFastWhenDead(PulsarServer pulsar) throws Exception {
    HttpClient http = HttpClient.newBuilder().connectTimeout(CLIENT_TIMEOUT).build();
    HttpResponse<String> response =
        http.send(
            HttpRequest.newBuilder(URI.create(pulsar.httpUrl() + "/admin/v2/clusters"))
                .timeout(CLIENT_TIMEOUT)
                .build(),
            HttpResponse.BodyHandlers.ofString());
    assertThat(response.statusCode()).isEqualTo(200);
  }

  @Test
  void adminApi_answersWhileRunning() throws Exception {
    try (PulsarServer pulsar = launch()) {
      callThatFailsFastWhenDead(pulsar);
    }
  }

  @Override
  AutoCloseable openIdleClient(PulsarServer pulsar) throws Exception {
    PulsarClient client = client(pulsar);
    Producer<String> producer = client.newProducer(Schema.STRING).topic(TOPIC).create();
    // Closed without waiting: the broker may be gone by then.
    return () -> {
      var unusedProducer = producer.closeAsync();
      var unusedClient = client.closeAsync();
    };
  }

  @Override
  void write(PulsarServer pulsar, String key, String value) throws Exception {
    try (PulsarClient client = client(pulsar);
        Producer<String> producer =
            client
                .newProducer(Schema.STRING)
                .topic(TOPIC)
                .sendTimeout((int) CLIENT_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS)
                .create()) {
      producer.newMessage().key(key).value(value).send();
    }
  }

  @Override
  String read(PulsarServer pulsar, String key) throws Exception {
    try (PulsarClient client = client(pulsar);
        Reader<String> reader =
            client
                .newReader(Schema.STRING)
                .topic(TOPIC)
                .startMessageId(MessageId.earliest)
                .create()) {
      String found = null;
      while (reader.hasMessageAvailable()) {
        Message<String> m = reader.readNext(5, TimeUnit.SECONDS);
        if (m == null) {
          break;
        }
        if (key.equals(m.getKey())) {
          found = m.getValue();
        }
      }
      if (found == null) {
        throw new IllegalStateException("no message with key " + key);
      }
      return found;
    }
  }

  @Test
  void deduplication_dropsAResentSequenceId() throws Exception {
    try (PulsarServer pulsar = launch();
        PulsarClient client = client(pulsar)) {
      String topic = "persistent://public/default/dedup";
      for (int attempt = 0; attempt < 2; attempt++) {
        try (Producer<String> producer =
            client.newProducer(Schema.STRING).topic(topic).producerName("outlast-p1").create()) {
          // The same producer name and sequence ids, sent twice, as after a crash and a replay.
          for (long seq = 0; seq < 3; seq++) {
            producer.newMessage().sequenceId(seq).value("m" + seq).send();
          }
        }
      }
      int count = 0;
      try (Reader<String> reader =
          client
              .newReader(Schema.STRING)
              .topic(topic)
              .startMessageId(MessageId.earliest)
              .create()) {
        while (reader.hasMessageAvailable() && reader.readNext(5, TimeUnit.SECONDS) != null) {
          count++;
        }
      }
      assertThat(count).as("the replayed sequence ids were dropped by the broker").isEqualTo(3);
    }
  }
}
