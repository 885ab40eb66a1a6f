package dev.outlast.consumer.boot;

import com.sun.net.httpserver.HttpServer;
import dev.outlast.buffer.SpillQueue;
import dev.outlast.core.annotation.CachedQuery;
import dev.outlast.core.annotation.Guarded;
import dev.outlast.core.annotation.SpillOnFailure;
import dev.outlast.core.health.Health;
import dev.outlast.core.spi.Codec;
import dev.outlast.core.health.HealthStatus;
import io.micrometer.core.instrument.MeterRegistry;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.ConnectException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicInteger;
import org.springframework.boot.WebApplicationType;
import org.springframework.boot.autoconfigure.SpringBootApplication;
import org.springframework.boot.builder.SpringApplicationBuilder;
import org.springframework.context.ConfigurableApplicationContext;
import org.springframework.context.annotation.Bean;

/**
 * A Spring Boot 4 service as a user writes it, with the starter from its jar: a guarded, cached
 * query and an event publisher that spills, both annotated interfaces, wired from {@code outlast.*}
 * properties; the queue delivers to the Elasticsearch sink. The "cluster" is the JDK's HTTP server
 * answering {@code _bulk}: this checks that the published jars start and work together in Boot,
 * not outages (the starter's and the example service's tests run against real servers).
 */
@SpringBootApplication
public class Main {
  /** Products from the database, cached. */
  public interface Catalog {
    @Guarded("mysql")
    @CachedQuery(name = "products")
    String product(String id);
  }

  /** Order events to the search cluster; spilled to disk when it is out. */
  public interface Orders {
    @Guarded("search")
    @SpillOnFailure(queue = "orders")
    void placed(String order);
  }

  static final AtomicInteger loads = new AtomicInteger();

  @Bean
  Catalog catalog() {
    return id -> {
      loads.incrementAndGet();
      return "product " + id;
    };
  }

  @Bean
  Orders orders() {
    return order -> {
      // What a client says when the cluster is out: an I/O failure, which the guard counts.
      throw new UncheckedIOException(new ConnectException("the search cluster is out"));
    };
  }

  @Bean
  Codec<String> orderCodec() {
    return Codec.utf8();
  }

  public static void main(String[] args) throws Exception {
    Path work = Files.createDirectories(Path.of(args[0]));
    AtomicInteger indexed = new AtomicInteger();
    HttpServer cluster = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
    cluster.createContext(
        "/_bulk",
        exchange -> {
          String body = new String(exchange.getRequestBody().readAllBytes(), StandardCharsets.UTF_8);
          int docs = (int) body.lines().filter(l -> l.startsWith("{\"index\"")).count();
          indexed.addAndGet(docs);
          StringBuilder answer = new StringBuilder("{\"errors\":false,\"items\":[");
          for (int i = 0; i < docs; i++) {
            answer.append(i == 0 ? "" : ",").append("{\"index\":{\"status\":201}}");
          }
          byte[] bytes = answer.append("]}").toString().getBytes(StandardCharsets.UTF_8);
          exchange.getResponseHeaders().set("Content-Type", "application/json");
          exchange.sendResponseHeaders(200, bytes.length);
          try (OutputStream out = exchange.getResponseBody()) {
            out.write(bytes);
          }
        });
    cluster.start();
    String url = "http://127.0.0.1:" + cluster.getAddress().getPort();
    try (ConfigurableApplicationContext ctx =
        new SpringApplicationBuilder(Main.class)
            .web(WebApplicationType.NONE)
            .properties(
                "outlast.guard.mysql.importance=dependent",
                "outlast.guard.search.importance=dependent",
                "outlast.cache.products.fresh-for=30s",
                "outlast.queue.orders.directory="
                    + work.resolve("orders-" + ProcessHandle.current().pid()),
                "outlast.queue.orders.sink=elasticsearch",
                "outlast.queue.orders.elasticsearch.url=" + url,
                "outlast.queue.orders.elasticsearch.index=orders")
            .run(args)) {
      Catalog catalog = ctx.getBean(Catalog.class);
      check(catalog.product("7").equals("product 7"), "the cached query answers");
      check(catalog.product("7").equals("product 7"), "and again");
      check(loads.get() == 1, "the second answer came from the cache, loads: " + loads.get());

      Orders orders = ctx.getBean(Orders.class);
      for (int i = 0; i < 20; i++) {
        orders.placed("order " + i);
      }
      SpillQueue<?> queue = ctx.getBean("ordersQueue", SpillQueue.class);
      check(queue.awaitDrained(Duration.ofSeconds(60)), "the spilled orders are delivered");
      check(indexed.get() >= 20, "20 orders indexed, were " + indexed.get());

      HealthStatus status = ctx.getBean(Health.class).snapshot().status();
      check(status != HealthStatus.DOWN, "health is not DOWN, was " + status);
      MeterRegistry meters = ctx.getBean(MeterRegistry.class);
      check(
          meters.find("outlast.queue.backlog.events").gauge() != null,
          "the queue's meters are bound");
    } finally {
      cluster.stop(0);
    }
    System.out.println("outlast consumer check: the Spring Boot starter works from the jars");
  }

  private static void check(boolean ok, String what) {
    if (!ok) {
      System.err.println("outlast consumer check FAILED: " + what);
      System.exit(1);
    }
  }
}
