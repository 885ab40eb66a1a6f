package dev.outlast.buffer;

import dev.outlast.buffer.spi.Delivery;
import dev.outlast.buffer.spi.EventId;
import dev.outlast.buffer.spi.Outcome;
import dev.outlast.buffer.spi.Sink;
import dev.outlast.core.spi.Codec;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.jspecify.annotations.Nullable;

/**
 * The process a full-disk test runs on a small file system of its own (a tmpfs in a private mount
 * namespace): fills it through a spill queue, or lets another file fill it, and prints what
 * happened as "KEY value..." lines for the test to check. If the queue let Chronicle write into
 * space the file system cannot back, this JVM dies of SIGBUS and the test sees the exit code.
 * Arguments: scenario, directory on the small file system.
 */
final class DiskFullProbe {
  private static final int EVENT_BYTES = 256;

  private DiskFullProbe() {}

  public static void main(String[] args) throws Exception {
    String scenario = args[0];
    Path root = Path.of(args[1]);
    PrintStream out =
        new PrintStream(
            new FileOutputStream(java.io.FileDescriptor.out), true, StandardCharsets.UTF_8);
    switch (scenario) {
      case "fail" -> fillThenDrain(root, FullPolicy.fail(), out);
      case "block" -> blockThenRelease(root, out);
      case "filler" -> anotherFileTakesTheSpace(root, true, out);
      case "filler-zeros" -> anotherFileTakesTheSpace(root, false, out);
      case "race" -> anotherProcessFillsAndFrees(root, Integer.parseInt(args[2]), out);
      case "direct" -> directDeliveryFailsOnAFullDisk(root, out);
      default -> throw new IllegalArgumentException("unknown scenario " + scenario);
    }
    out.println("DONE");
  }

  /** The queue itself fills the file system, then drains it and goes on. */
  private static void fillThenDrain(Path root, FullPolicy policy, PrintStream out)
      throws Exception {
    CheckingSink sink = new CheckingSink();
    try (SpillQueue<String> q = queue(root, sink, policy, 0)) {
      long n = 0;
      try {
        for (; ; n++) {
          q.publish(event(n));
        }
      } catch (SpillQueueFullException e) {
        out.println("FULL " + n + " " + oneLine(e.getMessage()));
      }
      out.println("FREE " + Files.getFileStore(root).getUsableSpace());
      out.println("BACKLOG " + q.metrics().backlogEvents() + " " + q.metrics().bytesLeft());
      // Nothing is delivered while the disk is full and the sink is down; then the sink is back.
      sink.up = true;
      sink.awaitCount(n, Duration.ofMinutes(2));
      out.println("DRAINED " + sink.count() + " " + sink.problems());
      // Room returns as drained files are deleted; the same queue takes events again.
      long resumed = 0;
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
      while (resumed < 10_000 && System.nanoTime() < deadline) {
        try {
          q.publish(event(n + resumed));
          resumed++;
        } catch (SpillQueueFullException e) {
          Thread.sleep(10);
        }
      }
      sink.awaitCount(n + resumed, Duration.ofSeconds(60));
      out.println("RESUMED " + resumed + " " + sink.count() + " " + sink.problems());
      out.println("LOST " + q.metrics().lost().size());
    }
  }

