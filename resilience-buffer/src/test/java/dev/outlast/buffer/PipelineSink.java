package dev.outlast.buffer;

import dev.outlast.buffer.spi.Delivery;
import dev.outlast.buffer.spi.Outcome;
import dev.outlast.buffer.spi.Sink;
import java.net.ConnectException;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.LongSupplier;

/**
 * The sink of the pipelined-lane model test: it takes {@code limit} batches in flight and answers
 * them out of order, from a scheduler thread after a random delay; per call it may answer ok, retry
 * a tail of the batch (as an ordered producer does), retry scattered events (as a bulk API does),
 * fail the stage, never answer (the queue's time limit must cancel it) or throw. Events whose text
 * ends in {@value ScriptedSink#POISON} are rejected for good.
 *
 * <p>Events are {@code e:<n>}, published by one thread with n counting up from 1, so their first
 * deliveries must come in exactly that order with none left out. What it checks as it goes, kept in
 * {@link #violations}: first deliveries in publish order, none skipped; calls in flight never above
 * the limit; the queue's acknowledged position (read with {@code position}) never moving back and
 * never past an event that was not answered ok or reject in a stage the queue could read.
 *
 * <p>Holds no lock: {@code deliver} runs on the lane's thread only (its own fields), answers on the
 * scheduler's thread touch only concurrent collections and atomics.
 */
final class PipelineSink implements Sink<String> {
  /** What a call does. */
  enum Answer {
    OK,
    TAIL_RETRY,
    SCATTERED_RETRY,
    FAIL,
    HANG,
    THROW
  }

  final int limit;
  final ConcurrentLinkedQueue<String> violations = new ConcurrentLinkedQueue<>();

  /** Events answered ok (or reject, for poison) in a stage that completed normally. */
  final Set<Long> answered = ConcurrentHashMap.newKeySet();

  final Set<String> answeredOk = ConcurrentHashMap.newKeySet();
  final AtomicInteger inFlight = new AtomicInteger();
  final AtomicInteger mostInFlight = new AtomicInteger();
  final AtomicInteger calls = new AtomicInteger();
  volatile boolean healthy;
  volatile LongSupplier position = () -> 0;

  private final ScheduledExecutorService answers =
      Executors.newSingleThreadScheduledExecutor(
          r -> {
            Thread t = new Thread(r, "pipeline-sink-answers");
            t.setDaemon(true);
            return t;
          });
  private final SplittableRandom random; // lane thread only
  private final int[] weights;
  private long highestFirst; // lane thread only: the highest n handed over so far
  private final Set<Long> handed = new java.util.HashSet<>(); // lane thread only: sequences
  private long lastPosition; // lane thread only

  PipelineSink(int limit, long seed) {
    this.limit = limit;
    this.random = new SplittableRandom(seed);
    SplittableRandom w = new SplittableRandom(seed * 31 + 7);
    this.weights = new int[] {10, w.nextInt(4), w.nextInt(4), w.nextInt(3), w.nextInt(2), 1};
  }

  @Override
  public int maxBatchesInFlight() {
    return limit;
  }

  @Override
  public CompletionStage<List<Outcome>> deliver(List<Delivery<String>> batch) {
    calls.incrementAndGet();
    checkPosition();
    for (Delivery<String> d : batch) {
      handed.add(d.id().sequence());
      long n = number(d.event());
      if (n > highestFirst) {
        if (n != highestFirst + 1) {
          violations.add(
              "first delivery of e:" + n + " after e:" + highestFirst + " (skipped or reordered)");
        }
        highestFirst = n;
      }
    }
    Answer answer = healthy ? Answer.OK : pick();
    if (answer == Answer.THROW) {
      throw new IllegalStateException("a sink bug (scripted)");
    }
    int now = inFlight.incrementAndGet();
    mostInFlight.accumulateAndGet(now, Math::max);
    if (now > limit) {
      violations.add(now + " calls in flight, the sink takes " + limit);
    }
    CompletableFuture<List<Outcome>> stage = new CompletableFuture<>();
    // Counted as ended just before it is answered (the queue may start its next call as soon as the
    // stage is complete, before callbacks run), or when the queue cancels it (time limit).
    AtomicBoolean ended = new AtomicBoolean();
    Runnable end =
        () -> {
          if (ended.compareAndSet(false, true)) {
            inFlight.decrementAndGet();
          }
        };
    var unused = stage.whenComplete((v, t) -> end.run());
    if (answer == Answer.HANG) {
      return stage;
    }
    List<Outcome> outcomes = new ArrayList<>(batch.size());
    int tail = answer == Answer.TAIL_RETRY ? random.nextInt(batch.size() + 1) : batch.size();
    for (int i = 0; i < batch.size(); i++) {
      String e = batch.get(i).event();
      boolean retry = i >= tail || (answer == Answer.SCATTERED_RETRY && random.nextInt(3) == 0);
      outcomes.add(
          retry
              ? Outcome.retry("scripted")
              : e.endsWith(ScriptedSink.POISON) ? Outcome.reject("poison") : Outcome.ok());
    }
    long delayMicros = random.nextInt(6_000);
    var unusedToo =
        answers.schedule(
            () -> {
              end.run();
              if (answer == Answer.FAIL) {
                stage.completeExceptionally(new ConnectException("sink down (scripted)"));
                return;
              }
              List<Long> marked = new ArrayList<>();
              List<String> markedOk = new ArrayList<>();
              for (int i = 0; i < batch.size(); i++) {
                Outcome o = outcomes.get(i);
                if (o.kind() != Outcome.Kind.RETRY) {
                  long seq = batch.get(i).id().sequence();
                  if (answered.add(seq)) {
                    marked.add(seq);
                  }
                }
                if (o.kind() == Outcome.Kind.OK && answeredOk.add(batch.get(i).event())) {
                  markedOk.add(batch.get(i).event());
                }
              }
              // Marked before the queue can read them (completing the stage may let the queue
              // drain and the test look before this thread goes on); taken back if the queue gave
              // up on the call first.
              if (!stage.complete(outcomes)) {
                marked.forEach(answered::remove);
                markedOk.forEach(answeredOk::remove);
              }
            },
            delayMicros,
            TimeUnit.MICROSECONDS);
    return stage;
  }

  /** The acknowledged position never moves back, nor past an event not answered ok or reject. */
  void checkPosition() {
    long p = position.getAsLong();
    if (p < lastPosition) {
      violations.add("acknowledged position moved back from " + lastPosition + " to " + p);
    }
    // Sequence numbers have gaps (a reopened queue starts a new block), so only those of events.
    for (long s = Math.max(1, lastPosition + 1); s <= p; s++) {
      if (!answered.contains(s) && (handed.contains(s) || s == p)) {
        violations.add("acknowledged position " + p + " passed event " + s + ", never answered");
        break;
      }
    }
    lastPosition = Math.max(lastPosition, p);
  }

  private Answer pick() {
    int total = 0;
    for (int w : weights) {
      total += w;
    }
    int r = random.nextInt(total);
    for (int i = 0; i < weights.length; i++) {
      if (r < weights[i]) {
        return Answer.values()[i];
      }
      r -= weights[i];
    }
    return Answer.OK;
  }

  static long number(String event) {
    String digits = event.substring(2);
    if (digits.endsWith(ScriptedSink.POISON)) {
      digits = digits.substring(0, digits.length() - ScriptedSink.POISON.length());
    }
    return Long.parseLong(digits);
  }

  void shutdown() {
    answers.shutdownNow();
  }

  @Override
  public String name() {
    return "pipeline";
  }
}
