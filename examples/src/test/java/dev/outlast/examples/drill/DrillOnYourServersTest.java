package dev.outlast.examples.drill;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.outlast.testkit.MariaDbServer;
import dev.outlast.testkit.OpenSearchServer;
import dev.outlast.testkit.PostgresServer;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.lang.management.ManagementFactory;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.ResultSetMetaData;
import java.sql.SQLException;
import java.sql.Statement;
import java.sql.Types;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 16, "the drill destroys data": pointed at a user's servers it ran {@code DROP TABLE IF
 * EXISTS product}, {@code DROP TABLE IF EXISTS event}, deleted the index {@code
 * outlast-drill-orders}, left its tables behind, and echoed JDBC URLs with their passwords. Here
 * the servers (real ones, from the test kit) are the user's: they already hold those names, with
 * data, and the drill runs against them as a user runs it, in a JVM of its own.
 */
class DrillOnYourServersTest {
  private static final String MYSQL_PASSWORD = "Dr1ll-S3cret-pw";
  private static final String PG_PASSWORD = "Pg-S3cret-pw";
  private static final String ES_PASSWORD = "Es-S3cret-pw";
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final HttpClient HTTP = HttpClient.newHttpClient();

  private static MariaDbServer mysql;
  private static PostgresServer postgres;
  private static OpenSearchServer search;

  @TempDir Path out;

  @BeforeAll
  static void start() throws Exception {
    mysql = MariaDbServer.builder().database("shop").start();
    postgres = PostgresServer.builder().database("events").start();
    search = OpenSearchServer.launch();
    // A user of the application's own, whose password the drill must never print.
    for (String host : List.of("%", "127.0.0.1", "localhost")) {
      mysqlRoot("CREATE USER 'drill'@'" + host + "' IDENTIFIED BY '" + MYSQL_PASSWORD + "'");
      mysqlRoot("GRANT ALL PRIVILEGES ON shop.* TO 'drill'@'" + host + "'");
    }
    // Every test checks these stay as they are. What the old drill dropped: the user's product and
    // event tables, and its old index.
    mysqlRoot("CREATE TABLE product (id BIGINT PRIMARY KEY, name VARCHAR(64) NOT NULL)");
    mysqlRoot("INSERT INTO product VALUES (1, 'the user''s chair'), (2, 'the user''s table')");
    mysqlRoot(
        "CREATE TABLE event (stream VARCHAR(64), seq BIGINT, payload VARBINARY(64),"
            + " PRIMARY KEY (stream, seq))");
    mysqlRoot("INSERT INTO event VALUES ('ledger-7', 1, x'00ff10'), ('ledger-7', 2, x'2a')");
    pg("CREATE TABLE event (stream TEXT, seq BIGINT, payload BYTEA, PRIMARY KEY (stream, seq))");
    pg("INSERT INTO event VALUES ('store-9', 1, '\\x0102'::bytea), ('store-9', 2, 'abc')");
    es("PUT", "/outlast-drill-orders", "{\"settings\":{\"number_of_replicas\":0}}");
    es("PUT", "/outlast-drill-orders/_doc/a1?refresh=true", "{\"order\":1,\"note\":\"keep me\"}");
    es("PUT", "/outlast-drill-orders/_doc/a2?refresh=true", "{\"order\":2}");
  }

  @AfterAll
  static void stop() {
    for (AutoCloseable c : new AutoCloseable[] {search, postgres, mysql}) {
      try {
        if (c != null) {
          c.close();
        }
      } catch (Exception e) {
        // the others still close
      }
    }
  }

