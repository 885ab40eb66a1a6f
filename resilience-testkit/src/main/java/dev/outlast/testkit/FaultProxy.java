package dev.outlast.testkit;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.time.Duration;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
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
 * up on carry on. Connections accepted during a blackhole reach the server only after it ends.
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
  private final Object lock = new Object();
  private final Set<Link> links = ConcurrentHashMap.newKeySet();
  private final AtomicLong accepted = new AtomicLong();
  private final Thread acceptor;
  private volatile Mode mode = Mode.PASS;
  private volatile long latencyNanos;
  private volatile boolean closed;
  private @Nullable ServerSocket listener;
  // True while the acceptor waits for a listener, i.e. is not inside accept(). Guarded by lock.
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

  /** Starts a proxy in {@link Mode#PASS} that forwards to the given address. */
  public static FaultProxy to(String host, int port) {
    Objects.requireNonNull(host, "host");
    if (port < 1 || port > 65535) {
      throw new IllegalArgumentException("port must be 1-65535, was " + port);
    }
    return new FaultProxy(host, port);
  }

  /** Starts a proxy in {@link Mode#PASS} that forwards to a test server's main port. */
  public static FaultProxy to(TestServer server) {
    return to(server.host(), server.port());
  }

  /** Where clients connect: always {@code 127.0.0.1}. */
  public String host() {
    return TestServer.LOOPBACK;
  }

  /** The port clients connect to; it stays the same whatever the mode. */
  public int port() {
    return port;
  }

  /** The current mode. */
  public Mode mode() {
    return mode;
  }

  /** Forwards again; bytes held by a blackhole are delivered. */
  public void pass() {
    setMode(Mode.PASS);
  }

  /** Stops listening: new connections are refused at once. Open connections are left alone. */
  public void refuse() {
    setMode(Mode.REFUSE);
  }

  /** Accepts connections but forwards nothing in either direction until {@link #pass()}. */
  public void blackhole() {
    setMode(Mode.BLACKHOLE);
  }

  /** Resets every open connection (both sides see a TCP RST). The mode is unchanged. */
  public void cutConnections() {
    int cut = 0;
    for (Link link : links) {
      link.reset();
      cut++;
    }
    log.info("proxy {} -> {}:{} cut {} connection(s)", port, targetHost, targetPort, cut);
  }

  /** Delays every chunk of bytes, in both directions, by this much; zero for none. */
  public void latency(Duration perChunk) {
    if (perChunk.isNegative()) {
      throw new IllegalArgumentException("latency must not be negative, was " + perChunk);
    }
    latencyNanos = perChunk.toNanos();
  }

  /** The delay added to every chunk. */
  public Duration latency() {
    return Duration.ofNanos(latencyNanos);
  }

  /** How many connections the proxy has accepted since it started. */
  public long acceptedConnections() {
    return accepted.get();
  }

  /** How many connections are open through the proxy now. */
  public int openConnections() {
    return links.size();
  }

  /** Stops listening and resets every connection. Idempotent. */
  @Override
  public void close() {
    synchronized (lock) {
      if (closed) {
        return;
      }
      closed = true;
      closeListener();
      lock.notifyAll();
    }
    links.forEach(Link::reset);
    try {
      acceptor.join(5_000);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  @Override
  public String toString() {
    return "FaultProxy[" + port + " -> " + targetHost + ":" + targetPort + ", " + mode + "]";
  }

  private void setMode(Mode next) {
    synchronized (lock) {
      if (closed) {
        throw new IllegalStateException("proxy " + port + " is closed");
      }
      mode = next;
      if (next == Mode.REFUSE) {
        closeListener();
        // A ServerSocket closed while another thread is blocked in accept() keeps listening until
        // that accept() returns; wait for it, so that connections are refused once this returns.
        while (!closed && !acceptorParked) {
          waitForChange();
        }
      } else if (listener == null) {
        // Listen again before returning, so that a client connecting right after pass() is served.
        listener = bind(port);
      }
      lock.notifyAll();
    }
    log.info("proxy {} -> {}:{} now {}", port, targetHost, targetPort, next);
  }

  private void acceptLoop() {
    while (true) {
      ServerSocket current;
      synchronized (lock) {
        acceptorParked = true;
        lock.notifyAll();
        while (!closed && listener == null) {
          waitForChange();
        }
        acceptorParked = false;
        if (closed || listener == null) {
          return;
        }
        current = listener;
      }
      try {
        Socket client = current.accept();
        synchronized (lock) {
          if (listener != current) {
            // Slipped in while refuse() was closing the listener: refused, as far as TCP allows.
            new Link(client).reset();
            continue;
          }
        }
        accepted.incrementAndGet();
        Link link = new Link(client);
        links.add(link);
        link.start();
      } catch (IOException e) {
        // The listener was closed by refuse() or close(); the loop decides what comes next.
      }
    }
  }

  /** One wait on the lock; callers loop on their condition. */
  @SuppressWarnings("WaitNotInLoop")
  private void waitForChange() {
    try {
      lock.wait();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      closed = true;
    }
  }

  /** Blocks while the proxy is blackholed; returns false if it was closed meanwhile. */
  private boolean awaitPassable() {
    if (mode != Mode.BLACKHOLE) {
      return !closed;
    }
    synchronized (lock) {
      while (!closed && mode == Mode.BLACKHOLE) {
        waitForChange();
      }
      return !closed;
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
      socket.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), 50);
      return socket;
    } catch (IOException e) {
      throw new UncheckedIOException("proxy cannot listen on loopback port " + port, e);
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
        if (!awaitPassable()) {
          reset();
          return;
        }
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
          if (!awaitPassable()) {
            break;
          }
          long delay = latencyNanos;
          if (delay > 0) {
            Thread.sleep(delay / 1_000_000, (int) (delay % 1_000_000));
          }
          out.write(buffer, 0, n);
          out.flush();
        }
        if (from.isInputShutdown() || to.isOutputShutdown()) {
          maybeDone();
        }
      } catch (IOException e) {
        reset();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        reset();
      }
    }

    /** Both directions have ended normally: close quietly. */
    private void maybeDone() {
      if (client.isOutputShutdown() && upstream.isOutputShutdown()) {
        closeQuietly(client);
        closeQuietly(upstream);
        links.remove(this);
      }
    }

    /** Closes both sockets with SO_LINGER 0, so that both peers get a reset, not an orderly end. */
    void reset() {
      abort(client);
      abort(upstream);
      links.remove(this);
    }

    private void abort(Socket socket) {
      try {
        if (!socket.isClosed()) {
          socket.setSoLinger(true, 0);
        }
      } catch (IOException e) {
        log.trace("setSoLinger", e);
      }
      closeQuietly(socket);
    }

    private void closeQuietly(Socket socket) {
      try {
        socket.close();
      } catch (IOException e) {
        log.trace("close", e);
      }
    }
  }
}
