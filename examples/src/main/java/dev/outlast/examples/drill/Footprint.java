package dev.outlast.examples.drill;

import dev.outlast.core.Redaction;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;
import java.util.function.Consumer;
import javax.sql.DataSource;

/**
 * What the drill puts on the servers, and nothing else: it checks that none of its names exist,
 * creates them, and at the end removes exactly what it created. It never drops first: a name that
 * exists, or appears between the check and the creation, stops the drill, and what is not its own
 * is never touched. It reaches the servers directly, not through the fault proxy, so that removal
 * works whatever the proxy is doing when it runs (Ctrl-C in the middle of a phase). On a server the
 * drill started itself nothing is removed: the server is deleted with its data, and may be killed
 * or frozen when removal runs.
 *
 * <p>Threadsafe: the drill's thread creates, and either it or the shutdown hook removes, once.
 */
final class Footprint {
  private static final int KEYS = OutageDrill.KEYS;
  private static final Duration HTTP_TIMEOUT = Duration.ofSeconds(30);

  private final DrillNames names;
  private final DataSource shop;
  private final DataSource store;
  private final SearchTarget search;
  private final HttpClient http;
  private final Consumer<String> say;
  private final EnumSet<Where> users;

  // Guarded by this: what was created and not yet removed, in creation order.
  private final List<Created> created = new ArrayList<>();

  enum Where {
    MYSQL,
    POSTGRES,
    ELASTICSEARCH
  }

  private record Created(Where where, String name) {
    @Override
    public String toString() {
      return switch (where) {
        case MYSQL -> "table " + name + " in MySQL";
        case POSTGRES -> "table " + name + " in PostgreSQL";
        case ELASTICSEARCH -> "index " + name + " in Elasticsearch";
      };
    }
  }

  /** Thrown when a name of the drill's is already taken: the drill stops and touches nothing. */
  static final class NamesTaken extends IllegalStateException {
    private static final long serialVersionUID = 1L;

    NamesTaken(String message) {
      super(message);
    }
  }

  /**
   * @param users the servers that are the user's, where what the drill creates must be removed
   */
  Footprint(
      DrillNames names,
      DataSource shop,
      DataSource store,
      SearchTarget search,
      Set<Where> users,
      Consumer<String> say) {
    this.users = users.isEmpty() ? EnumSet.noneOf(Where.class) : EnumSet.copyOf(users);
    this.names = names;
    this.shop = shop;
    this.store = store;
    this.search = search;
    this.http = search.client(Duration.ofSeconds(5));
    this.say = say;
  }

  /**
   * Refuses if any of the drill's names exists: tables or views in the current database or schema,
   * an index or alias in the cluster. Reads only.
   *
   * @throws NamesTaken naming every one that exists
   */
  void refuseIfTaken() throws SQLException, IOException, InterruptedException {
    List<String> taken = new ArrayList<>();
    for (String t : names.mysqlTables()) {
      if (exists(
          shop,
          "SELECT 1 FROM information_schema.tables WHERE table_schema = DATABASE() AND"
              + " table_name = ?",
          t)) {
        taken.add(new Created(Where.MYSQL, t).toString());
      }
    }
    // pg_class, not information_schema: it lists relations the user has no privilege on too.
    if (exists(
        store,
        "SELECT 1 FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid ="
            + " c.relnamespace WHERE n.nspname = current_schema() AND c.relname = ?",
        names.event())) {
      taken.add(new Created(Where.POSTGRES, names.event()).toString());
    }
    HttpResponse<String> head =
        search.send(http, search.address(), "HEAD", "/" + names.index(), "", HTTP_TIMEOUT);
    if (head.statusCode() == 200) {
      taken.add(new Created(Where.ELASTICSEARCH, names.index()).toString());
    } else if (head.statusCode() != 404) {
      throw new IllegalStateException(
          "cannot tell whether the index "
              + names.index()
              + " exists: HTTP "
              + head.statusCode()
              + " (check the Elasticsearch credentials and privileges)");
    }
    if (!taken.isEmpty()) {
      throw new NamesTaken(
          "the drill's names already exist, so it will not start (nothing was changed): "
              + String.join(", ", taken)
              + ". Remove them if they are left from an earlier drill, or choose another"
              + " --run-id.");
    }
  }

  private static boolean exists(DataSource ds, String sql, String name) throws SQLException {
    try (Connection c = ds.getConnection();
        PreparedStatement ps = c.prepareStatement(sql)) {
      ps.setString(1, name);
      try (ResultSet rs = ps.executeQuery()) {
        return rs.next();
      }
    }
  }

