package dev.outlast.buffer;

import dev.outlast.buffer.spi.Outcome;
import dev.outlast.core.Guard;
import dev.outlast.core.spi.Codec;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Collections;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Child-JVM main for {@link BacklogHeapTest}, run with a small heap: journals {@code events}
 * 256-byte events while the sink is down, closes, reopens and drains them. Prints {@code DRAINED
 * <delivered> <out of order>}.
 */
final class BacklogHeapProbe {
  private BacklogHeapProbe() {}

  public static void main(String[] args) throws Exception {
    Path dir = Path.of(args[0]);
    long events = Long.parseLong(args[1]);
    byte[] event = new byte[256];
    try (SpillQueue<byte[]> q =
        builder(dir)
            .sink(
                batch ->
                    CompletableFuture.completedFuture(
                        Collections.nCopies(batch.size(), Outcome.retry("down"))))
            .build()) {
      for (long i = 0; i < events; i++) {
        q.publish(event);
      }
    }
    AtomicLong delivered = new AtomicLong();
    AtomicLong outOfOrder = new AtomicLong();
    long[] last = {0};
    try (SpillQueue<byte[]> q =
        builder(dir)
            .sink(
                batch -> {
                  for (var d : batch) {
                    if (d.id().sequence() != last[0] + 1) {
                      outOfOrder.incrementAndGet();
                    }
                    last[0] = d.id().sequence();
                  }
                  delivered.addAndGet(batch.size());
                  return CompletableFuture.completedFuture(
                      Collections.nCopies(batch.size(), Outcome.ok()));
                })
            .build()) {
      long deadline = System.nanoTime() + Duration.ofMinutes(3).toNanos();
      while (q.metrics().backlogEvents() > 0 && System.nanoTime() < deadline) {
        Thread.sleep(10);
      }
    }
    System.out.println("DRAINED " + delivered.get() + " " + outOfOrder.get());
  }

  private static SpillQueue.Builder<byte[]> builder(Path dir) {
    return SpillQueue.<byte[]>builder("heap")
        .directory(dir)
        .codec(Codec.bytes())
        .guard(Guard.ofDefaults("sink"))
        .retryBackoff(Duration.ofMinutes(1), Duration.ofMinutes(1))
        .segmentBytes(16L << 20)
        .maxDiskBytes(4L << 30)
        .minFreeDiskBytes(0)
        .whenFull(FullPolicy.fail());
  }
}
