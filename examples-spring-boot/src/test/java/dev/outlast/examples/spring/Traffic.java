package dev.outlast.examples.spring;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Queue;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAccumulator;
import java.util.concurrent.atomic.LongAdder;
import org.jspecify.annotations.Nullable;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * Steady HTTP traffic against the shop from several threads, every response counted in the phase it
 * was sent in: product reads, order posts and history reads, and the liveness probe that Kubernetes
 * would send. A request fails if it throws, times out, or is answered with anything but the one
 * status it should get.
 */
final class Traffic implements AutoCloseable {
  /** What is sent. */
  enum Kind {
    PRODUCT,
    ORDER,
    HISTORY,
    READINESS,
    LIVENESS
  }

  /** The counts of one kind of request in one phase. */
  private static final class Tally {
    final LongAdder sent = new LongAdder();
    final LongAdder failed = new LongAdder();
    final LongAccumulator slowestMillis = new LongAccumulator(Math::max, 0);
  }

  /** The counts of one phase. Threadsafe. */
  static final class Phase {
    final String name;
    final long startNanos = System.nanoTime();
    private final Map<Kind, Tally> tallies = new EnumMap<>(Kind.class);
    private final Map<String, LongAdder> historySources = new ConcurrentHashMap<>();
    private final Queue<String> failures = new ConcurrentLinkedQueue<>();
    private volatile long endNanos;

    Phase(String name) {
      this.name = name;
      for (Kind k : Kind.values()) {
        tallies.put(k, new Tally());
      }
    }

    private Tally tally(Kind k) {
      return Objects.requireNonNull(tallies.get(k));
    }

    long sent(Kind k) {
      return tally(k).sent.sum();
    }

    long failed(Kind k) {
      return tally(k).failed.sum();
    }

    long slowestMillis(Kind k) {
      return tally(k).slowestMillis.get();
    }

    /** How many history answers came from this source ("event-store", "ledger"). */
    long historyFrom(String source) {
      LongAdder n = historySources.get(source);
      return n == null ? 0 : n.sum();
    }

    /** The first failures, described. */
    List<String> failures() {
      return List.copyOf(failures);
    }

    Duration duration() {
      long end = endNanos == 0 ? System.nanoTime() : endNanos;
      return Duration.ofNanos(end - startNanos);
    }

    private void record(Kind k, long nanos, boolean ok, String what) {
      tally(k).sent.increment();
      tally(k).slowestMillis.accumulate(nanos / 1_000_000);
      if (!ok) {
        tally(k).failed.increment();
        if (failures.size() < 20) {
          failures.add(k + ": " + what);
        }
      }
    }

    String summary() {
      StringBuilder s =
          new StringBuilder(
              String.format(Locale.ROOT, "%-22s %5.1f s", name, duration().toMillis() / 1000.0));
      for (Kind k : Kind.values()) {
        s.append(
            String.format(
                Locale.ROOT,
                " | %s %d (%d failed, slowest %d ms)",
                k.name().toLowerCase(Locale.ROOT),
                sent(k),
                failed(k),
                slowestMillis(k)));
      }
      s.append(" | history from ")
          .append(
              historySources.keySet().stream()
                  .sorted()
                  .map(src -> src + " " + historyFrom(src))
                  .toList());
      return s.toString();
    }
  }

  private static final JsonMapper JSON = JsonMapper.builder().build();
  private static final Duration REQUEST_TIMEOUT = Duration.ofSeconds(15);

  private final URI base;
  private final HttpClient http;
  private final List<Thread> threads = new ArrayList<>();
  private final List<Phase> phases = new ArrayList<>();
  private final Set<String> acceptedOrders = ConcurrentHashMap.newKeySet();
  private final AtomicLong orderNumbers = new AtomicLong();
  private volatile Phase current;
  private volatile boolean stopping;

