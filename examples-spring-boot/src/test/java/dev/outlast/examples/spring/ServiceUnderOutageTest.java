package dev.outlast.examples.spring;

import static dev.outlast.examples.spring.Actuator.detail;
import static dev.outlast.examples.spring.Actuator.status;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.outlast.examples.spring.Traffic.Kind;
import dev.outlast.examples.spring.Traffic.Phase;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.springframework.boot.builder.SpringApplicationBuilder;
import org.springframework.context.ConfigurableApplicationContext;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * The example service on a random port against real MariaDB, PostgreSQL and OpenSearch from the
 * test kit, under steady traffic from several threads while the event store is killed, MariaDB is
 * killed, and OpenSearch is frozen on top of that, then everything comes back. Every response of
 * every phase is counted: none may fail, nor take longer than twice the slowest guard's call
 * timeout and a second. In each phase the health endpoints say what the guide says they say, and
 * once the servers are back everything is UP, the backlog is 0 and every order the service accepted
 * is in the index exactly once.
 */
class ServiceUnderOutageTest {
  private static final JsonMapper JSON = JsonMapper.builder().build();

  /** Between two requests of one traffic thread: six threads, a few hundred requests a second. */
  private static final Duration PAUSE = Duration.ofMillis(15);

  /** Outlast's components: the guards, the product cache and the order queue. */
  private static final List<String> COMPONENTS =
      List.of("mysql", "postgres", "elasticsearch", "products", "orders");

  /** How long each phase lasts at least, under traffic. */
  private static final Duration LASTS = Duration.ofSeconds(5);

  /** How long any one condition may take to show; every wait below is bounded by it. */
  private static final Duration SHOWS = Duration.ofSeconds(30);

  /**
   * How long the service may take to be all UP with nothing held back, once the servers are back.
   */
  private static final Duration RECOVERS = Duration.ofSeconds(60);

  @Test
  void noRequestFails_whileItsServersAreKilledAndFrozen(@TempDir Path dir) throws Exception {
    try (ShopServers servers = ShopServers.start();
        ConfigurableApplicationContext shop = startShop(servers, dir)) {
      URI base =
          URI.create(
              "http://127.0.0.1:" + shop.getEnvironment().getRequiredProperty("local.server.port"));
      Actuator actuator = new Actuator(base);
      warmProductCache(base);
      Figures figures = new Figures();
      Duration bound = latencyBound(shop);
      Traffic traffic = Traffic.start(base, "all up", PAUSE);
      List<Phase> phases;
      try {
        allUp(traffic, actuator);
        eventStoreKilled(traffic, actuator, servers);
        mariaDbKilled(traffic, actuator, servers, figures);
        openSearchFrozen(traffic, actuator, servers, figures);
        serversBack(traffic, actuator, servers, figures);
      } finally {
        traffic.close();
        phases = traffic.phases();
        phases.forEach(p -> System.out.println("phase " + p.summary()));
      }
      for (Phase p : phases) {
        for (Kind k : Kind.values()) {
          assertThat(p.failed(k))
              .as("%s requests that failed in phase '%s': %s", k, p.name, p.failures())
              .isZero();
          // Not failing is not enough: an answer the caller gave up waiting for is an outage too.
          assertThat(p.slowestMillis(k))
              .as("the slowest %s request in phase '%s', ms (bound %s)", k, p.name, bound)
              .isLessThanOrEqualTo(bound.toMillis());
        }
        assertThat(p.sent(Kind.READINESS)).as("readiness probes in '%s'", p.name).isPositive();
        assertThat(p.sent(Kind.LIVENESS)).as("liveness probes in '%s'", p.name).isPositive();
      }
      await("the backlog of the last orders")
          .atMost(SHOWS)
          .untilAsserted(
              () ->
                  assertThat(detail(actuator.health().body(), "orders", "backlogEvents")).isZero());
      figures.stored = everyOrderStoredOnce(servers, traffic);
      System.out.printf(
          Locale.ROOT,
          "service under outage: %d orders accepted, each stored once (%d of them written twice"
              + " and kept once); %d stale product answers while MariaDB was out, %.0f after it"
              + " was back; backlog peak %d events; all UP and drained %.1f s after the servers"
              + " were back (each component UP after, ms: %s)%n",
          figures.stored.accepted,
          figures.stored.overwritten,
          figures.staleAnswers,
          figures.staleAfterRecovery,
          figures.backlogPeak.get(),
          figures.recoveredMillis / 1000.0,
          figures.upAfterMillis);
    }
  }

