package dev.outlast.examples.drill;

import dev.outlast.core.RecoveryProbe;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.DoubleSupplier;
import org.jspecify.annotations.Nullable;

/**
 * The drill's own check of each server, four times a second, made through its proxy as the service
 * reaches it: what the status line's UP and the chart's dark bars rest on, and what a phase's
 * "back" waits for. It only watches: the service's guards decide for themselves (their recovery
 * probes close their breakers).
 *
 * <p>A check that has not answered within {@link #WAIT} counts as not answering; while it hangs (a
 * frozen server) no other check of that server starts, so a frozen server holds one thread here.
 * Every change is kept with its time, for the chart. Threadsafe.
 */
final class ServerChecks implements AutoCloseable {
  static final Duration WAIT = Duration.ofMillis(800);
  private static final long EVERY_MILLIS = 250;

  private final Map<String, RecoveryProbe> checks;
  private final DoubleSupplier clock;
  private final Map<String, Boolean> answering = new ConcurrentHashMap<>();
  private final Map<String, Future<?>> hanging = new ConcurrentHashMap<>();
  private final List<DrillReport.Change> changes = new ArrayList<>(); // guarded by this
  private final ExecutorService pool = Executors.newCachedThreadPool(daemon("drill-check"));
  private final ScheduledExecutorService rounds;

  /**
   * @param checks by server name ("mysql")
   * @param clock the drill's time, in seconds, that changes are dated with
   */
  ServerChecks(Map<String, RecoveryProbe> checks, DoubleSupplier clock) {
    this.checks = new LinkedHashMap<>(checks);
    this.clock = clock;
    // A thread per server, so that one's wait for a hanging check does not delay the others.
    this.rounds =
        Executors.newScheduledThreadPool(this.checks.size(), daemon("drill-check-rounds"));
    for (String server : this.checks.keySet()) {
      var unused =
          rounds.scheduleWithFixedDelay(
              () -> round(server), 0, EVERY_MILLIS, TimeUnit.MILLISECONDS);
    }
  }

  /** Whether the server answered its last check; false until it has answered one. */
  boolean answering(String server) {
    return answering.getOrDefault(server, false);
  }

  /** Every change so far, in order: a server that starts or stops answering, and when. */
  synchronized List<DrillReport.Change> changes() {
    return List.copyOf(changes);
  }

  private void round(String server) {
    Future<?> before = hanging.get(server);
    boolean answered;
    if (before != null && !before.isDone()) {
      answered = false;
    } else {
      Future<?> f = submit(checks.get(server));
      answered = answered(f, System.nanoTime() + WAIT.toNanos());
      if (!f.isDone()) {
        hanging.put(server, f);
      }
    }
    Boolean was = answering.put(server, answered);
    if (was == null || was != answered) {
      synchronized (this) {
        changes.add(
            new DrillReport.Change(
                server, clock.getAsDouble(), answered ? "answering" : "not-answering"));
      }
    }
  }

  /**
   * Checks one server every 200 ms until a check started now answers: a restored server is back
   * only once it does.
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

  private Future<?> submit(@Nullable RecoveryProbe check) {
    if (check == null) {
      throw new IllegalArgumentException("no such server");
    }
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

  private static java.util.concurrent.ThreadFactory daemon(String name) {
    return r -> {
      Thread t = new Thread(r, name);
      t.setDaemon(true); // a check hung on a frozen server must not keep the JVM alive
      return t;
    };
  }

  @Override
  public void close() {
    rounds.shutdownNow();
    pool.shutdownNow();
  }
}
