package dev.outlast.buffer;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.LongStream;
import java.util.stream.Stream;
import org.jspecify.annotations.Nullable;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

/**
 * Model-based tests of the spill queue (issue 14): random sequences of publish, publishAsync,
 * poison events, a sink that goes down, slows, hangs, throws, close and reopen (switching mode or
 * durability), and bursts from four threads, each checked against a model of what must have been
 * delivered ({@link ModelRun} lists the checks).
 *
 * <p>Every sequence is one test named by its seed, and its steps follow from the seed alone, so a
 * failure is reproduced with {@code -Doutlast.model.only=<seed>}. CI runs {@value #DEFAULT_TRIES}
 * sequences from {@value #DEFAULT_SEED}, the four pairs of mode and durability in turn (a sequence
 * may switch them on reopen); a bigger campaign: {@code -Doutlast.model.tries=5000}, another one:
 * {@code -Doutlast.model.seed=<n>}. A failing sequence is shrunk (steps dropped while it still
 * fails, a bounded number of reruns) and both forms are in the failure message.
 *
 * <p>Plain JUnit: the generator, the runner and the shrinker are the few lines here, with no
 * property-testing library behind them.
 */
class SpillQueueModelTest {
  static final int DEFAULT_TRIES = 500;
  static final long DEFAULT_SEED = 20_140_014L;
  private static final int SHRINK_RUNS = 40;

  // Statistics for the summary; the sequences run one at a time.
  private static int sequences;
  private static long steps;
  private static long acknowledged;
  private static long sinkCalls;
  private static long nanos;
  private static long slowestNanos;
  private static long slowestSeed;

  @TestFactory
  Stream<DynamicTest> randomSequences_keepEveryAcknowledgedEvent_inOrder() {
    long base = Long.getLong("outlast.model.seed", DEFAULT_SEED);
    int tries = Integer.getInteger("outlast.model.tries", DEFAULT_TRIES);
    String only = System.getProperty("outlast.model.only");
    LongStream seeds =
        only != null
            ? LongStream.of(Long.parseLong(only))
            : LongStream.range(0, tries).map(i -> base + i);
    return seeds.mapToObj(
        seed -> {
          List<ModelAction> actions = ModelAction.sequence(seed);
          return DynamicTest.dynamicTest(
              "seed "
                  + seed
                  + ": "
                  + start(seed).mode
                  + ", "
                  + start(seed).durability
                  + ", "
                  + actions.size()
                  + " steps",
              () -> check(seed, actions));
        });
  }

  /** The mode and durability a sequence starts with: the four pairs in turn. */
  private record Start(SpillQueue.Mode mode, SpillQueue.Durability durability) {}

  private static Start start(long seed) {
    int pair = (int) Math.floorMod(seed, 4L);
    return new Start(
        (pair & 1) == 0 ? SpillQueue.Mode.WRITE_AHEAD : SpillQueue.Mode.SPILL_ON_FAILURE,
        (pair & 2) == 0 ? SpillQueue.Durability.PROCESS_CRASH : SpillQueue.Durability.POWER_LOSS);
  }

  @AfterAll
  static void summary() {
    System.out.printf(
        "model: %d sequences, %d steps, %d events acknowledged, %d sink calls in %.1f s;"
            + " slowest: seed %d, %d ms%n",
        sequences,
        steps,
        acknowledged,
        sinkCalls,
        nanos / 1e9,
        slowestSeed,
        TimeUnit.NANOSECONDS.toMillis(slowestNanos));
  }

  private static void check(long seed, List<ModelAction> actions) throws Exception {
    long started = System.nanoTime();
    Failure failure = run(seed, actions);
    long took = System.nanoTime() - started;
    sequences++;
    steps += actions.size();
    nanos += took;
    if (took > slowestNanos) {
      slowestNanos = took;
      slowestSeed = seed;
    }
    if (failure == null) {
      return;
    }
    List<ModelAction> smallest = shrink(seed, actions);
    throw new AssertionError(
        "seed "
            + seed
            + " (rerun: -Doutlast.model.only="
            + seed
            + "), "
            + start(seed)
            + ", batch and sink timings from the seed\nsteps: "
            + actions
            + "\nshrunk to (still failing): "
            + smallest
            + "\nwhat ran:\n  "
            + failure.history()
            + "\nfailure: "
            + failure.cause(),
        failure.cause());
  }

  private record Failure(String history, Throwable cause) {}

  /** Runs one sequence in a fresh directory; null if every check held. */
  private static @Nullable Failure run(long seed, List<ModelAction> actions) throws Exception {
    Path dir = ModelRun.freshDirectory(seed);
    Start s = start(seed);
    ModelRun run = new ModelRun(dir, s.mode(), s.durability(), seed);
    try {
      run.open();
      for (ModelAction a : actions) {
        run.apply(a);
      }
      run.finish();
    } catch (AssertionError | RuntimeException e) {
      return new Failure(run.history(), e);
    } finally {
      run.close();
      acknowledged += run.acknowledgedCount();
      sinkCalls += run.sinkCalls();
    }
    Journal.deleteTree(dir); // kept when a check failed, to look at
    return null;
  }

  /**
   * Drops chunks of steps, halving the chunk, while the sequence still fails; bounded in reruns
   * because a sequence against real threads may fail only sometimes.
   */
  private static List<ModelAction> shrink(long seed, List<ModelAction> actions) throws Exception {
    List<ModelAction> current = actions;
    int runs = 0;
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
    for (int chunk = Math.max(1, current.size() / 2); chunk >= 1; chunk /= 2) {
      for (int from = 0; from < current.size() && runs < SHRINK_RUNS; ) {
        if (System.nanoTime() - deadline > 0) {
          return current;
        }
        List<ModelAction> candidate = new ArrayList<>(current.subList(0, from));
        candidate.addAll(current.subList(Math.min(current.size(), from + chunk), current.size()));
        runs++;
        if (run(seed, candidate) != null) {
          current = candidate;
        } else {
          from += chunk;
        }
      }
    }
    return current;
  }
}
