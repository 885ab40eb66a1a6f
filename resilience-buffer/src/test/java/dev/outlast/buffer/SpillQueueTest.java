package dev.outlast.buffer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import dev.outlast.buffer.spi.Delivery;
import dev.outlast.buffer.spi.EventId;
import dev.outlast.buffer.spi.Outcome;
import dev.outlast.buffer.spi.Sink;
import dev.outlast.core.Guard;
import dev.outlast.core.GuardConfig;
import dev.outlast.core.health.ComponentHealth;
import dev.outlast.core.health.HealthCheck;
import dev.outlast.core.health.HealthStatus;
import dev.outlast.core.health.Importance;
import dev.outlast.core.spi.Codec;
import dev.outlast.testkit.ManualClock;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;
import javax.crypto.spec.SecretKeySpec;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SpillQueueTest {
  @TempDir Path dir;
  private final TestSink sink = new TestSink();
  private final List<SpillQueue<?>> opened = new ArrayList<>();

  static Guard guard() {
    return Guard.of(
        "sink",
        GuardConfig.from(GuardConfig.broker())
            .callTimeout(Duration.ofSeconds(2))
            .openWait(Duration.ofMillis(200))
            .maxOpenWait(Duration.ofMillis(400))
            .build());
  }

  private SpillQueue.Builder<String> builder() {
    return builder("test", dir.resolve("q"), sink);
  }

  /** A queue of strings in {@code directory} with quick retries and no disk reserve. */
  static SpillQueue.Builder<String> builder(String name, Path directory, Sink<String> sink) {
    return SpillQueue.<String>builder(name)
        .directory(directory)
        .codec(Codec.utf8())
        .sink(sink)
        .guard(guard())
        .retryBackoff(Duration.ofMillis(10), Duration.ofMillis(50))
        .minFreeDiskBytes(0);
  }

  private SpillQueue<String> open(SpillQueue.Builder<String> b) {
    SpillQueue<String> q = b.build();
    opened.add(q);
    return q;
  }

  @AfterEach
  void closeAll() {
    opened.forEach(SpillQueue::close);
  }

  private static List<String> events(int from, int count) {
    List<String> out = new ArrayList<>();
    for (int i = from; i < from + count; i++) {
      out.add("event-" + i);
    }
    return out;
  }

  @Test
  void writeAhead_deliversEveryEventInPublishOrder_withStableIds() {
    SpillQueue<String> q = open(builder());
    List<EventId> ids = new ArrayList<>();
    for (String e : events(0, 1_000)) {
      ids.add(q.publish(e));
    }
    await().untilAsserted(() -> assertThat(sink.events).hasSize(1_000));
    assertThat(sink.events).containsExactlyElementsOf(events(0, 1_000));
    assertThat(sink.ids).containsExactlyElementsOf(ids);
    assertThat(ids).extracting(EventId::producerId).containsOnly(q.producerId());
    await().untilAsserted(() -> assertThat(q.metrics().backlogEvents()).isZero());
  }

  @Test
  void sinkDown_eventsAreHeld_thenDeliveredInOrderWhenItIsBack() {
    sink.state = TestSink.State.DOWN;
    SpillQueue<String> q = open(builder());
    for (String e : events(0, 500)) {
      q.publish(e);
    }
    await().untilAsserted(() -> assertThat(q.metrics().sinkState()).isEqualTo(Guard.State.OPEN));
    assertThat(sink.events).isEmpty();
    assertThat(q.metrics().backlogEvents()).isEqualTo(500);
    sink.state = TestSink.State.UP;
    await()
        .atMost(Duration.ofSeconds(20))
        .untilAsserted(() -> assertThat(sink.events).hasSize(500));
    assertThat(sink.events).containsExactlyElementsOf(events(0, 500));
  }

  @Test
  void metrics_describeTheBacklogWhileTheSinkIsDown_andTheDrainAfter() throws Exception {
    ManualClock clock = new ManualClock();
    sink.state = TestSink.State.DOWN;
    long max = 64L << 20;
    SpillQueue<String> q = open(builder().clock(clock).maxDiskBytes(max).segmentBytes(4L << 20));
    SpillQueueMetrics empty = q.metrics();
    assertThat(empty.backlogEvents()).isZero();
    assertThat(empty.oldestEventAge()).isZero();
    assertThat(empty.bytesLeft()).isLessThanOrEqualTo(max).isGreaterThan(max - (8L << 20));
    String payload = "x".repeat(200);
    for (int i = 0; i < 2_000; i++) {
      q.publish(payload + i);
    }
    clock.advance(Duration.ofSeconds(42));
    await().untilAsserted(() -> assertThat(q.metrics().sinkState()).isEqualTo(Guard.State.OPEN));
    SpillQueueMetrics held = q.metrics();
    assertThat(held.name()).isEqualTo("test");
    assertThat(held.spilling()).isTrue();
    assertThat(held.published()).isEqualTo(2_000);
    assertThat(held.backlogEvents()).isEqualTo(2_000);
    assertThat(held.backlogBytes()).isGreaterThanOrEqualTo(2_000L * 200);
    assertThat(held.oldestEventAge()).isEqualTo(Duration.ofSeconds(42));
    assertThat(held.appendRate()).isPositive();
    assertThat(held.delivered()).isZero();
    assertThat(held.deliverRate()).isZero();
    assertThat(held.deadLetters()).isZero();
    assertThat(held.lost()).isEmpty();
    assertThat(held.bytesLeft()).isLessThanOrEqualTo(max - held.backlogBytes());

    sink.state = TestSink.State.UP;
    await()
        .atMost(Duration.ofSeconds(20))
        .untilAsserted(() -> assertThat(q.metrics().backlogEvents()).isZero());
    SpillQueueMetrics drained = q.metrics();
    assertThat(drained.delivered()).isEqualTo(2_000);
    assertThat(drained.deliverRate()).isPositive();
    assertThat(drained.oldestEventAge()).isZero();
    assertThat(drained.sinkState()).isNotEqualTo(Guard.State.OPEN);
    // Rates are measured from the sample before last (samples at least a second apart): with
    // nothing happening they fall to zero within a few seconds, however often they are read.
    await()
        .atMost(Duration.ofSeconds(5))
        .pollInterval(Duration.ofMillis(100))
        .untilAsserted(
            () -> {
              SpillQueueMetrics m = q.metrics();
              assertThat(m.deliverRate()).isZero();
              assertThat(m.appendRate()).isZero();
            });
  }

  @Test
  void restart_keepsTheBacklog_theProducerId_andTheSequence() {
    sink.state = TestSink.State.DOWN;
    SpillQueue<String> first = open(builder());
    EventId a = first.publish("a");
    EventId b = first.publish("b");
    first.close();
    sink.state = TestSink.State.UP;
    SpillQueue<String> second = open(builder());
    await().untilAsserted(() -> assertThat(sink.events).containsExactly("a", "b"));
    assertThat(sink.ids).containsExactly(a, b);
    EventId c = second.publish("c");
    assertThat(c.producerId()).isEqualTo(a.producerId());
    assertThat(c.sequence()).isGreaterThan(b.sequence());
    await().untilAsserted(() -> assertThat(sink.events).containsExactly("a", "b", "c"));
  }

  @Test
  void partialAcknowledgements_retryOnlyWhatFailed_andKeepTheOrder() {
    sink.state = TestSink.State.FLAKY;
    SpillQueue<String> q = open(builder().batchSize(50));
    for (String e : events(0, 2_000)) {
      q.publish(e);
    }
    await()
        .atMost(Duration.ofSeconds(60))
        .untilAsserted(() -> assertThat(sink.events).hasSize(2_000));
    assertThat(sink.events).containsExactlyElementsOf(events(0, 2_000));
  }

  @Test
  void poisonEvents_goToTheDeadLetterJournal_andTheLineGoesOn() {
    sink.rejects = e -> e.equals("event-3") || e.equals("event-7");
    SpillQueue<String> q = open(builder());
    for (String e : events(0, 10)) {
      q.publish(e);
    }
    await().untilAsserted(() -> assertThat(sink.events).hasSize(8));
    assertThat(sink.events).doesNotContain("event-3", "event-7");
    List<DeadLetter<String>> dead = q.deadLetters();
    assertThat(dead).extracting(DeadLetter::event).containsExactly("event-3", "event-7");
    assertThat(dead.get(0).reason()).isEqualTo("poison: event-3");
    assertThat(q.metrics().deadLetters()).isEqualTo(2);
  }

  @Test
  void spillOnFailure_deliversDirectly_spillsWhenTheSinkFails_andNothingOvertakes() {
    SpillQueue<String> q = open(builder().mode(SpillQueue.Mode.SPILL_ON_FAILURE));
    q.publish("direct-1");
    assertThat(sink.events).as("delivered before publish returned").containsExactly("direct-1");
    assertThat(q.metrics().spilling()).isFalse();
    sink.state = TestSink.State.DOWN;
    for (String e : events(0, 100)) {
      q.publish(e); // never fails: the first failure spills, the rest queue behind it
    }
    assertThat(q.metrics().spilling()).isTrue();
    assertThat(q.metrics().backlogEvents()).isEqualTo(100);
    sink.state = TestSink.State.UP;
    await()
        .atMost(Duration.ofSeconds(20))
        .untilAsserted(() -> assertThat(sink.events).hasSize(101));
    List<String> expected = new ArrayList<>(List.of("direct-1"));
    expected.addAll(events(0, 100));
    assertThat(sink.events).containsExactlyElementsOf(expected);
    await().untilAsserted(() -> assertThat(q.metrics().spilling()).isFalse());
    q.publish("direct-2");
    assertThat(sink.events).last().isEqualTo("direct-2");
  }

  @Test
  void flappingSink_withSeveralProducers_deliversEveryEvent_inEachProducersOrder()
      throws Exception {
    sink.state = TestSink.State.FLAKY;
    SpillQueue<String> q = open(builder().mode(SpillQueue.Mode.SPILL_ON_FAILURE).batchSize(20));
    ExecutorService producers = Executors.newFixedThreadPool(4);
    try {
      List<Future<?>> done = new ArrayList<>();
      for (int p = 0; p < 4; p++) {
        int producer = p;
        done.add(
            producers.submit(
                () -> {
                  for (int i = 0; i < 500; i++) {
                    q.publish("p" + producer + "-" + i);
                    if (i % 100 == 0) {
                      sink.state =
                          sink.state == TestSink.State.FLAKY
                              ? TestSink.State.DOWN
                              : TestSink.State.FLAKY;
                    }
                  }
                }));
      }
      for (Future<?> f : done) {
        f.get();
      }
    } finally {
      producers.shutdownNow();
    }
    sink.state = TestSink.State.UP;
    await()
        .atMost(Duration.ofSeconds(60))
        .untilAsserted(() -> assertThat(sink.events).hasSize(2_000));
    for (int p = 0; p < 4; p++) {
      String prefix = "p" + p + "-";
      List<String> mine = sink.events.stream().filter(e -> e.startsWith(prefix)).toList();
      List<String> expected = new ArrayList<>();
      for (int i = 0; i < 500; i++) {
        expected.add(prefix + i);
      }
      assertThat(mine).as("producer %d", p).containsExactlyElementsOf(expected);
    }
  }

  @Test
  void powerLossDurability_groupCommits_andDelivers() throws Exception {
    SpillQueue<String> q = open(builder().durability(SpillQueue.Durability.POWER_LOSS));
    List<CompletableFuture<EventId>> pending = new ArrayList<>();
    for (String e : events(0, 2_000)) {
      pending.add(q.publishAsync(e));
    }
    for (CompletableFuture<EventId> f : pending) {
      f.get();
    }
    assertThat(q.publish("last").sequence()).isGreaterThan(pending.get(1_999).get().sequence());
    await().untilAsserted(() -> assertThat(sink.events).hasSize(2_001));
  }

  @Test
  void encryption_keepsPayloadsUnreadableOnDisk_andDeliversThem() throws Exception {
    SecretKeySpec key = new SecretKeySpec(new byte[16], "AES");
    sink.state = TestSink.State.DOWN;
    SpillQueue<String> q = open(builder().encryption(key));
    q.publish("a secret card number 4111111111111111");
    q.close();
    try (Stream<Path> files = Files.walk(dir.resolve("q"))) {
      for (Path f : (Iterable<Path>) files::iterator) {
        if (Files.isRegularFile(f)) {
          assertThat(new String(Files.readAllBytes(f), StandardCharsets.ISO_8859_1))
              .as(f.toString())
              .doesNotContain("4111111111111111");
        }
      }
    }
    sink.state = TestSink.State.UP;
    open(builder().encryption(key));
    await()
        .untilAsserted(
            () -> assertThat(sink.events).containsExactly("a secret card number 4111111111111111"));
  }

  @Test
  void badInput_isRefusedBeforeAnythingIsWritten() {
    SpillQueue<String> q = open(builder().maxEventBytes(10));
    assertThatThrownBy(() -> q.publish(nullEvent()))
        .isInstanceOf(NullPointerException.class)
        .hasMessage("event");
    assertThatThrownBy(() -> q.publish(""))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("encodes to no bytes")
        .hasMessageContaining("allowEmptyEvents()");
    assertThatThrownBy(() -> q.publish("eleven char"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("11 bytes, more than maxEventBytes (10)");
    assertThat(q.metrics().published()).isZero();
    assertThat(q.metrics().backlogEvents()).isZero();
  }

  /**
   * Events of the largest allowed size are journaled and delivered, at the default maximum and at a
   * raised one, encrypted too: Chronicle refuses a document above a quarter of its block size, so
   * the queue sizes its blocks for the largest record.
   */
  @Test
  void eventsOfTheMaximumSize_areJournaledAndDelivered() {
    sink.state = TestSink.State.DOWN;
    String atDefault = "d".repeat(1 << 20);
    String raised = "r".repeat(6 << 20);
    SecretKeySpec key = new SecretKeySpec(new byte[16], "AES");
    SpillQueue<String> q = open(builder().encryption(key));
    q.publish(atDefault);
    q.close();
    SpillQueue<String> big = open(builder().maxEventBytes(6 << 20).encryption(key));
    big.publish(raised);
    assertThatThrownBy(() -> big.publish(raised + "x"))
        .hasMessageContaining("more than maxEventBytes");
    sink.state = TestSink.State.UP;
    await().untilAsserted(() -> assertThat(sink.events).hasSize(2));
    assertThat(sink.events.get(0)).isEqualTo(atDefault);
    assertThat(sink.events.get(1)).isEqualTo(raised);
  }

  @Test
  void health_followsTheSinkAndTheBacklog() {
    sink.state = TestSink.State.DOWN;
    SpillQueue<String> q = open(builder());
    HealthCheck health = q.health(Importance.DEPENDENT);
    assertThat(health.check().status()).isEqualTo(HealthStatus.UP);
    q.publish("a");
    q.publish("b");
    await()
        .untilAsserted(
            () -> {
              ComponentHealth h = health.check();
              // The sink is out but the queue takes events and holds them: degraded, not down.
              assertThat(h.status()).as(h.reason()).isEqualTo(HealthStatus.DEGRADED);
              assertThat(h.reason()).contains("backlog 2 events");
              assertThat(h.kind()).isEqualTo("queue");
              assertThat(h.processFailure()).isFalse();
              assertThat(h.details())
                  .containsEntry("backlogEvents", 2L)
                  .containsEntry("spilling", true)
                  .containsEntry("published", 2L)
                  .containsEntry("delivered", 0L)
                  .containsKeys("state", "since", "oldestAgeMillis", "backlogBytes", "bytesLeft");
              assertThat((Long) h.details().get("backlogBytes")).isPositive();
            });
    sink.state = TestSink.State.UP;
    // The breaker closes after its probes (one delivery each) have succeeded; until then the sink
    // is reported half-open, DEGRADED.
    // One event at a time until they have: on a busy machine a delivery may still find the breaker
    // open (its wait not over) and take the journal's path, which is not a probe.
    AtomicInteger after = new AtomicInteger();
    await()
        .atMost(Duration.ofSeconds(30))
        .untilAsserted(
            () -> {
              q.publish("after " + after.getAndIncrement());
              await().until(() -> q.metrics().backlogEvents() == 0);
              ComponentHealth h = health.check();
              assertThat(h.status()).as(h.reason()).isEqualTo(HealthStatus.UP);
            });
    assertThat(health.check().reason()).contains("backlog 0 events");
  }

  @Test
  void health_isDownWhileTheQueueCannotTakeEvents_andDegradedAgainWhenRoomIsMade() {
    sink.state = TestSink.State.DOWN;
    SpillQueue<String> q =
        open(builder().maxDiskBytes(4L << 20).segmentBytes(1L << 20).whenFull(FullPolicy.fail()));
    HealthCheck health = q.health(Importance.CORE);
    String payload = "y".repeat(8_000);
    assertThatThrownBy(
            () -> {
              for (int i = 0; i < 10_000; i++) {
                q.publish(payload);
              }
            })
        .isInstanceOf(SpillQueueFullException.class);
    ComponentHealth full = health.check();
    assertThat(full.status()).as(full.reason()).isEqualTo(HealthStatus.DOWN);
    assertThat(full.reason()).contains("full: the last event found no room");
    assertThat(full.processFailure()).as("a full disk is no reason to restart").isFalse();
    sink.state = TestSink.State.UP;
    await()
        .atMost(Duration.ofSeconds(20))
        .untilAsserted(
            () -> {
              ComponentHealth h = health.check();
              assertThat(h.status()).as(h.reason()).isNotEqualTo(HealthStatus.DOWN);
              assertThat(h.details()).containsEntry("backlogEvents", 0L);
            });
  }

  @Test
  void writeAhead_healthyAndDrained_isUpAndNotSpilling_andHeldEventsDegradeIt() throws Exception {
    SpillQueue<String> q = open(builder().mode(SpillQueue.Mode.WRITE_AHEAD));
    HealthCheck health = q.health(Importance.CORE);
    // Every event passes through the journal in this mode: a short backlog is how it works, not
    // a problem, and health must not flap with it.
    for (String e : events(0, 300)) {
      q.publish(e);
      ComponentHealth h = health.check();
      assertThat(h.status()).as(h.reason()).isEqualTo(HealthStatus.UP);
    }
    assertThat(q.awaitDrained(Duration.ofSeconds(20))).isTrue();
    assertThat(q.metrics().spilling()).isFalse();
    assertThat(health.check().details()).containsEntry("spilling", false);
    sink.state = TestSink.State.DOWN;
    q.publish("held");
    await()
        .untilAsserted(
            () -> {
              ComponentHealth h = health.check();
              assertThat(h.status()).as(h.reason()).isEqualTo(HealthStatus.DEGRADED);
              assertThat(q.metrics().spilling()).isTrue();
            });
  }

  @Test
  void aCodecThatThrows_isABadInputError() {
    Codec<String> broken =
        new Codec<>() {
          @Override
          public byte[] encode(String value) {
            throw new IllegalStateException("cannot encode " + value);
          }

          @Override
          public String decode(byte[] bytes) {
            return "";
          }
        };
    SpillQueue<String> q = open(builder().codec(broken));
    assertThatThrownBy(() -> q.publish("x"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("the codec cannot encode the event")
        .hasMessageContaining("cannot encode x");
  }

  /**
   * A codec whose bug is an Error (a recursive encoder overflowing its stack): the publisher gets a
   * clear error and nothing is written; an event it cannot decode goes to the dead letters and the
   * line goes on, instead of holding every event behind it.
   */
  @Test
  void aCodecThatThrowsErrors_failsOnlyTheEventsItCannotHandle() {
    Codec<String> recursive =
        new Codec<>() {
          @Override
          public byte[] encode(String value) {
            if (value.equals("deep")) {
              throw new StackOverflowError("encoder recursed");
            }
            return value.getBytes(java.nio.charset.StandardCharsets.UTF_8);
          }

          @Override
          public String decode(byte[] bytes) {
            String s = new String(bytes, java.nio.charset.StandardCharsets.UTF_8);
            if (s.equals("event-3")) {
              throw new StackOverflowError("decoder recursed");
            }
            return s;
          }
        };
    SpillQueue<String> q = open(builder().codec(recursive));
    assertThatThrownBy(() -> q.publish("deep"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("the codec cannot encode the event")
        .hasMessageContaining("encoder recursed");
    for (String e : events(0, 6)) {
      q.publish(e);
    }
    await().untilAsserted(() -> assertThat(sink.events).hasSize(5));
    assertThat(sink.events).containsExactly("event-0", "event-1", "event-2", "event-4", "event-5");
    assertThat(q.deadLetters()).hasSize(1);
    assertThat(q.deadLetters().get(0).reason()).contains("decoder recursed");
  }

  @Test
  void badConfiguration_isRefusedAtBuildTime() {
    assertThatThrownBy(() -> SpillQueue.<String>builder("x").build())
        .hasMessageContaining("needs directory(...)");
    assertThatThrownBy(() -> SpillQueue.builder("bad name")).hasMessageContaining("'bad name'");
    assertThatThrownBy(() -> builder().maxEventBytes(0)).hasMessageContaining("was 0");
    assertThatThrownBy(() -> builder().maxDiskBytes(100)).hasMessageContaining("at least 4 MiB");
    assertThatThrownBy(() -> builder().batchSize(0)).hasMessageContaining("batchSize");
    assertThatThrownBy(() -> builder().drainRate(-1)).hasMessageContaining("drainRate");
    assertThatThrownBy(() -> builder().segmentBytes(1 << 20).maxEventBytes(2 << 20).build())
        .hasMessageContaining("does not fit a segment");
    assertThatThrownBy(() -> builder().encryption(new SecretKeySpec(new byte[16], "DES")))
        .hasMessageContaining("must be an AES key");
  }

  @Test
  void aDirectoryHeldByAnotherQueue_isRefusedWithAClearError() {
    open(builder());
    assertThatThrownBy(() -> open(builder()))
        .hasMessageContaining("is in use by another spill queue in this JVM");
  }

  @Test
  void closed_refusesToPublish_andCloseIsIdempotent() {
    SpillQueue<String> q = open(builder());
    q.close();
    q.close();
    assertThatThrownBy(() -> q.publish("x")).hasMessageContaining("is closed");
  }

  @Test
  void drainedSegments_areDeleted() throws Exception {
    SpillQueue<String> q = open(builder().segmentBytes(1 << 20).maxEventBytes(4096));
    String big = "x".repeat(4_000);
    for (int i = 0; i < 1_000; i++) {
      q.publish(big + i);
    }
    await()
        .atMost(Duration.ofSeconds(30))
        .untilAsserted(() -> assertThat(sink.events).hasSize(1_000));
    await()
        .untilAsserted(
            () -> {
              try (Stream<Path> segs = Files.list(dir.resolve("q/journal"))) {
                assertThat(segs.count()).as("segments left").isLessThanOrEqualTo(2);
              }
            });
  }

  @Test
  void theSinkSeesStableIdsAndAttemptNumbers_onRedelivery() {
    List<Delivery<String>> seen = new ArrayList<>();
    Sink<String> failsTwice =
        batch -> {
          synchronized (seen) {
            seen.addAll(batch);
          }
          return CompletableFuture.completedFuture(
              batch.stream()
                  .map(d -> d.attempt() < 3 ? Outcome.retry("not yet") : Outcome.ok())
                  .toList());
        };
    SpillQueue<String> q = open(builder().sink(failsTwice));
    EventId id = q.publish("once");
    await()
        .untilAsserted(
            () -> {
              synchronized (seen) {
                assertThat(seen).extracting(Delivery::attempt).containsExactly(1, 2, 3);
                assertThat(seen).extracting(Delivery::id).containsOnly(id);
              }
            });
  }

  @Test
  void aCrashBeforeASegmentsFirstRecord_isHarmless_andLaterRecordsAreDelivered() throws Exception {
    sink.state = TestSink.State.DOWN;
    SpillQueue<String> first = open(builder());
    first.publish("a");
    first.publish("b");
    first.close();
    // A second run opens a fresh segment and "dies" before writing to it: a copy of the directory
    // taken then is what a kill -9 would leave.
    SpillQueue<String> second = open(builder());
    Path crashed = dir.resolve("crashed");
    copyTree(dir.resolve("q"), crashed);
    second.close();
    sink.state = TestSink.State.UP;
    SpillQueue<String> third = open(builder().directory(crashed));
    third.publish("c");
    await().untilAsserted(() -> assertThat(sink.events).containsExactly("a", "b", "c"));
    // Records appended after the reader caught up must come too (they were not, when the reader
    // took the crashed segment for the one being written).
    third.publish("d");
    await().untilAsserted(() -> assertThat(sink.events).containsExactly("a", "b", "c", "d"));
    assertThat(crashed.resolve("quarantine")).doesNotExist();
  }

  @Test
  void aDeletedLeaseFile_doesNotMakeTheQueueReuseSequenceNumbers() throws Exception {
    sink.state = TestSink.State.DOWN;
    SpillQueue<String> first = open(builder());
    first.publish("a");
    EventId b = first.publish("b");
    first.close();
    Files.delete(dir.resolve("q/sequence.lease"));
    sink.state = TestSink.State.UP;
    SpillQueue<String> second = open(builder());
    EventId c = second.publish("c");
    assertThat(c.sequence()).isGreaterThan(b.sequence());
    await().untilAsserted(() -> assertThat(sink.events).containsExactly("a", "b", "c"));
    assertThat(sink.ids).doesNotHaveDuplicates();
  }

  private static void copyTree(Path from, Path to) throws Exception {
    try (Stream<Path> all = Files.walk(from)) {
      for (Path p : (Iterable<Path>) all::iterator) {
        Files.copy(p, to.resolve(from.relativize(p).toString()));
      }
    }
  }

  @SuppressWarnings("NullAway") // testing the null check
  private static String nullEvent() {
    return null;
  }
}
