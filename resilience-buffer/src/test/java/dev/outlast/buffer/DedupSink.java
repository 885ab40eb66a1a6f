package dev.outlast.buffer;

import dev.outlast.buffer.spi.Delivery;
import dev.outlast.buffer.spi.EventId;
import dev.outlast.buffer.spi.Outcome;
import dev.outlast.buffer.spi.Sink;
import java.net.ConnectException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ThreadLocalRandom;

/**
 * A sink that deduplicates as a Pulsar broker with deduplication on does: per producer it keeps the
 * highest sequence number stored, and answers OK for anything at or below it without storing it. So
 * an event that reaches it behind a higher sequence number is lost while its publisher was told it
 * is safe: the failure the one-lane rule prevents. It can also fail calls, throw {@code Error}s and
 * hang (a stage that completes only when cancelled), each with a chance in a thousand set by the
 * test. Holds no lock: calls that overlap corrupt nothing, they are counted by {@link
 * InFlightProbe}.
 */
final class DedupSink implements Sink<String> {
  final ConcurrentLinkedQueue<String> stored = new ConcurrentLinkedQueue<>();
  final ConcurrentLinkedQueue<EventId> storedIds = new ConcurrentLinkedQueue<>();
  private final Map<String, Long> highest = new ConcurrentHashMap<>();
  volatile boolean down;
  volatile int failPerMille;
  volatile int errorPerMille;
  volatile int hangPerMille;

  @Override
  public CompletionStage<List<Outcome>> deliver(List<Delivery<String>> batch) {
    ThreadLocalRandom r = ThreadLocalRandom.current();
    if (r.nextInt(1000) < errorPerMille) {
      throw new AssertionError("a sink bug");
    }
    if (r.nextInt(1000) < hangPerMille) {
      return new CompletableFuture<>(); // the queue's time limit cancels it
    }
    if (down || r.nextInt(1000) < failPerMille) {
      return CompletableFuture.failedFuture(new ConnectException("sink down"));
    }
    List<Outcome> outcomes = new ArrayList<>(batch.size());
    for (Delivery<String> d : batch) {
      long last = highest.getOrDefault(d.id().producerId(), 0L);
      if (d.id().sequence() > last) {
        highest.put(d.id().producerId(), d.id().sequence());
        stored.add(d.event());
        storedIds.add(d.id());
      }
      outcomes.add(Outcome.ok()); // a duplicate is answered OK, as the broker does
    }
    return CompletableFuture.completedFuture(outcomes);
  }

  @Override
  public String name() {
    return "dedup";
  }
}
