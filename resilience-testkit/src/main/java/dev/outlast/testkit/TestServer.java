package dev.outlast.testkit;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A real server running as a child process on a random loopback port, in a temporary directory of
 * its own, that a test can break on purpose: {@link #kill()}, {@link #freeze()} and {@link
 * #thaw()}, {@link #stop()}, and {@link #start()} again on the same port with its data kept.
 *
 * <p>{@link #close()} kills the process tree and deletes the directory; it is idempotent. Should
 * the test JVM die before it is called, a watchdog process kills what it left running and deletes
 * its directories within a second or two.
 *
 * <p>This class is threadsafe: the fault methods may be called from any thread, also while clients
 * use the server. Each blocks until the server is in the new state.
 */
public abstract sealed class TestServer implements AutoCloseable
    permits MariaDbServer, PostgresServer, PulsarServer, OpenSearchServer {

  /** What the server's process is doing now. */
  public enum State {
    /** Started and answering. */
    RUNNING,
    /** Suspended with SIGSTOP: connections hang until {@link #thaw()}. */
    FROZEN,
    /** Not running (never started, killed, or stopped); {@link #start()} brings it back. */
    STOPPED,
    /** Closed for good: process gone and directory deleted. */
    CLOSED
  }

  static final String LOOPBACK = "127.0.0.1";
  private static final Logger log = LoggerFactory.getLogger(TestServer.class);

  private final String name;
  private final Path directory;
  private final Path logFile;
  private final Duration startupTimeout;
  private final int port;
  private @Nullable Process process;
  private State state = State.STOPPED;
  private int starts;
  private long logOffsetAtStart;

  TestServer(String name, Duration startupTimeout) {
    this.name = name;
    this.startupTimeout = startupTimeout;
    this.directory = Reaper.createDirectory("outlast-" + name + "-");
    this.logFile = directory.resolve("server.log");
    this.port = Ports.free();
  }

  /**
   * Runs once before the first start, in the server's directory: unpack, initialise data.
   *
   * @throws Exception on any failure; the server is then closed and the failure rethrown
   */
  abstract void prepare() throws Exception;

  /** The command that runs the server in the foreground, writing to its log. */
  abstract ProcessBuilder command();

  /**
   * Returns normally once the server answers its protocol; throws if it cannot yet. Called in a
   * loop until the startup timeout.
   */
  abstract void probe() throws Exception;

  /** Runs after each successful start, e.g. to create a database on the first one. */
  void afterStart(int startCount) throws Exception {}

  /** A short name: "mariadb", "postgres", "pulsar" or "opensearch". */
  public final String name() {
    return name;
  }

  /** The loopback address the server listens on: always {@code 127.0.0.1}. */
  public final String host() {
    return LOOPBACK;
  }

  /** The server's main port, chosen at random when it was created and kept across restarts. */
  public final int port() {
    return port;
  }

  /** The directory that holds the server's data and log; deleted by {@link #close()}. */
  public final Path directory() {
    return directory;
  }

  /** The file the server's process writes its output to. */
  public final Path logFile() {
    return logFile;
  }

  /** The current state. */
  public final synchronized State state() {
    return state;
  }

  /** The operating-system id of the server's root process, or -1 when it is not running. */
  public final synchronized long pid() {
    Process p = process;
    return p != null && p.isAlive() ? p.pid() : -1;
  }

  /**
   * Starts the server, or starts it again after {@link #kill()} or {@link #stop()}, on the same
   * port with its data kept. Returns once it answers its protocol.
   *
   * @throws IllegalStateException if it is running, frozen or closed
   * @throws TestServerException if it does not come up within the startup timeout; the message
   *     holds the end of its log
   */
  public final synchronized void start() {
    requireState(State.STOPPED, "start");
    try {
      if (starts == 0) {
        prepare();
      }
      appendToLog("---- outlast: start #" + (starts + 1) + " at " + Instant.now() + " ----");
      logOffsetAtStart = Files.size(logFile);
      ProcessBuilder builder = command();
      builder.redirectErrorStream(true);
      builder.redirectOutput(ProcessBuilder.Redirect.appendTo(logFile.toFile()));
      builder.redirectInput(ProcessBuilder.Redirect.from(Path.of("/dev/null").toFile()));
      Process p = builder.start();
      process = p;
      Reaper.watch(p.pid());
      awaitReady(p);
      state = State.RUNNING;
      starts++;
      afterStart(starts);
      log.info("{} started on {}:{} (pid {}) in {}", name, LOOPBACK, port, p.pid(), directory);
    } catch (TestServerException e) {
      killProcessTree();
      throw e;
    } catch (Exception e) {
      killProcessTree();
      if (e instanceof InterruptedException) {
        Thread.currentThread().interrupt();
      }
      throw new TestServerException(name + " failed to start: " + e + "\n" + logTail(40), e);
    }
  }

  /**
   * Kills the server's whole process tree with SIGKILL, as a crash or an OOM killer would. Data on
   * disk stays; {@link #start()} brings it back. Clients see connections refused or reset.
   */
  public final synchronized void kill() {
    requireState(State.RUNNING, State.FROZEN, "kill");
    killProcessTree();
    state = State.STOPPED;
    log.info("{} killed", name);
  }

  /**
   * Suspends the server's whole process tree with SIGSTOP. Its sockets stay open: connections are
   * accepted by the kernel but nothing answers, so clients hang until their own timeouts.
   */
  public final synchronized void freeze() {
    requireState(State.RUNNING, "freeze");
    ProcessTree.freeze(requireProcess().toHandle());
    state = State.FROZEN;
    log.info("{} frozen", name);
  }

  /** Resumes a frozen server with SIGCONT; it answers again at once. */
  public final synchronized void thaw() {
    requireState(State.FROZEN, "thaw");
    ProcessTree.thaw(requireProcess().toHandle());
    state = State.RUNNING;
    log.info("{} thawed", name);
  }

  /**
   * Stops the server gracefully (SIGTERM, then SIGKILL after 30 seconds), thawing it first if it is
   * frozen. Data on disk stays; {@link #start()} brings it back.
   */
  public final synchronized void stop() {
    requireState(State.RUNNING, State.FROZEN, "stop");
    Process p = requireProcess();
    if (state == State.FROZEN) {
      ProcessTree.thaw(p.toHandle());
    }
    ProcessTree.terminate(p.toHandle(), Duration.ofSeconds(30));
    Reaper.unwatch(p.pid());
    process = null;
    state = State.STOPPED;
    log.info("{} stopped", name);
  }

  /** Stops the server if it runs (or kills it if frozen), then starts it again with its data. */
  public final synchronized void restart() {
    if (state == State.FROZEN) {
      kill();
    } else if (state == State.RUNNING) {
      stop();
    }
    start();
  }

  /** The last lines of the server's log, for failure messages. */
  public final String logTail(int lines) {
    try {
      if (!Files.exists(logFile)) {
        return "(no log yet: " + logFile + ")";
      }
      // Decoded leniently: a server may write bytes that are not UTF-8.
      List<String> all =
          new String(Files.readAllBytes(logFile), StandardCharsets.UTF_8).lines().toList();
      List<String> tail = all.subList(Math.max(0, all.size() - lines), all.size());
      return "---- last "
          + tail.size()
          + " lines of "
          + logFile
          + " ----\n"
          + String.join("\n", tail);
    } catch (IOException | UncheckedIOException e) {
      return "(log unreadable: " + e + ")";
    }
  }

  /**
   * Kills the server if it runs and deletes its directory. Idempotent; never throws, so that it can
   * sit in a finally block.
   */
  @Override
  public final synchronized void close() {
    if (state == State.CLOSED) {
      return;
    }
    try {
      killProcessTree();
    } finally {
      state = State.CLOSED;
      Reaper.deleteDirectory(directory);
      log.info("{} closed", name);
    }
  }

  @Override
  public String toString() {
    return name + "[" + LOOPBACK + ":" + port + ", " + state() + "]";
  }

  /** Waits until the protocol probe passes, failing early if the process dies. */
  private void awaitReady(Process p) throws InterruptedException {
    long deadline = System.nanoTime() + startupTimeout.toNanos();
    Exception last = null;
    while (System.nanoTime() < deadline) {
      if (!p.isAlive()) {
        throw new TestServerException(
            name + " exited with code " + p.exitValue() + " while starting\n" + logTail(40));
      }
      try {
        probe();
        return;
      } catch (Exception e) {
        last = e;
      }
      Thread.sleep(100);
    }
    throw new TestServerException(
        name
            + " did not answer within "
            + startupTimeout
            + " (last probe: "
            + last
            + ")\n"
            + logTail(40),
        last);
  }

  private void killProcessTree() {
    Process p = process;
    if (p != null) {
      ProcessTree.kill(p.toHandle());
      Reaper.unwatch(p.pid());
      process = null;
    }
    if (state != State.CLOSED) {
      state = State.STOPPED;
    }
  }

  private Process requireProcess() {
    return Objects.requireNonNull(process, "no process although state is " + state);
  }

  private void requireState(State expected, String action) {
    if (state != expected) {
      throw new IllegalStateException(
          "cannot " + action + " " + name + ": it is " + state + ", expected " + expected);
    }
  }

  private void requireState(State a, State b, String action) {
    if (state != a && state != b) {
      throw new IllegalStateException(
          "cannot " + action + " " + name + ": it is " + state + ", expected " + a + " or " + b);
    }
  }

  private void appendToLog(String line) throws IOException {
    Files.writeString(
        logFile,
        line + "\n",
        StandardCharsets.UTF_8,
        StandardOpenOption.CREATE,
        StandardOpenOption.APPEND);
  }

  /** Opens and closes a TCP connection; throws if nothing listens. */
  static void probeTcp(int port) throws IOException {
    try (Socket s = new Socket()) {
      s.connect(new InetSocketAddress(java.net.InetAddress.getLoopbackAddress(), port), 1_000);
    }
  }

  /** What the server has logged since it was last started, for ready-line probes. */
  final String logSinceLastStart() throws IOException {
    try (var channel = Files.newByteChannel(logFile)) {
      long size = channel.size();
      java.nio.ByteBuffer buffer =
          java.nio.ByteBuffer.allocate((int) Math.min(size - logOffsetAtStart, 16 << 20));
      channel.position(logOffsetAtStart);
      while (buffer.hasRemaining() && channel.read(buffer) > 0) {
        // keep reading
      }
      return new String(buffer.array(), 0, buffer.position(), StandardCharsets.UTF_8);
    }
  }

  /** Splits a command line assembled from parts, for builders. */
  static List<String> args(Object... parts) {
    List<String> out = new ArrayList<>();
    for (Object part : parts) {
      if (part instanceof List<?> list) {
        list.forEach(x -> out.add(String.valueOf(x)));
      } else {
        out.add(String.valueOf(part));
      }
    }
    return out;
  }
}
