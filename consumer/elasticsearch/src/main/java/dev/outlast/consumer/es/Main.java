package dev.outlast.consumer.es;

import com.sun.net.httpserver.HttpServer;
import dev.outlast.buffer.SpillQueue;
import dev.outlast.core.Guard;
import dev.outlast.core.spi.Codec;
import dev.outlast.sink.elasticsearch.ElasticsearchSink;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The Elasticsearch sink from its jar alone (with the BOM): events published while the cluster is
 * not there wait in the queue, and reach it in bulk requests once it answers. The "cluster" is a
 * few lines of the JDK's HTTP server that answer {@code _bulk} as Elasticsearch does: this checks
 * the published jars and their dependencies link and work, not outages (the module's own tests run
 * against a real OpenSearch).
 */
public final class Main {
  private Main() {}

  public static void main(String[] args) throws Exception {
    Path work = Files.createDirectories(Path.of(args[0]));
    int port;
    try (ServerSocket free = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      port = free.getLocalPort();
    }
    ElasticsearchSink<String> sink =
        ElasticsearchSink.<String>builder(URI.create("http://127.0.0.1:" + port), "orders")
            .documents(text -> java.util.Map.of("text", text))
            .requestTimeout(Duration.ofSeconds(2))
            .build();
    Path queueDir = work.resolve("orders-" + ProcessHandle.current().pid());
    AtomicInteger indexed = new AtomicInteger();
    try (SpillQueue<String> orders =
        SpillQueue.<String>builder("orders")
            .directory(queueDir)
            .codec(Codec.utf8())
            .sink(sink)
            .guard(Guard.ofDefaults("elasticsearch"))
            .build()) {
      for (int i = 0; i < 100; i++) {
        orders.publish("order " + i);
      }
      check(!orders.awaitDrained(Duration.ofMillis(500)), "nothing delivered without a cluster");
      HttpServer cluster = HttpServer.create(new InetSocketAddress("127.0.0.1", port), 0);
      cluster.createContext(
          "/_bulk",
          exchange -> {
            int docs = countDocuments(exchange.getRequestBody());
            indexed.addAndGet(docs);
            StringBuilder body = new StringBuilder("{\"errors\":false,\"items\":[");
            for (int i = 0; i < docs; i++) {
              body.append(i == 0 ? "" : ",").append("{\"index\":{\"status\":201}}");
            }
            byte[] bytes = body.append("]}").toString().getBytes(StandardCharsets.UTF_8);
            exchange.getResponseHeaders().set("Content-Type", "application/json");
            exchange.sendResponseHeaders(200, bytes.length);
            try (OutputStream out = exchange.getResponseBody()) {
              out.write(bytes);
            }
          });
      cluster.start();
      try {
        check(orders.awaitDrained(Duration.ofSeconds(60)), "the backlog drains once it answers");
      } finally {
        cluster.stop(0);
      }
    }
    check(indexed.get() >= 100, "100 documents indexed, were " + indexed.get());
    System.out.println("outlast consumer check: the Elasticsearch sink works from the jars");
  }

  /** Bulk bodies are one action line and one document line per event. */
  private static int countDocuments(InputStream body) throws IOException {
    String text = new String(body.readAllBytes(), StandardCharsets.UTF_8);
    return (int) text.lines().filter(l -> l.startsWith("{\"index\"")).count();
  }

  private static void check(boolean ok, String what) {
    if (!ok) {
      System.err.println("outlast consumer check FAILED: " + what);
      System.exit(1);
    }
  }
}
