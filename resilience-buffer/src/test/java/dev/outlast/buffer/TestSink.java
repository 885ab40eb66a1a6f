package dev.outlast.buffer;

import dev.outlast.buffer.spi.Delivery;
import dev.outlast.buffer.spi.EventId;
import dev.outlast.buffer.spi.Outcome;
import dev.outlast.buffer.spi.Sink;
import java.net.ConnectException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.function.Predicate;

/**
 * An in-process sink a test steers: up, down (every call fails), flaky (random calls fail, random
 * events come back for retry), and events it rejects for good. Records what it took, in order. Not
 * synchronized: the queue promises one call at a time, and {@link InFlightProbe} checks it.
 */
final class TestSink implements Sink<String> {
  enum State {
    UP,
    DOWN,
    FLAKY
  }

  final List<EventId> ids = Collections.synchronizedList(new ArrayList<>());
  final List<String> events = Collections.synchronizedList(new ArrayList<>());
  final List<Integer> batchSizes = Collections.synchronizedList(new ArrayList<>());
  volatile State state = State.UP;
  volatile Predicate<String> rejects = e -> false;
  private final Random random = new Random(7);

  @Override
  public CompletionStage<List<Outcome>> deliver(List<Delivery<String>> batch) {
    batchSizes.add(batch.size());
    if (state == State.DOWN || (state == State.FLAKY && random.nextInt(4) == 0)) {
      return CompletableFuture.failedFuture(new ConnectException("sink down"));
    }
    List<Outcome> outcomes = new ArrayList<>(batch.size());
    boolean failedOne = false;
    for (Delivery<String> d : batch) {
      if (rejects.test(d.event())) {
        outcomes.add(Outcome.reject("poison: " + d.event()));
      } else if (failedOne || (state == State.FLAKY && random.nextInt(10) == 0)) {
        // Like a broker that keeps order: once one fails, the rest of the batch is not taken.
        failedOne = true;
        outcomes.add(Outcome.retry("overloaded"));
      } else {
        ids.add(d.id());
        events.add(d.event());
        outcomes.add(Outcome.ok());
      }
    }
    return CompletableFuture.completedFuture(outcomes);
  }

  @Override
  public String name() {
    return "test";
  }
}
