package dev.outlast.benchmarks;

import dev.outlast.buffer.FullPolicy;
import dev.outlast.buffer.SpillQueue;
import dev.outlast.buffer.spi.Delivery;
import dev.outlast.buffer.spi.Outcome;
import dev.outlast.buffer.spi.Sink;
import dev.outlast.core.Guard;
import dev.outlast.core.spi.Codec;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryPoolMXBean;
import java.lang.management.MemoryType;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Heap stays flat with the backlog: a journal of 10,000,000 events of 256 bytes (about 3 GB) is
 * written, closed, reopened and drained in a JVM limited to 64 MB of heap, and every event must
 * arrive once, in sequence order. Not a JMH benchmark: it measures memory against backlog size. It
 * starts itself again as a child JVM with {@code -Xmx64m} and the flags Chronicle needs.
 *
 * <p>Run: {@code java -cp benchmarks/target/benchmarks.jar dev.outlast.benchmarks.SpillBacklogHeap
 * [events]}
 */
public final class SpillBacklogHeap {
  private static final String CHILD = "--child";

  private SpillBacklogHeap() {}

  public static void main(String[] args) throws Exception {
    if (args.length > 0 && args[0].equals(CHILD)) {
      System.exit(child(Long.parseLong(args[1])));
    }
    long events = args.length > 0 ? Long.parseLong(args[0]) : 10_000_000L;
    List<String> command = new ArrayList<>();
    command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    command.add("-Xmx64m");
    command.addAll(Jvm.flags());
    command.add("-cp");
    command.add(System.getProperty("java.class.path"));
    command.add(SpillBacklogHeap.class.getName());
    command.add(CHILD);
    command.add(Long.toString(events));
    System.exit(new ProcessBuilder(command).inheritIO().start().waitFor());
  }

  private static int child(long events) throws Exception {
    Path dir = SpillTarget.newDirectory("outlast-backlog-heap");
    HeapWatch heap = new HeapWatch();
    heap.start();
    try {
      byte[] event = new byte[SpillTarget.EVENT_BYTES];
      long t0 = System.nanoTime();
      try (SpillQueue<byte[]> queue =
          builder(dir, batch -> CompletableFuture.completedFuture(down(batch.size()))).build()) {
        for (long i = 0; i < events; i++) {
          queue.publish(event);
        }
      }
      long written = System.nanoTime();
      long journalBytes = sizeOf(dir);
      OrderedSink sink = new OrderedSink(events);
      long opened;
      try (SpillQueue<byte[]> queue = builder(dir, sink).build()) {
        opened = System.nanoTime();
        if (!sink.done.await(30, TimeUnit.MINUTES)) {
          throw new IllegalStateException("drained only " + sink.delivered.get());
        }
        while (queue.metrics().backlogEvents() > 0) {
          Thread.sleep(1);
        }
      }
      long drained = System.nanoTime();
      heap.stop = true;
      heap.join();
      Runtime rt = Runtime.getRuntime();
      System.out.printf(
          Locale.ROOT,
          "backlog %,d events of %d bytes, journal %,d MB, max heap %d MB%n"
              + "  write: %.1f s (%,.0f events/s)%n"
              + "  reopen: %.0f ms%n"
              + "  drain: %.1f s (%,.0f events/s), delivered %,d, out of order %d%n"
              + "  heap used: peak %.1f MB sampled every 50 ms; after collection at most %.1f MB%n",
          events,
          SpillTarget.EVENT_BYTES,
          journalBytes >> 20,
          rt.maxMemory() >> 20,
          (written - t0) / 1e9,
          events / ((written - t0) / 1e9),
          (opened - written) / 1e6,
          (drained - opened) / 1e9,
          events / ((drained - opened) / 1e9),
          sink.delivered.get(),
          sink.outOfOrder.get(),
          heap.peakUsed / 1048576.0,
          heap.peakAfterGc / 1048576.0);
      return sink.delivered.get() == events && sink.outOfOrder.get() == 0 ? 0 : 1;
    } finally {
      SpillTarget.deleteTree(dir);
    }
  }

  private static SpillQueue.Builder<byte[]> builder(Path dir, Sink<byte[]> sink) {
    return SpillQueue.<byte[]>builder("backlog")
        .directory(dir.resolve("q"))
        .codec(Codec.bytes())
        .sink(sink)
        .guard(Guard.ofDefaults("sink"))
        .retryBackoff(Duration.ofMinutes(1), Duration.ofMinutes(1))
        .maxDiskBytes(16L << 30)
        .whenFull(FullPolicy.fail());
  }

  private static List<Outcome> down(int n) {
    return Collections.nCopies(n, Outcome.retry("the sink is down while the backlog builds"));
  }

  private static long sizeOf(Path dir) throws IOException {
    try (var files = Files.walk(dir)) {
      return files.filter(Files::isRegularFile).mapToLong(p -> p.toFile().length()).sum();
    }
  }

  /** Acknowledges everything and counts sequences that do not follow the previous one. */
  private static final class OrderedSink implements Sink<byte[]> {
    final AtomicLong delivered = new AtomicLong();
    final AtomicLong outOfOrder = new AtomicLong();
    final CountDownLatch done = new CountDownLatch(1);
    private final long expected;
    private long last;

    OrderedSink(long expected) {
      this.expected = expected;
    }

    @Override
    public CompletionStage<List<Outcome>> deliver(List<Delivery<byte[]>> batch) {
      for (Delivery<byte[]> d : batch) {
        if (d.id().sequence() != last + 1) {
          outOfOrder.incrementAndGet();
        }
        last = d.id().sequence();
      }
      if (delivered.addAndGet(batch.size()) >= expected) {
        done.countDown();
      }
      return CompletableFuture.completedFuture(Collections.nCopies(batch.size(), Outcome.ok()));
    }
  }

  /** Samples heap use, and the heap left after each collection, until stopped. */
  private static final class HeapWatch extends Thread {
    volatile boolean stop;
    long peakUsed;
    long peakAfterGc;

    HeapWatch() {
      super("heap-watch");
      setDaemon(true);
    }

    @Override
    public void run() {
      List<MemoryPoolMXBean> pools = new ArrayList<>();
      for (MemoryPoolMXBean p : ManagementFactory.getMemoryPoolMXBeans()) {
        if (p.getType() == MemoryType.HEAP && p.getCollectionUsage() != null) {
          pools.add(p);
        }
      }
      while (!stop) {
        peakUsed =
            Math.max(peakUsed, ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed());
        long afterGc = 0;
        for (MemoryPoolMXBean p : pools) {
          afterGc += p.getCollectionUsage().getUsed();
        }
        peakAfterGc = Math.max(peakAfterGc, afterGc);
        try {
          Thread.sleep(50);
        } catch (InterruptedException e) {
          return;
        }
      }
    }
  }
}
