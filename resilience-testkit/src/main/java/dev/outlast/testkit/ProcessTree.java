package dev.outlast.testkit;

import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Signals a process and everything it started. Java can only send SIGTERM and SIGKILL, so other
 * signals go through the shell's {@code kill} built-in, which every POSIX system has.
 *
 * <p>Signals go to each process of the tree, not to a process group: PostgreSQL puts every backend
 * in a session of its own, so a group signal would miss them.
 *
 * <p>Every wait here ignores interrupts and restores the thread's interrupt flag afterwards: these
 * methods run in {@code close()}, often on a test thread that a timeout has just interrupted, and
 * must still leave no process behind.
 */
final class ProcessTree {
  private static final Logger log = LoggerFactory.getLogger(ProcessTree.class);

  private ProcessTree() {}

  /**
   * SIGSTOP the root first, so that it cannot start new children, then everything below it. A
   * frozen process keeps its sockets open: peers connect and then hang.
   *
   * @return the processes below the root that were frozen with it
   */
  static List<ProcessHandle> freeze(ProcessHandle root) {
    signal("STOP", List.of(root.pid()));
    List<ProcessHandle> below = root.descendants().toList();
    if (!below.isEmpty()) {
      signal("STOP", pids(below));
    }
    return below;
  }

  /** SIGCONT children first, then the root, so that the root finds them running. */
  static void thaw(ProcessHandle root) {
    List<ProcessHandle> below = root.descendants().toList();
    if (!below.isEmpty()) {
      signal("CONT", pids(below));
    }
    signal("CONT", List.of(root.pid()));
  }

  /**
   * SIGKILL the whole tree and wait until every process is gone. The root is stopped first, so that
   * its children can still be found from it (once it dies they are re-parented) and it cannot start
   * new ones; SIGKILL is sent even if stopping failed.
   *
   * @return whether every process exited within 30 seconds
   */
  static boolean kill(ProcessHandle root) {
    List<ProcessHandle> all = new ArrayList<>();
    try {
      if (root.isAlive()) {
        signal("STOP", List.of(root.pid()));
      }
    } catch (RuntimeException e) {
      log.warn("could not stop pid {} before killing it: {}", root.pid(), e.toString());
    } finally {
      all.addAll(root.descendants().toList());
      all.add(root);
      all.forEach(ProcessHandle::destroyForcibly);
    }
    return awaitExit(all, Duration.ofSeconds(30));
  }

  /**
   * Sends the server's stop signal to the root, waits for the tree to exit, and SIGKILLs whatever
   * is left after the grace period.
   *
   * @return whether the server stopped by itself within the grace period
   */
  static boolean terminate(ProcessHandle root, String signal, Duration grace) {
    List<ProcessHandle> all = new ArrayList<>(root.descendants().toList());
    all.add(root);
    signal(signal, List.of(root.pid()));
    boolean graceful = awaitExit(List.of(root), grace);
    if (!graceful) {
      log.warn("pid {} ignored SIG{} for {}; killing it", root.pid(), signal, grace);
      kill(root);
    }
    // Children of a stopped server exit on their own once it is gone; reap stragglers.
    if (!awaitExit(all, Duration.ofSeconds(10))) {
      all.forEach(ProcessHandle::destroyForcibly);
      awaitExit(all, Duration.ofSeconds(10));
    }
    return graceful;
  }

  private static List<Long> pids(List<ProcessHandle> processes) {
    return processes.stream().map(ProcessHandle::pid).toList();
  }

  /** Waits until all the processes have exited; false if one still lives at the deadline. */
  static boolean awaitExit(List<ProcessHandle> processes, Duration timeout) {
    long deadline = System.nanoTime() + timeout.toNanos();
    boolean interrupted = false;
    try {
      for (ProcessHandle p : processes) {
        while (p.isAlive()) {
          long left = deadline - System.nanoTime();
          if (left <= 0) {
            return false;
          }
          try {
            p.onExit().get(left, TimeUnit.NANOSECONDS);
          } catch (InterruptedException e) {
            interrupted = true;
          } catch (ExecutionException | TimeoutException e) {
            // loop: isAlive() and the deadline decide
          }
        }
      }
      return true;
    } finally {
      if (interrupted) {
        Thread.currentThread().interrupt();
      }
    }
  }

  /**
   * Waits for a child process with the {@link Process} API, ignoring interrupts (the flag is kept).
   * After it returns true, {@link Process#exitValue()} is defined; a {@link ProcessHandle}'s exit
   * can be seen before the {@code Process} itself has reaped the child.
   */
  static boolean waitFor(Process p, Duration timeout) {
    long deadline = System.nanoTime() + timeout.toNanos();
    boolean interrupted = false;
    try {
      while (true) {
        try {
          return p.waitFor(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
        } catch (InterruptedException e) {
          interrupted = true;
        }
      }
    } finally {
      if (interrupted) {
        Thread.currentThread().interrupt();
      }
    }
  }

  /** Sends {@code SIG<name>} to the given processes; processes already gone are ignored. */
  static void signal(String name, List<Long> pids) {
    List<String> command =
        new ArrayList<>(List.of("/bin/sh", "-c", "kill -" + name + " \"$@\" 2>/dev/null", "sh"));
    pids.forEach(pid -> command.add(Long.toString(pid)));
    Process kill;
    try {
      kill =
          new ProcessBuilder(command)
              .redirectErrorStream(true)
              .redirectOutput(ProcessBuilder.Redirect.DISCARD)
              .start();
    } catch (IOException e) {
      throw new TestServerException("cannot run /bin/sh to send SIG" + name + " to " + pids, e);
    }
    if (!waitFor(kill, Duration.ofSeconds(10))) {
      kill.destroyForcibly();
      throw new TestServerException("kill -" + name + " " + pids + " did not return in 10 s");
    }
  }
}
