package dev.outlast.core.fallback;

import static dev.outlast.core.fallback.EventDatabases.insert;
import static dev.outlast.core.fallback.EventDatabases.payload;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import dev.outlast.core.DependencyUnavailableException;
import dev.outlast.core.Guard;
import dev.outlast.core.GuardConfig;
import dev.outlast.core.health.Health;
import dev.outlast.core.health.HealthReport;
import dev.outlast.core.health.HealthStatus;
import dev.outlast.core.health.Importance;
import dev.outlast.core.jdbc.JdbcEventSource;
import dev.outlast.core.spi.EventSource;
import dev.outlast.core.spi.StreamEvent;
import java.sql.Connection;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Reads of event streams from a real PostgreSQL event store that lags a real MariaDB ledger (the
 * ledger service's stand-in), stitched by sequence; and the same reads while the store is killed,
 * then frozen.
 */
class StitchedReadOutageTest {
  private static final int LEDGER_EVENTS = 1_000;
  private static final int LAG = 150;

  private static final ThreadLocal<Boolean> STORE_CALLED = ThreadLocal.withInitial(() -> false);

  private static EventDatabases dbs;

  @BeforeAll
  static void start() throws Exception {
    dbs = EventDatabases.start();
    // The ledger has every event; the store, fed from it by CDC, is LAG events behind.
    for (String stream : List.of("order-1", "order-2")) {
      insert(dbs.ledgerDs, stream, 1, LEDGER_EVENTS);
      insert(dbs.storeDs, stream, 1, LEDGER_EVENTS - LAG);
    }
  }

  @AfterAll
  static void stop() {
    if (dbs != null) {
      dbs.close();
    }
  }

  private static Guard storeGuard() {
    return Guard.of(
        "event-store",
        GuardConfig.custom()
            .callTimeout(Duration.ofSeconds(1))
            .openWait(Duration.ofSeconds(2))
            .maxOpenWait(Duration.ofSeconds(4))
            .slidingWindowSize(10)
            .minimumNumberOfCalls(5)
            .maxAttempts(1) // the chain falls back at once; a retry would only add a wait
            .build());
  }

  private static StitchedReader reader(Guard storeGuard) {
    return reader(storeGuard, Guard.of("ledger", GuardConfig.database()));
  }

  private static StitchedReader reader(Guard storeGuard, Guard ledgerGuard) {
    EventSource jdbc = JdbcEventSource.builder(dbs.storeDs).timeout(Duration.ofSeconds(1)).build();
    // Notes on the reading thread whether the store was called at all.
    EventSource storeSource =
        new EventSource() {
          @Override
          public List<StreamEvent> read(String stream, long fromSequence, int limit)
              throws Exception {
            STORE_CALLED.set(true);
            return jdbc.read(stream, fromSequence, limit);
          }

          @Override
          public long highWaterMark(String stream) throws Exception {
            STORE_CALLED.set(true);
            return jdbc.highWaterMark(stream);
          }
        };
    EventSource ledgerSource =
        JdbcEventSource.builder(dbs.ledgerDs).timeout(Duration.ofSeconds(1)).build();
    return StitchedReader.over(
        FallbackChain.<EventSource>builder("order history")
            .source("event-store", storeSource, storeGuard)
            .source("ledger", ledgerSource, ledgerGuard)
            .build());
  }

  /** Waits until the readers have answered this many more reads. */
  private static void awaitMoreReads(List<String> answered, int more) {
    int target = answered.size() + more;
    await().atMost(Duration.ofSeconds(30)).until(() -> answered.size() >= target);
  }

  private static void assertComplete(StitchedReader.Result r, String stream, long from, long to) {
    List<StreamEvent> events = r.events();
    assertThat(events).hasSize((int) (to - from + 1));
    for (int i = 0; i < events.size(); i++) {
      StreamEvent e = events.get(i);
      assertThat(e.sequence()).isEqualTo(from + i);
      assertThat(e.payload()).isEqualTo(payload(stream, from + i));
    }
  }

  @Test
  void laggingStore_readsReturnEverySequenceOnceInOrder_storeFirstThenLedger() {
    StitchedReader reader = reader(storeGuard());
    long storeEnd = LEDGER_EVENTS - LAG;

    StitchedReader.Result all = reader.read("order-1", 1, 5_000);
    assertComplete(all, "order-1", 1, LEDGER_EVENTS);
    assertThat(all.parts())
        .containsExactly(
            new StitchedReader.Part("event-store", 1, storeEnd),
            new StitchedReader.Part("ledger", storeEnd + 1, LEDGER_EVENTS));
    assertThat(all.failures()).isEmpty();

    // Across the seam, inside the store only, inside the lag only, past the end.
    assertComplete(
        reader.read("order-1", storeEnd - 20, 50), "order-1", storeEnd - 20, storeEnd + 29);
    assertThat(reader.read("order-1", 10, 20).parts())
        .containsExactly(new StitchedReader.Part("event-store", 10, 29));
    assertThat(reader.read("order-1", storeEnd + 5, 10).parts())
        .containsExactly(new StitchedReader.Part("ledger", storeEnd + 5, storeEnd + 14));
    assertThat(reader.read("order-1", LEDGER_EVENTS + 1, 10).events()).isEmpty();
    assertThat(reader.read("no-such-stream", 1, 10).events()).isEmpty();
  }

  @Test
  void aGapInTheStore_isFilledFromTheLedger() throws Exception {
    try (Connection c = dbs.storeDs.getConnection();
        Statement s = c.createStatement()) {
      s.executeUpdate("DELETE FROM event WHERE stream = 'order-2' AND seq BETWEEN 300 AND 310");
    }
    StitchedReader.Result r = reader(storeGuard()).read("order-2", 1, 5_000);
    assertComplete(r, "order-2", 1, LEDGER_EVENTS);
    assertThat(r.parts())
        .containsExactly(
            new StitchedReader.Part("event-store", 1, 299),
            new StitchedReader.Part("ledger", 300, LEDGER_EVENTS));
  }

  @Test
  void aGapInEverySource_isReported_notReturnedShort() throws Exception {
    try (Connection c = dbs.ledgerDs.getConnection();
        Statement s = c.createStatement()) {
      s.executeUpdate("INSERT INTO event (stream, seq, payload) VALUES ('gappy', 1, x'01')");
      s.executeUpdate("INSERT INTO event (stream, seq, payload) VALUES ('gappy', 5, x'05')");
    }
    assertThatThrownBy(() -> reader(storeGuard()).read("gappy", 1, 10))
        .isInstanceOf(IncompleteReadException.class)
        .hasMessageContaining("events 2..5 exist")
        .satisfies(
            e -> {
              IncompleteReadException i = (IncompleteReadException) e;
              assertThat(i.missingFrom()).isEqualTo(2);
              assertThat(i.eventsBefore()).extracting(StreamEvent::sequence).containsExactly(1L);
            });
  }

  /**
   * Readers run all along while the store is killed, restarted, then frozen: every read returns the
   * whole range, and health reports the store down and the service degraded; a read that finds the
   * store's breaker open is answered by the ledger without waiting for the store's timeout (only
   * the breaker's few probes still try the store).
   */
  @Test
  void storeKilledThenFrozen_everyReadIsAnswered_andNoneWaitsOnceTheBreakerIsOpen()
      throws Exception {
    Guard storeGuard = storeGuard();
    Guard ledgerGuard = Guard.of("ledger", GuardConfig.database());
    StitchedReader reader = reader(storeGuard, ledgerGuard);
    Health health =
        Health.builder()
            .guard(storeGuard, Importance.DEPENDENT)
            .guard(ledgerGuard, Importance.CORE)
            .build();
    List<String> errors = Collections.synchronizedList(new ArrayList<>());
    List<Long> openReadNanos = Collections.synchronizedList(new ArrayList<>());
    List<String> answeredBy = Collections.synchronizedList(new ArrayList<>());
    AtomicBoolean stop = new AtomicBoolean();
    List<Thread> readers = new ArrayList<>();
    for (int t = 0; t < 4; t++) {
      Thread th =
          new Thread(
              () -> {
                while (!stop.get()) {
                  long from = 1L + ThreadLocalRandom.current().nextInt(LEDGER_EVENTS - 100);
                  STORE_CALLED.set(false);
                  long t0 = System.nanoTime();
                  try {
                    StitchedReader.Result r = reader.read("order-1", from, 100);
                    long nanos = System.nanoTime() - t0;
                    assertComplete(r, "order-1", from, from + 99);
                    answeredBy.add(r.parts().get(0).source());
                    // The store's guard refused the call, and the store was not called at all
                    // during this read (not a probe, nor a slow first call before the refusal).
                    if (!STORE_CALLED.get()
                        && r.failures().stream()
                            .anyMatch(f -> f.failure() instanceof DependencyUnavailableException)) {
                      openReadNanos.add(nanos);
                    }
                  } catch (RuntimeException | AssertionError e) {
                    errors.add(e.toString());
                  }
                }
              },
              "reader-" + t);
      th.start();
      readers.add(th);
    }
    try {
      awaitMoreReads(answeredBy, 300);
      assertThat(health.snapshot().status()).isEqualTo(HealthStatus.UP);
      dbs.store.kill();
      await().atMost(Duration.ofSeconds(20)).until(() -> storeGuard.state() == Guard.State.OPEN);
      HealthReport during = health.snapshot();
      // The store is down, but reads go on from the ledger: the service is degraded, not down.
      assertThat(during.status()).isEqualTo(HealthStatus.DEGRADED);
      assertThat(during.components().get(0).status()).isEqualTo(HealthStatus.DOWN);
      assertThat(during.components().get(0).reason()).contains("breaker open since");
      assertThat(during.components().get(1).status()).isEqualTo(HealthStatus.UP);
      assertThat(during.toJson()).contains("\"event-store\":{\"status\":\"DOWN\"");
      // The ledger answers: the service stays ready while its event store is out.
      assertThat(during.readiness()).isEqualTo(HealthStatus.UP);
      awaitMoreReads(answeredBy, 300);
      dbs.store.start();
      await().atMost(Duration.ofSeconds(30)).until(() -> storeGuard.state() == Guard.State.CLOSED);
      dbs.store.freeze();
      await().atMost(Duration.ofSeconds(30)).until(() -> storeGuard.state() == Guard.State.OPEN);
      // Until a probe has found the store still frozen and the breaker has opened again.
      Instant opened = storeGuard.snapshot().stateSince();
      await()
          .atMost(Duration.ofSeconds(30))
          .until(
              () ->
                  storeGuard.state() == Guard.State.OPEN
                      && storeGuard.snapshot().stateSince().isAfter(opened));
      assertThat(health.snapshot().components().get(0).status()).isNotEqualTo(HealthStatus.UP);
      dbs.store.thaw();
      await().atMost(Duration.ofSeconds(30)).until(() -> storeGuard.state() == Guard.State.CLOSED);
      assertThat(health.snapshot().status()).isEqualTo(HealthStatus.UP);
      awaitMoreReads(answeredBy, 300);
    } finally {
      stop.set(true);
      for (Thread th : readers) {
        th.join();
      }
    }
    assertThat(errors).as("reads that failed or came back incomplete").isEmpty();
    assertThat(answeredBy).contains("event-store", "ledger");
    assertThat(openReadNanos).as("reads while the store's breaker was open").isNotEmpty();
    long slowest = Collections.max(openReadNanos);
    // A read that waited on the store would take its timeout: 1 s (2 s on a silent socket). One
    // that skips it takes milliseconds, more while the restarting store and four readers share two
    // cores with the ledger.
    assertThat(Duration.ofNanos(slowest)).isLessThan(Duration.ofSeconds(1));
    System.out.printf(
        "stitched reads through store kill and freeze: %d reads, none failed; %d skipped the open"
            + " store, median %.1f ms, slowest %d ms%n",
        answeredBy.size(),
        openReadNanos.size(),
        openReadNanos.stream().sorted().toList().get(openReadNanos.size() / 2) / 1e6,
        slowest / 1_000_000);
  }
}
