package dev.outlast.micrometer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import dev.outlast.core.DependencyCallException;
import dev.outlast.core.DependencyTimeoutException;
import dev.outlast.core.DependencyUnavailableException;
import dev.outlast.core.Guard;
import dev.outlast.core.GuardConfig;
import dev.outlast.testkit.ManualClock;
import io.micrometer.core.instrument.FunctionTimer;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.lang.ref.Reference;
import java.lang.ref.WeakReference;
import java.net.ConnectException;
import java.sql.SQLIntegrityConstraintViolationException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;

class GuardMetricsTest {
  private final ManualClock clock = new ManualClock();
  private final SimpleMeterRegistry registry = new SimpleMeterRegistry();

  private GuardConfig.Builder config() {
    return GuardConfig.custom()
        .clock(clock)
        .ticker(clock::nanos)
        .sleeper(d -> {})
        .jitter(0)
        .slidingWindowSize(10)
        .minimumNumberOfCalls(5)
        .failureRateThreshold(50)
        .maxAttempts(2)
        .retryBackoff(Duration.ofMillis(1))
        .callTimeout(Duration.ofMillis(300))
        .interruptOnTimeout(false);
  }

  private double gauge(String name, String... tags) {
    return registry.get(name).tags("name", "mysql").tags(tags).gauge().value();
  }

  private double counter(String name, String... tags) {
    return registry.get(name).tags("name", "mysql").tags(tags).functionCounter().count();
  }

  private FunctionTimer calls(String kind) {
    return registry
        .get("resilience4j.circuitbreaker.calls")
        .tags("name", "mysql", "kind", kind)
        .functionTimer();
  }

  private static String advancing(ManualClock clock, long millis) {
    clock.advance(Duration.ofMillis(millis));
    return "ok";
  }

