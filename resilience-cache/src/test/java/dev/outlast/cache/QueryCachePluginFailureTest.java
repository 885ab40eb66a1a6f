package dev.outlast.cache;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import dev.outlast.core.Guard;
import dev.outlast.core.GuardConfig;
import dev.outlast.core.health.Importance;
import dev.outlast.core.spi.Codec;
import dev.outlast.testkit.ManualClock;
import java.net.ConnectException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Each callback of the cache, throwing anything ({@link Error}s included) from 8 threads at once:
 * no guard permit or load slot leaks, the key loads again once the callback behaves, the failure is
 * logged once (then counted), and the cache's health names it.
 */
class QueryCachePluginFailureTest {
  private static final int THREADS = 8;
  private static final int PERMITS = 8;
  private static final Freshness FRESHNESS =
      Freshness.of(Duration.ofSeconds(10), Duration.ofSeconds(10), Duration.ofSeconds(60));

  private final ManualClock clock = new ManualClock();
  private final AtomicBoolean broken = new AtomicBoolean(true);
  private final ExecutorService pool = Executors.newFixedThreadPool(THREADS);
  private final List<QueryCache<?, ?>> built = new ArrayList<>();

  @AfterEach
  void tearDown() {
    built.forEach(QueryCache::close);
    pool.shutdownNow();
  }

  private Guard guard() {
    return Guard.of(
        "mysql",
        GuardConfig.custom()
            .maxAttempts(1)
            .slidingWindowSize(1_000)
            .minimumNumberOfCalls(1_000)
            .maxConcurrentCalls(PERMITS)
            .callTimeout(Duration.ofMillis(500))
            .build());
  }

  private QueryCache.Builder<String, Optional<String>> builder(Guard guard) {
    return QueryCache.<String, Optional<String>>builder("plugins")
        .guard(guard)
        .freshness(FRESHNESS)
        .failureBackoff(Duration.ofSeconds(1), Duration.ofSeconds(1))
        .maxStaleWait(Duration.ofMillis(50))
        .clock(clock)
        .ticker(ClockTicker.of(clock));
  }

  /** A failure of the kind a buggy callback throws: an Error, not an exception. */
  private Error bug(String what) {
    return new AssertionError(what + " bug");
  }

  /** The value of a key while the database answers. */
  private Optional<String> row(String key) {
    return Optional.of("row " + key);
  }

  private QueryCache<String, Optional<String>> cacheBrokenIn(String plugin, Guard guard) {
    QueryCache.Builder<String, Optional<String>> b = builder(guard);
    Loader<String, Optional<String>> loader = this::row;
    switch (plugin) {
      case "loader" ->
          loader =
              k -> {
                if (broken.get()) {
                  throw bug("loader");
                }
                return row(k);
              };
      case "tagger" ->
          b.tags(
              (k, v) -> {
                if (broken.get()) {
                  throw bug("tagger");
                }
                return Set.of("t");
              });
      case "freshnessOf" ->
          b.freshnessOf(
              (k, v) -> {
                if (broken.get()) {
                  throw bug("freshnessOf");
                }
                return FRESHNESS;
              });
      case "absentWhen" ->
          b.negativeFreshness(Freshness.of(Duration.ofSeconds(1), Duration.ofSeconds(10)))
              .absentWhen(
                  v -> {
                    if (broken.get()) {
                      throw bug("absentWhen");
                    }
                    return v.isEmpty();
                  });
      default -> throw new IllegalArgumentException(plugin);
    }
    QueryCache<String, Optional<String>> c = b.build(loader);
    built.add(c);
    return c;
  }

  @ParameterizedTest(name = "{0}")
  @ValueSource(strings = {"loader", "tagger", "freshnessOf", "absentWhen"})
  void aCallbackThrowingAnError_leaksNothing_isLoggedOnce_andTheKeysLoadAgain(String plugin)
      throws Exception {
    Guard guard = guard();
    QueryCache<String, Optional<String>> cache = cacheBrokenIn(plugin, guard);
    CountDownLatch go = new CountDownLatch(1);
    List<Future<Integer>> workers = new ArrayList<>();
    for (int t = 0; t < THREADS; t++) {
      int thread = t;
      workers.add(
          pool.submit(
              () -> {
                go.await();
                int failures = 0;
                for (int i = 0; i < 50; i++) {
                  String key = "k" + (thread * 50 + i) % 20;
                  try {
                    cache.get(key);
                  } catch (NoUsableValueException e) {
                    failures++;
                  }
                }
                return failures;
              }));
    }
    go.countDown();
    int failures = 0;
    for (Future<Integer> w : workers) {
      failures += w.get();
    }
    assertThat(failures).as("every read failed: the callback always throws").isEqualTo(400);
    assertNothingHeld(cache, guard);
    PluginFailures reported = cache.pluginFailures();
    assertThat(reported.count(plugin)).as("failures recorded").isGreaterThanOrEqualTo(20);
    assertThat(reported.loggedLines(plugin)).as("log lines, for all those failures").isEqualTo(1);
    assertThat(cache.health(Importance.DEPENDENT).check().reason())
        .contains("the " + plugin + " failed")
        .contains(plugin + " bug");
    assertThat(cache.health(Importance.DEPENDENT).check().status().name()).isEqualTo("DEGRADED");

    broken.set(false);
    clock.advance(Duration.ofSeconds(2)); // past every key's backoff
    for (int i = 0; i < 20; i++) {
      assertThat(cache.get("k" + i)).contains("row k" + i);
    }
    assertNothingHeld(cache, guard);
  }