  private Traffic(URI base, String firstPhase) {
    this.base = base;
    this.http =
        HttpClient.newBuilder()
            .version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(5))
            .build();
    this.current = new Phase(firstPhase);
    phases.add(current);
  }

  /**
   * Starts the threads: two per kind of request, each pausing {@code pause} between its requests,
   * and one readiness and one liveness prober, every 200 ms each, as Kubernetes would probe.
   */
  static Traffic start(URI base, String firstPhase, Duration pause) {
    Traffic t = new Traffic(base, firstPhase);
    for (int i = 0; i < 2; i++) {
      t.spawn("products-" + i, Kind.PRODUCT, pause);
      t.spawn("orders-" + i, Kind.ORDER, pause);
      t.spawn("history-" + i, Kind.HISTORY, pause);
    }
    t.spawn("readiness", Kind.READINESS, Duration.ofMillis(200));
    t.spawn("liveness", Kind.LIVENESS, Duration.ofMillis(200));
    return t;
  }

  /** Ends the current phase and starts counting the next. */
  synchronized Phase next(String name) {
    Phase p = new Phase(name);
    current.endNanos = System.nanoTime();
    phases.add(p);
    current = p;
    return p;
  }

  Phase current() {
    return current;
  }

  synchronized List<Phase> phases() {
    return List.copyOf(phases);
  }

  /** The ids of every order the service answered 202 to. */
  Set<String> acceptedOrders() {
    return Set.copyOf(acceptedOrders);
  }

  /**
   * Stops the threads, waiting for each request in flight; bounded by the request timeout.
   * Idempotent.
   */
  @Override
  public void close() {
    stopping = true;
    current.endNanos = System.nanoTime();
    long deadline = System.nanoTime() + REQUEST_TIMEOUT.plusSeconds(5).toNanos();
    try {
      for (Thread t : threads) {
        t.join(Math.max(1, (deadline - System.nanoTime()) / 1_000_000));
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } finally {
      threads.forEach(Thread::interrupt);
    }
  }

  private void spawn(String name, Kind kind, Duration pause) {
    Thread t =
        new Thread(
            () -> {
              while (!stopping) {
                send(kind);
                try {
                  Thread.sleep(pause.toMillis()); // the pace of the traffic, not a wait
                } catch (InterruptedException e) {
                  return;
                }
              }
            },
            "traffic-" + name);
    t.setDaemon(true);
    threads.add(t);
    t.start();
  }

  private void send(Kind kind) {
    Phase phase = current;
    ThreadLocalRandom random = ThreadLocalRandom.current();
    String orderId = null;
    HttpRequest.Builder request;
    int expected;
    switch (kind) {
      case PRODUCT -> {
        request = get("/products/" + random.nextInt(1, ShopServers.PRODUCTS + 1));
        expected = 200;
      }
      case ORDER -> {
        orderId = "order-" + orderNumbers.incrementAndGet();
        String body =
            String.format(
                Locale.ROOT,
                "{\"orderId\":\"%s\",\"account\":\"%s\",\"sku\":\"sku-%d\",\"quantity\":%d}",
                orderId,
                ShopServers.account(random.nextInt(1, ShopServers.ACCOUNTS + 1)),
                random.nextInt(1, 1_000),
                random.nextInt(1, 5));
        request =
            HttpRequest.newBuilder(base.resolve("/orders"))
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(body));
        expected = 202;
      }
      case HISTORY -> {
        request =
            get("/history/" + ShopServers.account(random.nextInt(1, ShopServers.ACCOUNTS + 1)));
        expected = 200;
      }
      case READINESS -> {
        request = get("/actuator/health/readiness");
        expected = 200;
      }
      case LIVENESS -> {
        request = get("/actuator/health/liveness");
        expected = 200;
      }
      default -> throw new AssertionError(kind);
    }
    long start = System.nanoTime();
    try {
      HttpResponse<String> r =
          http.send(request.timeout(REQUEST_TIMEOUT).build(), HttpResponse.BodyHandlers.ofString());
      long nanos = System.nanoTime() - start;
      String problem = check(phase, kind, r, expected);
      phase.record(kind, nanos, problem == null, problem == null ? "" : problem);
      if (problem == null && orderId != null) {
        acceptedOrders.add(orderId);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } catch (Exception e) {
      phase.record(kind, System.nanoTime() - start, false, e.toString());
    }
  }

  /** What is wrong with an answer, or null if nothing. */
  private static @Nullable String check(
      Phase phase, Kind kind, HttpResponse<String> r, int expected) {
    if (r.statusCode() != expected) {
      return "HTTP " + r.statusCode() + " (expected " + expected + "): " + r.body();
    }
    JsonNode body = JSON.readTree(r.body());
    switch (kind) {
      case PRODUCT -> {
        if (!body.path("name").asString("").startsWith("product ")) {
          return "not a product: " + r.body();
        }
      }
      case HISTORY -> {
        if (body.path("entries").size() != ShopServers.EVENTS_PER_ACCOUNT) {
          return "history of " + body.path("entries").size() + " entries: " + r.body();
        }
        phase
            .historySources
            .computeIfAbsent(body.path("source").asString("?"), s -> new LongAdder())
            .increment();
      }
      case READINESS, LIVENESS -> {
        if (!body.path("status").asString("").equals("UP")) {
          return "not UP: " + r.body();
        }
      }
      default -> {}
    }
    return null;
  }

  private HttpRequest.Builder get(String path) {
    return HttpRequest.newBuilder(base.resolve(path)).GET();
  }
}