  @Test
  void onServersHoldingItsOldNames_theDrillLeavesThemByteForByte_andRemovesItsOwn()
      throws Exception {
    String before = fingerprint();
    Set<String> namesBefore = names();

    Drill d = drill("--run-id=keepsold", "--phase-seconds=2");

    assertThat(d.exit).as(d.output).isIn(0, 1); // 1: a read failed; not this test's business
    assertThat(d.output)
        .contains("done: reads")
        .contains("created table outlast_drill_keepsold_product in MySQL")
        .contains("removed table outlast_drill_keepsold_product in MySQL")
        .contains("removed table outlast_drill_keepsold_event in MySQL")
        .contains("removed table outlast_drill_keepsold_event in PostgreSQL")
        .contains("removed index outlast-drill-keepsold-orders in Elasticsearch")
        .contains(
            "== mysql-refused: MySQL refused at the proxy, open connections cut (server"
                + " untouched)")
        .contains(
            "== mysql-blackholed: MySQL let through at the proxy again, then blackholed at"
                + " the proxy (server untouched)")
        .doesNotContain("SIGKILL", "SIGSTOP");
    assertThat(fingerprint()).as("the user's tables and index").isEqualTo(before);
    assertThat(names()).as("no name of the drill's is left").isEqualTo(namesBefore);

    Path run = out.resolve("keepsold");
    try (Stream<Path> files = Files.list(out)) {
      assertThat(files.toList()).containsExactly(run);
    }
    assertThat(run.resolve("work")).as("its work files, removed").doesNotExist();
    JsonNode report = JSON.readTree(run.resolve("report.json").toFile());
    List<String> whats = new ArrayList<>();
    report.path("phases").forEach(p -> whats.add(p.path("name") + " " + p.path("what")));
    assertThat(whats)
        .anySatisfy(w -> assertThat(w).contains("mysql-refused").contains("server untouched"))
        .anySatisfy(w -> assertThat(w).contains("blackholed at the proxy"))
        .noneSatisfy(w -> assertThat(w).contains("SIGKILL"));
    assertNoPassword(d.output, run);
  }

  @Test
  void whenItsNamesExist_theDrillRefusesToStart_andTouchesNothing() throws Exception {
    pg("CREATE TABLE outlast_drill_taken_event (n INT)");
    pg("INSERT INTO outlast_drill_taken_event VALUES (42)");
    es("PUT", "/outlast-drill-taken-orders/_doc/x?refresh=true", "{\"left\":\"by someone\"}");
    String before =
        fingerprint() + pgRows("outlast_drill_taken_event") + esDocs("outlast-drill-taken-orders");
    Set<String> namesBefore = names();

    Drill d = drill("--run-id=taken", "--phase-seconds=2");

    assertThat(d.exit).as(d.output).isEqualTo(3);
    assertThat(d.output)
        .contains("the drill's names already exist, so it will not start (nothing was changed)")
        .contains("table outlast_drill_taken_event in PostgreSQL")
        .contains("index outlast-drill-taken-orders in Elasticsearch")
        .doesNotContain("created ", "removed ");
    assertThat(
            fingerprint()
                + pgRows("outlast_drill_taken_event")
                + esDocs("outlast-drill-taken-orders"))
        .isEqualTo(before);
    assertThat(names()).isEqualTo(namesBefore);

    // The run's directory now exists: a second run under it refuses, and leaves what is there.
    Path mine = Files.writeString(out.resolve("taken").resolve("mine.txt"), "the user's");
    Drill again = drill("--run-id=taken", "--phase-seconds=2");
    assertThat(again.exit).as(again.output).isEqualTo(2);
    assertThat(again.output).contains("exists: the drill writes only into a directory of its own");
    assertThat(mine).hasContent("the user's");
    assertNoPassword(d.output + again.output, out.resolve("taken"));
  }

  @Test
  void stoppedInTheMiddle_theDrillRemovesWhatItCreated() throws Exception {
    Set<String> namesBefore = names();
    CountDownLatch running = new CountDownLatch(1);
    Drill d =
        drill(
            line -> {
              if (line.startsWith("== mysql-refused")) {
                running.countDown();
              }
            },
            running,
            "--run-id=stopped",
            "--phase-seconds=30");

    assertThat(d.output)
        .contains("created index outlast-drill-stopped-orders in Elasticsearch")
        .contains("stopped early: cleaning up")
        .contains("removed table outlast_drill_stopped_product in MySQL")
        .contains("removed index outlast-drill-stopped-orders in Elasticsearch");
    assertThat(names()).isEqualTo(namesBefore);
    assertThat(out.resolve("stopped").resolve("work")).doesNotExist();
    assertNoPassword(d.output, out.resolve("stopped"));
  }

  @Test
  void aJdbcUrlItCannotUse_isReportedWithoutItsPassword() throws Exception {
    Drill d =
        drillWith(
            List.of(
                "--mysql=jdbc:mariadb://127.0.0.1/shop?user=drill&password=" + MYSQL_PASSWORD,
                "--postgres=" + postgresUrl(),
                "--elasticsearch=" + search.httpUrl(),
                "--run-id=badurl"),
            line -> {},
            null);

    assertThat(d.exit).isEqualTo(1);
    assertThat(d.output)
        .contains(
            "--mysql needs host:port in the URL: jdbc:mariadb://127.0.0.1/shop?user=drill"
                + "&password=***")
        .doesNotContain(MYSQL_PASSWORD);
  }

