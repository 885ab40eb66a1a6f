package dev.outlast.testkit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.jspecify.annotations.Nullable;
import org.junit.jupiter.api.Test;

/**
 * One specification that every {@link TestServer} must meet, run with a real client of each server:
 * start, a round trip, freeze (the client times out), thaw (it works again), kill (the client fails
 * fast), restart (data written before is still there), graceful stop and start, and a close that
 * leaves no process and no directory behind.
 */
abstract class TestServerContract<S extends TestServer> {
  /** The client's own timeout; a frozen server makes calls fail after about this long. */
  static final Duration CLIENT_TIMEOUT = Duration.ofSeconds(3);

  abstract S launch();

  /** Writes a value with a fresh client that gives up after {@link #CLIENT_TIMEOUT}. */
  abstract void write(S server, String key, String value) throws Exception;

  /** Reads a value with a fresh client that gives up after {@link #CLIENT_TIMEOUT}. */
  abstract String read(S server, String key) throws Exception;

  /**
   * A call with a real client that must fail at once when the server is dead. The read by default;
   * a client that retries refused connections until its timeout by design (Pulsar's) uses another
   * of the server's real interfaces.
   */
  void callThatFailsFastWhenDead(S server) throws Exception {
    read(server, "before-kill");
  }

  /**
   * Opens a client connection that stays open and idle, as a connection pool's would, or returns
   * null if the server has no such notion worth testing.
   */
  @Nullable AutoCloseable openIdleClient(S server) throws Exception {
    return null;
  }

  @Test
  void lifecycle_freezeThawKillRestart_behavesLikeTheRealFailure() throws Exception {
    Leftovers before = Leftovers.take();
    S server = launch();
    long firstPid;
    // The root process of each start: a PostgreSQL postmaster creates a System V segment.
    List<Long> serverPids = new ArrayList<>();
    Path dir = server.directory();
    int port = server.port();
    try {
      assertThat(server.state()).isEqualTo(TestServer.State.RUNNING);
      firstPid = server.pid();
      serverPids.add(firstPid);
      assertThat(firstPid).isPositive();
      write(server, "before-kill", "v1");
      assertThat(read(server, "before-kill")).isEqualTo("v1");

      server.freeze();
      assertThat(server.state()).isEqualTo(TestServer.State.FROZEN);
      long frozenAt = System.nanoTime();
      assertThatThrownBy(() -> read(server, "before-kill"))
          .as("a frozen server must make the client time out")
          .isInstanceOf(Exception.class);
      Duration hung = Duration.ofNanos(System.nanoTime() - frozenAt);
      assertThat(hung)
          .as("the client waited for its timeout, not for a refusal")
          .isGreaterThanOrEqualTo(CLIENT_TIMEOUT.multipliedBy(8).dividedBy(10));

      server.thaw();
      assertThat(read(server, "before-kill")).isEqualTo("v1");

      List<ProcessHandle> tree = tree(firstPid);
      server.kill();
      assertThat(tree).as("every process of the tree is gone").noneMatch(ProcessHandle::isAlive);
      long killedAt = System.nanoTime();
      assertThatThrownBy(() -> callThatFailsFastWhenDead(server))
          .as("a killed server must make the client fail")
          .isInstanceOf(Exception.class);
      Duration failed = Duration.ofNanos(System.nanoTime() - killedAt);
      assertThat(failed)
          .as("a dead server is refused at once, well before the client timeout")
          .isLessThan(CLIENT_TIMEOUT.dividedBy(2));

      server.start();
      serverPids.add(server.pid());
      assertThat(server.port()).as("same port after restart").isEqualTo(port);
      assertThat(read(server, "before-kill")).as("data survives kill -9").isEqualTo("v1");

      write(server, "before-stop", "v2");
      server.stop();
      assertThat(server.state()).isEqualTo(TestServer.State.STOPPED);
      server.restart();
      serverPids.add(server.pid());
      assertThat(read(server, "before-stop")).as("data survives a graceful stop").isEqualTo("v2");
    } finally {
      server.close();
    }
    long lastPid = server.pid();
    assertThat(lastPid).isEqualTo(-1);
    assertThat(server.state()).isEqualTo(TestServer.State.CLOSED);
    assertThat(Files.exists(dir)).as("close() deletes the directory").isFalse();
    server.close(); // idempotent
    before.assertNothingLeftBy(serverPids);
  }

  @Test
  void stop_withAnIdleClientConnected_isGracefulAndPrompt() throws Exception {
    S server = launch();
    try {
      AutoCloseable client = openIdleClient(server);
      long start = System.nanoTime();
      try {
        server.stop();
      } finally {
        closeQuietly(client);
      }
      assertThat(Duration.ofNanos(System.nanoTime() - start))
          .as("a graceful stop does not wait for clients to leave")
          .isLessThan(Duration.ofSeconds(20));
      server.start();
      assertThat(server.state()).isEqualTo(TestServer.State.RUNNING);
    } finally {
      server.close();
    }
  }

  @Test
  void close_whileFrozen_onAnInterruptedThread_killsTheWholeTree() throws Exception {
    S server = launch();
    AutoCloseable client = null;
    List<ProcessHandle> tree;
    try {
      client = openIdleClient(server);
      tree = tree(server.pid());
      server.freeze();
      Thread.currentThread().interrupt();
      server.close();
      assertThat(Thread.interrupted()).as("close() keeps the interrupt flag").isTrue();
    } finally {
      Thread.interrupted();
      server.close();
      closeQuietly(client);
    }
    assertThat(tree)
        .as("every process of the frozen tree is gone")
        .noneMatch(ProcessHandle::isAlive);
    assertThat(server.state()).isEqualTo(TestServer.State.CLOSED);
    assertThat(Files.exists(server.directory())).isFalse();
  }

  private static void closeQuietly(@Nullable AutoCloseable client) {
    if (client != null) {
      try {
        client.close();
      } catch (Exception e) {
        // the server is gone; closing its client may fail
      }
    }
  }

  private static List<ProcessHandle> tree(long pid) {
    ProcessHandle root = ProcessHandle.of(pid).orElseThrow();
    List<ProcessHandle> all = new ArrayList<>(root.descendants().toList());
    all.add(root);
    return all;
  }
}