  /**
   * With the block policy a publish on a full disk waits its maximum and then fails; one that is
   * waiting when the sink comes back and frees room succeeds.
   */
  private static void blockThenRelease(Path root, PrintStream out) throws Exception {
    CheckingSink sink = new CheckingSink();
    Duration maxWait = Duration.ofSeconds(2);
    try (SpillQueue<String> q = queue(root, sink, FullPolicy.block(maxWait), 0)) {
      long n = 0;
      long start = 0;
      try {
        for (; ; n++) {
          start = System.nanoTime();
          q.publish(event(n));
        }
      } catch (SpillQueueFullException e) {
        long waited = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
        out.println("TIMEOUT " + n + " " + waited + " " + oneLine(e.getMessage()));
      }
      long waiting = n;
      ExecutorService pool = Executors.newSingleThreadExecutor();
      try {
        long[] waitedMillis = new long[1];
        Future<?> blocked =
            pool.submit(
                () -> {
                  long t = System.nanoTime();
                  q.publish(event(waiting));
                  waitedMillis[0] = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t);
                  return null;
                });
        Thread.sleep(300);
        out.println("STILL_WAITING " + !blocked.isDone());
        sink.up = true;
        blocked.get(30, TimeUnit.SECONDS);
        out.println("RELEASED " + waitedMillis[0]);
      } finally {
        pool.shutdownNow();
      }
      sink.awaitCount(n + 1, Duration.ofMinutes(2));
      out.println("DRAINED " + sink.count() + " " + sink.problems());
    }
  }

  /**
   * Another file takes the space the queue counted on: the queue refuses events with a clear error
   * instead of writing where the file system has no room, and takes them again when the file goes.
   * The sink is down meanwhile, then comes back while the disk is still full.
   */
  private static void anotherFileTakesTheSpace(Path root, boolean fallocate, PrintStream out)
      throws Exception {
    CheckingSink sink = new CheckingSink();
    long reserve = 2L << 20;
    SpillQueue.Builder<String> b = builder(root, sink, FullPolicy.fail(), reserve);
    try (SpillQueue<String> q = (fallocate ? b : b.withoutFallocate()).build()) {
      long n = 0;
      for (; n < 5_000; n++) {
        q.publish(event(n));
      }
      Path filler = root.resolve("filler");
      long filled = fill(filler);
      out.println("FILLED " + filled + " " + Files.getFileStore(root).getUsableSpace());
      long accepted = 0;
      try {
        for (; accepted < 1_000_000; accepted++) {
          q.publish(event(n));
          n++;
        }
      } catch (SpillQueueFullException e) {
        out.println("REFUSED " + accepted + " " + oneLine(e.getMessage()));
      }
      // The sink comes back while the disk is full: reading must not fault or quarantine.
      sink.up = true;
      sink.awaitCount(n, Duration.ofMinutes(2));
      out.println("DRAINED " + sink.count() + " " + sink.problems());
      Files.delete(filler);
      for (long i = 0; i < 5_000; i++, n++) {
        q.publish(event(n));
      }
      sink.awaitCount(n, Duration.ofSeconds(60));
      out.println("RESUMED " + sink.count() + " " + sink.problems());
      out.println("LOST " + q.metrics().lost().size());
    }
  }

  /**
   * Spill-on-failure: a direct delivery fails while another file has taken the disk, so the events
   * the sink was handed cannot all be journaled. They must neither be failed back (the sink, which
   * holds its line at the first of them, would wait for them for good) nor overtaken: they wait in
   * memory, publishers are refused meanwhile, and they are journaled under their numbers and
   * delivered once the file goes.
   */
  private static void directDeliveryFailsOnAFullDisk(Path root, PrintStream out) throws Exception {
    DirectSpillTest.HoldingSink sink = new DirectSpillTest.HoldingSink();
    String big = "x".repeat(60_000);
    try (SpillQueue<String> q =
        builder(root, sink, FullPolicy.fail(), 1L << 20)
            .mode(SpillQueue.Mode.SPILL_ON_FAILURE)
            .batchSize(100)
            .build()) {
      List<CompletableFuture<EventId>> stages = new ArrayList<>();
      List<String> expected = new ArrayList<>();
      expected.add("e0-" + big);
      stages.add(q.publishAsync(expected.get(0)));
      awaitTrue(() -> sink.calls.get() == 1);
      // Room for a few of the 60 kB events (and the 256 KiB the journal allocates ahead) in the
      // half
      // of the 1 MiB reserve they may use: the batch
      // is partly journaled, partly held in memory.
      Path filler = root.resolve("filler");
      long filled = fillLeaving(filler, (512 << 10) + (600 << 10));
      out.println("FILLED " + filled + " " + Files.getFileStore(root).getUsableSpace());
      for (int i = 1; i <= 40; i++) {
        expected.add("e" + i + "-" + big);
        stages.add(q.publishAsync(expected.get(i)));
      }
      // The first call carries e0 alone; the second, which fails, the 40 handed over meanwhile.
      sink.firstAnswer.complete(List.of(Outcome.ok()));
      awaitTrue(() -> sink.calls.get() >= 2 && q.metrics().spilling());
      Thread.sleep(200);
      long pending = stages.stream().filter(s -> !s.isDone()).count();
      out.println("DRAINED_EARLY " + q.awaitDrained(Duration.ofMillis(50)));
      String refused;
      try {
        refused = "accepted " + q.publishAsync("refused").isDone();
      } catch (SpillQueueFullException e) {
        refused = oneLine(e.getMessage());
      }
      out.println("STRANDED " + pending + " " + refused);
      Files.delete(filler);
      int acknowledged = 0;
      for (CompletableFuture<EventId> s : stages) {
        try {
          s.get(60, TimeUnit.SECONDS);
          acknowledged++;
        } catch (java.util.concurrent.ExecutionException e) {
          out.println("FAILED " + oneLine(String.valueOf(e.getCause())));
        }
      }
      boolean drained = q.awaitDrained(Duration.ofSeconds(60));
      List<String> stored;
      List<Long> firsts;
      synchronized (sink.stored) {
        stored = List.copyOf(sink.stored);
      }
      synchronized (sink.firstOfEachCall) {
        firsts = List.copyOf(sink.firstOfEachCall);
      }
      out.println(
          "DRAINED "
              + acknowledged
              + " "
              + drained
              + " "
              + stored.equals(expected)
              + " "
              + (firsts.size() > 2 && firsts.get(2).equals(firsts.get(1))));
      out.println("LOST " + q.metrics().lost().size());
    }
  }

  private static void awaitTrue(java.util.function.BooleanSupplier condition) throws Exception {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() - deadline > 0) {
        throw new IllegalStateException("timed out");
      }
      Thread.sleep(5);
    }
  }

  /**
   * Issue 14: another process fills the file system while four threads publish, and frees it, many
   * times. Every publish must end acknowledged or refused as full (never with Chronicle's or the
   * JVM's error), publishing must resume as soon as there is room, and every acknowledged event
   * must reach the sink. No free-space reserve, so that the filler races the queue's own checks.
   */
  private static void anotherProcessFillsAndFrees(Path root, int rounds, PrintStream out)
      throws Exception {
    // Sequence numbers as bits: millions of boxed Longs in sets would not fit the probe's heap.
    java.util.BitSet delivered = new java.util.BitSet();
    Sink<String> sink =
        batch -> {
          List<Outcome> outcomes = new ArrayList<>(batch.size());
          synchronized (delivered) {
            for (Delivery<String> d : batch) {
              delivered.set(Math.toIntExact(d.id().sequence()));
              outcomes.add(Outcome.ok());
            }
          }
          return CompletableFuture.completedFuture(outcomes);
        };
    java.util.BitSet acknowledged = new java.util.BitSet();
    java.util.concurrent.atomic.AtomicLong refused = new java.util.concurrent.atomic.AtomicLong();
    java.util.concurrent.atomic.AtomicLong lastAccepted =
        new java.util.concurrent.atomic.AtomicLong();
    java.util.concurrent.atomic.AtomicLong names = new java.util.concurrent.atomic.AtomicLong();
    List<String> errors = java.util.Collections.synchronizedList(new ArrayList<>());
    java.util.concurrent.atomic.AtomicBoolean stop =
        new java.util.concurrent.atomic.AtomicBoolean();
    try (SpillQueue<String> q = queue(root, sink, FullPolicy.fail(), 0)) {
      ExecutorService publishers = Executors.newFixedThreadPool(4);
      for (int t = 0; t < 4; t++) {
        publishers.execute(
            () -> {
              while (!stop.get()) {
                try {
                  EventId id = q.publish(event(names.getAndIncrement()));
                  synchronized (acknowledged) {
                    acknowledged.set(Math.toIntExact(id.sequence()));
                  }
                  lastAccepted.set(System.nanoTime());
                } catch (SpillQueueFullException e) {
                  refused.incrementAndGet();
                  sleepQuietly(1);
                } catch (Throwable e) {
                  if (errors.size() < 10) {
                    errors.add(e.toString());
                  }
                }
              }
            });
      }
      Path filler = root.resolve("filler");
      int fullRounds = 0;
      long worstResumeMillis = 0;
      for (int round = 0; round < rounds; round++) {
        Thread.sleep(400); // publishing into free space
        long refusedBefore = refused.get();
        // Another process takes all the space there is, while the publishers write.
        Process dd =
            new ProcessBuilder(
                    "dd", "if=/dev/zero", "of=" + filler, "bs=" + (round % 2 == 0 ? "4k" : "64k"))
                .redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.DISCARD)
                .start();
        dd.waitFor();
        Thread.sleep(400); // full
        if (refused.get() > refusedBefore) {
          fullRounds++;
        }
        long freed = System.nanoTime();
        Files.delete(filler);
        while (lastAccepted.get() < freed && System.nanoTime() - freed < 10_000_000_000L) {
          Thread.sleep(1);
        }
        worstResumeMillis =
            Math.max(worstResumeMillis, TimeUnit.NANOSECONDS.toMillis(lastAccepted.get() - freed));
      }
      stop.set(true);
      publishers.shutdown();
      publishers.awaitTermination(30, TimeUnit.SECONDS);
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
      java.util.BitSet missing = missing(acknowledged, delivered);
      while (!missing.isEmpty() && System.nanoTime() < deadline) {
        Thread.sleep(20);
        missing = missing(acknowledged, delivered);
      }
      long lost = missing.cardinality();
      out.println("ROUNDS " + rounds + " " + fullRounds);
      out.println("ACCEPTED " + acknowledged.cardinality());
      out.println("REFUSED " + refused.get());
      out.println("RESUME_MS " + worstResumeMillis);
      out.println("ERRORS " + errors.size() + " " + oneLine(String.join(" | ", errors)));
      out.println("LOST " + lost + " " + q.metrics().lost().size());
      out.println(
          "MISSING "
              + missing.stream().limit(5).boxed().toList()
              + " backlog "
              + q.metrics().backlogEvents()
              + " delivered "
              + cardinality(delivered));
    }
  }

  /** Acknowledged and not delivered. */
  private static java.util.BitSet missing(
      java.util.BitSet acknowledged, java.util.BitSet delivered) {
    java.util.BitSet missing;
    synchronized (acknowledged) {
      missing = (java.util.BitSet) acknowledged.clone();
    }
    synchronized (delivered) {
      missing.andNot(delivered);
    }
    return missing;
  }

  private static int cardinality(java.util.BitSet bits) {
    synchronized (bits) {
      return bits.cardinality();
    }
  }

  private static void sleepQuietly(long millis) {
    try {
      Thread.sleep(millis);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  /** Writes zeros until about {@code leave} bytes are left free; returns the bytes written. */
  private static long fillLeaving(Path file, long leave) throws IOException {
    long written = 0;
    ByteBuffer block = ByteBuffer.allocate(4096);
    try (FileChannel ch =
        FileChannel.open(file, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
      while (Files.getFileStore(file).getUsableSpace() > leave + block.capacity()) {
        long chunk = Math.min(64L << 10, Files.getFileStore(file).getUsableSpace() - leave);
        for (long n = 0; n + block.capacity() <= chunk; n += block.capacity()) {
          block.clear();
          written += ch.write(block);
        }
      }
    }
    return written;
  }

  /** Writes zeros until the file system is full; returns the bytes written. */
  private static long fill(Path file) throws IOException {
    long written = 0;
    ByteBuffer block = ByteBuffer.allocate(64 << 10);
    try (FileChannel ch =
        FileChannel.open(file, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
      while (true) {
        block.clear();
        try {
          written += ch.write(block);
        } catch (IOException e) {
          if (block.capacity() == 4096) {
            return written; // ENOSPC down to the last page
          }
          block = ByteBuffer.allocate(4096);
        }
      }
    }
  }

  private static SpillQueue<String> queue(
      Path root, Sink<String> sink, FullPolicy policy, long minFree) {
    return builder(root, sink, policy, minFree).build();
  }

  private static SpillQueue.Builder<String> builder(
      Path root, Sink<String> sink, FullPolicy policy, long minFree) {
    return SpillQueue.<String>builder("full")
        .directory(root.resolve("q"))
        .codec(Codec.utf8())
        .sink(sink)
        .guard(SpillQueueTest.guard())
        .segmentBytes(1 << 20)
        .retryBackoff(Duration.ofMillis(5), Duration.ofMillis(50))
        .whenFull(policy)
        .minFreeDiskBytes(minFree);
  }

  static String event(long n) {
    String head = "e" + n + ":";
    return head + "x".repeat(EVENT_BYTES - head.length());
  }

  private static String oneLine(@Nullable String s) {
    return String.valueOf(s).replace('\n', ' ');
  }

  /** Takes events in order when up; counts what is missing, repeated, or changed. */
  static final class CheckingSink implements Sink<String> {
    volatile boolean up;
    private long next;
    private final List<String> problems = new ArrayList<>();

    @Override
    public synchronized CompletionStage<List<Outcome>> deliver(List<Delivery<String>> batch) {
      if (!up) {
        return CompletableFuture.failedFuture(new IOException("sink down"));
      }
      List<Outcome> outcomes = new ArrayList<>(batch.size());
      for (Delivery<String> d : batch) {
        String e = d.event();
        long n = Long.parseLong(e.substring(1, e.indexOf(':')));
        if (n == next) {
          next++;
        } else if (n > next && problems.size() < 10) {
          problems.add("missing " + next + ".." + (n - 1));
          next = n + 1;
        } // n < next: a repeat, allowed (at least once)
        if (!e.equals(event(n)) && problems.size() < 10) {
          problems.add("changed " + n);
        }
        outcomes.add(Outcome.ok());
      }
      notifyAll();
      return CompletableFuture.completedFuture(outcomes);
    }

    synchronized long count() {
      return next;
    }

    synchronized String problems() {
      return problems.isEmpty() ? "none" : String.join(",", problems).replace(' ', '_');
    }

    synchronized void awaitCount(long n, Duration max) throws InterruptedException {
      long deadline = System.nanoTime() + max.toNanos();
      while (next < n) {
        long left = deadline - System.nanoTime();
        if (left <= 0) {
          return;
        }
        TimeUnit.NANOSECONDS.timedWait(this, Math.min(left, TimeUnit.MILLISECONDS.toNanos(100)));
      }
    }
  }
}
