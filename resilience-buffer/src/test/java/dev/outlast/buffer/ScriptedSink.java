package dev.outlast.buffer;

import dev.outlast.buffer.spi.Delivery;
import dev.outlast.buffer.spi.EventId;
import dev.outlast.buffer.spi.Outcome;
import dev.outlast.buffer.spi.Sink;
import java.net.ConnectException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;

/**
 * The sink of the model-based tests: a test switches its behaviour between calls (up, down, slow,
 * hanging, throwing), and it rejects for good every event whose text ends in {@value #POISON}.
 *
 * <p>It stores as a broker that deduplicates by sequence number does: per producer it keeps the
 * highest sequence number stored and answers OK, without storing, for anything at or below it. So a
 * repeat after a retry is harmless, and an event that arrives behind a newer one is lost although
 * the queue was told it landed: what the checks of the model then find. A slow answer is stored at
 * once and acknowledged later, like a write that landed before its reply.
 *
 * <p>Holds no lock: its decisions assume the queue's promise of one call at a time, which {@link
 * InFlightProbe} checks. What it stored is kept in concurrent queues so that the test thread can
 * read it while the queue runs.
 */
final class ScriptedSink implements Sink<String> {
  static final String POISON = "!";

  /** How the next calls behave. */
  enum Behaviour {
    UP,
    /** Every call's stage fails, as with a broker that cannot be reached. */
    DOWN,
    /** Stores at once, answers after {@link #slowMillis}, which is below the call timeout. */
    SLOW,
    /** Never answers: the queue's time limit must cancel the stage. */
    HANG,
    /** {@code deliver} throws a RuntimeException. */
    THROWS_RUNTIME,
    /** {@code deliver} throws an Error. */
    THROWS_ERROR
  }

  /** The events stored, each once, in the order they were stored. */
  final ConcurrentLinkedQueue<String> stored = new ConcurrentLinkedQueue<>();

  /** Every event the sink answered REJECT for, on every delivery. */
  final ConcurrentLinkedQueue<String> rejected = new ConcurrentLinkedQueue<>();

  volatile Behaviour behaviour = Behaviour.UP;
  volatile long slowMillis = 10;

  // Touched by deliver only: one call at a time, on the queue's lane thread.
  private final Map<String, Long> highest = new HashMap<>();

  @Override
  public CompletionStage<List<Outcome>> deliver(List<Delivery<String>> batch) {
    Behaviour now = behaviour;
    switch (now) {
      case DOWN -> {
        return CompletableFuture.failedFuture(new ConnectException("sink down (scripted)"));
      }
      case HANG -> {
        return new CompletableFuture<>();
      }
      case THROWS_RUNTIME -> throw new IllegalStateException("a sink bug (scripted)");
      case THROWS_ERROR -> throw new AssertionError("a sink bug (scripted Error)");
      case UP, SLOW -> {}
    }
    List<Outcome> outcomes = new ArrayList<>(batch.size());
    for (Delivery<String> d : batch) {
      if (d.event().endsWith(POISON)) {
        rejected.add(d.event());
        outcomes.add(Outcome.reject("poison (scripted): " + d.event()));
        continue;
      }
      EventId id = d.id();
      long last = highest.getOrDefault(id.producerId(), 0L);
      if (id.sequence() > last) {
        highest.put(id.producerId(), id.sequence());
        stored.add(d.event());
      }
      outcomes.add(Outcome.ok());
    }
    if (now == Behaviour.SLOW) {
      Executor later = CompletableFuture.delayedExecutor(slowMillis, TimeUnit.MILLISECONDS);
      return CompletableFuture.supplyAsync(() -> outcomes, later);
    }
    return CompletableFuture.completedFuture(outcomes);
  }

  @Override
  public String name() {
    return "scripted";
  }
}
