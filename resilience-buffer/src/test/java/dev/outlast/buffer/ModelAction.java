package dev.outlast.buffer;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/**
 * One step of a model-based test sequence, and the generator of whole sequences. A sequence is a
 * pure function of its seed: the same seed gives the same steps (their timing against the queue's
 * threads is what varies).
 *
 * @param kind what the step does
 * @param arg the sink's behaviour for {@link Kind#SINK}; for {@link Kind#REOPEN} bit 0 switches the
 *     mode and bit 1 the durability; for {@link Kind#POISON} 1 publishes asynchronously
 */
record ModelAction(Kind kind, int arg) {
  enum Kind {
    /** {@code publish}, one event; it must return. */
    PUBLISH,
    /** {@code publishAsync}, one event; the stage is collected later. */
    PUBLISH_ASYNC,
    /** Publishes one event the sink rejects for good: it must end in the dead-letter journal. */
    POISON,
    /** Changes how the sink behaves from its next call on. */
    SINK,
    /** Waits for every stage of publishAsync so far: each must complete, normally. */
    COLLECT,
    /** Heals the sink and waits until the queue is drained; then checks all of the model. */
    DRAIN,
    /** Closes the queue (checking that nothing is left waiting) and opens it again. */
    REOPEN,
    /** Four threads publish {@value ModelRun#BURST_EVENTS} events each at once. */
    BURST
  }

  /** Weights of the kinds, in their order: mostly publishing, with faults and restarts between. */
  private static final int[] WEIGHTS = {30, 14, 5, 22, 5, 3, 8, 3};

  private static final List<Kind> KINDS = List.of(Kind.values());
  static final List<ScriptedSink.Behaviour> BEHAVIOURS = List.of(ScriptedSink.Behaviour.values());

  static List<ModelAction> sequence(long seed) {
    SplittableRandom random = new SplittableRandom(seed);
    int length = 4 + random.nextInt(21);
    int total = 0;
    for (int w : WEIGHTS) {
      total += w;
    }
    List<ModelAction> actions = new ArrayList<>(length);
    for (int i = 0; i < length; i++) {
      int pick = random.nextInt(total);
      int k = 0;
      while (pick >= WEIGHTS[k]) {
        pick -= WEIGHTS[k];
        k++;
      }
      Kind kind = KINDS.get(k);
      int arg =
          switch (kind) {
            case SINK -> random.nextInt(BEHAVIOURS.size());
            case REOPEN -> random.nextInt(4);
            case POISON -> random.nextInt(2);
            default -> 0;
          };
      actions.add(new ModelAction(kind, arg));
    }
    return actions;
  }

  @Override
  public String toString() {
    return switch (kind) {
      case SINK -> "sink " + BEHAVIOURS.get(arg);
      case REOPEN ->
          "reopen"
              + ((arg & 1) != 0 ? " +switch mode" : "")
              + ((arg & 2) != 0 ? " +switch durability" : "");
      case POISON -> arg == 1 ? "poison async" : "poison";
      default -> kind.name().toLowerCase(java.util.Locale.ROOT);
    };
  }
}
