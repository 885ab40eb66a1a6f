package dev.outlast.examples.drill;

import dev.outlast.core.RecoveryProbe;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * The drill's own check of each server, made through its proxy as the service reaches it: what the
 * status line's UP and the chart's dark bars rest on, and what a phase's "back" waits for. It only
 * watches: the service's guards decide for themselves (their recovery probes close their breakers).
 *
 * <p>A check still hanging from an earlier round (a frozen server) counts as not answering and is
 * not started again, so a frozen server holds at most one thread here. Threadsafe.
 */
final class ServerChecks implements AutoCloseable {
  private final Map<String, RecoveryProbe> checks;
  private final Map<String, Future<?>> running = new LinkedHashMap<>(); // guarded by this
  private final ExecutorService pool =
      Executors.newCachedThreadPool(
          r -> {
            Thread t = new Thread(r, "drill-check");
            t.setDaemon(true); // a check hung on a frozen server must not keep the JVM alive
            return t;
          });

  /**
   * @param checks by server name ("mysql"), in the order the status line shows them
   */
  ServerChecks(Map<String, RecoveryProbe> checks) {
    this.checks = new LinkedHashMap<>(checks);
  }

  /** Starts a check of every server at once; {@link Round#await} says which answered. */
  synchronized Round start() {
    Map<String, Future<?>> round = new LinkedHashMap<>();
    for (Map.Entry<String, RecoveryProbe> c : checks.entrySet()) {
      Future<?> before = running.get(c.getKey());
      if (before != null && !before.isDone()) {
        continue; // still hanging: not answering
      }
      Future<?> f = submit(c.getValue());
      running.put(c.getKey(), f);
      round.put(c.getKey(), f);
    }
    return new Round(round, System.nanoTime());
  }

  /** Checks started together. */
  final class Round {
    private final Map<String, Future<?>> started;
    private final long startedAt;

    private Round(Map<String, Future<?>> started, long startedAt) {
      this.started = started;
      this.startedAt = startedAt;
    }

    /** Which servers answered within {@code wait} of the round's start, in the checks' order. */
    Map<String, Boolean> await(Duration wait) {
      long deadline = startedAt + wait.toNanos();
      Map<String, Boolean> answered = new LinkedHashMap<>();
      for (String server : checks.keySet()) {
        Future<?> f = started.get(server);
        answered.put(server, f != null && answered(f, deadline));
      }
      return answered;
    }
  }

  /**
   * Checks one server every 200 ms until it answers.
   *
   * @throws IllegalStateException if it has not answered within {@code max}
   */
  void awaitAnswer(String server, Duration max) throws InterruptedException {
    RecoveryProbe check = checks.get(server);
    if (check == null) {
      throw new IllegalArgumentException("no check for " + server);
    }
    long deadline = System.nanoTime() + max.toNanos();
    while (true) {
      Future<?> f = submit(check);
      if (answered(f, Math.min(deadline, System.nanoTime() + TimeUnit.SECONDS.toNanos(3)))) {
        return;
      }
      f.cancel(true);
      if (System.nanoTime() - deadline > 0) {
        throw new IllegalStateException(
            server + " did not answer the drill's check within " + max.toSeconds() + " s");
      }
      Thread.sleep(200);
    }
  }

  private Future<?> submit(RecoveryProbe check) {
    return pool.submit(
        () -> {
          check.check();
          return null;
        });
  }

  private static boolean answered(Future<?> f, long deadline) {
    try {
      f.get(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
      return true;
    } catch (TimeoutException | ExecutionException e) {
      return false;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return false;
    }
  }

  @Override
  public void close() {
    pool.shutdownNow();
  }
}
