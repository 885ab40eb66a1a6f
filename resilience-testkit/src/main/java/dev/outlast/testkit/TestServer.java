package dev.outlast.testkit;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.UnknownHostException;
import java.nio.ByteBuffer;
import java.nio.channels.SeekableByteChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A real server running as a child process on a random loopback port, in a temporary directory of
 * its own, that a test can break on purpose: {@link #kill()}, {@link #freeze()} and {@link
 * #thaw()}, {@link #stop()}, and {@link #start()} again on the same port with its data kept.
 *
 * <p>{@link #close()} kills the process tree and deletes the directory; it is idempotent and never
 * throws, also on a thread that was interrupted. Should the test JVM die before it is called, a
 * watchdog process kills what it left running and deletes its directories within a second or two.
 *
 * <p>This class is threadsafe. The fault methods may be called from any thread, also while clients
 * use the server; each returns once the signal was delivered to every process of the server and,
 * for {@link #kill()} and {@link #stop()}, once they have exited. The accessors never block.
 */
public abstract sealed class TestServer implements AutoCloseable
    permits MariaDbServer, PostgresServer, PulsarServer, OpenSearchServer {

  /** What the server's process is doing now. */
  public enum State {
    /** Started and answering. */
    RUNNING,
    /** Suspended with SIGSTOP: connections hang until {@link #thaw()}. */
    FROZEN,
    /** Not running (never started, killed, stopped, or died); {@link #start()} brings it back. */
    STOPPED,
    /** Closed for good: process gone and directory deleted. */
    CLOSED
  }

  static final String LOOPBACK = "127.0.0.1";
  private static final Logger log = LoggerFactory.getLogger(TestServer.class);

  private final String name;
  private final Path directory;
  private final Path tmp;
  private final Path logFile;
  private final Duration startupTimeout;
  private final int port;
  private volatile @Nullable Process process;
  private volatile State state = State.STOPPED;
  private List<ProcessHandle> frozenChildren = List.of();
  private boolean prepared;
  private boolean initialized;
  private int starts;
  private long logReadOffset;
  private String logCarry = "";
  private final java.util.Set<String> loggedSinceStart = new java.util.HashSet<>();

  TestServer(String name, Duration startupTimeout) {
    this.name = name;
    this.startupTimeout = startupTimeout;
    this.directory = Reaper.createDirectory("outlast-" + name + "-");
    this.tmp = directory.resolve("tmp");
    try {
      Files.createDirectory(tmp);
    } catch (IOException e) {
      Reaper.deleteDirectory(directory);
      throw new UncheckedIOException("cannot create " + tmp, e);
    }
    this.logFile = directory.resolve("server.log");
    this.port = Ports.free();
  }

  /**
   * Runs before the first start, in the server's directory: unpack, initialise data. Runs again if
   * it failed; it must cope with what a failed run left.
   */
  abstract void prepare() throws Exception;

  /** The command that runs the server in the foreground, writing to its log. */
  abstract ProcessBuilder command();

  /**
   * Returns normally once the server answers its protocol; throws if it cannot yet. Called in a
   * loop until the startup timeout.
   */
  abstract void probe() throws Exception;

  /** Runs once, after the first successful start (again after a start where it failed). */
  void initialize() throws Exception {}

  /** The signal that asks the server to shut down cleanly and promptly. */
  String stopSignal() {
    return "TERM";
  }

  /**
   * Runs after the server's processes are gone, however they went: release what they left.
   *
   * @param pid the id the server's root process had
   */
  void afterExit(long pid) {}

  /** {@return a short name: "mariadb", "postgres", "pulsar" or "opensearch"} */
  public final String name() {
    return name;
  }

  /** {@return the loopback address the server listens on: always {@code 127.0.0.1}} */
  public final String host() {
    return LOOPBACK;
  }

  /**
   * {@return the server's main port, chosen at random when it was created and kept across restarts}
   */
  public final int port() {
    return port;
  }

  /** {@return the directory that holds the server's data and log; deleted by {@link #close()}} */
  public final Path directory() {
    return directory;
  }

  /**
   * The temp directory of the server's processes, inside {@link #directory()}: what they write
   * there goes when the directory goes, also after a kill that let them clean up nothing.
   */
  final Path tmpDirectory() {
    return tmp;
  }

  /**
   * A native command run in the server's directory, with {@code TMPDIR} pointing at {@link
   * #tmpDirectory()}, so that nothing it writes lands in the machine's shared temp directory.
   */
  final ProcessBuilder nativeCommand(List<String> command) {
    ProcessBuilder builder = new ProcessBuilder(command).directory(directory.toFile());
    builder.environment().put("TMPDIR", tmp.toString());
    return builder;
  }

  /**
   * {@return the file the server's process writes its output to, in {@link #directory()}}
   *
   * <p>Each start appends to it, after a line that marks the start.
   */
  public final Path logFile() {
    return logFile;
  }

  /**
   * {@return the current state}
   *
   * <p>A server that died on its own is reported {@link State#STOPPED} as soon as its process is
   * gone.
   */
  public final State state() {
    State s = state;
    Process p = process;
    if ((s == State.RUNNING || s == State.FROZEN) && p != null && !p.isAlive()) {
      return State.STOPPED;
    }
    return s;
  }

  /**
   * {@return the operating-system id of the server's root process, or -1 when it is not running}
   */
  public final long pid() {
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
      if (!prepared) {
        prepare();
        prepared = true;
      }
      appendToLog("---- outlast: start #" + (starts + 1) + " at " + Instant.now() + " ----");
      logReadOffset = Files.size(logFile);
      logCarry = "";
      loggedSinceStart.clear();
      ProcessBuilder builder = command();
      builder.redirectErrorStream(true);
      builder.redirectOutput(ProcessBuilder.Redirect.appendTo(logFile.toFile()));
      builder.redirectInput(ProcessBuilder.Redirect.from(Path.of("/dev/null").toFile()));
      Process p = builder.start();
      process = p;
      Reaper.watch(p.toHandle());
      awaitReady(p);
      state = State.RUNNING;
      starts++;
      if (!initialized) {
        initialize();
        initialized = true;
      }
      log.info("{} started on {}:{} (pid {}) in {}", name, LOOPBACK, port, p.pid(), directory);
    } catch (Exception e) {
      killProcessTree();
      if (e instanceof InterruptedException) {
        Thread.currentThread().interrupt();
      }
      if (e instanceof TestServerException t) {
        throw t;
      }
      throw new TestServerException(name + " failed to start: " + e + "\n" + logTail(40), e);
    }
  }

  /**
   * Kills the server's whole process tree with SIGKILL, as a crash or an OOM killer would. Data on
   * disk stays; {@link #start()} brings it back. Clients see connections refused or reset.
   */
  public final synchronized void kill() {
    requireAlive(State.RUNNING, State.FROZEN, "kill");
    killProcessTree();
    log.info("{} killed", name);
  }

  /**
   * Suspends the server's whole process tree with SIGSTOP. Its sockets stay open: connections are
   * accepted by the kernel but nothing answers, so clients hang until their own timeouts.
   *
   * @throws TestServerException if the server died on its own meanwhile
   */
  public final synchronized void freeze() {
    Process p = requireAlive(State.RUNNING, State.RUNNING, "freeze");
    List<ProcessHandle> below = ProcessTree.freeze(p.toHandle());
    // A tree frozen when the test JVM dies would stay frozen forever: let the watchdog know it.
    below.forEach(Reaper::watch);
    frozenChildren = below;
    state = State.FROZEN;
    log.info("{} frozen ({} processes)", name, below.size() + 1);
  }

  /**
   * Resumes a frozen server with SIGCONT; it answers again at once.
   *
   * @throws TestServerException if the server died meanwhile
   */
  public final synchronized void thaw() {
    Process p = requireAlive(State.FROZEN, State.FROZEN, "thaw");
    ProcessTree.thaw(p.toHandle());
    unwatchFrozenChildren();
    state = State.RUNNING;
    log.info("{} thawed", name);
  }

  /**
   * Stops the server gracefully with its own shutdown signal (SIGINT for PostgreSQL, SIGTERM for
   * the others), thawing it first if it is frozen, and kills it if it has not exited after 30
   * seconds. Data on disk stays; {@link #start()} brings it back.
   */
  public final synchronized void stop() {
    Process p = requireAlive(State.RUNNING, State.FROZEN, "stop");
    if (state == State.FROZEN) {
      ProcessTree.thaw(p.toHandle());
      unwatchFrozenChildren();
    }
    ProcessTree.terminate(p.toHandle(), stopSignal(), Duration.ofSeconds(30));
    exited(p);
    log.info("{} stopped", name);
  }

  /** Stops the server if it runs (or kills it if frozen), then starts it again with its data. */
  public final synchronized void restart() {
    State s = state();
    if (s == State.FROZEN) {
      kill();
    } else if (s == State.RUNNING) {
      stop();
    } else if (state != State.STOPPED) {
      // Died on its own: tidy up after it.
      killProcessTree();
    }
    start();
  }

  /**
   * The last lines of the server's log, for failure messages.
   *
   * @param lines how many lines at most
   * @return the lines under a header that names the file; a note instead if there is no log or it
   *     cannot be read (never throws)
   */
  public final String logTail(int lines) {
    return Os.tail(logFile, lines);
  }

  /**
   * Kills the server if it runs and deletes its directory. Idempotent; never throws, also on an
   * interrupted thread, so that it can sit in a finally block.
   */
  @Override
  public final synchronized void close() {
    if (state == State.CLOSED) {
      return;
    }
    try {
      killProcessTree();
    } catch (RuntimeException e) {
      log.warn("{}: killing the server on close failed; the watchdog will retry", name, e);
    } finally {
      state = State.CLOSED;
      Reaper.deleteDirectory(directory);
      closed();
      log.info("{} closed", name);
    }
  }

  /** Runs once when the server is closed, after its processes and files are gone. Never throws. */
  void closed() {}

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
      boolean gone = ProcessTree.kill(p.toHandle());
      if (gone) {
        exited(p);
      } else {
        log.warn("{}: pid {} survived SIGKILL for 30 s; left to the watchdog", name, p.pid());
      }
    }
    if (state != State.CLOSED) {
      state = State.STOPPED;
    }
  }

  /** Bookkeeping once the server's processes are gone. */
  private void exited(Process p) {
    Reaper.unwatch(p.pid());
    unwatchFrozenChildren();
    process = null;
    if (state != State.CLOSED) {
      state = State.STOPPED;
    }
    afterExit(p.pid());
  }

  private void unwatchFrozenChildren() {
    frozenChildren.forEach(c -> Reaper.unwatch(c.pid()));
    frozenChildren = List.of();
  }

  private void requireState(State expected, String action) {
    State s = state();
    if (s != expected) {
      throw new IllegalStateException(
          "cannot " + action + " " + name + ": it is " + s + ", expected " + expected);
    }
  }

  /** Checks the state, and that the process is still there; a dead server is tidied up. */
  private Process requireAlive(State a, State b, String action) {
    State s = state;
    if (s != a && s != b) {
      String expected = a == b ? a.toString() : a + " or " + b;
      throw new IllegalStateException(
          "cannot " + action + " " + name + ": it is " + s + ", expected " + expected);
    }
    Process p = process;
    if (p == null || !p.isAlive()) {
      String exit = p == null ? "?" : Integer.toString(p.exitValue());
      if (p != null) {
        exited(p);
      }
      throw new TestServerException(
          "cannot "
              + action
              + " "
              + name
              + ": it died on its own (exit code "
              + exit
              + ")\n"
              + logTail(40));
    }
    return p;
  }

  private void appendToLog(String line) throws IOException {
    Files.writeString(
        logFile,
        line + "\n",
        StandardCharsets.UTF_8,
        StandardOpenOption.CREATE,
        StandardOpenOption.APPEND);
  }

  /**
   * Whether the server has logged this text since it was last started. Reads only what was added
   * since the previous call, keeping a little of the end in case the text was split between two
   * reads.
   */
  final boolean logContains(String text) throws IOException {
    if (loggedSinceStart.contains(text)) {
      return true;
    }
    try (SeekableByteChannel channel = Files.newByteChannel(logFile)) {
      long size = channel.size();
      if (size > logReadOffset) {
        ByteBuffer buffer = ByteBuffer.allocate((int) Math.min(size - logReadOffset, 1 << 20));
        channel.position(logReadOffset);
        while (buffer.hasRemaining() && channel.read(buffer) > 0) {
          // keep reading
        }
        logReadOffset += buffer.position();
        String added =
            logCarry + new String(buffer.array(), 0, buffer.position(), StandardCharsets.UTF_8);
        logCarry = added.substring(Math.max(0, added.length() - text.length()));
        if (added.contains(text)) {
          loggedSinceStart.add(text);
          return true;
        }
      }
      return false;
    }
  }

  /** Opens and closes a TCP connection; throws if nothing listens. */
  static void probeTcp(int port) throws IOException {
    try (Socket s = new Socket()) {
      s.connect(new InetSocketAddress(loopback(), port), 1_000);
    }
  }

  /** 127.0.0.1, never ::1: the servers bind IPv4 loopback whatever the JVM prefers. */
  static InetAddress loopback() {
    try {
      return InetAddress.getByAddress(LOOPBACK, new byte[] {127, 0, 0, 1});
    } catch (UnknownHostException e) {
      throw new AssertionError("four bytes are a valid address", e);
    }
  }
}