  /**
   * Creates the tables with their rows and the index. Each name is remembered only once its
   * creation succeeded: a table that appeared meanwhile makes CREATE fail, and is not ours.
   */
  void create(int streams, int eventsPerStream) throws Exception {
    createTable(
        Where.MYSQL,
        shop,
        names.product(),
        "CREATE TABLE " + names.product() + " (id BIGINT PRIMARY KEY, name VARCHAR(64) NOT NULL)");
    try (Connection c = shop.getConnection();
        PreparedStatement ps =
            c.prepareStatement("INSERT INTO " + names.product() + " VALUES (?, ?)")) {
      for (int i = 1; i <= KEYS; i++) {
        ps.setLong(1, i);
        ps.setString(2, "product " + i);
        ps.addBatch();
      }
      ps.executeBatch();
    }
    for (Where w : List.of(Where.MYSQL, Where.POSTGRES)) {
      DataSource ds = w == Where.MYSQL ? shop : store;
      createTable(
          w,
          ds,
          names.event(),
          "CREATE TABLE "
              + names.event()
              + " (stream VARCHAR(64) NOT NULL, seq BIGINT NOT NULL, payload "
              + (w == Where.POSTGRES ? "BYTEA" : "VARBINARY(64)")
              + " NOT NULL, PRIMARY KEY (stream, seq))");
      try (Connection c = ds.getConnection();
          PreparedStatement ps =
              c.prepareStatement("INSERT INTO " + names.event() + " VALUES (?, ?, ?)")) {
        for (int s = 0; s < streams; s++) {
          for (int seq = 1; seq <= eventsPerStream; seq++) {
            ps.setString(1, "account-" + s);
            ps.setLong(2, seq);
            ps.setBytes(3, ("entry " + seq).getBytes(StandardCharsets.UTF_8));
            ps.addBatch();
          }
        }
        ps.executeBatch();
      }
    }
    // PUT of an index that exists fails (resource_already_exists_exception): never overwritten.
    HttpResponse<String> put =
        search.send(
            http,
            search.address(),
            "PUT",
            "/" + names.index(),
            "{\"settings\":{\"number_of_replicas\":0},"
                + "\"mappings\":{\"properties\":{\"n\":{\"type\":\"long\"}}}}",
            HTTP_TIMEOUT);
    if (put.statusCode() != 200) {
      throw new IllegalStateException(
          "creating the index "
              + names.index()
              + " failed: HTTP "
              + put.statusCode()
              + " "
              + Redaction.redact(put.body()));
    }
    remember(new Created(Where.ELASTICSEARCH, names.index()));
  }

  private void createTable(Where where, DataSource ds, String name, String sql)
      throws SQLException {
    try (Connection c = ds.getConnection();
        Statement s = c.createStatement()) {
      s.execute(sql);
    }
    remember(new Created(where, name));
  }

  private synchronized void remember(Created c) {
    created.add(c);
    say.accept("created " + c);
  }

  /**
   * Removes what the drill created, newest first, each by its exact name; what fails to go is
   * reported with its name, so that the user can remove it. Later calls do nothing.
   */
  synchronized void removeCreated() {
    for (int i = created.size() - 1; i >= 0; i--) {
      Created c = created.get(i);
      if (!users.contains(c.where())) {
        continue;
      }
      try {
        switch (c.where()) {
          case MYSQL -> drop(shop, c.name());
          case POSTGRES -> drop(store, c.name());
          case ELASTICSEARCH -> deleteIndex(c.name());
        }
        say.accept("removed " + c);
      } catch (Exception e) {
        if (e instanceof InterruptedException) {
          Thread.currentThread().interrupt();
        }
        say.accept(
            "could NOT remove "
                + c
                + ": "
                + Redaction.redact(e.toString())
                + "; remove it by hand");
      }
    }
    created.clear();
  }

  /** Says what is left, for --keep. */
  synchronized void kept() {
    for (Created c : created) {
      if (users.contains(c.where())) {
        say.accept("kept " + c + " (--keep)");
      }
    }
    created.clear();
  }

  private static void drop(DataSource ds, String table) throws SQLException {
    try (Connection c = ds.getConnection();
        Statement s = c.createStatement()) {
      s.execute("DROP TABLE " + table);
    }
  }

  /**
   * Deletes the drill's index, and again if a write the cluster had already received when the proxy
   * was shut creates it anew (indexing into a missing index creates it).
   */
  private void deleteIndex(String index) throws IOException, InterruptedException {
    URI base = search.address();
    for (int attempt = 1; ; attempt++) {
      HttpResponse<String> r = search.send(http, base, "DELETE", "/" + index, "", HTTP_TIMEOUT);
      if (r.statusCode() != 200 && r.statusCode() != 404) {
        throw new IOException("HTTP " + r.statusCode() + " " + Redaction.redact(r.body()));
      }
      Thread.sleep(500);
      int head = search.send(http, base, "HEAD", "/" + index, "", HTTP_TIMEOUT).statusCode();
      if (head == 404) {
        return;
      }
      if (attempt == 3) {
        throw new IOException("it keeps coming back (HTTP " + head + " after 3 deletes)");
      }
    }
  }
}
