package dev.outlast.testkit;

import java.time.Duration;
import java.util.List;
import java.util.regex.Pattern;
import org.jspecify.annotations.Nullable;

/**
 * A real Apache Pulsar standalone broker (one bookie, RocksDB metadata) in a child JVM. Its broker,
 * web and bookie ports are chosen once and kept across restarts, and so is its data: topics and
 * messages written before a {@link #kill()} are there after {@link #start()}.
 *
 * <p>The broker is not a dependency of the kit: add {@code org.apache.pulsar:pulsar-broker} (4.2.4,
 * with the {@code org.apache.pulsar:pulsar} BOM imported) to the test class path; the child JVM
 * runs on the test's class path.
 *
 * <p>This class is threadsafe.
 */
public final class PulsarServer extends TestServer {
  private static final String MAIN_CLASS = "org.apache.pulsar.PulsarStandalone";
  // Maven's layout (.../pulsar-client/<v>/pulsar-client-<v>.jar), not pulsar-client-original.
  private static final Pattern SHADED_CLIENT =
      Pattern.compile("(^|[/\\\\])pulsar-client-\\d[^/\\\\]*\\.jar$");

  private final int webPort = Ports.free();
  private final int bookiePort = Ports.free();

  /** The name of the listener a {@link Builder#proxied()} broker advertises through its proxy. */
  public static final String PROXIED_LISTENER = "proxied";

  private final boolean deduplication;
  private final String heap;
  private final @Nullable FaultProxy proxy;

  private PulsarServer(Builder builder) {
    super("pulsar", builder.startupTimeout);
    this.deduplication = builder.deduplication;
    this.heap = builder.heap;
    this.proxy = builder.proxied ? FaultProxy.to(host(), port()) : null;
  }

  /**
   * Starts a broker with the defaults: deduplication on.
   *
   * @return the running broker; close it
   * @throws TestServerException if it does not come up; nothing is left behind
   */
  public static PulsarServer launch() {
    return builder().start();
  }

  /** {@return a builder for a broker with other settings} */
  public static Builder builder() {
    return new Builder();
  }

  /** {@return {@code pulsar://127.0.0.1:<port>}, for the Pulsar client} */
  public String serviceUrl() {
    return "pulsar://" + host() + ":" + port();
  }

  /** {@return {@code http://127.0.0.1:<web port>}, for the admin REST API} */
  public String httpUrl() {
    return "http://" + host() + ":" + webPort;
  }

  /**
   * The fault proxy in front of the broker port of a {@link Builder#proxied()} broker. A client
   * built with {@code listenerName(PulsarServer.PROXIED_LISTENER)} is sent through it for every
   * topic: a plain proxy in front of the service URL would only carry the lookups, as the broker
   * answers them with its own address.
   *
   * @return the proxy; it is closed with the broker
   * @throws IllegalStateException if the broker was not built with {@link Builder#proxied()}
   */
  public FaultProxy proxy() {
    FaultProxy p = proxy;
    if (p == null) {
      throw new IllegalStateException("this broker has no proxy: build it with proxied()");
    }
    return p;
  }

  @Override
  void closed() {
    if (proxy != null) {
      proxy.close();
    }
  }

  /** {@return whether the broker drops messages whose producer sequence id it has already seen} */
  public boolean deduplication() {
    return deduplication;
  }

  @Override
  void prepare() {
    try {
      Class.forName(MAIN_CLASS, false, PulsarServer.class.getClassLoader());
    } catch (ClassNotFoundException e) {
      throw new TestServerException(
          "PulsarServer needs the broker on the test class path: add"
              + " org.apache.pulsar:pulsar-broker:4.2.4 (test scope, with the"
              + " org.apache.pulsar:pulsar BOM imported)",
          e);
    }
  }

  @Override
  ProcessBuilder command() {
    return JavaChild.command(
        this,
        heap,
        PulsarMain.class,
        List.of("-XX:MaxDirectMemorySize=256m", "-Dlog4j2.disable.jmx=true"),
        List.of(
            Integer.toString(port()),
            Integer.toString(webPort),
            Integer.toString(bookiePort),
            Boolean.toString(deduplication),
            Integer.toString(proxy == null ? 0 : proxy.port())),
        // The broker runs on the unshaded client it depends on; the shaded one a Pulsar sink
        // uses holds copies of the same classes, built against relocated libraries.
        entry -> !SHADED_CLIENT.matcher(entry).find());
  }

  @Override
  void probe() throws Exception {
    if (!logContains(JavaChild.READY)) {
      throw new IllegalStateException("not ready yet");
    }
    probeTcp(port());
  }

  /** Settings for a {@link PulsarServer}. Not threadsafe; build once. */
  public static final class Builder {
    private boolean deduplication = true;
    private boolean proxied;
    private Duration startupTimeout = Duration.ofMinutes(2);
    private String heap = "384m";

    private Builder() {}

    /**
     * Broker-side deduplication by producer name and sequence id; on by default.
     *
     * @param enabled false for a broker that stores every message it is sent
     * @return this builder
     */
    public Builder deduplication(boolean enabled) {
      this.deduplication = enabled;
      return this;
    }

    /**
     * Puts a {@link FaultProxy} in front of the broker and advertises it as a second listener,
     * {@link #PROXIED_LISTENER}; see {@link PulsarServer#proxy()}.
     *
     * @return this builder
     */
    public Builder proxied() {
      this.proxied = true;
      return this;
    }

    /**
     * How long a start may take before it fails; 120 seconds by default. Applies to every start,
     * restarts included.
     *
     * @param timeout positive
     * @return this builder
     * @throws IllegalArgumentException if it is not positive
     */
    public Builder startupTimeout(Duration timeout) {
      if (timeout.isNegative() || timeout.isZero()) {
        throw new IllegalArgumentException("startupTimeout must be positive, was " + timeout);
      }
      this.startupTimeout = timeout;
      return this;
    }

    /**
     * The child JVM's maximum heap, as for {@code -Xmx}; 384m by default.
     *
     * @param size digits and a unit, {@code k}, {@code m} or {@code g}: {@code 1g}
     * @return this builder
     * @throws IllegalArgumentException if it is not of that form
     */
    public Builder heap(String size) {
      if (!size.matches("[0-9]+[kmgKMG]")) {
        throw new IllegalArgumentException("heap must look like 384m or 1g, was '" + size + "'");
      }
      this.heap = size;
      return this;
    }

    /**
     * Creates the broker and starts it.
     *
     * @return the running broker; close it
     * @throws TestServerException if it does not come up; nothing is left behind
     */
    public PulsarServer start() {
      PulsarServer server = new PulsarServer(this);
      try {
        server.start();
        return server;
      } catch (RuntimeException e) {
        server.close();
        throw e;
      }
    }
  }
}
