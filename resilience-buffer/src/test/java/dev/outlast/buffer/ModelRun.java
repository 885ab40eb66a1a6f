package dev.outlast.buffer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.outlast.buffer.spi.EventId;
import dev.outlast.core.Guard;
import dev.outlast.core.GuardConfig;
import dev.outlast.core.spi.Codec;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicReference;
import org.jspecify.annotations.Nullable;

/**
 * One model-based test sequence against a real queue: the queue in a directory of its own, the
 * {@link ScriptedSink} behind an {@link InFlightProbe}, and the model: which events were published
 * and which of them the queue acknowledged (publish returned, or its stage completed normally).
 *
 * <p>After every step: at most one sink call in flight; the sink stored nothing that was not
 * published and no poison; each publishing thread's events were stored in the order it published
 * them. At a drain and at the end: every acknowledged event is stored, or, if poison, in the
 * dead-letter journal; the backlog is 0. At every close: publish is refused, and every stage of
 * publishAsync completes within a few seconds.
 *
 * <p>Event texts are {@code <stream>:<index>}, with {@value ScriptedSink#POISON} at the end for
 * poison; the stream is {@code m} for the test thread and {@code b<burst>.<thread>} for the threads
 * of a burst, and the index counts up within the stream.
 *
 * <p>Not threadsafe: one test thread drives it (a burst starts and joins its own threads).
 */
final class ModelRun implements AutoCloseable {
  static final int BURST_THREADS = 4;
  static final int BURST_EVENTS = 50;
  static final Duration CALL_TIMEOUT = Duration.ofMillis(200);
  private static final long STAGE_WAIT_SECONDS = 5;
  private static final Duration DRAIN_WAIT = Duration.ofSeconds(30);

  private final Path dir;
  private final int batchSize;
  private final ScriptedSink sink = new ScriptedSink();
  private final InFlightProbe<String> probe = new InFlightProbe<>(sink);
  private SpillQueue.Mode mode;
  private SpillQueue.Durability durability;
  private @Nullable SpillQueue<String> queue;

  private final Set<String> published = ConcurrentHashMap.newKeySet();
  private final Set<String> acknowledged = ConcurrentHashMap.newKeySet();
  private final List<Async> pending = new ArrayList<>();
  private final List<String> steps = new ArrayList<>();
  private int mainIndex;
  private int refusedIndex;
  private int bursts;
  private int opens;

  private record Async(String event, CompletableFuture<EventId> stage) {}

  ModelRun(Path dir, SpillQueue.Mode mode, SpillQueue.Durability durability, long seed) {
    this.dir = dir;
    this.mode = mode;
    this.durability = durability;
    SplittableRandom random = new SplittableRandom(seed ^ 0x9E3779B97F4A7C15L);
    this.batchSize = new int[] {1, 3, 20}[random.nextInt(3)];
    this.sink.slowMillis = 2L + random.nextInt(9);
  }

  /** What happened so far, for a failure message. */
  String history() {
    return String.join("\n  ", steps);
  }

  void open() {
    opens++;
    Guard guard =
        Guard.of(
            "scripted",
            GuardConfig.from(GuardConfig.broker())
                .callTimeout(CALL_TIMEOUT)
                .openWait(Duration.ofMillis(50))
                .maxOpenWait(Duration.ofMillis(100))
                .build());
    queue =
        SpillQueue.<String>builder("model")
            .directory(dir)
            .codec(Codec.utf8())
            .sink(probe)
            .guard(guard)
            .mode(mode)
            .durability(durability)
            .batchSize(batchSize)
            .retryBackoff(Duration.ofMillis(5), Duration.ofMillis(20))
            .segmentBytes(1L << 20)
            .minFreeDiskBytes(0)
            .build();
    steps.add("open #" + opens + ": " + mode + ", " + durability + ", batch " + batchSize);
  }

  private SpillQueue<String> queue() {
    SpillQueue<String> q = queue;
    if (q == null) {
      throw new IllegalStateException("the queue is not open");
    }
    return q;
  }

  void apply(ModelAction action) throws Exception {
    steps.add(action.toString());
    switch (action.kind()) {
      case PUBLISH -> publish("m:" + ++mainIndex, false);
      case PUBLISH_ASYNC -> publish("m:" + ++mainIndex, true);
      case POISON -> publish("m:" + ++mainIndex + ScriptedSink.POISON, action.arg() == 1);
      case SINK -> sink.behaviour = ModelAction.BEHAVIOURS.get(action.arg());
      case COLLECT -> collect(false);
      case DRAIN -> drainAndCheck();
      case REOPEN -> {
        closeAndCheck();
        if ((action.arg() & 1) != 0) {
          mode =
              mode == SpillQueue.Mode.WRITE_AHEAD
                  ? SpillQueue.Mode.SPILL_ON_FAILURE
                  : SpillQueue.Mode.WRITE_AHEAD;
        }
        if ((action.arg() & 2) != 0) {
          durability =
              durability == SpillQueue.Durability.PROCESS_CRASH
                  ? SpillQueue.Durability.POWER_LOSS
                  : SpillQueue.Durability.PROCESS_CRASH;
        }
        open();
      }
      case BURST -> burst();
    }
    checkAlways();
  }

  /** Heals the sink, drains, checks everything, closes. */
  void finish() throws Exception {
    steps.add("finish");
    drainAndCheck();
    closeAndCheck();
    checkAlways();
  }

  private void publish(String event, boolean async) {
    published.add(event);
    if (async) {
      pending.add(new Async(event, queue().publishAsync(event)));
    } else {
      queue().publish(event);
      acknowledged.add(event);
    }
  }

