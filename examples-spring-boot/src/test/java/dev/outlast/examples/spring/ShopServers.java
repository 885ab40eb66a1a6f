package dev.outlast.examples.spring;

import dev.outlast.testkit.MariaDbServer;
import dev.outlast.testkit.OpenSearchServer;
import dev.outlast.testkit.PostgresServer;
import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * The shop's three servers from the test kit, started side by side and seeded: MariaDB (the catalog
 * and the ledger), PostgreSQL (the event store) and OpenSearch (the orders index, which keeps one
 * document per order id). {@link #close()} stops them all and removes their files, and the kit's
 * watchdog does so should the JVM die first.
 */
final class ShopServers implements AutoCloseable {
  static final int PRODUCTS = 100;
  static final int ACCOUNTS = 20;
  static final int EVENTS_PER_ACCOUNT = 5;
  static final String INDEX = "orders";

  final MariaDbServer mariadb;
  final PostgresServer postgres;
  final OpenSearchServer opensearch;

  private ShopServers(MariaDbServer mariadb, PostgresServer postgres, OpenSearchServer opensearch) {
    this.mariadb = mariadb;
    this.postgres = postgres;
    this.opensearch = opensearch;
  }

  /**
   * Starts the three servers at once and seeds them; if any fails, the others are closed.
   *
   * @throws Exception why a server did not start, or the seeding failed
   */
  static ShopServers start() throws Exception {
    var maria =
        CompletableFuture.supplyAsync(() -> MariaDbServer.builder().database("shop").start());
    var pg = CompletableFuture.supplyAsync(() -> PostgresServer.builder().database("shop").start());
    var search = CompletableFuture.supplyAsync(OpenSearchServer::launch);
    try {
      // Each start is bounded by the kit (OpenSearch: 2 minutes); this bounds the wait for all.
      CompletableFuture.allOf(maria, pg, search).get(5, TimeUnit.MINUTES);
    } catch (ExecutionException | TimeoutException | InterruptedException e) {
      // Whatever started, or starts later, is closed.
      for (CompletableFuture<? extends AutoCloseable> f : List.of(maria, pg, search)) {
        var unused = f.thenAccept(ShopServers::closeQuietly);
      }
      throw e;
    }
    ShopServers servers = new ShopServers(maria.join(), pg.join(), search.join());
    try {
      servers.seed();
      return servers;
    } catch (Exception | Error e) {
      servers.close();
      throw e;
    }
  }

  /** The arguments that point the service at these servers. */
  List<String> serviceArguments() {
    return List.of(
        "--shop.mysql.jdbc-url=" + mariadb.jdbcUrl(),
        "--shop.mysql.username=" + mariadb.user(),
        "--shop.postgres.jdbc-url=" + postgres.jdbcUrl(),
        "--shop.postgres.username=" + postgres.user(),
        "--shop.elasticsearch.url=" + opensearch.httpUrl());
  }

  private void seed() throws SQLException, IOException, InterruptedException {
    try (Connection c = DriverManager.getConnection(mariadb.jdbcUrl(), mariadb.user(), "")) {
      runScript(c, "mysql.sql");
      try (PreparedStatement ps = c.prepareStatement("INSERT INTO product VALUES (?, ?, ?)")) {
        for (long id = 1; id <= PRODUCTS; id++) {
          ps.setLong(1, id);
          ps.setString(2, "product " + id);
          ps.setLong(3, 100 * id);
          ps.addBatch();
        }
        ps.executeBatch();
      }
      insertHistory(c);
    }
    try (Connection c = DriverManager.getConnection(postgres.jdbcUrl(), postgres.user(), "")) {
      runScript(c, "postgres.sql");
      insertHistory(c);
    }
    createOrdersIndex(URI.create(opensearch.httpUrl()));
  }

  /** Runs the statements of one of the service's schema files ({@code shop/*.sql}). */
  private static void runScript(Connection c, String name) throws SQLException, IOException {
    String script = resource(name).replaceAll("(?m)^--.*$", "");
    try (Statement s = c.createStatement()) {
      for (String statement : script.split(";", -1)) {
        if (!statement.isBlank()) {
          s.execute(statement);
        }
      }
    }
  }

  /** One of the service's setup files, in {@code src/main/resources/shop}. */
  static String resource(String name) throws IOException {
    try (InputStream in = ShopServers.class.getResourceAsStream("/shop/" + name)) {
      if (in == null) {
        throw new IOException("no shop/" + name + " on the class path");
      }
      return new String(in.readAllBytes(), StandardCharsets.UTF_8);
    }
  }

  /** The same history in the ledger and in the store: the store is the ledger's copy. */
  private static void insertHistory(Connection c) throws SQLException {
    try (PreparedStatement ps = c.prepareStatement("INSERT INTO account_event VALUES (?, ?, ?)")) {
      for (int a = 1; a <= ACCOUNTS; a++) {
        for (int seq = 1; seq <= EVENTS_PER_ACCOUNT; seq++) {
          ps.setString(1, JdbcAccountHistory.stream(account(a)));
          ps.setLong(2, seq);
          ps.setBytes(
              3,
              ("{\"type\":\"deposit\",\"cents\":" + (seq * 1_000) + "}")
                  .getBytes(StandardCharsets.UTF_8));
          ps.addBatch();
        }
      }
      ps.executeBatch();
    }
  }

  static String account(int n) {
    return "acct-" + n;
  }

  /**
   * The index, and its default pipeline, which makes each document's id its order id: the direct
   * path and the spill queue's sink (which indexes under the queue's event id) then store an order
   * written twice (a timed-out call that did arrive, then its spilled copy) as one document.
   */
  static void createOrdersIndex(URI search) throws IOException, InterruptedException {
    send(search, "PUT", "/_ingest/pipeline/orders-by-id", resource("orders-pipeline.json"));
    send(search, "PUT", "/" + INDEX, resource("orders-index.json"));
  }

  /** A request to OpenSearch that must succeed; its body. */
  static String send(URI search, String method, String path, String body)
      throws IOException, InterruptedException {
    HttpResponse<String> r =
        HttpClient.newHttpClient()
            .send(
                HttpRequest.newBuilder(search.resolve(path))
                    .timeout(Duration.ofSeconds(30))
                    .header("Content-Type", "application/json")
                    .method(method, HttpRequest.BodyPublishers.ofString(body))
                    .build(),
                HttpResponse.BodyHandlers.ofString());
    if (r.statusCode() >= 300) {
      throw new IOException(method + " " + path + ": HTTP " + r.statusCode() + " " + r.body());
    }
    return r.body();
  }

  /** Stops every server and removes its files; never throws. */
  @Override
  public void close() {
    closeQuietly(opensearch);
    closeQuietly(postgres);
    closeQuietly(mariadb);
  }

  private static void closeQuietly(AutoCloseable server) {
    try {
      server.close();
    } catch (Exception e) {
      // The kit's close never throws; should it, the next server is still closed.
      e.printStackTrace(System.err);
    }
  }
}
