package dev.outlast.sink.elasticsearch;

import com.sun.net.httpserver.HttpServer;
import dev.outlast.buffer.SpillQueue;
import dev.outlast.core.Guard;
import dev.outlast.core.GuardConfig;
import dev.outlast.core.health.Health;
import dev.outlast.core.health.Importance;
import dev.outlast.core.spi.Codec;
import dev.outlast.testkit.FaultProxy;
import dev.outlast.testkit.OpenSearchServer;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Base64;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BooleanSupplier;

/**
 * Run by {@link ElasticsearchSinkSecretsTest} in a JVM of its own, whose whole output (Outlast's
 * logs at TRACE included) the test searches for the passwords. A spill queue delivers through a
 * sink whose address carries the credentials ({@code http://elastic:<password>@127.0.0.1:port}),
 * while the cluster refuses them, is cut off, is killed, and comes back; after each, everything a
 * user or an operator sees is printed: the sink's and queue's {@code toString()}, the guard's
 * snapshot, the exceptions of a call and of a direct delivery, the health JSON.
 *
 * <p>Argument: a fresh directory for the journals. Prints {@code PROBE-DONE} at the end.
 */
public final class SecretsLeakProbe {
  static final String USER = "elastic";
  static final String PASSWORD = "s3cr3t-PW";
  static final String WRONG_PASSWORD = "wr0ng-PW";

  private SecretsLeakProbe() {}

  public static void main(String[] args) throws Exception {
    Path dir = Path.of(args[0]);
    AuthCheckingCluster cluster = new AuthCheckingCluster();
    try (FaultProxy proxy = FaultProxy.to("127.0.0.1", cluster.port())) {
      // 1. The cluster refuses the credentials: 401, with a body that quotes the header back.
      try (Run run = new Run("refused", WRONG_PASSWORD, proxy.port(), dir.resolve("refused"))) {
        run.publishUntilOpen();
        run.print();
      }
      // 2. Right credentials, cluster cut off, then back: everything is delivered with them.
      try (Run run = new Run("cut-off", PASSWORD, proxy.port(), dir.resolve("cut-off"))) {
        proxy.refuse();
        proxy.cutConnections();
        run.publishUntilOpen();
        run.print();
        proxy.pass();
        run.drained();
        System.out.println(
            "AUTH-CHECKED accepted "
                + cluster.accepted.get()
                + " documents, refused "
                + cluster.refused.get()
                + " requests");
      }
    } finally {
      cluster.server.stop(0);
    }
    // 3. A real node (OpenSearch from the test kit), killed and restarted.
    try (OpenSearchServer node = OpenSearchServer.launch();
        Run run = new Run("killed", PASSWORD, node.port(), dir.resolve("killed"))) {
      run.deliverOne();
      node.kill();
      run.publishUntilOpen();
      run.print();
      node.start();
      run.drained();
      HttpResponse<String> count =
          HttpClient.newHttpClient()
              .send(
                  HttpRequest.newBuilder(URI.create(node.httpUrl() + "/orders/_count")).build(),
                  HttpResponse.BodyHandlers.ofString());
      System.out.println("NODE-COUNT " + count.body());
    }
    System.out.println("PROBE-DONE");
    System.out.flush();
    System.exit(0); // the JDK client's and Chronicle's threads are not ours to wait for
  }

  /** One sink, guard and queue, and what they show. */
  private static final class Run implements AutoCloseable {
    final String name;
    final ElasticsearchSink<String> sink;
    final Guard guard;
    final SpillQueue<String> queue;
    int published;

    Run(String name, String password, int port, Path dir) {
      this.name = name;
      this.sink =
          ElasticsearchSink.<String>builder(
                  URI.create("http://" + USER + ":" + password + "@127.0.0.1:" + port), "orders")
              .allowCredentialsOverHttp()
              .rawJson(s -> s)
              .connectTimeout(Duration.ofMillis(500))
              .requestTimeout(Duration.ofSeconds(2))
              .build();
      this.guard =
          Guard.of(
              "search",
              GuardConfig.custom()
                  .callTimeout(Duration.ofSeconds(3))
                  .slidingWindowSize(4)
                  .minimumNumberOfCalls(2)
                  .maxAttempts(1)
                  .openWait(Duration.ofMillis(300))
                  .maxOpenWait(Duration.ofSeconds(1))
                  .build());
      this.queue =
          SpillQueue.<String>builder("orders-" + name)
              .directory(dir)
              .codec(Codec.utf8())
              .sink(sink)
              .guard(guard)
              .batchSize(50)
              .retryBackoff(Duration.ofMillis(100), Duration.ofMillis(500))
              .build();
    }

