package dev.outlast.examples.drill;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.outlast.cache.CacheStats;
import dev.outlast.core.Guard;
import dev.outlast.core.spi.StreamEvent;
import dev.outlast.testkit.FaultProxy;
import dev.outlast.testkit.MariaDbServer;
import dev.outlast.testkit.OpenSearchServer;
import dev.outlast.testkit.PostgresServer;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.ReentrantReadWriteLock;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.sql.DataSource;
import org.jspecify.annotations.Nullable;
import org.mariadb.jdbc.MariaDbDataSource;
import org.postgresql.ds.PGSimpleDataSource;

/**
 * The outage drill: a small service built with Outlast ({@link DrillService}) under steady load,
 * while its dependencies are killed, frozen and restored, and the service itself restarted in the
 * middle of an outage. One line a second on the terminal; report.json and report.html at the end.
 *
 * <p>Options: {@code --phase-seconds=N} (default 8), {@code --out=DIR} (default {@code
 * examples/target/outage-drill}), and, to use your own servers instead of starting them, {@code
 * --mysql=jdbc:mariadb://host:3306/db?user=u&password=p}, {@code
 * --postgres=jdbc:postgresql://host:5432/db?user=u&password=p}, {@code
 * --elasticsearch=http://host:9200}. Your servers are cut off at a proxy, never stopped; the drill
 * creates tables {@code product} and {@code event} and the index {@code outlast-drill-orders} in
 * them, replacing any of those names.
 */
public final class OutageDrill {
  private static final int KEYS = 200;
  private static final int STREAMS = 5;
  private static final int EVENTS_PER_STREAM = 20;
  private static final Pattern HOST_PORT = Pattern.compile("//([^/:?]+):(\\d+)");
  private static final ObjectMapper JSON = new ObjectMapper();

  private final Duration phase;
  private final Path out;
  private final Map<String, String> options;
  private final ReentrantReadWriteLock restartLock = new ReentrantReadWriteLock();
  private final AtomicLong readsFailed = new AtomicLong();
  private final AtomicLong historyReads = new AtomicLong();
  private final AtomicLong historyFailed = new AtomicLong();
  private final AtomicLong published = new AtomicLong();
  private final AtomicLong publishFailed = new AtomicLong();
  private final BitSet acknowledged = new BitSet();
  private final List<DrillReport.Phase> phases = new ArrayList<>();
  private final List<DrillReport.Sample> timeline = new ArrayList<>();
  // Counters of services closed by a restart, added to the current one's.
  private long freshBase;
  private long staleBase;
  private long spilledBase;
  private long queueDeliveredBase;
  private volatile @Nullable DrillService service;
  private volatile boolean loading = true;
  private volatile String phaseName = "starting";
  private long started;

  private OutageDrill(Map<String, String> options) {
    this.options = options;
    this.phase = Duration.ofSeconds(Long.parseLong(options.getOrDefault("phase-seconds", "8")));
    this.out = Path.of(options.getOrDefault("out", "examples/target/outage-drill"));
  }

  /** Runs the drill; exit code 0 if nothing was lost and no read of a warmed key failed. */
  public static void main(String[] args) throws Exception {
    Map<String, String> options = new HashMap<>();
    for (String a : args) {
      Matcher m = Pattern.compile("--([a-z-]+)=(.*)").matcher(a);
      if (!m.matches()) {
        System.err.println("unknown argument " + a + "; see OutageDrill's javadoc for the options");
        System.exit(2);
      }
      options.put(m.group(1), m.group(2));
    }
    // The library's logs go to a file: the terminal shows the drill's own line a second.
    Path out = Path.of(options.getOrDefault("out", "examples/target/outage-drill"));
    Files.createDirectories(out);
    if (System.getProperty("org.slf4j.simpleLogger.logFile") == null) {
      System.setProperty("org.slf4j.simpleLogger.logFile", out.resolve("drill.log").toString());
      System.setProperty("org.slf4j.simpleLogger.showDateTime", "true");
    }
    DrillReport r = run(options);
    System.exit(r.eventsLost() == 0 && r.readsFailed() == 0 ? 0 : 1);
  }

  /**
   * Runs a drill with these options (as {@link #main}'s, without the dashes); writes the report.
   */
  public static DrillReport run(Map<String, String> options) throws Exception {
    return new OutageDrill(options).run();
  }