  @Test
  void everyMeter_movesWithTheGuard_underResilience4jsNamesAndOutlastsOwn() throws Exception {
    Guard guard = Guard.of("mysql", config().build());
    guard.addListener(
        (g, from, to) -> {
          throw new IllegalStateException("a listener's bug");
        });
    PrometheusMeterRegistry prometheus = Scrape.registry();
    GuardMetrics metrics = new GuardMetrics(guard, Tags.empty(), Duration.ZERO);
    metrics.bindTo(registry);
    metrics.bindTo(prometheus);

    assertThat(gauge("resilience4j.circuitbreaker.state", "state", "closed")).isEqualTo(1);
    assertThat(calls("successful").count()).isZero();
    assertThat(gauge("resilience4j.circuitbreaker.failure.rate")).isEqualTo(-1);

    // Three successes of 10 ms each (on the guard's ticker).
    for (int i = 0; i < 3; i++) {
      guard.call(() -> advancing(clock, 10));
    }
    // A business failure of 5 ms: the database answered; not counted against it.
    assertThatThrownBy(
            () ->
                guard.call(
                    () -> {
                      advancing(clock, 5);
                      throw new SQLIntegrityConstraintViolationException("duplicate key");
                    }))
        .isInstanceOf(DependencyCallException.class);
    // An infrastructure failure of 1 ms, retried once: two failed calls and a retry.
    assertThatThrownBy(
            () ->
                guard.call(
                    () -> {
                      advancing(clock, 1);
                      throw new ConnectException("Connection refused");
                    }))
        .isInstanceOf(DependencyCallException.class);
    // A call that hangs past the 300 ms call timeout: a failed call, a timeout, and its thread
    // held by the dependency (abandoned) until it returns.
    CountDownLatch hang = new CountDownLatch(1);
    assertThatThrownBy(
            () ->
                guard.call(
                    () -> {
                      hang.await();
                      return "late";
                    }))
        .isInstanceOf(DependencyTimeoutException.class);
    assertThat(gauge("outlast.guard.abandoned.calls")).isEqualTo(1);
    hang.countDown();
    await().untilAsserted(() -> assertThat(gauge("outlast.guard.abandoned.calls")).isZero());

    // Window: 3 + 1 successful, 3 failed of 7: 42.9 %, still closed.
    assertThat(gauge("resilience4j.circuitbreaker.failure.rate")).isCloseTo(42.857, offset());
    assertThat(gauge("resilience4j.circuitbreaker.state", "state", "closed")).isEqualTo(1);
    // One more failure, reported on a permit: 4 of 8 is 50 %, the breaker opens (and the
    // listener throws).
    Objects.requireNonNull(guard.tryEnter())
        .failure(Duration.ofMillis(4).toNanos(), new ConnectException("Connection refused"));
    assertThat(guard.state()).isEqualTo(Guard.State.OPEN);
    for (int i = 0; i < 2; i++) {
      assertThatThrownBy(() -> guard.call(() -> "never"))
          .isInstanceOf(DependencyUnavailableException.class);
    }

    assertThat(gauge("resilience4j.circuitbreaker.state", "state", "open")).isEqualTo(1);
    assertThat(gauge("resilience4j.circuitbreaker.state", "state", "closed")).isZero();
    assertThat(gauge("resilience4j.circuitbreaker.state", "state", "half_open")).isZero();
    assertThat(calls("successful").count()).isEqualTo(3);
    assertThat(calls("successful").totalTime(TimeUnit.MILLISECONDS)).isEqualTo(30);
    assertThat(calls("ignored").count()).isEqualTo(1);
    assertThat(calls("ignored").totalTime(TimeUnit.MILLISECONDS)).isEqualTo(5);
    assertThat(calls("failed").count()).as("2 refused, 1 timed out, 1 permit").isEqualTo(4);
    assertThat(calls("failed").totalTime(TimeUnit.MILLISECONDS))
        .as("the timed-out call took no time on the test's ticker")
        .isEqualTo(1 + 1 + 4);
    assertThat(counter("resilience4j.circuitbreaker.not.permitted.calls", "kind", "not_permitted"))
        .isEqualTo(2);
    assertThat(gauge("resilience4j.circuitbreaker.failure.rate")).isEqualTo(50);
    assertThat(gauge("resilience4j.circuitbreaker.slow.call.rate")).isZero();
    assertThat(gauge("resilience4j.circuitbreaker.buffered.calls", "kind", "successful"))
        .isEqualTo(4);
    assertThat(gauge("resilience4j.circuitbreaker.buffered.calls", "kind", "failed")).isEqualTo(4);
    assertThat(counter("outlast.guard.timeouts")).isEqualTo(1);
    assertThat(counter("outlast.guard.retries")).isEqualTo(1);
    assertThat(counter("outlast.guard.plugin.failures")).isEqualTo(1);

    // The same through Prometheus, under the names Resilience4j's binder gives them there.
    Scrape s = Scrape.of(prometheus);
    String name = "name=\"mysql\"";
    assertThat(s.value("resilience4j_circuitbreaker_state", name, "state=\"open\"")).isEqualTo(1);
    assertThat(s.value("resilience4j_circuitbreaker_state", name, "state=\"closed\"")).isZero();
    assertThat(s.value("resilience4j_circuitbreaker_state", name, "state=\"half_open\"")).isZero();
    assertThat(
            s.value("resilience4j_circuitbreaker_calls_seconds_count", name, "kind=\"successful\""))
        .isEqualTo(3);
    assertThat(
            s.value("resilience4j_circuitbreaker_calls_seconds_sum", name, "kind=\"successful\""))
        .isCloseTo(0.030, offset());
    assertThat(s.value("resilience4j_circuitbreaker_calls_seconds_count", name, "kind=\"failed\""))
        .isEqualTo(4);
    assertThat(s.value("resilience4j_circuitbreaker_calls_seconds_sum", name, "kind=\"failed\""))
        .isCloseTo(0.006, offset());
    assertThat(s.value("resilience4j_circuitbreaker_calls_seconds_count", name, "kind=\"ignored\""))
        .isEqualTo(1);
    assertThat(s.value("resilience4j_circuitbreaker_calls_seconds_sum", name, "kind=\"ignored\""))
        .isCloseTo(0.005, offset());
    assertThat(
            s.value(
                "resilience4j_circuitbreaker_not_permitted_calls_total",
                name,
                "kind=\"not_permitted\""))
        .isEqualTo(2);
    assertThat(s.value("resilience4j_circuitbreaker_failure_rate", name)).isEqualTo(50);
    assertThat(s.value("resilience4j_circuitbreaker_slow_call_rate", name)).isZero();
    assertThat(s.value("resilience4j_circuitbreaker_buffered_calls", name, "kind=\"successful\""))
        .isEqualTo(4);
    assertThat(s.value("resilience4j_circuitbreaker_buffered_calls", name, "kind=\"failed\""))
        .isEqualTo(4);
    assertThat(s.value("outlast_guard_timeouts_total", name)).isEqualTo(1);
    assertThat(s.value("outlast_guard_retries_total", name)).isEqualTo(1);
    assertThat(s.value("outlast_guard_abandoned_calls", name)).isZero();
    assertThat(s.value("outlast_guard_plugin_failures_total", name)).isEqualTo(1);
    assertThat(registry.getMeters())
        .as("3 state gauges, 3 timers, not permitted, 2 rates, 2 buffered, 4 of Outlast's")
        .hasSize(15)
        .allSatisfy(m -> assertThat(m.getId().getTag("name")).isEqualTo("mysql"));
  }

  private static org.assertj.core.data.Offset<Double> offset() {
    return org.assertj.core.data.Offset.offset(1e-3);
  }

  @Test
  void extraTags_goOnEveryMeter_andTheNameTagIsTheDependencys() {
    Guard guard = Guard.of("mysql", config().build());
    new GuardMetrics(guard, Tags.of("app", "shop", "name", "not this")).bindTo(registry);
    assertThat(registry.getMeters())
        .hasSize(15)
        .allSatisfy(
            m -> {
              assertThat(m.getId().getTag("app")).isEqualTo("shop");
              assertThat(m.getId().getTag("name")).isEqualTo("mysql");
            });
  }