  @Test
  void aWeigherThatThrows_countsTheEntryAsOne_andIsReported() {
    Guard guard = guard();
    QueryCache<String, Optional<String>> cache =
        builder(guard)
            .maximumWeight(
                100,
                (k, v) -> {
                  throw bug("weigher");
                })
            .build(this::row);
    built.add(cache);
    for (int i = 0; i < 10; i++) {
      assertThat(cache.get("k" + i)).contains("row k" + i);
    }
    assertThat(cache.peek("k0")).isPresent();
    assertThat(cache.pluginFailures().loggedLines("weigher")).isEqualTo(1);
    assertThat(cache.health(Importance.DEPENDENT).check().reason()).contains("the weigher failed");
    assertNothingHeld(cache, guard);
  }

  @Test
  void aCodecThatThrowsOnWrite_leavesThatEntryOut_andTheNextWritesGoOn(@TempDir Path dir) {
    Codec<Optional<String>> values =
        new Codec<>() {
          @Override
          public byte[] encode(Optional<String> v) {
            if (v.orElse("").contains("bad")) {
              throw bug("codec");
            }
            return Codec.utf8().encode(v.orElse(""));
          }

          @Override
          public Optional<String> decode(byte[] bytes) {
            return Optional.of(Codec.utf8().decode(bytes));
          }
        };
    QueryCache.Builder<String, Optional<String>> b =
        builder(guard()).snapshot(dir.resolve("plugins.snapshot"), Codec.utf8(), values);
    try (QueryCache<String, Optional<String>> cache = b.build(this::row)) {
      cache.get("good");
      cache.get("bad");
      for (int i = 0; i < 5; i++) {
        cache.writeSnapshot();
      }
      assertThat(cache.pluginFailures().count("value codec")).isEqualTo(5);
      assertThat(cache.pluginFailures().loggedLines("value codec")).isEqualTo(1);
      assertThat(cache.health(Importance.DEPENDENT).check().reason())
          .contains("the value codec failed 5 times");
    }
    try (QueryCache<String, Optional<String>> restarted = b.build(this::row)) {
      assertThat(restarted.stats().restoredFromSnapshot()).isEqualTo(1);
      assertThat(restarted.peek("good")).isPresent();
    }
  }

  @Test
  void aCodecThatThrowsAnErrorOnRead_refusesTheSnapshot_andTheCacheStarts(@TempDir Path dir)
      throws Exception {
    Codec<Optional<String>> values =
        new Codec<>() {
          @Override
          public byte[] encode(Optional<String> v) {
            return Codec.utf8().encode(v.orElse(""));
          }

          @Override
          public Optional<String> decode(byte[] bytes) {
            throw new LinkageError("codec class missing");
          }
        };
    QueryCache.Builder<String, Optional<String>> b =
        builder(guard()).snapshot(dir.resolve("plugins.snapshot"), Codec.utf8(), values);
    try (QueryCache<String, Optional<String>> cache = b.build(this::row)) {
      cache.get("k");
    }
    try (QueryCache<String, Optional<String>> restarted = b.build(this::row)) {
      assertThat(restarted.stats().restoredFromSnapshot()).isZero();
      assertThat(restarted.health(Importance.DEPENDENT).check().reason())
          .contains("the value codec failed");
      assertThat(restarted.get("k")).contains("row k");
    }
    try (Stream<Path> files = Files.list(dir)) {
      assertThat(files.map(p -> p.getFileName().toString()))
          .anyMatch(n -> n.startsWith("plugins.snapshot.rejected-"));
    }
  }

  @Test
  void aClassifierThatThrows_leaksNoPermit_andTheCacheGoesOn() {
    Guard guard =
        Guard.of(
            "mysql",
            GuardConfig.custom()
                .maxAttempts(1)
                .slidingWindowSize(1_000)
                .minimumNumberOfCalls(1_000)
                .maxConcurrentCalls(PERMITS)
                .callTimeout(Duration.ofMillis(500))
                .classifier(
                    t -> {
                      throw bug("classifier");
                    })
                .build());
    QueryCache<String, Optional<String>> cache =
        builder(guard)
            .build(
                k -> {
                  if (broken.get()) {
                    throw new ConnectException("Connection refused");
                  }
                  return row(k);
                });
    built.add(cache);
    for (int i = 0; i < 20; i++) {
      String key = "k" + i;
      assertThatThrownBy(() -> cache.get(key)).isInstanceOf(NoUsableValueException.class);
    }
    assertNothingHeld(cache, guard);
    broken.set(false);
    clock.advance(Duration.ofSeconds(2));
    assertThat(cache.get("k0")).contains("row k0");
    assertNothingHeld(cache, guard);
  }

  /** No load in flight, no slot held, and every permit of the guard can be taken. */
  private static void assertNothingHeld(QueryCache<?, ?> cache, Guard guard) {
    await()
        .atMost(Duration.ofSeconds(5))
        .untilAsserted(
            () -> {
              assertThat(cache.loadsInFlight())
                  .as("in flight, active, slots")
                  .containsExactly(0, 0, 0);
              List<Guard.Permit> permits = new ArrayList<>();
              try {
                for (int i = 0; i < PERMITS; i++) {
                  permits.add(Objects.requireNonNull(guard.tryEnter(), "permit " + i));
                }
              } finally {
                permits.forEach(Guard.Permit::release);
              }
            });
  }
}
