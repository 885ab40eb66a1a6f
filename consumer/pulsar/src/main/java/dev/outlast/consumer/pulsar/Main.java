package dev.outlast.consumer.pulsar;

import dev.outlast.buffer.SpillQueue;
import dev.outlast.core.Guard;
import dev.outlast.core.spi.Codec;
import dev.outlast.sink.pulsar.PulsarSink;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.apache.pulsar.client.api.PulsarClient;
import org.apache.pulsar.client.api.Schema;

/**
 * The Pulsar sink from its jar alone (with the BOM), with a JSON schema, which runs the client's
 * Jackson and Avro: a client to a broker that is not there, a queue that holds what it cannot
 * deliver, and a clean close. No broker runs here (the module's own tests run a real one); this
 * checks that the published jars and their dependencies link and start.
 */
public final class Main {
  private Main() {}

  /** An event as a service would publish it; public fields for Pulsar's JSON schema. */
  public static final class Order {
    public String id = "";
    public long cents;

    public Order() {}

    Order(String id, long cents) {
      this.id = id;
      this.cents = cents;
    }
  }

  public static void main(String[] args) throws Exception {
    Path work = Files.createDirectories(Path.of(args[0]));
    int port;
    try (ServerSocket free = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      port = free.getLocalPort();
    }
    Schema<Order> schema = Schema.JSON(Order.class);
    String json = new String(schema.encode(new Order("o-1", 1250)), StandardCharsets.UTF_8);
    check(json.contains("\"cents\":1250"), "the JSON schema encodes, gave " + json);
    Path queueDir = work.resolve("orders-" + ProcessHandle.current().pid());
    Guard pulsar = Guard.ofDefaults("pulsar");
    try (PulsarClient client =
            PulsarClient.builder()
                .serviceUrl("pulsar://127.0.0.1:" + port)
                .operationTimeout(2, java.util.concurrent.TimeUnit.SECONDS)
                .build();
        PulsarSink<Order> sink =
            PulsarSink.builder(client, "persistent://public/default/orders", schema)
                .key(o -> o.id)
                .build();
        SpillQueue<Order> orders =
            SpillQueue.<Order>builder("orders")
                .directory(queueDir)
                .codec(jsonCodec(schema))
                .sink(sink)
                .guard(pulsar)
                .build()) {
      for (int i = 0; i < 50; i++) {
        orders.publish(new Order("o-" + i, i * 100L));
      }
      check(!orders.awaitDrained(Duration.ofSeconds(1)), "nothing delivered without a broker");
      // The sink really tried and failed as a client does (not a linkage error in the lane).
      long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
      while (pulsar.snapshot().lastFailure() == null && System.nanoTime() < deadline) {
        Thread.sleep(100);
      }
      String reason = String.valueOf(pulsar.snapshot().lastFailure());
      // The client retries a refused connection until the queue's call timeout; either is what a
      // working client does with no broker.
      check(
          reason.contains("did not answer within") || reason.contains("PulsarClientException"),
          "the failure is the client's, was: " + reason);
      long backlog = orders.metrics().backlogEvents();
      check(backlog == 50, "50 events held for the broker, were " + backlog);
    }
    System.out.println("outlast consumer check: the Pulsar sink works from the jars");
  }

  private static Codec<Order> jsonCodec(Schema<Order> schema) {
    return new Codec<>() {
      @Override
      public byte[] encode(Order event) {
        return schema.encode(event);
      }

      @Override
      public Order decode(byte[] bytes) {
        return schema.decode(bytes);
      }
    };
  }

  private static void check(boolean ok, String what) {
    if (!ok) {
      System.err.println("outlast consumer check FAILED: " + what);
      System.exit(1);
    }
  }
}
