package dev.outlast.testkit;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.time.Duration;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import java.util.concurrent.locks.ReentrantReadWriteLock;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A TCP proxy on a random loopback port that forwards to one server and breaks the link on demand,
 * while traffic flows: {@link #refuse()} new connections, {@link #cutConnections()} open ones,
 * {@link #blackhole()} everything (connections are accepted, nothing is answered), and {@link
 * #latency(Duration)} on every chunk. Point the client at {@link #port()} instead of the server.
 *
 * <pre>{@code
 * try (FaultProxy proxy = FaultProxy.to(db)) {
 *   String url = "jdbc:mariadb://127.0.0.1:" + proxy.port() + "/test";
 *   proxy.blackhole();  // queries hang until the client's socket timeout
 *   proxy.pass();       // held bytes flow again, as after a network partition heals
 * }
 * }</pre>
 *
 * <p>A blackhole holds bytes rather than dropping them, as a stalled network does: when {@link
 * #pass()} returns, the held bytes are delivered and TCP connections that the client has not given
 * up on carry on. Connections accepted during a blackhole reach the server only after it ends. Once
 * a mode method returns, the mode holds for every byte the proxy writes (unless a write was stuck
 * for over a second on a peer that does not read); bytes written before may still be delivered from
 * the kernel's socket buffers.
 *
 * <p>This class is threadsafe.
 */
public final class FaultProxy implements AutoCloseable {
  /** What the proxy does with connections. */
  public enum Mode {
    /** Forwards every byte (after the configured latency). */
    PASS,
    /** Not listening: new connections are refused; open ones carry on. */
    REFUSE,
    /** Accepts connections and reads, but forwards nothing, in either direction, until PASS. */
    BLACKHOLE
  }

  private static final Logger log = LoggerFactory.getLogger(FaultProxy.class);

  private final String targetHost;
  private final int targetPort;
  private final int port;
  private final Set<Link> links = ConcurrentHashMap.newKeySet();
  private final AtomicLong accepted = new AtomicLong();
  private final Thread acceptor;
  // Pumps check the mode and write under the read lock; mode changes take the write lock, so they
  // return only when no byte is on its way under the old mode. Nobody waits for a mode change
  // while holding or queueing for this lock: a pump stuck in a write to a peer that waits for the
  // other direction would otherwise hold back the pump that could unblock it (seen as a proxy that
  // never forwarded again after pass()).
  private final ReentrantReadWriteLock lock = new ReentrantReadWriteLock();
  // Guards the mode's changes, the listener and acceptorParked; waits for a change happen here.
  private final ReentrantLock state = new ReentrantLock();
  private final Condition changed = state.newCondition();
  private volatile Mode mode = Mode.PASS;
  private volatile long latencyNanos;
  private volatile boolean closed;
  private volatile @Nullable ServerSocket listener;
  private boolean acceptorParked;

  private FaultProxy(String targetHost, int targetPort) {
    this.targetHost = targetHost;
    this.targetPort = targetPort;
    ServerSocket first = bind(0);
    this.port = first.getLocalPort();
    this.listener = first;
    this.acceptor = new Thread(this::acceptLoop, "outlast-proxy-" + port + "-accept");
    acceptor.setDaemon(true);
    acceptor.start();
  }

  /**
   * Starts a proxy in {@link Mode#PASS} that forwards to the given address.
   *
   * @param host the server's host name or address
   * @param port the server's port, 1-65535
   * @return the running proxy, listening on a random loopback port; close it
   * @throws IllegalArgumentException if the port is out of range
   * @throws java.io.UncheckedIOException if the proxy cannot listen
   */
  public static FaultProxy to(String host, int port) {
    Objects.requireNonNull(host, "host");
    if (port < 1 || port > 65535) {
      throw new IllegalArgumentException("port must be 1-65535, was " + port);
    }
    return new FaultProxy(host, port);
  }

  /**
   * Starts a proxy in {@link Mode#PASS} that forwards to a test server's main port.
   *
   * @param server the server; its port stays the same across restarts, so the proxy outlives them
   * @return the running proxy, listening on a random loopback port; close it
   */
  public static FaultProxy to(TestServer server) {
    return to(server.host(), server.port());
  }

  /** {@return where clients connect: always {@code 127.0.0.1}} */
  public String host() {
    return TestServer.LOOPBACK;
  }

  /** {@return the port clients connect to; it stays the same whatever the mode} */
  public int port() {
    return port;
  }

  /** {@return the current mode} */
  public Mode mode() {
    return mode;
  }

  /**
   * Forwards again; bytes held by a blackhole are delivered.
   *
   * @throws IllegalStateException if the proxy is closed
   * @throws java.io.UncheckedIOException if, after {@link #refuse()}, the port cannot be listened
   *     on again
   */
  public void pass() {
    setMode(Mode.PASS);
  }

  /**
   * Stops listening: new connections are refused at once. Open connections are left alone.
   *
   * @throws IllegalStateException if the proxy is closed
   */
  public void refuse() {
    setMode(Mode.REFUSE);
  }

  /**
   * Accepts connections but forwards nothing in either direction until {@link #pass()}.
   *
   * @throws IllegalStateException if the proxy is closed
   * @throws java.io.UncheckedIOException if, after {@link #refuse()}, the port cannot be listened
   *     on again
   */
  public void blackhole() {
    setMode(Mode.BLACKHOLE);
  }

  /**
   * Resets every open connection (both sides see a TCP RST). The mode is unchanged.
   *
   * @throws IllegalStateException if the proxy is closed
   */
  public void cutConnections() {
    requireOpen();
    int cut = 0;
    for (Link link : links) {
      link.reset();
      cut++;
    }
    log.info("proxy {} -> {}:{} cut {} connection(s)", port, targetHost, targetPort, cut);
  }

  /**
   * Delays every chunk of bytes, in both directions, by this much; zero for none.
   *
   * @param perChunk the delay before each chunk read from one side is written to the other; not
   *     negative
   * @throws IllegalArgumentException if it is negative
   * @throws IllegalStateException if the proxy is closed
   */
  public void latency(Duration perChunk) {
    Objects.requireNonNull(perChunk, "perChunk");
    if (perChunk.isNegative()) {
      throw new IllegalArgumentException("latency must not be negative, was " + perChunk);
    }
    requireOpen();
    latencyNanos = perChunk.toNanos();
  }

  /** {@return the delay added to every chunk; zero for none} */
  public Duration latency() {
    return Duration.ofNanos(latencyNanos);
  }

  /** {@return how many connections the proxy has accepted since it started} */
  public long acceptedConnections() {
    return accepted.get();
  }

  /** {@return how many connections are open through the proxy now} */
  public int openConnections() {
    return links.size();
  }

  /** Stops listening and resets every connection. Idempotent; never throws. */
  @Override
  public void close() {
    // lock() ignores interrupts; a close on an interrupted thread still closes. No write-lock
    // fence: a pump stuck in a write is freed by the resets below, not waited for.
    state.lock();
    try {
      if (closed) {
        return;
      }
      closed = true;
      closeListener();
      changed.signalAll();
    } finally {
      state.unlock();
    }
    links.forEach(Link::reset);
    joinUninterruptibly(acceptor, Duration.ofSeconds(5));
  }

  @Override
  public String toString() {
    return "FaultProxy[" + port + " -> " + targetHost + ":" + targetPort + ", " + mode + "]";
  }

  private void requireOpen() {
    if (closed) {
      throw new IllegalStateException("proxy " + port + " is closed");
    }
  }

  private void setMode(Mode next) {
    // Interrupts must not leave the proxy half-switched; the flag is restored on the way out.
    boolean interrupted = Thread.interrupted();
    boolean fenced = false;
    try {
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(1);
      while (!fenced) {
        try {
          // A pump stuck over a second in a write to a peer that does not read holds the read
          // lock; the mode then changes anyway (that write was already on its way).
          fenced =
              lock.writeLock()
                  .tryLock(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
          if (!fenced) {
            break;
          }
        } catch (InterruptedException e) {
          interrupted = true;
        }
      }
      state.lock();
      try {
        requireOpen();
        if (next != Mode.REFUSE && listener == null) {
          // Listen again before the mode says so, so that a connect right after pass() is served.
          listener = bind(port);
        }
        mode = next;
        changed.signalAll();
        if (next == Mode.REFUSE) {
          closeListener();
          interrupted |= awaitAcceptorParked();
        }
      } finally {
        state.unlock();
      }
    } finally {
      if (fenced) {
        lock.writeLock().unlock();
      }
      if (interrupted) {
        Thread.currentThread().interrupt();
      }
    }
    log.info("proxy {} -> {}:{} now {}", port, targetHost, targetPort, next);
  }

  /**
   * A ServerSocket closed while another thread is blocked in accept() keeps listening until that
   * accept() returns; wait for it, so that connections are refused once refuse() returns.
   *
   * @return whether the thread was interrupted meanwhile
   */
  private boolean awaitAcceptorParked() {
    boolean interrupted = false;
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
    while (!acceptorParked && !closed) {
      if (!acceptor.isAlive() || System.nanoTime() > deadline) {
        throw new IllegalStateException(
            "proxy " + port + ": the accepting thread did not stop listening within 5 s");
      }
      interrupted |= awaitChange(50);
    }
    return interrupted;
  }

  private void acceptLoop() {
    int failuresInARow = 0;
    while (true) {
      ServerSocket current;
      state.lock();
      try {
        acceptorParked = true;
        changed.signalAll();
        while (!closed && listener == null) {
          awaitChange(1_000);
        }
        acceptorParked = false;
        current = listener;
        if (closed || current == null) {
          return;
        }
      } finally {
        state.unlock();
      }
      Socket client;
      try {
        client = current.accept();
        failuresInARow = 0;
      } catch (IOException e) {
        if (!closed && listener == current) {
          // Not closed by us: out of file descriptors or the like. Say so, and do not spin.
          failuresInARow++;
          log.warn("proxy {}: accept failed ({} in a row): {}", port, failuresInARow, e.toString());
          sleepQuietly(Math.min(1_000, 10L << Math.min(failuresInARow, 7)));
        }
        continue;
      }
      if (listener != current || closed) {
        // Slipped in while refuse() was closing the listener: refused, as far as TCP allows.
        abort(client);
        continue;
      }
      accepted.incrementAndGet();
      Link link = new Link(client);
      links.add(link);
      link.start();
    }
  }

  /**
   * Waits while the proxy is blackholed. Returns true holding the read lock, which the caller
   * releases after its write; returns false, without the lock, if the proxy was closed.
   */
  @SuppressWarnings("LockNotBeforeTry") // the lock is handed to the caller on purpose
  private boolean enterPassable() {
    while (true) {
      lock.readLock().lock();
      if (closed) {
        lock.readLock().unlock();
        return false;
      }
      if (mode != Mode.BLACKHOLE) {
        return true;
      }
      lock.readLock().unlock();
      state.lock();
      try {
        while (!closed && mode == Mode.BLACKHOLE) {
          awaitChange(1_000);
        }
      } finally {
        state.unlock();
      }
    }
  }

  /**
   * With {@code state} held: waits up to the given time for a mode change.
   *
   * @return whether the wait was interrupted (proxy threads are never interrupted by the proxy)
   */
  @SuppressWarnings("WaitNotInLoop") // every caller loops on its own condition
  private boolean awaitChange(long millis) {
    try {
      changed.await(millis, TimeUnit.MILLISECONDS);
      return false;
    } catch (InterruptedException e) {
      return true;
    }
  }

  private static void joinUninterruptibly(Thread thread, Duration timeout) {
    long deadline = System.nanoTime() + timeout.toNanos();
    boolean interrupted = Thread.interrupted();
    while (thread.isAlive() && System.nanoTime() < deadline) {
      try {
        thread.join(Math.max(1, TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime())));
      } catch (InterruptedException e) {
        interrupted = true;
      }
    }
    if (interrupted) {
      Thread.currentThread().interrupt();
    }
  }

  private static void sleepQuietly(long millis) {
    try {
      Thread.sleep(millis);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  private void closeListener() {
    ServerSocket l = listener;
    listener = null;
    if (l != null) {
      try {
        l.close();
      } catch (IOException e) {
        log.debug("closing listener", e);
      }
    }
  }

  private static ServerSocket bind(int port) {
    try {
      ServerSocket socket = new ServerSocket();
      socket.setReuseAddress(true);
      socket.bind(new InetSocketAddress(TestServer.loopback(), port), 50);
      return socket;
    } catch (IOException e) {
      throw new UncheckedIOException("proxy cannot listen on loopback port " + port, e);
    }
  }

  /** Closes a socket with SO_LINGER 0, so that the peer gets a reset, not an orderly end. */
  private static void abort(Socket socket) {
    try {
      if (!socket.isClosed()) {
        socket.setSoLinger(true, 0);
      }
    } catch (IOException e) {
      log.trace("setSoLinger", e);
    }
    closeQuietly(socket);
  }

  private static void closeQuietly(Socket socket) {
    try {
      socket.close();
    } catch (IOException e) {
      log.trace("close", e);
    }
  }

  /** One client connection and its upstream twin, pumped by two threads. */
  private final class Link {
    private final Socket client;
    private final Socket upstream = new Socket();

    Link(Socket client) {
      this.client = client;
    }

    void start() {
      Thread up = new Thread(this::run, "outlast-proxy-" + port + "-link");
      up.setDaemon(true);
      up.start();
    }

    private void run() {
      try {
        if (!enterPassable()) {
          reset();
          return;
        }
        lock.readLock().unlock();
        upstream.connect(new InetSocketAddress(targetHost, targetPort), 10_000);
        upstream.setTcpNoDelay(true);
        client.setTcpNoDelay(true);
        Thread down =
            new Thread(() -> pump(upstream, client), "outlast-proxy-" + port + "-downstream");
        down.setDaemon(true);
        down.start();
        pump(client, upstream);
      } catch (IOException e) {
        // The server is not there: the client sees its connection reset, as it would directly.
        reset();
      }
    }

    private void pump(Socket from, Socket to) {
      byte[] buffer = new byte[16 * 1024];
      try {
        InputStream in = from.getInputStream();
        OutputStream out = to.getOutputStream();
        while (true) {
          int n = in.read(buffer);
          if (n < 0) {
            to.shutdownOutput();
            break;
          }
          long delay = latencyNanos;
          if (delay > 0) {
            Thread.sleep(delay / 1_000_000, (int) (delay % 1_000_000));
          }
          if (!enterPassable()) {
            break;
          }
          try {
            out.write(buffer, 0, n);
            out.flush();
          } finally {
            lock.readLock().unlock();
          }
        }
        if (client.isOutputShutdown() && upstream.isOutputShutdown()) {
          closeQuietly(client);
          closeQuietly(upstream);
          links.remove(this);
        }
      } catch (IOException e) {
        reset();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        reset();
      }
    }

    /** Closes both sockets so that both peers get a reset. */
    void reset() {
      abort(client);
      abort(upstream);
      links.remove(this);
    }
  }
}
