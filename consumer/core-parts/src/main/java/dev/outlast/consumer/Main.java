package dev.outlast.consumer;

import dev.outlast.buffer.SpillQueue;
import dev.outlast.buffer.spi.Delivery;
import dev.outlast.buffer.spi.Outcome;
import dev.outlast.buffer.spi.Sink;
import dev.outlast.cache.QueryCache;
import dev.outlast.core.Guard;
import dev.outlast.core.spi.Codec;
import dev.outlast.micrometer.QueryCacheMetrics;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * Uses a cache, a spill queue and the meters the way a service would, from the published jars
 * only, and exits non-zero if anything does not work as the README says.
 */
public final class Main {
  private Main() {}

  public static void main(String[] args) throws Exception {
    Path work = Files.createDirectories(Path.of(args[0]));

    try (QueryCache<String, String> products =
        QueryCache.<String, String>builder("products")
            .guard(Guard.ofDefaults("mysql"))
            .build(id -> "product " + id)) {
      SimpleMeterRegistry registry = new SimpleMeterRegistry();
      new QueryCacheMetrics(products).bindTo(registry);
      check(products.get("42").equals("product 42"), "the cache answers");
      check(products.get("42").equals("product 42"), "the cache answers again");
      double hits = registry.get("cache.gets").tag("result", "hit").functionCounter().count();
      check(hits == 1, "one hit counted, was " + hits);
    }

    List<String> delivered = new CopyOnWriteArrayList<>();
    Sink<String> sink =
        new Sink<>() {
          @Override
          public CompletionStage<List<Outcome>> deliver(List<Delivery<String>> batch) {
            List<Outcome> outcomes = new ArrayList<>();
            for (Delivery<String> d : batch) {
              delivered.add(d.event());
              outcomes.add(Outcome.ok());
            }
            return CompletableFuture.completedFuture(outcomes);
          }
        };
    Path queueDir = work.resolve("orders-" + ProcessHandle.current().pid());
    try (SpillQueue<String> orders =
        SpillQueue.<String>builder("orders")
            .directory(queueDir)
            .codec(Codec.utf8())
            .sink(sink)
            .guard(Guard.ofDefaults("sink"))
            .build()) {
      for (int i = 0; i < 100; i++) {
        orders.publish("order " + i);
      }
      check(orders.awaitDrained(Duration.ofSeconds(30)), "the queue drains");
    }
    check(delivered.size() == 100, "100 events delivered, were " + delivered.size());
    check(delivered.get(99).equals("order 99"), "in order");
    System.out.println("outlast consumer check: cache, spill queue and meters work from the jars");
  }

  private static void check(boolean ok, String what) {
    if (!ok) {
      System.err.println("outlast consumer check FAILED: " + what);
      System.exit(1);
    }
  }
}
