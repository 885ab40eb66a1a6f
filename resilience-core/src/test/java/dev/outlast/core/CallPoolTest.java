package dev.outlast.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicIntegerArray;
import org.junit.jupiter.api.Test;

class CallPoolTest {

  /**
   * Eight threads hand over 20,000 tasks of random length while idle workers spin, park and retire
   * (a keep-alive of 1 ms makes retiring race the hand-offs): every task runs exactly once.
   */
  @Test
  void everyTaskRunsExactlyOnce_whileWorkersSpinParkAndRetire() throws Exception {
    CallPool pool = new CallPool("test-call-", 64, TimeUnit.MILLISECONDS.toNanos(1));
    int perThread = 2_500;
    AtomicIntegerArray runs = new AtomicIntegerArray(8 * perThread);
    CountDownLatch done = new CountDownLatch(8 * perThread);
    List<Thread> submitters = new ArrayList<>();
    for (int t = 0; t < 8; t++) {
      int base = t * perThread;
      Thread s =
          new Thread(
              () -> {
                for (int i = 0; i < perThread; i++) {
                  int id = base + i;
                  int work = ThreadLocalRandom.current().nextInt(4);
                  pool.execute(
                      () -> {
                        runs.incrementAndGet(id);
                        if (work == 0) {
                          LockSupportSleep.micros(200);
                        }
                        done.countDown();
                      });
                  if (work == 1) {
                    LockSupportSleep.micros(1_500); // long enough for idle workers to retire
                  }
                }
              });
      submitters.add(s);
      s.start();
    }
    for (Thread s : submitters) {
      s.join();
    }
    assertThat(done.await(30, TimeUnit.SECONDS)).isTrue();
    for (int i = 0; i < runs.length(); i++) {
      assertThat(runs.get(i)).as("task %d", i).isEqualTo(1);
    }
    await().atMost(Duration.ofSeconds(5)).until(() -> pool.threads() == 0);
  }

  @Test
  void refusesBeyondItsMaximum_andATaskThatThrowsKeepsItsThread() throws Exception {
    CallPool pool = new CallPool("test-call-", 2, TimeUnit.SECONDS.toNanos(30));
    CountDownLatch hold = new CountDownLatch(1);
    AtomicInteger ran = new AtomicInteger();
    Thread.UncaughtExceptionHandler quiet = (t, e) -> ran.addAndGet(100);
    Thread.setDefaultUncaughtExceptionHandler(quiet);
    try {
      pool.execute(
          () -> {
            throw new IllegalStateException("task bug");
          });
      // Awaitility would otherwise take the task's deliberate throw as its own failure.
      await().dontCatchUncaughtExceptions().until(() -> ran.get() == 100);
      pool.execute(
          () -> {
            try {
              hold.await();
            } catch (InterruptedException e) {
              Thread.currentThread().interrupt();
            }
          });
      pool.execute(
          () -> {
            try {
              hold.await();
            } catch (InterruptedException e) {
              Thread.currentThread().interrupt();
            }
          });
      assertThat(pool.threads()).as("the thread whose task threw was reused").isEqualTo(2);
      assertThatThrownBy(() -> pool.execute(ran::incrementAndGet))
          .isInstanceOf(RejectedExecutionException.class)
          .hasMessageContaining("2 guard call threads are busy");
      hold.countDown();
      await()
          .dontCatchUncaughtExceptions()
          .untilAsserted(() -> assertThat(pool.threads()).isEqualTo(2));
      CountDownLatch after = new CountDownLatch(1);
      await().dontCatchUncaughtExceptions().untilAsserted(() -> pool.execute(after::countDown));
      assertThat(after.await(5, TimeUnit.SECONDS)).isTrue();
    } finally {
      Thread.setDefaultUncaughtExceptionHandler(null);
    }
  }

  /** Sleeps without relying on the interrupt flag of a pool thread. */
  private static final class LockSupportSleep {
    static void micros(long us) {
      java.util.concurrent.locks.LockSupport.parkNanos(us * 1_000);
    }
  }
}