  private DrillReport run() throws Exception {
    Path work = out.resolve("work");
    deleteTree(work);
    Files.createDirectories(work);
    say("starting the servers (the first run downloads MariaDB, PostgreSQL and OpenSearch)");
    try (Breakable mysql = mysql();
        Breakable store = postgres();
        Breakable search = elasticsearch()) {
      DataSource shop = mariaDs(mysql);
      DataSource storeDs = postgresDs(store);
      URI searchUri = URI.create("http://127.0.0.1:" + search.proxy.port());
      for (Breakable b : List.of(mysql, store, search)) {
        say(String.format(Locale.ROOT, "%-14s %s", b.name, b.how()));
      }
      prepare(shop, storeDs, searchUri);
      service = open(shop, storeDs, shop, searchUri, work);
      for (long id = 1; id <= KEYS; id++) {
        current().products.get(id); // warm every key the load will read
      }
      started = System.nanoTime();
      Thread load = new Thread(this::load, "drill-load");
      Thread ticker = new Thread(this::tick, "drill-ticker");
      ticker.setDaemon(true);
      load.start();
      ticker.start();
      try {
        runPhases(mysql, store, search, shop, storeDs, searchUri, work);
      } finally {
        loading = false;
        load.join();
        ticker.interrupt();
        ticker.join();
      }
      sample(); // the last second
      DrillReport report = report(searchUri);
      current().close();
      report.write(out);
      say(
          String.format(
              Locale.ROOT,
              "done: reads %d (fresh %d, stale %d, failed %d); events published %d, delivered %d,"
                  + " lost %d, duplicates %d",
              report.readsTotal(),
              report.readsFresh(),
              report.readsStale(),
              report.readsFailed(),
              report.eventsPublished(),
              report.eventsDelivered(),
              report.eventsLost(),
              report.eventsDuplicates()));
      say("report: " + out.resolve("report.html").toAbsolutePath());
      return report;
    }
  }

  private void runPhases(
      Breakable mysql,
      Breakable store,
      Breakable search,
      DataSource shop,
      DataSource storeDs,
      URI searchUri,
      Path work)
      throws InterruptedException {
    phase("healthy", "everything up", () -> {});
    phase("mysql-killed", "MySQL killed (SIGKILL)", mysql::kill);
    phase(
        "mysql-frozen",
        "MySQL restarted, then frozen (SIGSTOP)",
        () -> {
          mysql.restore();
          mysql.freeze();
        });
    phase(
        "event-store-down",
        "MySQL thawed; PostgreSQL (event store) killed",
        () -> {
          mysql.restore();
          store.kill();
        });
    phase(
        "sink-down",
        "event store back; Elasticsearch killed",
        () -> {
          store.restore();
          search.kill();
        });
    phase(
        "service-restart",
        "MySQL killed again, the service restarted during the outage (warm start)",
        () -> {
          mysql.kill();
          restart(shop, storeDs, searchUri, work);
        });
    phase(
        "restored",
        "MySQL and Elasticsearch back",
        () -> {
          mysql.restore();
          search.restore();
        });
    startPhase("drained", "load goes on until the backlog is delivered");
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
    while (current().orders.metrics().backlogEvents() > 0 && System.nanoTime() < deadline) {
      Thread.sleep(200);
    }
    long left = current().orders.metrics().backlogEvents();
    if (left > 0) {
      // Not lost (they are in the journal), but not delivered either: say so, do not count them.
      throw new IllegalStateException(
          "the backlog was not delivered within 120 s: " + left + " events wait in the journal");
    }
    Thread.sleep(1_000);
    endPhase();
  }

  // ---- the service and its load ----

  private DrillService open(
      DataSource shop, DataSource storeDs, DataSource ledgerDs, URI searchUri, Path work) {
    return new DrillService(shop, storeDs, ledgerDs, searchUri, work, Duration.ofSeconds(1));
  }

  private DrillService current() {
    DrillService s = service;
    if (s == null) {
      throw new IllegalStateException("no service");
    }
    return s;
  }