  // ---- running the drill as a user does ----

  private record Drill(int exit, String output) {}

  private Drill drill(String... args) throws Exception {
    return drill(line -> {}, null, args);
  }

  private Drill drill(
      java.util.function.Consumer<String> onLine, CountDownLatch stopWhen, String... args)
      throws Exception {
    List<String> all = new ArrayList<>();
    all.add("--mysql=" + mysqlUrl());
    all.add("--postgres=" + postgresUrl());
    // Basic auth in the address, over http: OpenSearch here has no security, the drill must still
    // keep the password to itself.
    all.add("--elasticsearch=http://elastic:" + ES_PASSWORD + "@127.0.0.1:" + search.port());
    all.add("--allow-credentials-over-http");
    all.addAll(List.of(args));
    return drillWith(all, onLine, stopWhen);
  }

  private Drill drillWith(
      List<String> args, java.util.function.Consumer<String> onLine, CountDownLatch stopWhen)
      throws Exception {
    List<String> command = new ArrayList<>();
    command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    command.add("-Djava.io.tmpdir=" + System.getProperty("java.io.tmpdir"));
    command.add("-XX:-UsePerfData");
    for (String arg : ManagementFactory.getRuntimeMXBean().getInputArguments()) {
      if (arg.startsWith("--add-")
          || arg.startsWith("-Dchronicle")
          || arg.startsWith("--enable-native")
          || arg.startsWith("--sun-misc")) {
        command.add(arg);
      }
    }
    command.add("-cp");
    command.add(System.getProperty("java.class.path"));
    command.add(OutageDrill.class.getName());
    command.add("--out=" + out);
    command.addAll(args);
    Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
    StringBuilder output = new StringBuilder();
    Thread reader =
        new Thread(
            () -> {
              try (BufferedReader r =
                  new BufferedReader(
                      new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
                for (String line; (line = r.readLine()) != null; ) {
                  synchronized (output) {
                    output.append(line).append('\n');
                  }
                  onLine.accept(line);
                }
              } catch (IOException e) {
                // the process ended
              }
            });
    reader.start();
    if (stopWhen != null) {
      assertThat(stopWhen.await(3, TimeUnit.MINUTES)).as("the drill got going").isTrue();
      // SIGINT, as Ctrl-C does: the JVM runs its shutdown hooks. (Process.destroy would close
      // this side's pipe and lose what the hook prints.)
      Process kill = new ProcessBuilder("kill", "-INT", Long.toString(p.pid())).start();
      assertThat(kill.waitFor(30, TimeUnit.SECONDS)).isTrue();
    }
    if (!p.waitFor(5, TimeUnit.MINUTES)) {
      p.destroyForcibly();
    }
    reader.join(10_000);
    synchronized (output) {
      System.out.print(output);
      return new Drill(p.exitValue(), output.toString());
    }
  }

  private static String mysqlUrl() {
    return mysql.jdbcUrl() + "?user=drill&password=" + MYSQL_PASSWORD;
  }

  private static String postgresUrl() {
    return postgres.jdbcUrl() + "?user=" + postgres.user() + "&password=" + PG_PASSWORD;
  }

  /** Neither what was printed nor any file the run left holds a password. */
  private static void assertNoPassword(String output, Path run) throws IOException {
    assertThat(output).doesNotContain(MYSQL_PASSWORD, PG_PASSWORD, ES_PASSWORD);
    if (Files.exists(run)) {
      try (Stream<Path> files = Files.walk(run)) {
        for (Path f : files.filter(Files::isRegularFile).toList()) {
          assertThat(Files.readString(f, StandardCharsets.ISO_8859_1))
              .as(f.toString())
              .doesNotContain(MYSQL_PASSWORD, PG_PASSWORD, ES_PASSWORD);
        }
      }
    }
  }

  // ---- the servers, as their owner sees them ----

  /** Definitions and every row of the user's tables, and the user's index with every document. */
  private static String fingerprint() throws Exception {
    StringBuilder f = new StringBuilder();
    for (String t : List.of("product", "event")) {
      f.append(mysqlQuery("SHOW CREATE TABLE " + t));
      f.append(mysqlQuery("SELECT * FROM " + t + " ORDER BY 1, 2"));
    }
    f.append(pgRows("event"));
    f.append(es("GET", "/outlast-drill-orders", "").body());
    f.append(esDocs("outlast-drill-orders"));
    return f.toString();
  }

  private static String esDocs(String index) throws Exception {
    JsonNode hits =
        JSON.readTree(
                es(
                        "GET",
                        "/" + index + "/_search?size=1000&version=true&seq_no_primary_term=true",
                        "")
                    .body())
            .path("hits")
            .path("hits");
    TreeMap<String, String> docs = new TreeMap<>();
    for (JsonNode h : hits) {
      docs.put(
          h.path("_id").asText(),
          h.path("_version") + " " + h.path("_seq_no") + " " + h.path("_source"));
    }
    return docs.toString();
  }

  /** Tables in the user's MySQL database and PostgreSQL schema, indices in the cluster. */
  private static Set<String> names() throws Exception {
    TreeSet<String> names = new TreeSet<>();
    try (Connection c = DriverManager.getConnection(mysql.jdbcUrl(), "root", "")) {
      for (String t : strings(c, "SHOW TABLES")) {
        names.add("mysql " + t);
      }
    }
    try (Connection c = DriverManager.getConnection(postgres.jdbcUrl(), postgres.user(), "")) {
      for (String t :
          strings(c, "SELECT relname FROM pg_class WHERE relnamespace = 'public'::regnamespace")) {
        names.add("pg " + t);
      }
    }
    for (JsonNode i : JSON.readTree(es("GET", "/_cat/indices?format=json&h=index", "").body())) {
      if (!i.path("index").asText().startsWith(".")) {
        names.add("es " + i.path("index").asText());
      }
    }
    return names;
  }

  private static void mysqlRoot(String sql) throws SQLException {
    try (Connection c = DriverManager.getConnection(mysql.jdbcUrl(), "root", "");
        Statement s = c.createStatement()) {
      s.execute(sql);
    }
  }

  private static String mysqlQuery(String sql) throws SQLException {
    try (Connection c = DriverManager.getConnection(mysql.jdbcUrl(), "root", "")) {
      return rows(c, sql);
    }
  }

  private static void pg(String sql) throws SQLException {
    try (Connection c = DriverManager.getConnection(postgres.jdbcUrl(), postgres.user(), "");
        Statement s = c.createStatement()) {
      s.execute(sql);
    }
  }

  private static String pgQuery(String sql) throws SQLException {
    try (Connection c = DriverManager.getConnection(postgres.jdbcUrl(), postgres.user(), "")) {
      return rows(c, sql);
    }
  }

  private static String pgRows(String table) throws SQLException {
    return pgQuery(
            "SELECT column_name, data_type FROM information_schema.columns WHERE table_name = '"
                + table
                + "' ORDER BY ordinal_position")
        + pgQuery("SELECT * FROM " + table + " ORDER BY 1");
  }

  private static List<String> strings(Connection c, String sql) throws SQLException {
    List<String> out = new ArrayList<>();
    try (Statement s = c.createStatement();
        ResultSet rs = s.executeQuery(sql)) {
      while (rs.next()) {
        out.add(rs.getString(1));
      }
    }
    return out;
  }

  /** Every value of every row, as bytes in hex: a change of one byte shows. */
  private static String rows(Connection c, String sql) throws SQLException {
    StringBuilder b = new StringBuilder();
    try (Statement s = c.createStatement();
        ResultSet rs = s.executeQuery(sql)) {
      ResultSetMetaData md = rs.getMetaData();
      while (rs.next()) {
        for (int i = 1; i <= md.getColumnCount(); i++) {
          int type = md.getColumnType(i);
          boolean binary =
              type == Types.BINARY
                  || type == Types.VARBINARY
                  || type == Types.LONGVARBINARY
                  || type == Types.BLOB;
          byte[] raw = binary ? rs.getBytes(i) : null;
          String v =
              binary ? (raw == null ? null : HexFormat.of().formatHex(raw)) : rs.getString(i);
          b.append(i == 1 ? "" : "|").append(v == null ? "null" : "'" + v + "'");
        }
        b.append('\n');
      }
    }
    return b.toString();
  }

  private static HttpResponse<String> es(String method, String path, String body) throws Exception {
    HttpResponse<String> r =
        HTTP.send(
            HttpRequest.newBuilder(URI.create(search.httpUrl() + path))
                .header("Content-Type", "application/json")
                .method(
                    method,
                    body.isEmpty()
                        ? HttpRequest.BodyPublishers.noBody()
                        : HttpRequest.BodyPublishers.ofString(body))
                .build(),
            HttpResponse.BodyHandlers.ofString());
    assertThat(r.statusCode()).as(method + " " + path + ": " + r.body()).isLessThan(300);
    return r;
  }
}
