package dev.outlast.benchmarks;

import java.lang.management.GarbageCollectorMXBean;
import java.lang.management.ManagementFactory;
import java.util.concurrent.TimeUnit;

/** The state of the heap a cache benchmark measures in. */
final class Heap {
  private Heap() {}

  /**
   * Allocates short-lived garbage until the young collector has run {@code collections} more times,
   * so that what the setup filled has been copied through the survivor spaces into the old
   * generation, as a long-running service's cache has been. Right after a fill the entries lie in
   * allocation order between what the fill threw away; after a full collection ({@code
   * System.gc()}) they lie in the same order, compacted; neither is where a service's entries are,
   * and hit rates from the three states differ by up to half (see BENCHMARKS.md).
   */
  static void ageLikeAService(int collections) {
    long start = youngCollections();
    if (start < 0) {
      throw new IllegalStateException(
          "no young collector among this JVM's collectors (G1, Parallel or Serial expected):"
              + " the cache benchmarks age their heap with young collections");
    }
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
    byte[][] ring = new byte[1024][];
    int i = 0;
    while (youngCollections() - start < collections) {
      for (int k = 0; k < 10_000; k++) {
        ring[i++ & 1023] = new byte[256];
      }
      if (System.nanoTime() - deadline > 0) {
        throw new IllegalStateException(
            "fewer than " + collections + " young collections in 60 s of allocation");
      }
    }
    if (ring[0] == null) {
      throw new AssertionError("unreachable: keeps the garbage from being optimised away");
    }
  }

  /** Young collections so far, or -1 if no collector of this JVM is a young one. */
  private static long youngCollections() {
    long n = -1;
    for (GarbageCollectorMXBean gc : ManagementFactory.getGarbageCollectorMXBeans()) {
      String name = gc.getName();
      // G1 Young Generation, PS Scavenge (Parallel), Copy (Serial)
      if (name.contains("Young") || name.contains("Scavenge") || name.equals("Copy")) {
        n = Math.max(n, 0) + gc.getCollectionCount();
      }
    }
    return n;
  }
}
