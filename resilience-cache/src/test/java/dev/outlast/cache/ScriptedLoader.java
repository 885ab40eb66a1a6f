package dev.outlast.cache;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicInteger;
import org.jspecify.annotations.Nullable;

/** A loader a test steers: values per key, a failure to throw, a gate to hang on; counts calls. */
final class ScriptedLoader implements Loader<String, String> {
  final Map<String, String> values = new ConcurrentHashMap<>();
  final AtomicInteger calls = new AtomicInteger();
  final Map<String, AtomicInteger> callsPerKey = new ConcurrentHashMap<>();
  volatile @Nullable Exception failure;
  volatile @Nullable CountDownLatch gate;
  volatile boolean returnNull;

  @Override
  public String load(String key) throws Exception {
    calls.incrementAndGet();
    callsPerKey.computeIfAbsent(key, k -> new AtomicInteger()).incrementAndGet();
    CountDownLatch g = gate;
    if (g != null) {
      g.await();
    }
    Exception f = failure;
    if (f != null) {
      throw f;
    }
    if (returnNull) {
      return breakTheContract();
    }
    return values.getOrDefault(key, key + "@" + callsPerKey.get(key).get());
  }

  @SuppressWarnings("NullAway") // the test of a loader that breaks its contract
  private static String breakTheContract() {
    return null;
  }

  int callsFor(String key) {
    AtomicInteger n = callsPerKey.get(key);
    return n == null ? 0 : n.get();
  }
}
