package dev.outlast.examples.drill;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.outlast.cache.CacheStats;
import dev.outlast.core.Guard;
import dev.outlast.core.RecoveryProbe;
import dev.outlast.core.Redaction;
import dev.outlast.testkit.FaultProxy;
import dev.outlast.testkit.MariaDbServer;
import dev.outlast.testkit.OpenSearchServer;
import dev.outlast.testkit.PostgresServer;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpResponse;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.EnumSet;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
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
 * <p>Options: {@code --phase-seconds=N} (default 8); {@code --out=DIR} (default {@code
 * examples/target/outage-drill}), under which the run writes only into a new directory named after
 * its run id, and refuses if that exists; {@code --run-id=ID} (default random); {@code --keep} to
 * leave the tables, index and work files behind. To use your own servers instead of starting them:
 * {@code --mysql=jdbc:mariadb://host:3306/db?user=u&password=p}, {@code
 * --postgres=jdbc:postgresql://host:5432/db?user=u&password=p}, {@code
 * --elasticsearch=https://host:9200} with the options of {@link SearchTarget} for credentials and
 * trust. Your servers are cut off at a proxy, never stopped.
 *
 * <p>On the servers the drill creates only {@link DrillNames}: {@code outlast_drill_<run
 * id>_product} and {@code outlast_drill_<run id>_event} in MySQL, {@code outlast_drill_<run
 * id>_event} in PostgreSQL, the index {@code outlast-drill-<run id>-orders}. It refuses to start if
 * any of them exists, and removes them at the end, on failure and on Ctrl-C too, unless {@code
 * --keep}. No password is printed: every message that could quote a URL goes through {@link
 * Redaction}.
 */
public final class OutageDrill {
  static final int KEYS = 200;
  private static final int STREAMS = 5;
  private static final int EVENTS_PER_STREAM = 20;
  // host:port after "//" and any user information, which is kept when the address is rewritten.
  private static final Pattern HOST_PORT = Pattern.compile("(//(?:[^/?@]*@)?)([^/:?@]+):(\\d+)");
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final Pattern OPTION = Pattern.compile("--([a-z-]+)(?:=(.*))?");
  private static final Set<String> VALUED =
      Set.of(
          "phase-seconds",
          "out",
          "run-id",
          "mysql",
          "postgres",
          "elasticsearch",
          "elasticsearch-user",
          "elasticsearch-password",
          "elasticsearch-api-key",
          "elasticsearch-ca");
  private static final Set<String> FLAGS = Set.of("keep", "allow-credentials-over-http");

  private final Duration phase;
  private final Map<String, String> options;
  private final DrillNames names;
  private final Path runDir;
  private final boolean keep;
  private final @Nullable SearchTarget usersSearch;
  private final ReentrantReadWriteLock restartLock = new ReentrantReadWriteLock();
  private final AtomicLong readsFailed = new AtomicLong();
  // History reads by outcome, each counted once it is known: their sum is every history read.
  private final AtomicLong historyFromStore = new AtomicLong();
  private final AtomicLong historyFailed = new AtomicLong();
  private final AtomicLong historyFallback = new AtomicLong();
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
  // The counters after the warm-up: what the totals and the first sample start from.
  private Totals warmUp = Totals.ZERO;
  private Totals last = Totals.ZERO; // guarded by this
  // Each guard's worst breaker state since the last sample, kept by listeners on the guards.
  private final Map<String, AtomicReference<Guard.State>> worst = new ConcurrentHashMap<>();
  private final List<Runnable> unwatch = new ArrayList<>();
  private final List<DrillReport.Change> breakers = new ArrayList<>(); // guarded by itself
  private volatile @Nullable ServerChecks checks;
  private volatile @Nullable DrillService service;
  private volatile boolean loading = true;
  private volatile String phaseName = "starting";
  private long started;
  private @Nullable SearchTarget search;
  private boolean cleanedUp; // guarded by this

  private OutageDrill(Map<String, String> options, Map<String, String> env) throws Exception {
    for (Map.Entry<String, String> o : options.entrySet()) {
      String k = o.getKey();
      String problem =
          FLAGS.contains(k)
              ? (o.getValue().isEmpty() ? null : "--" + k + " takes no value")
              : !VALUED.contains(k)
                  ? "unknown option --" + k
                  : o.getValue().isEmpty() ? "--" + k + " needs a value" : null;
      if (problem != null) {
        throw new IllegalArgumentException(problem + "; see OutageDrill's javadoc for the options");
      }
    }
    this.options = options;
    this.phase = Duration.ofSeconds(Long.parseLong(options.getOrDefault("phase-seconds", "8")));
    String id = options.get("run-id");
    this.names = id == null ? DrillNames.random() : new DrillNames(id);
    this.runDir =
        Path.of(options.getOrDefault("out", "examples/target/outage-drill")).resolve(names.runId());
    this.keep = options.containsKey("keep");
    String es = options.get("elasticsearch");
    // Checked before anything is started or created: a bad option costs nothing.
    this.usersSearch = es == null ? null : SearchTarget.of(es, options, env);
  }

  /** Runs the drill; exit code 0 if nothing was lost and no read of a warmed key failed. */
  public static void main(String[] args) {
    OutageDrill drill;
    try {
      drill = new OutageDrill(parse(args), System.getenv());
      drill.createRunDirectory();
    } catch (Exception e) {
      System.err.println("the drill did not start: " + Redaction.redact(e.getMessage()));
      System.exit(2);
      return;
    }
    // The library's logs go to a file: the terminal shows the drill's own line a second.
    if (System.getProperty("org.slf4j.simpleLogger.logFile") == null) {
      System.setProperty(
          "org.slf4j.simpleLogger.logFile", drill.runDir.resolve("drill.log").toString());
      System.setProperty("org.slf4j.simpleLogger.showDateTime", "true");
    }
    int code;
    try {
      DrillReport r = drill.run();
      code = r.eventsLost() == 0 && r.readsFailed() == 0 ? 0 : 1;
    } catch (Footprint.NamesTaken e) {
      System.err.println(e.getMessage());
      code = 3;
    } catch (Throwable t) {
      // A driver's message may quote its URL: printed redacted, stack trace included.
      System.err.println("the drill failed: " + Redaction.redact(t.toString()));
      Redaction.forLog(t).printStackTrace();
      code = 1;
    }
    System.exit(code);
  }

  private static Map<String, String> parse(String[] args) {
    Map<String, String> options = new HashMap<>();
    for (String a : args) {
      Matcher m = OPTION.matcher(a);
      if (!m.matches()) {
        throw new IllegalArgumentException(
            "unknown argument " + a + "; see OutageDrill's javadoc for the options");
      }
      options.put(m.group(1), m.group(2) == null ? "" : m.group(2));
    }
    return options;
  }

  /**
   * Runs a drill with these options (as {@link #main}'s, without the dashes; a flag maps to "");
   * writes the report into {@code <out>/<run id>}.
   */
  public static DrillReport run(Map<String, String> options) throws Exception {
    OutageDrill d = new OutageDrill(options, System.getenv());
    d.createRunDirectory();
    return d.run();
  }

  /** The run's own directory, new: the drill never writes into, or deletes, one it did not make. */
  private void createRunDirectory() throws IOException {
    Files.createDirectories(runDir.getParent());
    try {
      Files.createDirectory(runDir);
    } catch (FileAlreadyExistsException e) {
      throw new IllegalArgumentException(
          runDir
              + " exists: the drill writes only into a directory of its own; choose another"
              + " --run-id or --out");
    }
  }

  private DrillReport run() throws Exception {
    Path work = runDir.resolve("work");
    Files.createDirectory(work);
    say("run " + names.runId() + " in " + runDir.toAbsolutePath());
    if (options.get("mysql") == null
        || options.get("postgres") == null
        || options.get("elasticsearch") == null) {
      say("starting the servers (the first run downloads MariaDB, PostgreSQL and OpenSearch)");
    }
    try (Breakable mysql = mysql();
        Breakable store = postgres();
        Breakable search = elasticsearch()) {
      DataSource shop = mariaDs(mysql, true);
      DataSource storeDs = postgresDs(store, true);
      SearchTarget target = Objects.requireNonNull(this.search);
      URI searchUri = target.through(search.proxy.port());
      for (Breakable b : List.of(mysql, store, search)) {
        say(String.format(Locale.ROOT, "%-14s %s", b.name, b.how()));
      }
      Set<Footprint.Where> users = EnumSet.noneOf(Footprint.Where.class);
      if (mysql.isUsers()) {
        users.add(Footprint.Where.MYSQL);
      }
      if (store.isUsers()) {
        users.add(Footprint.Where.POSTGRES);
      }
      if (search.isUsers()) {
        users.add(Footprint.Where.ELASTICSEARCH);
      }
      Footprint footprint =
          new Footprint(
              names,
              mariaDs(mysql, false),
              postgresDs(store, false),
              target,
              users,
              OutageDrill::say);
      footprint.refuseIfTaken();
      List<Breakable> all = List.of(mysql, store, search);
      Thread hook =
          new Thread(
              () -> {
                say("stopped early: cleaning up");
                loading = false;
                cleanUp(footprint, work, all);
              },
              "drill-clean-up");
      Runtime.getRuntime().addShutdownHook(hook);
      try {
        footprint.create(STREAMS, EVENTS_PER_STREAM);
        return checked(mysql, store, search, shop, storeDs, searchUri, work);
      } finally {
        closeService();
        cleanUp(footprint, work, all);
        try {
          Runtime.getRuntime().removeShutdownHook(hook);
        } catch (IllegalStateException e) {
          // The JVM is shutting down: the hook runs, and finds everything done.
        }
      }
    }
  }

  private DrillReport checked(
      Breakable mysql,
      Breakable store,
      Breakable search,
      DataSource shop,
      DataSource storeDs,
      URI searchUri,
      Path work)
      throws Exception {
    // The drill's own view of each server, through the proxies as the service sees them.
    Map<String, RecoveryProbe> byServer = new LinkedHashMap<>();
    byServer.put(mysql.name, RecoveryProbe.jdbc(shop, Duration.ofSeconds(1)));
    byServer.put(store.name, RecoveryProbe.jdbc(storeDs, Duration.ofSeconds(1)));
    byServer.put(
        search.name, Objects.requireNonNull(this.search).indexCheck(searchUri, names.index()));
    try (ServerChecks serverChecks = new ServerChecks(byServer, this::now)) {
      checks = serverChecks;
      return drive(mysql, store, search, shop, storeDs, searchUri, work);
    } finally {
      checks = null;
    }
  }

  private DrillReport drive(
      Breakable mysql,
      Breakable store,
      Breakable search,
      DataSource shop,
      DataSource storeDs,
      URI searchUri,
      Path work)
      throws Exception {
    service = watch(open(shop, storeDs, shop, searchUri, work));
    for (long id = 1; id <= KEYS; id++) {
      current().products.get(id); // warm every key the load will read
    }
    // The warm-up is not the drill: the totals and the timeline start after it.
    synchronized (this) {
      warmUp = totals(current());
      last = warmUp;
    }
    say("warm-up: read each of the " + KEYS + " keys once (not counted)");
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
    sample(phaseName); // the last second
    DrillReport report = report(searchUri);
    closeService();
    report.write(runDir);
    say(
        String.format(
            Locale.ROOT,
            "done: reads %d (fresh %d, stale %d, failed %d; the warm-up's %d not counted);"
                + " history reads %d (%d from the ledger, failed %d); events published %d,"
                + " delivered %d, lost %d, duplicates %d",
            report.readsTotal(),
            report.readsFresh(),
            report.readsStale(),
            report.readsFailed(),
            report.warmUpReads(),
            report.historyReads(),
            report.historyFallback(),
            report.historyFailed(),
            report.eventsPublished(),
            report.eventsDelivered(),
            report.eventsLost(),
            report.eventsDuplicates()));
    say("report: " + runDir.resolve("report.html").toAbsolutePath());
    return report;
  }

  /**
   * Removes what the drill created on the user's servers, and its work files, unless --keep; once,
   * from the drill's thread or the shutdown hook, whichever comes first.
   */
  private synchronized void cleanUp(Footprint footprint, Path work, List<Breakable> proxies) {
    if (cleanedUp) {
      return;
    }
    cleanedUp = true;
    // The service reaches the servers only through the proxies: with them shut, nothing it still
    // has in flight (stopped early, its threads run on) can write again, e.g. re-create the index
    // by indexing into it after it was deleted.
    for (Breakable b : proxies) {
      b.proxy.refuse();
      b.proxy.cutConnections();
    }
    if (keep) {
      footprint.kept();
      say("kept " + work + " (--keep)");
      return;
    }
    footprint.removeCreated();
    try {
      deleteTree(work);
    } catch (IOException e) {
      say("could not remove " + work + ": " + e);
    }
  }

  private void closeService() {
    DrillService s = service;
    if (s != null) {
      service = null;
      unwatch();
      try {
        s.close();
      } catch (RuntimeException e) {
        say("closing the service: " + Redaction.redact(e.toString()));
      }
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
    // The labels say what is really done: a server of the drill's is killed and frozen, a user's
    // is only cut off at the proxy. Each is worked out just before its action; breaking comes
    // first, as it is instant, and what is restored is called back only once it answers.
    Action none = () -> {};
    phase("healthy", () -> "everything up", none, none, none);
    phase(
        mysql.isUsers() ? "mysql-refused" : "mysql-killed",
        () -> "MySQL " + mysql.killed(),
        none,
        mysql::kill,
        none);
    phase(
        mysql.isUsers() ? "mysql-blackholed" : "mysql-frozen",
        () -> "MySQL " + mysql.restoring() + ", then " + mysql.frozen(),
        () -> bringBack(mysql),
        mysql::freeze,
        none);
    // The ledger, the history's fallback, is in MySQL: back first, or both sources of the history
    // would be down at once, which is not this phase's outage.
    phase(
        "event-store-down",
        () -> "MySQL " + mysql.restoring() + "; PostgreSQL (event store) " + store.killed(),
        () -> bringBack(mysql),
        store::kill,
        none);
    phase(
        "sink-down",
        () ->
            "Elasticsearch " + search.killed() + "; PostgreSQL (event store) " + store.restoring(),
        none,
        search::kill,
        () -> bringBack(store));
    phase(
        "service-restart",
        () ->
            "again, MySQL "
                + mysql.killed()
                + "; the service restarted during the outage (warm start)",
        none,
        mysql::kill,
        () -> restart(shop, storeDs, searchUri, work));
    phase(
        "restored",
        () -> "MySQL " + mysql.restoring() + "; Elasticsearch " + search.restoring(),
        none,
        none,
        () -> {
          bringBack(mysql);
          bringBack(search);
        });
    startPhase("drained", "load goes on until the backlog is delivered", true);
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
    return new DrillService(
        names,
        shop,
        storeDs,
        ledgerDs,
        Objects.requireNonNull(search),
        searchUri,
        work,
        Duration.ofSeconds(1));
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
      unwatch();
      old.close();
      service = watch(open(shop, storeDs, shop, searchUri, work));
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
        if (i % 5 == 0) {
          try {
            DrillService.Answer h = s.history.read("account-" + (i / 5) % STREAMS);
            if (h.events().size() != EVENTS_PER_STREAM) {
              historyFailed.incrementAndGet();
            } else if (h.fromLedger()) {
              historyFallback.incrementAndGet();
            } else {
              historyFromStore.incrementAndGet();
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

  /** What a phase does to the servers. */
  @FunctionalInterface
  private interface Action {
    void run() throws InterruptedException;
  }

  /**
   * Restores a server and says it is back only once it answers the drill's check: a restart returns
   * when the process is up, a thawed or let-through server may still be catching up.
   */
  private void bringBack(Breakable b) throws InterruptedException {
    double from = now();
    b.restore();
    Objects.requireNonNull(checks).awaitAnswer(b.name, Duration.ofMinutes(2));
    say(
        String.format(
            Locale.ROOT,
            "   %s back at %.1f s: answered the drill's check, %.1f s after it was restored",
            b.label,
            now(),
            now() - from));
  }

  /**
   * A phase: its label first (a slow restore belongs to its phase); then what must be back before
   * the break; then the break, which is instant (a signal, a proxy's mode), and samples carry the
   * phase's name from just before it, so that a sample's checks start before the break only in the
   * phase's first second; then what is restored.
   */
  private void phase(
      String name,
      java.util.function.Supplier<String> what,
      Action before,
      Action breaks,
      Action restores)
      throws InterruptedException {
    startPhase(name, what.get(), false);
    before.run();
    phaseName = name;
    breaks.run();
    restores.run();
    Thread.sleep(phase.toMillis());
    endPhase();
  }

  private void startPhase(String name, String what, boolean nameSamples) {
    synchronized (phases) {
      phases.add(new DrillReport.Phase(name, what, now(), Double.NaN));
    }
    if (nameSamples) {
      phaseName = name;
    }
    say("== " + name + ": " + what);
  }

  private void endPhase() {
    synchronized (phases) {
      DrillReport.Phase p = phases.remove(phases.size() - 1);
      phases.add(new DrillReport.Phase(p.name(), p.what(), p.start(), now()));
    }
  }

  /** One line a second: the rates, and each dependency's status from its guard and its check. */
  private void tick() {
    long next = System.nanoTime();
    while (true) {
      next += TimeUnit.SECONDS.toNanos(1);
      try {
        TimeUnit.NANOSECONDS.sleep(Math.max(0, next - System.nanoTime()));
      } catch (InterruptedException e) {
        return;
      }
      DrillReport.Sample x = sample(phaseName);
      if (x != null) {
        System.out.printf(
            Locale.ROOT,
            "%5.0fs %-16s reads/s fresh %4d stale %4d failed %3d | history/s %3d, fallback %3d"
                + " | events/s %3d, delivered %4d, backlog %5d | %s%n",
            x.t(),
            x.phase(),
            x.fresh(),
            x.stale(),
            x.failed() + x.historyFailed(),
            x.historyFromStore(),
            x.fallback(),
            x.published(),
            // Counters read a moment apart can make one second -1, the next one more: shown as 0.
            Math.max(0, x.delivered()),
            x.backlog(),
            x.health());
      }
    }
  }

  /**
   * Takes a sample: rates since the last one; the guards' worst states since then; the servers'
   * last checks, at most a quarter of a second old (or {@link ServerChecks#WAIT} for a server that
   * hangs).
   *
   * @param phase the phase the sample belongs to
   * @return the sample, or null if the service is restarting (the next sample covers this second)
   */
  private synchronized DrillReport.@Nullable Sample sample(String phase) {
    if (!restartLock.readLock().tryLock()) {
      return null;
    }
    try {
      DrillService s = current();
      ServerChecks servers = Objects.requireNonNull(checks);
      Totals now = totals(s);
      Totals d = now.minus(last);
      List<DrillReport.GuardSample> guards = new ArrayList<>();
      StringBuilder health = new StringBuilder();
      for (Guard g : guards(s)) {
        String name = g.dependency();
        Guard.State state = g.state();
        AtomicReference<Guard.State> w = worst.get(name);
        Guard.State over = w == null ? state : worse(w.getAndSet(state), state);
        boolean answers = servers.answering(serverOf(name));
        guards.add(new DrillReport.GuardSample(name, serverOf(name), over, answers));
        health
            .append(health.length() == 0 ? "" : " ")
            .append(name)
            .append(' ')
            .append(status(state, answers));
      }
      DrillReport.Sample x =
          new DrillReport.Sample(
              now(),
              phase,
              d.fresh(),
              d.stale(),
              d.failed(),
              d.historyFromStore(),
              d.fallback(),
              d.historyFailed(),
              d.published(),
              d.delivered(),
              s.orders.metrics().backlogEvents(),
              guards,
              health.toString());
      last = now;
      timeline.add(x);
      return x;
    } finally {
      restartLock.readLock().unlock();
    }
  }

  /**
   * UP only while the server answers the drill's check and the guard lets calls through; DOWN as
   * soon as either fails, whatever the guard has yet to notice.
   */
  static String status(Guard.State breaker, boolean answering) {
    if (!answering || breaker == Guard.State.OPEN) {
      return "DOWN";
    }
    return breaker == Guard.State.HALF_OPEN ? "DEGRADED" : "UP";
  }

  /** The server a guard's calls go to: the ledger is a table in MySQL. */
  private static String serverOf(String guard) {
    return guard.equals("ledger") ? "mysql" : guard;
  }

  private static Guard.State worse(Guard.State a, Guard.State b) {
    return rank(a) >= rank(b) ? a : b;
  }

  private static int rank(Guard.State s) {
    return switch (s) {
      case CLOSED -> 0;
      case HALF_OPEN -> 1;
      case OPEN -> 2;
    };
  }

  private static List<Guard> guards(DrillService s) {
    return List.of(s.mysql, s.store, s.ledger, s.search);
  }

  /** Keeps each guard's worst state between samples: an opening shorter than a second shows. */
  private DrillService watch(DrillService s) {
    for (Guard g : guards(s)) {
      AtomicReference<Guard.State> w =
          worst.computeIfAbsent(g.dependency(), k -> new AtomicReference<>(Guard.State.CLOSED));
      String name = g.dependency();
      // A new service's guards start closed, whatever the old ones were.
      breakerChanged(name, g.state());
      Guard.Listener l =
          (guard, from, to) -> {
            w.accumulateAndGet(to, OutageDrill::worse);
            breakerChanged(name, to);
          };
      g.addListener(l);
      synchronized (unwatch) {
        unwatch.add(() -> g.removeListener(l));
      }
    }
    return s;
  }

  private void breakerChanged(String guard, Guard.State to) {
    synchronized (breakers) {
      breakers.add(new DrillReport.Change(guard, now(), DrillReport.stateName(to)));
    }
  }

  private void unwatch() {
    synchronized (unwatch) {
      unwatch.forEach(Runnable::run);
      unwatch.clear();
    }
  }

  /** Counters since the start, warm-up included; restarted services' counts added in. */
  private record Totals(
      long fresh,
      long stale,
      long failed,
      long historyFromStore,
      long historyFailed,
      long fallback,
      long published,
      long delivered) {
    static final Totals ZERO = new Totals(0, 0, 0, 0, 0, 0, 0, 0);

    Totals minus(Totals o) {
      return new Totals(
          fresh - o.fresh,
          stale - o.stale,
          failed - o.failed,
          historyFromStore - o.historyFromStore,
          historyFailed - o.historyFailed,
          fallback - o.fallback,
          published - o.published,
          delivered - o.delivered);
    }

    long reads() {
      return fresh + stale + failed;
    }
  }

  private Totals totals(DrillService s) {
    CacheStats st = s.products.stats();
    long spilled = spilledBase + s.orders.metrics().published();
    long delivered =
        (published.get() - spilled) + queueDeliveredBase + s.orders.metrics().delivered();
    return new Totals(
        freshBase + st.freshHits() + st.loadedAnswers(),
        staleBase + st.staleHits(),
        readsFailed.get(),
        historyFromStore.get(),
        historyFailed.get(),
        historyFallback.get(),
        published.get(),
        delivered);
  }

  // ---- the report: events read back from the index ----

  private synchronized DrillReport report(URI searchUri) throws Exception {
    DrillService s = current();
    Totals t = totals(s).minus(warmUp);
    SearchTarget target = Objects.requireNonNull(search);
    HttpClient http = target.client(Duration.ofSeconds(5));
    Duration timeout = Duration.ofSeconds(30);
    String index = "/" + names.index();
    target.send(http, searchUri, "POST", index + "/_refresh", "", timeout);
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
          target.send(
              http, searchUri, "POST", index + "/_search", JSON.writeValueAsString(q), timeout);
      if (r.statusCode() != 200) {
        throw new IllegalStateException(
            "reading the events back failed: " + Redaction.redact(r.body()));
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
        t.reads(),
        t.fresh(),
        t.stale(),
        t.failed(),
        warmUp.reads(),
        t.historyFromStore() + t.fallback() + t.historyFailed(),
        t.historyFailed(),
        t.fallback(),
        t.published(),
        publishFailed.get(),
        spilledBase + s.orders.metrics().published(),
        t.delivered(),
        lost.cardinality(),
        documents - seen.cardinality(),
        List.copyOf(phases),
        List.copyOf(timeline),
        breakerLog(),
        Objects.requireNonNull(checks).changes());
  }

  private List<DrillReport.Change> breakerLog() {
    synchronized (breakers) {
      return List.copyOf(breakers);
    }
  }

  // ---- servers and data ----

  private Breakable mysql() {
    String url = options.get("mysql");
    if (url == null) {
      MariaDbServer db = MariaDbServer.builder().database("shop").start();
      return new Breakable("mysql", "MySQL", db, FaultProxy.to(db));
    }
    Matcher m = hostPort(url, "--mysql");
    return new Breakable(
        "mysql", "MySQL", null, FaultProxy.to(m.group(2), Integer.parseInt(m.group(3))));
  }

  private Breakable postgres() {
    String url = options.get("postgres");
    if (url == null) {
      PostgresServer db = PostgresServer.builder().database("events").start();
      return new Breakable("event-store", "PostgreSQL", db, FaultProxy.to(db));
    }
    Matcher m = hostPort(url, "--postgres");
    return new Breakable(
        "event-store", "PostgreSQL", null, FaultProxy.to(m.group(2), Integer.parseInt(m.group(3))));
  }

  private Breakable elasticsearch() {
    SearchTarget users = usersSearch;
    if (users == null) {
      OpenSearchServer node = OpenSearchServer.launch();
      search = SearchTarget.local(URI.create(node.httpUrl()));
      return new Breakable("elasticsearch", "Elasticsearch", node, FaultProxy.to(node));
    }
    search = users;
    return new Breakable(
        "elasticsearch", "Elasticsearch", null, FaultProxy.to(users.host(), users.port()));
  }

  private static Matcher hostPort(String url, String option) {
    Matcher m = HOST_PORT.matcher(url);
    // The URL may hold a password: the message shows it redacted.
    require(m.find(), option + " needs host:port in the URL: " + Redaction.redact(url));
    return m;
  }

  /**
   * MySQL for the service (through the proxy, a short connect timeout) or for the drill's own
   * set-up and clean-up (straight to the server, with a socket timeout so that clean-up cannot
   * hang).
   */
  private DataSource mariaDs(Breakable b, boolean throughProxy) throws SQLException {
    MariaDbDataSource ds = new MariaDbDataSource();
    String url = options.get("mysql");
    if (url == null) {
      MariaDbServer db = (MariaDbServer) Objects.requireNonNull(b.server);
      url = db.jdbcUrl() + "?user=" + db.user() + "&password=" + db.password();
    }
    url = url.replaceFirst("^jdbc:mysql:", "jdbc:mariadb:");
    String sep = url.contains("?") ? "&" : "?";
    ds.setUrl(
        throughProxy
            ? throughProxy(url, b) + sep + "connectTimeout=1000"
            : url + sep + "connectTimeout=5000&socketTimeout=30000");
    return ds;
  }

  private DataSource postgresDs(Breakable b, boolean throughProxy) {
    PGSimpleDataSource ds = new PGSimpleDataSource();
    String url = options.get("postgres");
    if (url == null) {
      PostgresServer db = (PostgresServer) Objects.requireNonNull(b.server);
      ds.setUser(db.user());
      ds.setPassword(db.password());
      url = db.jdbcUrl();
    }
    ds.setUrl(throughProxy ? throughProxy(url, b) : url);
    ds.setConnectTimeout(throughProxy ? 1 : 5);
    ds.setLoginTimeout(throughProxy ? 2 : 10); // a frozen server accepts and never answers
    ds.setSocketTimeout(throughProxy ? 5 : 30);
    return ds;
  }

  private static String throughProxy(String url, Breakable b) {
    Matcher m = HOST_PORT.matcher(url);
    if (!m.find()) {
      throw new IllegalArgumentException("no host:port in the URL");
    }
    return url.substring(0, m.start())
        + m.group(1)
        + "127.0.0.1:"
        + b.proxy.port()
        + url.substring(m.end());
  }

  // ---- small things ----

  private double now() {
    return started == 0 ? 0 : (System.nanoTime() - started) / 1e9;
  }

  static void say(String line) {
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