  @Test
  void aReadingIsReusedBriefly_soOneScrapeTakesOneSnapshot() {
    Guard guard = Guard.of("mysql", config().build());
    new GuardMetrics(guard, Tags.empty(), Duration.ofHours(1)).bindTo(registry);
    assertThat(calls("successful").count()).isZero();
    guard.call(() -> "ok");
    assertThat(calls("successful").count()).as("the reading of a moment ago").isZero();
    assertThat(guard.calls().successful()).isEqualTo(1);
  }

  @Test
  void theMetersAnswerWhileTheGuardLives_evenIfTheBinderIsDropped() {
    Guard guard = Guard.of("mysql", config().build());
    try {
      new GuardMetrics(guard).bindTo(registry);
      guard.call(() -> "ok");
      for (int i = 0; i < 3; i++) {
        System.gc();
      }
      await()
          .untilAsserted(
              () -> {
                assertThat(gauge("resilience4j.circuitbreaker.state", "state", "closed"))
                    .isEqualTo(1);
                assertThat(calls("successful").count()).isEqualTo(1);
              });
    } finally {
      Reference.reachabilityFence(guard);
    }
  }

  @Test
  void theRegistryDoesNotKeepTheGuardAlive() {
    WeakReference<Guard> ref = boundAndForgotten(registry);
    await()
        .atMost(Duration.ofSeconds(30))
        .until(
            () -> {
              System.gc();
              return ref.get() == null;
            });
    assertThat(gauge("resilience4j.circuitbreaker.state", "state", "closed")).isNaN();
  }

  private WeakReference<Guard> boundAndForgotten(MeterRegistry r) {
    Guard guard = Guard.of("mysql", config().build());
    new GuardMetrics(guard).bindTo(r);
    return new WeakReference<>(guard);
  }

  @Test
  void eightThreadsCallingWhileScraped_countsAreExactAtTheEnd() throws Exception {
    Guard guard =
        Guard.builder("mysql")
            .config(config().slidingWindowSize(100).minimumNumberOfCalls(100).build())
            .executor(Runnable::run)
            .build();
    PrometheusMeterRegistry prometheus = Scrape.registry();
    GuardMetrics metrics = new GuardMetrics(guard);
    metrics.bindTo(prometheus);
    metrics.bindTo(registry);
    int threads = 8;
    int each = 20_000;
    ExecutorService pool = Executors.newFixedThreadPool(threads + 1);
    CountDownLatch start = new CountDownLatch(1);
    AtomicBoolean calling = new AtomicBoolean(true);
    List<Future<?>> callers = new ArrayList<>();
    try {
      Future<List<Double>> scraper =
          pool.submit(
              () -> {
                List<Double> seen = new ArrayList<>();
                start.await();
                while (calling.get()) {
                  seen.add(
                      Scrape.of(prometheus)
                          .value(
                              "resilience4j_circuitbreaker_calls_seconds_count",
                              "kind=\"successful\""));
                }
                return seen;
              });
      for (int t = 0; t < threads; t++) {
        callers.add(
            pool.submit(
                () -> {
                  start.await();
                  for (int i = 0; i < each; i++) {
                    if (i % 4 == 0) {
                      try {
                        guard.call(
                            () -> {
                              throw new IllegalArgumentException("a bad request");
                            });
                      } catch (IllegalArgumentException expected) {
                        // a business failure: counted as ignored
                      }
                    } else {
                      guard.call(() -> "ok");
                    }
                  }
                  return null;
                }));
      }
      start.countDown();
      for (Future<?> f : callers) {
        f.get(2, TimeUnit.MINUTES);
      }
      calling.set(false);
      List<Double> seen = scraper.get(1, TimeUnit.MINUTES);
      assertThat(seen).as("scrapes while the calls ran").isNotEmpty().isSorted();
    } finally {
      pool.shutdownNow();
    }
    double successes = threads * each * 3 / 4.0;
    double ignored = threads * each / 4.0;
    // A reading is reused for 100 ms: the exact totals show within that.
    await()
        .untilAsserted(
            () -> {
              Scrape s = Scrape.of(prometheus);
              assertThat(
                      s.value(
                          "resilience4j_circuitbreaker_calls_seconds_count", "kind=\"successful\""))
                  .isEqualTo(successes);
              assertThat(
                      s.value(
                          "resilience4j_circuitbreaker_calls_seconds_count", "kind=\"ignored\""))
                  .isEqualTo(ignored);
              assertThat(
                      s.value("resilience4j_circuitbreaker_calls_seconds_count", "kind=\"failed\""))
                  .isZero();
              assertThat(calls("successful").count()).isEqualTo(successes);
              assertThat(calls("ignored").count()).isEqualTo(ignored);
            });
    assertThat(guard.state()).isEqualTo(Guard.State.CLOSED);
  }
}