    void publishUntilOpen() throws InterruptedException {
      await(
          () -> {
            queue.publish("{\"n\":" + published++ + "}");
            return guard.state() == Guard.State.OPEN;
          },
          "the guard opened (" + name + ")");
    }

    void deliverOne() throws InterruptedException {
      queue.publish("{\"n\":" + published++ + "}");
      drained();
    }

    void drained() throws InterruptedException {
      if (!queue.awaitDrained(Duration.ofSeconds(60))) {
        throw new IllegalStateException(name + ": the backlog was not delivered");
      }
      System.out.println("DELIVERED " + name + " " + published);
    }

    void print() {
      String p = "[" + name + "] ";
      System.out.println(p + "toString: " + sink + " / " + queue + " / " + guard);
      System.out.println(p + "sink name: " + sink.name());
      System.out.println(p + "guard snapshot: " + guard.snapshot());
      System.out.println(p + "queue metrics: " + queue.metrics());
      try {
        guard.call(() -> "not called while open");
      } catch (RuntimeException e) {
        System.out.println(p + "call refused: " + e);
      }
      try {
        var unused =
            sink.deliver(
                    java.util.List.of(
                        new dev.outlast.buffer.spi.Delivery<>(
                            new dev.outlast.buffer.spi.EventId("probe", 1), "{\"n\":-1}", 0, 1)))
                .toCompletableFuture()
                .get(10, TimeUnit.SECONDS);
        System.out.println(p + "direct delivery: " + unused);
      } catch (Exception e) {
        StringBuilder chain = new StringBuilder();
        for (Throwable t = e; t != null; t = t.getCause()) {
          chain.append(" <- ").append(t);
        }
        System.out.println(p + "direct delivery failed:" + chain);
      }
      System.out.println(
          p
              + "health: "
              + Health.builder()
                  .guard(guard, Importance.CORE)
                  .check(queue.health(Importance.DEPENDENT))
                  .build()
                  .snapshot()
                  .toJson());
    }

    @Override
    public void close() {
      queue.close();
    }
  }

  /**
   * A stand-in cluster that checks basic authentication like Elasticsearch's security: a wrong
   * header is answered 401 with a body that quotes it (as a careless proxy might); a right one gets
   * a bulk response that accepts every document.
   */
  private static final class AuthCheckingCluster {
    final HttpServer server;
    final AtomicInteger accepted = new AtomicInteger();
    final AtomicInteger refused = new AtomicInteger();

    AuthCheckingCluster() throws IOException {
      String expected =
          "Basic "
              + Base64.getEncoder()
                  .encodeToString((USER + ":" + PASSWORD).getBytes(StandardCharsets.UTF_8));
      server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
      server.createContext(
          "/",
          exchange -> {
            String body =
                new String(exchange.getRequestBody().readAllBytes(), StandardCharsets.UTF_8);
            String auth = exchange.getRequestHeaders().getFirst("Authorization");
            String reply;
            int status;
            if (!expected.equals(auth)) {
              refused.incrementAndGet();
              status = 401;
              reply =
                  "{\"error\":{\"type\":\"security_exception\",\"reason\":\"unable to"
                      + " authenticate user [elastic] for REST request [/_bulk] with"
                      + " Authorization: "
                      + auth
                      + "\"},\"status\":401}";
              exchange.getResponseHeaders().add("WWW-Authenticate", "Basic realm=\"security\"");
            } else {
              int docs = (int) body.lines().filter(l -> !l.isBlank()).count() / 2;
              accepted.addAndGet(docs);
              StringBuilder items = new StringBuilder();
              for (int i = 0; i < docs; i++) {
                items.append(i == 0 ? "" : ",").append("{\"index\":{\"status\":201}}");
              }
              status = 200;
              reply = "{\"errors\":false,\"items\":[" + items + "]}";
            }
            byte[] out = reply.getBytes(StandardCharsets.UTF_8);
            exchange.getResponseHeaders().add("Content-Type", "application/json");
            exchange.sendResponseHeaders(status, out.length);
            exchange.getResponseBody().write(out);
            exchange.close();
          });
      server.start();
    }

    int port() {
      return server.getAddress().getPort();
    }
  }

  private static void await(BooleanSupplier done, String what) throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
    while (!done.getAsBoolean()) {
      if (System.nanoTime() > deadline) {
        throw new IllegalStateException("not within 30 s: " + what);
      }
      Thread.sleep(50);
    }
  }
}
