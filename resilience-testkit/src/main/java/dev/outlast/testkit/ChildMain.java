package dev.outlast.testkit;

import java.util.concurrent.CountDownLatch;

/** What every child-JVM main shares: die with the parent, announce readiness, then wait. */
final class ChildMain {
  private ChildMain() {}

  /**
   * Halts this JVM as soon as the JVM that started it is gone, so that a crashed test run leaves no
   * server behind even if the kit's watchdog was killed too.
   */
  static void exitWithParent() {
    ProcessHandle.current()
        .parent()
        .ifPresent(
            parent -> {
              Thread watcher =
                  new Thread(
                      () -> {
                        parent.onExit().join();
                        System.err.println("outlast: parent JVM exited; halting");
                        Runtime.getRuntime().halt(3);
                      },
                      "outlast-parent-watch");
              watcher.setDaemon(true);
              watcher.start();
            });
  }

  /** Prints the ready line the parent's probe waits for, then blocks until the JVM is stopped. */
  static void announceReadyAndWait(String details) throws InterruptedException {
    System.out.println(JavaChild.READY + " " + details);
    System.out.flush();
    new CountDownLatch(1).await();
  }

  /** Reports a failed start and exits, so the parent sees the process die at once. */
  static void fail(Throwable e) {
    System.err.println("outlast: server failed to start");
    e.printStackTrace(System.err);
    System.err.flush();
    Runtime.getRuntime().halt(1);
  }
}
