package dev.outlast.testkit;

import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Signals a process and everything it started. Java can only send SIGTERM and SIGKILL, so other
 * signals go through the shell's {@code kill} built-in, which every POSIX system has.
 *
 * <p>Signals go to each process of the tree, not to a process group: PostgreSQL puts every backend
 * in a session of its own, so a group signal would miss them.
 */
final class ProcessTree {
  private ProcessTree() {}

  /**
   * SIGSTOP the root first, so that it cannot start new children, then everything below it. A
   * frozen process keeps its sockets open: peers connect and then hang.
   */
  static void freeze(ProcessHandle root) {
    signal("STOP", List.of(root.pid()));
    List<Long> below = descendants(root);
    if (!below.isEmpty()) {
      signal("STOP", below);
    }
  }

  /** SIGCONT children first, then the root, so that the root finds them running. */
  static void thaw(ProcessHandle root) {
    List<Long> below = descendants(root);
    if (!below.isEmpty()) {
      signal("CONT", below);
    }
    signal("CONT", List.of(root.pid()));
  }

  /**
   * SIGKILL the whole tree and wait until every process is gone. The tree is frozen first: once the
   * root dies its children are re-parented and could no longer be found from it.
   */
  static void kill(ProcessHandle root) {
    if (!root.isAlive()) {
      return;
    }
    freeze(root);
    List<ProcessHandle> all = new ArrayList<>(root.descendants().toList());
    all.add(root);
    all.forEach(ProcessHandle::destroyForcibly);
    awaitExit(all, Duration.ofSeconds(30));
  }

  /** SIGTERM the root, wait for the tree to exit, and SIGKILL whatever is left after the grace. */
  static void terminate(ProcessHandle root, Duration grace) {
    List<ProcessHandle> all = new ArrayList<>(root.descendants().toList());
    all.add(root);
    root.destroy();
    if (!awaitExit(List.of(root), grace)) {
      kill(root);
    }
    // Children of a stopped server exit on their own once it is gone; reap stragglers.
    if (!awaitExit(all, Duration.ofSeconds(10))) {
      all.forEach(ProcessHandle::destroyForcibly);
      awaitExit(all, Duration.ofSeconds(10));
    }
  }

  private static List<Long> descendants(ProcessHandle root) {
    return root.descendants().map(ProcessHandle::pid).toList();
  }

  private static boolean awaitExit(List<ProcessHandle> processes, Duration timeout) {
    long deadline = System.nanoTime() + timeout.toNanos();
    for (ProcessHandle p : processes) {
      long left = deadline - System.nanoTime();
      try {
        if (left <= 0 || (p.isAlive() && !waitFor(p, left))) {
          return false;
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return false;
      }
    }
    return true;
  }

  private static boolean waitFor(ProcessHandle p, long nanos) throws InterruptedException {
    try {
      p.onExit().get(nanos, TimeUnit.NANOSECONDS);
      return true;
    } catch (java.util.concurrent.ExecutionException | java.util.concurrent.TimeoutException e) {
      return !p.isAlive();
    }
  }

  /** Sends {@code SIG<name>} to the given processes; processes already gone are ignored. */
  static void signal(String name, List<Long> pids) {
    List<String> command =
        new ArrayList<>(List.of("/bin/sh", "-c", "kill -" + name + " \"$@\"", "sh"));
    pids.forEach(pid -> command.add(Long.toString(pid)));
    try {
      Process kill =
          new ProcessBuilder(command)
              .redirectErrorStream(true)
              .redirectOutput(ProcessBuilder.Redirect.DISCARD)
              .start();
      if (!kill.waitFor(10, TimeUnit.SECONDS)) {
        kill.destroyForcibly();
        throw new TestServerException("kill -" + name + " " + pids + " did not return in 10 s");
      }
    } catch (IOException e) {
      throw new TestServerException("cannot run /bin/sh to send SIG" + name + " to " + pids, e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new TestServerException("interrupted while sending SIG" + name + " to " + pids, e);
    }
  }
}