  /** Phase 1: every component UP, and the service ready. */
  private static void allUp(Traffic traffic, Actuator actuator) throws Exception {
    await("all UP")
        .atMost(SHOWS)
        .untilAsserted(
            () -> {
              Actuator.Answer h = actuator.health();
              assertThat(h.status()).isEqualTo(200);
              assertThat(h.health()).as("%s", h.body()).isEqualTo("UP");
              for (String c : COMPONENTS) {
                assertThat(status(h.body(), c)).as("%s in %s", c, h.body()).isEqualTo("UP");
              }
            });
    assertReady(actuator);
    Actuator.Prometheus p = actuator.prometheus();
    assertThat(breaker(p, "mysql", "closed")).isEqualTo(1.0);
    assertThat(backlog(p)).isZero();
    assertThat(stale(p)).isZero();
    awaitTraffic(traffic.current());
  }

  /** The event store killed: history comes from the ledger; the service stays ready. */
  private static void eventStoreKilled(Traffic traffic, Actuator actuator, ShopServers servers)
      throws Exception {
    Phase phase = traffic.next("event store killed");
    servers.postgres.kill();
    await("postgres DOWN, service DEGRADED")
        .atMost(SHOWS)
        .untilAsserted(
            () -> {
              JsonNode h = actuator.health().body();
              assertThat(status(h, "postgres")).as("%s", h).isEqualTo("DOWN");
              assertThat(h.path("status").asString()).isEqualTo("DEGRADED");
            });
    assertReady(actuator);
    await("history answered by the ledger")
        .atMost(SHOWS)
        .until(() -> phase.historyFrom("ledger") >= 20);
    awaitTraffic(phase);
    servers.postgres.start();
    await("postgres UP again")
        .atMost(SHOWS)
        .untilAsserted(
            () -> assertThat(status(actuator.health().body(), "postgres")).isEqualTo("UP"));
  }

  /**
   * MariaDB killed: products are answered stale from the cache; the cache is DEGRADED, its guard
   * DOWN, and the service ready.
   */
  private static void mariaDbKilled(
      Traffic traffic, Actuator actuator, ShopServers servers, Figures figures) throws Exception {
    Phase phase = traffic.next("mariadb killed");
    servers.mariadb.kill();
    await("mysql DOWN, products DEGRADED")
        .atMost(SHOWS)
        .untilAsserted(
            () -> {
              JsonNode h = actuator.health().body();
              assertThat(status(h, "mysql")).as("%s", h).isEqualTo("DOWN");
              assertThat(status(h, "products")).as("%s", h).isEqualTo("DEGRADED");
              assertThat(h.path("status").asString()).isEqualTo("DEGRADED");
            });
    assertReady(actuator);
    long stale = detail(actuator.health().body(), "products", "staleAnswers");
    double scraped = stale(actuator.prometheus());
    await("stale answers rising")
        .atMost(SHOWS)
        .untilAsserted(
            () -> {
              assertThat(detail(actuator.health().body(), "products", "staleAnswers"))
                  .isGreaterThan(stale + 50);
              Actuator.Prometheus p = actuator.prometheus();
              assertThat(stale(p)).isGreaterThan(scraped + 50);
              assertThat(breaker(p, "mysql", "open")).isEqualTo(1.0);
            });
    awaitTraffic(phase);
    figures.staleAnswers = detail(actuator.health().body(), "products", "staleAnswers");
  }

  /**
   * OpenSearch frozen, MariaDB still dead: orders are accepted into the spill queue; the queue is
   * DEGRADED with its backlog, and the service ready.
   */
  private static void openSearchFrozen(
      Traffic traffic, Actuator actuator, ShopServers servers, Figures figures) throws Exception {
    Phase phase = traffic.next("opensearch frozen");
    servers.opensearch.freeze();
    await("orders DEGRADED with a backlog")
        .atMost(SHOWS)
        .untilAsserted(
            () -> {
              JsonNode h = actuator.health().body();
              assertThat(status(h, "orders")).as("%s", h).isEqualTo("DEGRADED");
              assertThat(detail(h, "orders", "backlogEvents")).as("%s", h).isPositive();
              figures.backlogPeak.accumulateAndGet(detail(h, "orders", "backlogEvents"), Math::max);
            });
    assertReady(actuator);
    long backlog = figures.backlogPeak.get();
    double scraped = backlog(actuator.prometheus());
    await("backlog rising")
        .atMost(SHOWS)
        .untilAsserted(
            () -> {
              long now = detail(actuator.health().body(), "orders", "backlogEvents");
              figures.backlogPeak.accumulateAndGet(now, Math::max);
              assertThat(now).isGreaterThan(backlog + 50);
              assertThat(backlog(actuator.prometheus())).isGreaterThan(scraped + 50);
            });
    awaitTraffic(phase);
    figures.backlogPeak.accumulateAndGet(
        detail(actuator.health().body(), "orders", "backlogEvents"), Math::max);
  }

