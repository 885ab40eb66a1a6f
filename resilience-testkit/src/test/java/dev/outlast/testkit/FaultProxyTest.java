package dev.outlast.testkit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.ConnectException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketException;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class FaultProxyTest {
  private EchoServer echo;
  private FaultProxy proxy;

  @BeforeEach
  void setUp() throws IOException {
    echo = new EchoServer();
    proxy = FaultProxy.to("127.0.0.1", echo.port());
  }

  @AfterEach
  void tearDown() throws IOException {
    proxy.close();
    echo.close();
  }

  private Socket connect() throws IOException {
    Socket s = new Socket();
    s.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), proxy.port()), 2_000);
    s.setSoTimeout(2_000);
    return s;
  }

  private static String roundTrip(Socket s, String text) throws IOException {
    OutputStream out = s.getOutputStream();
    out.write((text + "\n").getBytes(StandardCharsets.UTF_8));
    out.flush();
    InputStream in = s.getInputStream();
    StringBuilder line = new StringBuilder();
    for (int c = in.read(); c != '\n'; c = in.read()) {
      if (c < 0) {
        throw new IOException("closed after " + line);
      }
      line.append((char) c);
    }
    return line.toString();
  }

  @Test
  void pass_forwardsBothWays() throws IOException {
    try (Socket s = connect()) {
      assertThat(roundTrip(s, "hello")).isEqualTo("hello");
      assertThat(roundTrip(s, "again")).isEqualTo("again");
    }
    assertThat(proxy.acceptedConnections()).isEqualTo(1);
  }

  @Test
  void refuse_rejectsNewConnections_keepsOpenOnes_andPassListensAgainOnTheSamePort()
      throws IOException {
    try (Socket open = connect()) {
      assertThat(roundTrip(open, "a")).isEqualTo("a");
      proxy.refuse();
      assertThatThrownBy(this::connect).isInstanceOf(ConnectException.class);
      assertThat(roundTrip(open, "b")).as("open connection unaffected").isEqualTo("b");
      proxy.pass();
      try (Socket again = connect()) {
        assertThat(roundTrip(again, "c")).isEqualTo("c");
      }
    }
  }

  /**
   * Regression: a ServerSocket closed while the acceptor thread is blocked in accept() kept
   * listening until accept() returned, so a connect right after refuse() often succeeded.
   */
  @Test
  void refuse_repeatedlyWhileTheAcceptorIsBlocked_refusesEveryTime() throws IOException {
    for (int i = 0; i < 50; i++) {
      proxy.refuse();
      assertThatThrownBy(this::connect).as("round " + i).isInstanceOf(ConnectException.class);
      proxy.pass();
      try (Socket s = connect()) {
        assertThat(roundTrip(s, "r" + i)).isEqualTo("r" + i);
      }
    }
  }

  @Test
  void cutConnections_resetsOpenConnections_newOnesStillPass() throws IOException {
    try (Socket open = connect()) {
      assertThat(roundTrip(open, "a")).isEqualTo("a");
      proxy.cutConnections();
      assertThatThrownBy(() -> roundTrip(open, "b"))
          .as("a reset, not an orderly end of stream")
          .isInstanceOf(SocketException.class)
          .hasMessageContaining("reset");
    }
    assertThat(proxy.openConnections()).isZero();
    try (Socket fresh = connect()) {
      assertThat(roundTrip(fresh, "c")).isEqualTo("c");
    }
  }

  @Test
  void blackhole_acceptsButNeverAnswers_thenDeliversHeldBytesOnPass() throws IOException {
    try (Socket open = connect()) {
      assertThat(roundTrip(open, "a")).isEqualTo("a");
      proxy.blackhole();
      try (Socket held = connect()) {
        assertThatThrownBy(() -> roundTrip(held, "lost?"))
            .isInstanceOf(SocketTimeoutException.class);
        assertThatThrownBy(() -> roundTrip(open, "b")).isInstanceOf(SocketTimeoutException.class);
        proxy.pass();
        // The bytes held during the blackhole arrive, like a healed network partition.
        held.setSoTimeout(5_000);
        assertThat(readLine(held)).isEqualTo("lost?");
        open.setSoTimeout(5_000);
        assertThat(readLine(open)).isEqualTo("b");
      }
    }
  }

  @Test
  void latency_delaysEveryChunk() throws IOException {
    proxy.latency(Duration.ofMillis(150));
    try (Socket s = connect()) {
      long start = System.nanoTime();
      assertThat(roundTrip(s, "slow")).isEqualTo("slow");
      Duration took = Duration.ofNanos(System.nanoTime() - start);
      // One chunk each way.
      assertThat(took).isGreaterThanOrEqualTo(Duration.ofMillis(300));
      proxy.latency(Duration.ZERO);
      start = System.nanoTime();
      roundTrip(s, "fast");
      assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofMillis(150));
    }
  }

  @Test
  void upstreamDown_clientSeesItsConnectionReset() throws IOException {
    echo.close();
    // The reset may arrive before the first write or after it; either way the client sees it.
    assertThatThrownBy(
            () -> {
              try (Socket s = connect()) {
                roundTrip(s, "x");
              }
            })
        .isInstanceOf(SocketException.class)
        .hasMessageContaining("reset");
  }

  @Test
  void close_isIdempotent_andEverythingAfterCloseIsRejected() {
    proxy.close();
    proxy.close();
    assertThatThrownBy(proxy::pass).hasMessageContaining("closed");
    assertThatThrownBy(proxy::blackhole).hasMessageContaining("closed");
    assertThatThrownBy(proxy::cutConnections).hasMessageContaining("closed");
    assertThatThrownBy(() -> proxy.latency(Duration.ofMillis(5))).hasMessageContaining("closed");
    assertThatThrownBy(() -> proxy.latency(Duration.ofMillis(-1)))
        .hasMessageContaining("PT-0.001S");
  }

  @Test
  void close_onAnInterruptedThread_stillClosesEverything() throws IOException {
    try (Socket open = connect()) {
      assertThat(roundTrip(open, "a")).isEqualTo("a");
      Thread.currentThread().interrupt();
      proxy.close();
      assertThat(Thread.interrupted()).as("the flag is kept").isTrue();
      assertThat(proxy.openConnections()).isZero();
      assertThatThrownBy(this::connect).isInstanceOf(ConnectException.class);
    }
  }

  /** Under continuous traffic, blackhole() stops every byte and pass() lets them flow again. */
  @Test
  void blackhole_underContinuousTraffic_stopsEveryByteOnceItReturns() throws Exception {
    try (Socket s = connect()) {
      s.setSoTimeout(5_000);
      AtomicLong received = new AtomicLong();
      AtomicBoolean stop = new AtomicBoolean();
      Thread writer =
          new Thread(
              () -> {
                byte[] chunk = new byte[512];
                try {
                  while (!stop.get()) {
                    s.getOutputStream().write(chunk);
                  }
                } catch (IOException e) {
                  // socket closed at the end
                }
              });
      Thread reader =
          new Thread(
              () -> {
                byte[] buf = new byte[4096];
                try {
                  for (int n; (n = s.getInputStream().read(buf)) > 0; ) {
                    received.addAndGet(n);
                  }
                } catch (IOException e) {
                  // closed at the end
                }
              });
      writer.setDaemon(true);
      reader.setDaemon(true);
      writer.start();
      reader.start();
      await().atMost(Duration.ofSeconds(5)).until(() -> received.get() > 0);
      for (int round = 0; round < 5; round++) {
        proxy.blackhole();
        // What the proxy wrote before blackhole() returned may still sit in the kernel's socket
        // buffers, and is delivered from there; after they drain, nothing more may arrive.
        Thread.sleep(500);
        long drained = received.get();
        Thread.sleep(500);
        assertThat(received.get())
            .as("round %d: bytes received during the blackhole, after the buffers drained", round)
            .isEqualTo(drained);
        proxy.pass();
        long atPass = received.get();
        await().atMost(Duration.ofSeconds(5)).until(() -> received.get() > atPass);
      }
      stop.set(true);
    }
  }

  /**
   * Both pumps stuck in writes when blackhole() comes: the server answers but reads no more until
   * its answer got through (as an echo server does once its buffers fill). The pump towards the
   * client must wait for pass() without waiting on the pump towards the server, or pass() would
   * never forward again (a CI run saw exactly that).
   */
  @Test
  void blackhole_whileBothPumpsAreStuckInWrites_passForwardsAgain() throws Exception {
    CountDownLatch serverMayRead = new CountDownLatch(1);
    try (ServerSocket server = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
        FaultProxy stuck = FaultProxy.to("127.0.0.1", server.getLocalPort())) {
      Thread serverSide =
          daemon(
              () -> {
                try (Socket s = server.accept()) {
                  Thread talker =
                      daemon(
                          () -> {
                            // Until closed: however large the machine's socket buffers, the
                            // pump towards the client ends up stuck in a write.
                            byte[] chunk = new byte[64 * 1024];
                            try {
                              while (true) {
                                s.getOutputStream().write(chunk);
                              }
                            } catch (IOException e) {
                              // closed at the end
                            }
                          });
                  talker.start();
                  serverMayRead.await();
                  s.getInputStream().transferTo(OutputStream.nullOutputStream());
                } catch (IOException | InterruptedException e) {
                  // closed at the end
                }
              });
      serverSide.start();
      try (Socket client = new Socket()) {
        client.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), stuck.port()));
        AtomicLong sent = new AtomicLong();
        Thread writer =
            daemon(
                () -> {
                  byte[] chunk = new byte[64 * 1024];
                  try {
                    while (true) {
                      client.getOutputStream().write(chunk);
                      sent.addAndGet(chunk.length);
                    }
                  } catch (IOException e) {
                    // closed at the end
                  }
                });
        writer.start();
        // Until the client's writes stall: every buffer on the way to the server is full, so the
        // pump towards the server is blocked in a write, and so is the one towards the client.
        awaitStalled(sent);
        stuck.blackhole();
        AtomicLong received = new AtomicLong();
        Thread reader =
            daemon(
                () -> {
                  byte[] buf = new byte[64 * 1024];
                  try {
                    for (int n; (n = client.getInputStream().read(buf)) > 0; ) {
                      received.addAndGet(n);
                    }
                  } catch (IOException e) {
                    // closed at the end
                  }
                });
        reader.start();
        // What was on its way before the blackhole drains from the kernel's buffers; then nothing.
        awaitStalled(received);
        long duringBlackhole = received.get();
        stuck.pass();
        await()
            .atMost(Duration.ofSeconds(5))
            .until(() -> received.get() > duringBlackhole + (1 << 20));
        serverMayRead.countDown();
        long sentAtRelease = sent.get();
        await().atMost(Duration.ofSeconds(5)).until(() -> sent.get() > sentAtRelease + (1 << 20));
      }
    } finally {
      serverMayRead.countDown();
    }
  }

  private static Thread daemon(Runnable body) {
    Thread t = new Thread(body);
    t.setDaemon(true);
    return t;
  }

  /** Waits until the counter has not moved for 300 ms (at most 10 s). */
  private static void awaitStalled(AtomicLong counter) throws InterruptedException {
    long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
    long last = -1;
    while (System.nanoTime() < deadline) {
      long now = counter.get();
      if (now == last) {
        return;
      }
      last = now;
      Thread.sleep(300);
    }
    throw new AssertionError("still moving after 10 s: " + counter.get());
  }

  @Test
  void withMariaDb_blackholeMakesQueriesTimeOut_refuseFailsFast_passRecovers() throws Exception {
    try (MariaDbServer db = MariaDbServer.launch();
        FaultProxy dbProxy = FaultProxy.to(db)) {
      String url =
          "jdbc:mariadb://127.0.0.1:"
              + dbProxy.port()
              + "/test?connectTimeout=2000&socketTimeout=2000";
      assertThat(selectOne(url)).isEqualTo(1);
      dbProxy.blackhole();
      long start = System.nanoTime();
      assertThatThrownBy(() -> selectOne(url)).isInstanceOf(SQLException.class);
      assertThat(Duration.ofNanos(System.nanoTime() - start))
          .isGreaterThan(Duration.ofMillis(1500));
      dbProxy.refuse();
      start = System.nanoTime();
      assertThatThrownBy(() -> selectOne(url)).isInstanceOf(SQLException.class);
      assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofSeconds(1));
      dbProxy.pass();
      assertThat(selectOne(url)).isEqualTo(1);
      assertThat(dbProxy.acceptedConnections()).isGreaterThanOrEqualTo(3);
    }
  }

  private static int selectOne(String url) throws SQLException {
    try (Connection c = DriverManager.getConnection(url, "root", "");
        ResultSet rs = c.createStatement().executeQuery("SELECT 1")) {
      rs.next();
      return rs.getInt(1);
    }
  }

  private static String readLine(Socket s) throws IOException {
    InputStream in = s.getInputStream();
    StringBuilder line = new StringBuilder();
    for (int c = in.read(); c != '\n' && c >= 0; c = in.read()) {
      line.append((char) c);
    }
    return line.toString();
  }

  /** Echoes every byte back; one thread per connection. */
  private static final class EchoServer implements AutoCloseable {
    private final ServerSocket socket;
    private final Thread acceptor;

    EchoServer() throws IOException {
      socket = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
      acceptor =
          new Thread(
              () -> {
                while (!socket.isClosed()) {
                  try {
                    Socket s = socket.accept();
                    Thread t = new Thread(() -> echo(s));
                    t.setDaemon(true);
                    t.start();
                  } catch (IOException e) {
                    return;
                  }
                }
              });
      acceptor.setDaemon(true);
      acceptor.start();
    }

    int port() {
      return socket.getLocalPort();
    }

    private static void echo(Socket s) {
      try (s) {
        s.getInputStream().transferTo(s.getOutputStream());
      } catch (IOException e) {
        // the peer went away
      }
    }

    @Override
    public void close() throws IOException {
      int port = socket.getLocalPort();
      socket.close();
      // A listening socket closed while its acceptor is blocked in accept() goes on listening
      // until accept() returns (JDK 17): one connection wakes it, so "closed" means refused.
      try (Socket kick = new Socket(InetAddress.getLoopbackAddress(), port)) {
        kick.getOutputStream().flush();
      } catch (IOException e) {
        // already refusing
      }
      try {
        acceptor.join(5_000);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
  }
}