  /** Closes the service and opens it again from its files, as a pod restart would. */
  private void restart(DataSource shop, DataSource storeDs, URI searchUri, Path work) {
    restartLock.writeLock().lock();
    try {
      DrillService old = current();
      CacheStats st = old.products.stats();
      freshBase += st.freshHits() + st.loadedAnswers();
      staleBase += st.staleHits();
      spilledBase += old.orders.metrics().published();
      queueDeliveredBase += old.orders.metrics().delivered();
      old.close();
      service = open(shop, storeDs, shop, searchUri, work);
    } finally {
      restartLock.writeLock().unlock();
    }
  }

  /** Reads and events at a steady pace, about 250 operations a second, until told to stop. */
  private void load() {
    long i = 0;
    long next = System.nanoTime();
    while (loading) {
      restartLock.readLock().lock();
      try {
        DrillService s = current();
        try {
          s.products.get(1 + (i % KEYS));
        } catch (RuntimeException e) {
          readsFailed.incrementAndGet();
        }
        if (i % 2 == 0) {
          long n = published.get() + publishFailed.get();
          try {
            s.events.placed("{\"n\":" + n + "}");
            synchronized (acknowledged) {
              acknowledged.set((int) n);
            }
            published.incrementAndGet();
          } catch (Exception e) {
            publishFailed.incrementAndGet();
          }
        }
        if (i % 10 == 0) {
          historyReads.incrementAndGet();
          try {
            List<StreamEvent> h = s.history.read("account-" + (i / 10) % STREAMS);
            if (h.size() != EVENTS_PER_STREAM) {
              historyFailed.incrementAndGet();
            }
          } catch (Exception e) {
            historyFailed.incrementAndGet();
          }
        }
      } finally {
        restartLock.readLock().unlock();
      }
      i++;
      next += 4_000_000L;
      long wait = next - System.nanoTime();
      if (wait > 0) {
        sleepNanos(wait);
      } else {
        next = System.nanoTime(); // behind (a frozen call): no burst to catch up
      }
    }
  }

  // ---- phases, the live line and the samples ----

  private void phase(String name, String what, Runnable action) throws InterruptedException {
    startPhase(name, what); // first: a slow action (a restart) belongs to its phase
    action.run();
    Thread.sleep(phase.toMillis());
    endPhase();
  }

  private void startPhase(String name, String what) {
    synchronized (phases) {
      phases.add(new DrillReport.Phase(name, what, now(), Double.NaN));
    }
    phaseName = name;
    say("== " + name + ": " + what);
  }

  private void endPhase() {
    synchronized (phases) {
      DrillReport.Phase p = phases.remove(phases.size() - 1);
      phases.add(new DrillReport.Phase(p.name(), p.what(), p.start(), now()));
    }
  }

  private void tick() {
    while (true) {
      try {
        Thread.sleep(1_000);
      } catch (InterruptedException e) {
        return;
      }
      DrillReport.Sample x = sample();
      if (x != null) {
        System.out.printf(
            Locale.ROOT,
            "%5.0fs %-16s reads/s fresh %4d stale %4d failed %3d | events/s %3d, delivered %4d,"
                + " backlog %5d | %s%n",
            x.t(),
            x.phase(),
            x.fresh(),
            x.stale(),
            x.failed(),
            x.published(),
            x.delivered(),
            x.backlog(),
            x.health());
      }
    }
  }

  private long[] last = new long[5];

  /** Takes a one-second sample: rates since the last one, states now. */
  private synchronized DrillReport.@Nullable Sample sample() {
    if (!restartLock.readLock().tryLock()) {
      return null; // restarting: the next sample covers this second
    }
    try {
      DrillService s = current();
      long[] now = totals(s);
      DrillReport.Sample x =
          new DrillReport.Sample(
              now(),
              phaseName,
              now[0] - last[0],
              now[1] - last[1],
              now[2] - last[2],
              now[3] - last[3],
              now[4] - last[4],
              s.orders.metrics().backlogEvents(),
              health(s));
      last = now;
      timeline.add(x);
      return x;
    } finally {
      restartLock.readLock().unlock();
    }
  }

  /** fresh, stale, failed reads; events published and delivered; all since the start. */
  private long[] totals(DrillService s) {
    CacheStats st = s.products.stats();
    long spilled = spilledBase + s.orders.metrics().published();
    long delivered =
        (published.get() - spilled) + queueDeliveredBase + s.orders.metrics().delivered();
    return new long[] {
      freshBase + st.freshHits() + st.loadedAnswers(),
      staleBase + st.staleHits(),
      readsFailed.get(),
      published.get(),
      delivered
    };
  }

