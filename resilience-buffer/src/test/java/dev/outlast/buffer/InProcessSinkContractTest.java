package dev.outlast.buffer;

import dev.outlast.buffer.spi.Delivery;
import dev.outlast.buffer.spi.Outcome;
import dev.outlast.buffer.spi.Sink;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletionStage;

/**
 * The sink contract against the in-process {@link DedupSink}: "killed" is every call failing,
 * "frozen" every call hanging until the queue's time limit cancels it.
 */
class InProcessSinkContractTest extends SinkContract {
  private final DedupSink dedup = new DedupSink();

  @Override
  protected Sink<byte[]> newSink(String stream) {
    return new Sink<>() {
      @Override
      public CompletionStage<List<Outcome>> deliver(List<Delivery<byte[]>> batch) {
        List<Delivery<String>> strings = new ArrayList<>(batch.size());
        for (Delivery<byte[]> d : batch) {
          strings.add(
              new Delivery<>(
                  d.id(),
                  new String(d.event(), StandardCharsets.UTF_8),
                  d.publishedAtMillis(),
                  d.attempt()));
        }
        return dedup.deliver(strings);
      }
    };
  }

  @Override
  protected List<String> stored(String stream) {
    return new ArrayList<>(dedup.stored);
  }

  @Override
  protected boolean keepsOrder() {
    return true;
  }

  @Override
  protected void kill() {
    dedup.down = true;
  }

  @Override
  protected void restart() {
    dedup.down = false;
  }

  @Override
  protected void freeze() {
    dedup.hangPerMille = 1000;
  }

  @Override
  protected void thaw() {
    dedup.hangPerMille = 0;
  }

  @Override
  protected Duration callTimeout() {
    return Duration.ofMillis(500);
  }

  @Override
  protected Duration phase() {
    return Duration.ofSeconds(1);
  }
}