  /**
   * MariaDB restarted on its port with its data, OpenSearch thawed: within a bounded time every
   * component is UP, the backlog is 0, and the service ready.
   */
  private static void serversBack(
      Traffic traffic, Actuator actuator, ShopServers servers, Figures figures) throws Exception {
    Phase phase = traffic.next("servers back");
    long start = System.nanoTime();
    servers.opensearch.thaw();
    servers.mariadb.start();
    await("all UP, backlog 0")
        .atMost(RECOVERS)
        .pollInterval(Duration.ofMillis(200))
        .untilAsserted(
            () -> {
              Actuator.Answer a = actuator.health();
              JsonNode h = a.body();
              figures.backlogPeak.accumulateAndGet(detail(h, "orders", "backlogEvents"), Math::max);
              for (String c : COMPONENTS) {
                if (status(h, c).equals("UP")) {
                  figures.upAfterMillis.putIfAbsent(c, (System.nanoTime() - start) / 1_000_000);
                }
              }
              assertThat(a.health()).as("%s", h).isEqualTo("UP");
              assertThat(detail(h, "orders", "backlogEvents")).isZero();
              for (String c : COMPONENTS) {
                assertThat(status(h, c)).as("%s in %s", c, h).isEqualTo("UP");
              }
            });
    figures.recoveredMillis = (System.nanoTime() - start) / 1_000_000;
    assertReady(actuator);
    Actuator.Prometheus p = actuator.prometheus();
    assertThat(backlog(p)).as("the backlog gauge, fallen").isZero();
    assertThat(breaker(p, "mysql", "closed")).isEqualTo(1.0);
    assertThat(breaker(p, "elasticsearch", "closed")).isEqualTo(1.0);
    double staleAtRecovery = stale(p);
    awaitTraffic(phase);
    figures.staleAfterRecovery = stale(actuator.prometheus()) - staleAtRecovery;
    assertThat(figures.staleAfterRecovery)
        .as("stale answers once MariaDB was back (the rate falls)")
        .isLessThan(figures.staleAnswers / 10.0);
  }

  /** {@code outlast.cache.stale.answers} of the products cache. */
  private static double stale(Actuator.Prometheus p) {
    return p.value("outlast_cache_stale_answers", "name=\"products\"");
  }

  /** {@code outlast.queue.backlog.events} of the orders queue. */
  private static double backlog(Actuator.Prometheus p) {
    return p.value("outlast_queue_backlog_events", "name=\"orders\"");
  }

  /** {@code resilience4j.circuitbreaker.state}: 1 if the guard's breaker is in that state. */
  private static double breaker(Actuator.Prometheus p, String guard, String state) {
    return p.value(
        "resilience4j_circuitbreaker_state", "name=\"" + guard + "\"", "state=\"" + state + "\"");
  }

  private static void assertReady(Actuator actuator) throws Exception {
    Actuator.Answer r = actuator.readiness();
    assertThat(r.status()).as("readiness %s", r.body()).isEqualTo(200);
    assertThat(r.health()).as("readiness %s", r.body()).isEqualTo("UP");
    Actuator.Answer l = actuator.liveness();
    assertThat(l.health()).as("liveness %s", l.body()).isEqualTo("UP");
  }

  /**
   * Waits until a phase has lasted {@link #LASTS} and seen enough of each kind of request to mean
   * something.
   */
  private static void awaitTraffic(Phase phase) {
    await("traffic in phase " + phase.name)
        .atMost(SHOWS)
        .until(
            () ->
                phase.duration().compareTo(LASTS) >= 0
                    && phase.sent(Kind.PRODUCT) >= 150
                    && phase.sent(Kind.ORDER) >= 150
                    && phase.sent(Kind.HISTORY) >= 150);
  }