  private static String health(DrillService s) {
    StringBuilder b = new StringBuilder();
    for (Guard g : List.of(s.mysql, s.store, s.ledger, s.search)) {
      String state =
          switch (g.state()) {
            case CLOSED -> "UP";
            case HALF_OPEN -> "DEGRADED";
            default -> "DOWN";
          };
      b.append(b.length() == 0 ? "" : " ").append(g.dependency()).append(' ').append(state);
    }
    return b.toString();
  }

  // ---- the report: events read back from the index ----

  private synchronized DrillReport report(URI search) throws Exception {
    DrillService s = current();
    long[] t = totals(s);
    send(search, "POST", "/" + DrillService.INDEX + "/_refresh", "");
    BitSet seen = new BitSet();
    long documents = 0;
    JsonNode after = null;
    while (true) {
      ObjectNode q = JSON.createObjectNode();
      q.put("size", 5_000);
      // _doc breaks ties: copies of one event share n, and must not fall between two pages.
      var sort = q.putArray("sort");
      sort.addObject().put("n", "asc");
      sort.addObject().put("_doc", "asc");
      q.putArray("_source").add("n");
      if (after != null) {
        q.set("search_after", after);
      }
      HttpResponse<String> r =
          send(search, "POST", "/" + DrillService.INDEX + "/_search", JSON.writeValueAsString(q));
      if (r.statusCode() != 200) {
        throw new IllegalStateException("reading the events back failed: " + r.body());
      }
      JsonNode hits = JSON.readTree(r.body()).path("hits").path("hits");
      if (hits.isEmpty()) {
        break;
      }
      for (JsonNode hit : hits) {
        seen.set(hit.path("_source").path("n").asInt());
        documents++;
      }
      after = hits.get(hits.size() - 1).path("sort");
    }
    BitSet lost;
    synchronized (acknowledged) {
      lost = (BitSet) acknowledged.clone();
    }
    lost.andNot(seen);
    return new DrillReport(
        t[0] + t[1] + t[2],
        t[0],
        t[1],
        t[2],
        historyReads.get(),
        historyFailed.get(),
        published.get(),
        publishFailed.get(),
        spilledBase + s.orders.metrics().published(),
        t[4],
        lost.cardinality(),
        documents - seen.cardinality(),
        List.copyOf(phases),
        List.copyOf(timeline));
  }

  // ---- servers and data ----

  private Breakable mysql() {
    String url = options.get("mysql");
    if (url == null) {
      MariaDbServer db = MariaDbServer.builder().database("shop").start();
      return new Breakable("mysql", db, FaultProxy.to(db));
    }
    Matcher m = HOST_PORT.matcher(url);
    require(m.find(), "--mysql needs host:port in the URL: " + url);
    return new Breakable("mysql", null, FaultProxy.to(m.group(1), Integer.parseInt(m.group(2))));
  }

  private Breakable postgres() {
    String url = options.get("postgres");
    if (url == null) {
      PostgresServer db = PostgresServer.builder().database("events").start();
      return new Breakable("event-store", db, FaultProxy.to(db));
    }
    Matcher m = HOST_PORT.matcher(url);
    require(m.find(), "--postgres needs host:port in the URL: " + url);
    return new Breakable(
        "event-store", null, FaultProxy.to(m.group(1), Integer.parseInt(m.group(2))));
  }

  private Breakable elasticsearch() {
    String url = options.get("elasticsearch");
    if (url == null) {
      OpenSearchServer node = OpenSearchServer.launch();
      return new Breakable("elasticsearch", node, FaultProxy.to(node));
    }
    URI u = URI.create(url);
    return new Breakable(
        "elasticsearch", null, FaultProxy.to(u.getHost(), u.getPort() < 0 ? 9200 : u.getPort()));
  }

  private DataSource mariaDs(Breakable b) throws SQLException {
    MariaDbDataSource ds = new MariaDbDataSource();
    String url = options.get("mysql");
    if (url == null) {
      MariaDbServer db = (MariaDbServer) java.util.Objects.requireNonNull(b.server);
      url = db.jdbcUrl() + "?user=" + db.user() + "&password=" + db.password();
    }
    url = url.replaceFirst("^jdbc:mysql:", "jdbc:mariadb:");
    ds.setUrl(throughProxy(url, b) + (url.contains("?") ? "&" : "?") + "connectTimeout=1000");
    return ds;
  }