  /**
   * Waits for every stage so far. While the queue is open each must complete normally; after close
   * a stage may also fail with IllegalStateException (its event was neither delivered nor
   * journaled).
   */
  private void collect(boolean closed) throws InterruptedException {
    for (Async a : pending) {
      try {
        a.stage().get(STAGE_WAIT_SECONDS, TimeUnit.SECONDS);
        acknowledged.add(a.event());
      } catch (TimeoutException e) {
        throw new AssertionError(
            "the stage of publishAsync("
                + a.event()
                + ") is incomplete after "
                + STAGE_WAIT_SECONDS
                + " s"
                + (closed ? ", the queue closed" : ""));
      } catch (ExecutionException e) {
        if (!(closed && e.getCause() instanceof IllegalStateException)) {
          throw new AssertionError(
              "the stage of publishAsync(" + a.event() + ") failed: " + e.getCause(), e);
        }
      }
    }
    pending.clear();
  }

  private void drainAndCheck() throws InterruptedException {
    sink.behaviour = ScriptedSink.Behaviour.UP;
    collect(false);
    SpillQueue<String> q = queue();
    if (!q.awaitDrained(DRAIN_WAIT)) {
      throw new AssertionError("not drained within " + DRAIN_WAIT + ": " + q.metrics());
    }
    assertThat(q.metrics().backlogEvents()).as("backlog once drained").isZero();
    Set<String> stored = new HashSet<>(sink.stored);
    Set<String> deadLetters = new HashSet<>();
    for (DeadLetter<String> d : q.deadLetters()) {
      deadLetters.add(String.valueOf(d.event()));
    }
    List<String> missing = new ArrayList<>();
    for (String e : acknowledged) {
      boolean poison = e.endsWith(ScriptedSink.POISON);
      if (poison ? !deadLetters.contains(e) : !stored.contains(e)) {
        missing.add(e);
      }
    }
    assertThat(missing)
        .as("acknowledged events neither stored nor (if poison) dead-lettered")
        .isEmpty();
    assertThat(deadLetters)
        .as("dead letters: only poison that was published")
        .allMatch(e -> e.endsWith(ScriptedSink.POISON) && published.contains(e));
  }

  /**
   * Closes the queue: afterwards publish is refused, and no stage is left incomplete. Undelivered
   * events stay in the directory for the next open.
   */
  private void closeAndCheck() throws InterruptedException {
    SpillQueue<String> q = queue();
    q.close();
    q.close(); // idempotent
    String refused = "closed:" + ++refusedIndex;
    assertThatThrownBy(() -> q.publish(refused))
        .as("publish after close")
        .isInstanceOf(IllegalStateException.class);
    assertThatThrownBy(() -> q.publishAsync(refused))
        .as("publishAsync after close")
        .isInstanceOf(IllegalStateException.class);
    collect(true);
    queue = null;
  }

  private void burst() throws InterruptedException {
    int burst = ++bursts;
    SpillQueue<String> q = queue();
    CountDownLatch start = new CountDownLatch(1);
    AtomicReference<@Nullable Throwable> failure = new AtomicReference<>();
    List<Thread> threads = new ArrayList<>();
    for (int t = 0; t < BURST_THREADS; t++) {
      String stream = "b" + burst + "." + t;
      Thread thread =
          new Thread(
              () -> {
                try {
                  start.await();
                  for (int i = 1; i <= BURST_EVENTS; i++) {
                    String event = stream + ":" + i;
                    published.add(event);
                    q.publish(event);
                    acknowledged.add(event);
                  }
                } catch (Throwable e) {
                  failure.compareAndSet(null, e);
                }
              },
              "model-burst-" + stream);
      thread.start();
      threads.add(thread);
    }
    start.countDown();
    for (Thread thread : threads) {
      thread.join(TimeUnit.SECONDS.toMillis(60));
      assertThat(thread.isAlive()).as("%s still publishing after 60 s", thread.getName()).isFalse();
    }
    Throwable t = failure.get();
    if (t != null) {
      throw new AssertionError("a burst publisher failed: " + t, t);
    }
  }

  /** What must hold after every step, whatever the sink does. */
  private void checkAlways() {
    assertThat(probe.mostInFlight()).as("sink calls in flight at once").isLessThanOrEqualTo(1);
    Map<String, Integer> lastIndex = new HashMap<>();
    for (String e : sink.stored) {
      assertThat(published).as("stored events were published").contains(e);
      assertThat(e).as("stored events are not poison").doesNotEndWith(ScriptedSink.POISON);
      int colon = e.indexOf(':');
      String stream = e.substring(0, colon);
      int index = Integer.parseInt(e.substring(colon + 1));
      Integer before = lastIndex.put(stream, index);
      if (before != null && before >= index) {
        throw new AssertionError(
            "stream "
                + stream
                + " stored out of order: "
                + index
                + " after "
                + before
                + "; stored: "
                + sink.stored);
      }
    }
  }

  /** Sink calls made, for the summary. */
  long sinkCalls() {
    return probe.calls.get();
  }

  int acknowledgedCount() {
    return acknowledged.size();
  }

  @Override
  public void close() {
    SpillQueue<String> q = queue;
    queue = null;
    if (q != null) {
      q.close();
    }
  }

  /** A fresh directory under java.io.tmpdir (the test JVM's own, under target/). */
  static Path freshDirectory(long seed) throws IOException {
    return Files.createTempDirectory("model-" + Long.toHexString(seed) + "-");
  }
}
