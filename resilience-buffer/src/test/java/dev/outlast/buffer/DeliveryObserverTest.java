package dev.outlast.buffer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@link SpillQueue#observeDeliveries}: told of every sink call, off the lane, contained. */
class DeliveryObserverTest {
  @TempDir Path dir;
  private final TestSink sink = new TestSink();

  private SpillQueue<String> queue(int batchSize) {
    return SpillQueueTest.builder("observed", dir.resolve("q"), sink)
        .mode(SpillQueue.Mode.SPILL_ON_FAILURE)
        .batchSize(batchSize)
        .build();
  }

  private static int sum(List<DeliveryObserver.SinkCall> calls, String what) {
    return calls.stream()
        .mapToInt(
            c ->
                switch (what) {
                  case "events" -> c.events();
                  case "delivered" -> c.delivered();
                  case "rejected" -> c.rejected();
                  case "retried" -> c.retried();
                  default -> c.failed() ? 1 : 0;
                })
        .sum();
  }

  @Test
  void observer_isToldOfEverySinkCall_withWhatCameOfIt() throws Exception {
    List<DeliveryObserver.SinkCall> seen = new CopyOnWriteArrayList<>();
    try (SpillQueue<String> q = queue(10)) {
      DeliveryObserver.Registration r = q.observeDeliveries(seen::add);
      sink.rejects = "poison"::equals;
      q.publish("a");
      q.publish("poison");
      q.publish("b");
      sink.state = TestSink.State.DOWN;
      q.publish("c"); // the direct call fails; the event is journaled
      sink.state = TestSink.State.UP;
      assertThat(q.awaitDrained(Duration.ofSeconds(10))).isTrue();
      await()
          .untilAsserted(
              () -> {
                assertThat(sum(seen, "delivered")).isEqualTo(3);
                assertThat(sum(seen, "rejected")).isEqualTo(1);
                assertThat(sum(seen, "failed")).isGreaterThanOrEqualTo(1);
              });
      for (DeliveryObserver.SinkCall c : seen) {
        assertThat(c.events()).isEqualTo(c.delivered() + c.rejected() + c.retried());
        assertThat(c.durationNanos()).isNotNegative();
        if (c.delivered() == 0) {
          assertThat(c.oldestDeliveredAgeMillis()).isEqualTo(-1);
        }
        if (c.failed()) {
          assertThat(c.retried()).isEqualTo(c.events());
          assertThat(c.oldestDeliveredAgeMillis()).isEqualTo(-1);
        }
        if (c.delivered() > 0) {
          assertThat(c.oldestDeliveredAgeMillis()).isNotNegative();
        }
      }
      assertThat(r.failures()).isZero();
      assertThat(r.dropped()).isZero();
      r.close();
      int before = seen.size();
      q.publish("after close");
      assertThat(sink.events).contains("after close");
      // Records are handed out every 50 ms: within 300 ms it would have been told.
      await()
          .during(Duration.ofMillis(300))
          .atMost(Duration.ofSeconds(2))
          .untilAsserted(() -> assertThat(seen).hasSize(before));
    }
  }

  @Test
  void aThrowingObserver_isContainedAndCounted_andDeliveryAndOtherObserversGoOn() throws Exception {
    AtomicInteger told = new AtomicInteger();
    try (SpillQueue<String> q = queue(10)) {
      DeliveryObserver.Registration throwing =
          q.observeDeliveries(
              c -> {
                throw new IllegalStateException("observer bug");
              });
      DeliveryObserver.Registration counting = q.observeDeliveries(c -> told.incrementAndGet());
      for (int i = 0; i < 5; i++) {
        q.publish("e" + i);
      }
      assertThat(sink.events).containsExactly("e0", "e1", "e2", "e3", "e4");
      await().untilAsserted(() -> assertThat(told.get()).isEqualTo(sink.batchSizes.size()));
      assertThat(throwing.failures()).isEqualTo(sink.batchSizes.size());
      assertThat(counting.failures()).isZero();
    }
  }

  @Test
  void aHungObserver_doesNotHoldUpDelivery_andWhatDoesNotFitIsDroppedAndCounted() throws Exception {
    CountDownLatch release = new CountDownLatch(1);
    int events = DeliveryNotifier.CAPACITY + 500;
    try (SpillQueue<String> q = queue(1)) {
      DeliveryObserver.Registration hung =
          q.observeDeliveries(
              c -> {
                try {
                  release.await();
                } catch (InterruptedException e) {
                  Thread.currentThread().interrupt();
                }
              });
      for (int i = 0; i < events; i++) {
        q.publish("e" + i);
      }
      assertThat(sink.events).hasSize(events);
      // One record is with the hung observer (unless it had not woken yet), CAPACITY wait for it,
      // the rest were dropped.
      assertThat(hung.dropped()).isBetween(499L, 500L);
      release.countDown();
    }
  }

  @Test
  void aRegistrationOnAClosedQueue_isNeverCalled() {
    SpillQueue<String> q = queue(10);
    q.close();
    List<DeliveryObserver.SinkCall> seen = new CopyOnWriteArrayList<>();
    DeliveryObserver.Registration r = q.observeDeliveries(seen::add);
    assertThat(r.failures()).isZero();
    r.close();
    assertThat(seen).isEmpty();
  }

  @Test
  void anObserverThatLeavesTheInterruptFlagSet_doesNotMakeTheNotifierSpin() throws Exception {
    AtomicReference<Thread> notifier = new AtomicReference<>();
    AtomicInteger told = new AtomicInteger();
    try (SpillQueue<String> q = queue(1)) {
      var unused =
          q.observeDeliveries(
              call -> {
                notifier.set(Thread.currentThread());
                told.incrementAndGet();
                // What "catch InterruptedException -> restore the flag" leaves behind.
                Thread.currentThread().interrupt();
              });
      q.publish("a");
      assertThat(q.awaitDrained(Duration.ofSeconds(10))).isTrue();
      await().until(() -> told.get() > 0);
      Thread t = Objects.requireNonNull(notifier.get());
      // Parked between rounds, not running: with the flag left set every park returned at once.
      int parked = 0;
      for (int i = 0; i < 40; i++) {
        Thread.State st = t.getState();
        if (st == Thread.State.TIMED_WAITING || st == Thread.State.WAITING) {
          parked++;
        }
        Thread.sleep(5);
      }
      assertThat(parked).as("samples of 40 in which the notifier was parked").isGreaterThan(30);
      assertThat(t.isInterrupted()).isFalse();
    }
  }
}