  private DataSource postgresDs(Breakable b) {
    PGSimpleDataSource ds = new PGSimpleDataSource();
    String url = options.get("postgres");
    if (url == null) {
      PostgresServer db = (PostgresServer) java.util.Objects.requireNonNull(b.server);
      ds.setUser(db.user());
      ds.setPassword(db.password());
      url = db.jdbcUrl();
    }
    ds.setUrl(throughProxy(url, b));
    ds.setConnectTimeout(1);
    ds.setLoginTimeout(2); // a frozen server accepts the connection and never answers the login
    ds.setSocketTimeout(5);
    return ds;
  }

  private static String throughProxy(String url, Breakable b) {
    return HOST_PORT.matcher(url).replaceFirst("//127.0.0.1:" + b.proxy.port());
  }

  /** The product table and the event tables (store and ledger), and a fresh index. */
  private static void prepare(DataSource shop, DataSource store, URI search) throws Exception {
    execute(shop, "DROP TABLE IF EXISTS product");
    execute(shop, "CREATE TABLE product (id BIGINT PRIMARY KEY, name VARCHAR(64) NOT NULL)");
    try (Connection c = shop.getConnection();
        PreparedStatement ps = c.prepareStatement("INSERT INTO product VALUES (?, ?)")) {
      for (int i = 1; i <= KEYS; i++) {
        ps.setLong(1, i);
        ps.setString(2, "product " + i);
        ps.addBatch();
      }
      ps.executeBatch();
    }
    for (DataSource ds : List.of(shop, store)) {
      execute(ds, "DROP TABLE IF EXISTS event");
      execute(
          ds,
          "CREATE TABLE event (stream VARCHAR(64) NOT NULL, seq BIGINT NOT NULL, payload "
              + (ds == store ? "BYTEA" : "VARBINARY(64)")
              + " NOT NULL, PRIMARY KEY (stream, seq))");
      try (Connection c = ds.getConnection();
          PreparedStatement ps = c.prepareStatement("INSERT INTO event VALUES (?, ?, ?)")) {
        for (int s = 0; s < STREAMS; s++) {
          for (int seq = 1; seq <= EVENTS_PER_STREAM; seq++) {
            ps.setString(1, "account-" + s);
            ps.setLong(2, seq);
            ps.setBytes(3, ("entry " + seq).getBytes(StandardCharsets.UTF_8));
            ps.addBatch();
          }
        }
        ps.executeBatch();
      }
    }
    send(search, "DELETE", "/" + DrillService.INDEX, "");
    HttpResponse<String> created =
        send(
            search,
            "PUT",
            "/" + DrillService.INDEX,
            "{\"settings\":{\"number_of_replicas\":0},"
                + "\"mappings\":{\"properties\":{\"n\":{\"type\":\"long\"}}}}");
    require(created.statusCode() == 200, "creating the index failed: " + created.body());
  }

  private static void execute(DataSource ds, String sql) throws SQLException {
    try (Connection c = ds.getConnection();
        Statement s = c.createStatement()) {
      s.execute(sql);
    }
  }

  private static HttpResponse<String> send(URI base, String method, String path, String body)
      throws Exception {
    return HttpClient.newHttpClient()
        .send(
            HttpRequest.newBuilder(base.resolve(path))
                .timeout(Duration.ofSeconds(30))
                .header("Content-Type", "application/json")
                .method(method, HttpRequest.BodyPublishers.ofString(body))
                .build(),
            HttpResponse.BodyHandlers.ofString());
  }

  // ---- small things ----

  private double now() {
    return started == 0 ? 0 : (System.nanoTime() - started) / 1e9;
  }

  private static void say(String line) {
    System.out.println(line);
  }

  private static void require(boolean ok, String message) {
    if (!ok) {
      throw new IllegalArgumentException(message);
    }
  }

  private static void sleepNanos(long nanos) {
    try {
      TimeUnit.NANOSECONDS.sleep(nanos);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  private static void deleteTree(Path dir) throws java.io.IOException {
    if (!Files.exists(dir)) {
      return;
    }
    try (var paths = Files.walk(dir)) {
      for (Path p : paths.sorted(java.util.Comparator.reverseOrder()).toList()) {
        Files.delete(p);
      }
    }
  }
}
