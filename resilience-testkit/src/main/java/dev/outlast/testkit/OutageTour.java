package dev.outlast.testkit;

import java.time.Duration;
import java.util.Objects;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Every way a server fails, one after another, for tests that run load through it: each round kills
 * the server and starts it again (same port, same data), freezes it (SIGSTOP: connections hang) and
 * thaws it, then cuts it off at the proxy (new connections refused and open ones reset, then a
 * blackhole that accepts and never answers), with a few healthy seconds between the faults. A round
 * takes about 16 seconds plus the server's start.
 */
public final class OutageTour {
  private static final Logger log = LoggerFactory.getLogger(OutageTour.class);
  private static final Duration HEALTHY = Duration.ofSeconds(2);
  private static final Duration DOWN = Duration.ofSeconds(2);
  private static final Duration FROZEN = Duration.ofSeconds(4);
  private static final Duration CUT = Duration.ofSeconds(3);

  private OutageTour() {}

  /**
   * Runs the tour, returning with the server up and the proxy passing traffic, also when
   * interrupted.
   *
   * @param server the server to break
   * @param proxy the proxy its clients go through
   * @param rounds how many times, at least 1
   * @throws InterruptedException if interrupted; the server is healed first
   */
  public static void run(TestServer server, FaultProxy proxy, int rounds)
      throws InterruptedException {
    Objects.requireNonNull(server, "server");
    Objects.requireNonNull(proxy, "proxy");
    if (rounds < 1) {
      throw new IllegalArgumentException("rounds must be at least 1, was " + rounds);
    }
    try {
      for (int round = 1; round <= rounds; round++) {
        log.info("outage tour of {}: round {} of {}", server.name(), round, rounds);
        Thread.sleep(HEALTHY.toMillis());
        server.kill();
        Thread.sleep(DOWN.toMillis());
        server.start();
        Thread.sleep(HEALTHY.toMillis());
        server.freeze();
        Thread.sleep(FROZEN.toMillis());
        server.thaw();
        Thread.sleep(HEALTHY.toMillis());
        proxy.refuse();
        proxy.cutConnections();
        Thread.sleep(CUT.toMillis());
        proxy.pass();
        proxy.blackhole();
        Thread.sleep(CUT.toMillis());
        proxy.pass();
      }
    } finally {
      heal(server, proxy);
    }
  }

  private static void heal(TestServer server, FaultProxy proxy) {
    proxy.pass();
    switch (server.state()) {
      case FROZEN -> server.thaw();
      case STOPPED -> server.start();
      case RUNNING, CLOSED -> {}
    }
  }
}