  /** Reads every document of the index back and checks that each accepted order is there once. */
  private static Stored everyOrderStoredOnce(ShopServers servers, Traffic traffic)
      throws Exception {
    URI search = URI.create(servers.opensearch.httpUrl());
    ShopServers.send(search, "POST", "/" + ShopServers.INDEX + "/_refresh", "");
    Map<String, Integer> copies = new HashMap<>();
    long overwritten = 0;
    JsonNode after = null;
    while (true) {
      var query = JSON.createObjectNode();
      query.put("size", 5_000);
      query.put("version", true);
      query.putArray("sort").addObject().put("orderId", "asc");
      if (after != null) {
        query.set("search_after", after);
      }
      JsonNode hits =
          JSON.readTree(
                  ShopServers.send(
                      search, "POST", "/" + ShopServers.INDEX + "/_search", query.toString()))
              .path("hits")
              .path("hits");
      if (hits.isEmpty()) {
        break;
      }
      for (JsonNode hit : hits) {
        String id = hit.path("_source").path("orderId").asString();
        assertThat(hit.path("_id").asString()).as("document id of %s", id).isEqualTo(id);
        copies.merge(id, 1, Integer::sum);
        if (hit.path("_version").asLong() > 1) {
          overwritten++;
        }
      }
      after = hits.get(hits.size() - 1).path("sort");
    }
    var accepted = traffic.acceptedOrders();
    List<String> twice = new ArrayList<>();
    copies.forEach(
        (id, n) -> {
          if (n > 1) twice.add(id);
        });
    assertThat(twice).as("orders stored more than once").isEmpty();
    assertThat(copies.keySet())
        .as("orders in the index")
        .containsExactlyInAnyOrderElementsOf(accepted);
    return new Stored(accepted.size(), overwritten);
  }

  /**
   * How long any request may take: twice the slowest call timeout of the guards (a read fallback
   * may wait out one source's timeout and then the next's, an order its sink's and then the spill)
   * and a second for everything else on a loaded two-core machine.
   */
  private static Duration latencyBound(ConfigurableApplicationContext shop) {
    Duration slowest = Duration.ZERO;
    for (String guard : List.of("mysql", "postgres", "elasticsearch")) {
      Duration t =
          shop.getEnvironment()
              .getRequiredProperty("outlast.guard." + guard + ".call-timeout", Duration.class);
      slowest = t.compareTo(slowest) > 0 ? t : slowest;
    }
    return slowest.multipliedBy(2).plusSeconds(1);
  }

  /** Starts the service on a random port, pointed at the servers, with short timeouts. */
  private static ConfigurableApplicationContext startShop(ShopServers servers, Path dir) {
    List<String> args = new ArrayList<>(servers.serviceArguments());
    args.add("--server.port=0");
    args.add("--spring.main.banner-mode=off");
    args.add("--outlast.queue.orders.directory=" + dir.resolve("spill/orders"));
    // Fresh for 2 s only, so that MariaDB's outage is answered stale within the phase. While the
    // database is up, the traffic reads each product about once a second, mostly within the last
    // fifth of its 2 s, where the cache refreshes it in the background: callers see no stale value.
    args.add("--outlast.cache.products.fresh-for=2s");
    return new SpringApplicationBuilder(ShopApplication.class)
        .registerShutdownHook(false)
        .run(args.toArray(String[]::new));
  }

  /** Reads every product once, so that the cache holds what the traffic asks for. */
  private static void warmProductCache(URI base) throws Exception {
    HttpClient http = HttpClient.newHttpClient();
    for (int id = 1; id <= ShopServers.PRODUCTS; id++) {
      HttpResponse<String> r =
          http.send(
              HttpRequest.newBuilder(base.resolve("/products/" + id))
                  .timeout(Duration.ofSeconds(10))
                  .build(),
              HttpResponse.BodyHandlers.ofString());
      assertThat(r.statusCode()).as("product %d: %s", id, r.body()).isEqualTo(200);
    }
  }

  /** What the index holds. */
  private record Stored(long accepted, long overwritten) {}

  /** The run's figures, for the line it prints. */
  private static final class Figures {
    long staleAnswers;
    final AtomicLong backlogPeak = new AtomicLong();
    long recoveredMillis;
    final Map<String, Long> upAfterMillis = new java.util.LinkedHashMap<>();
    double staleAfterRecovery;
    Stored stored = new Stored(0, 0);
  }
}
