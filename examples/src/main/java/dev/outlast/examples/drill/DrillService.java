package dev.outlast.examples.drill;

import dev.outlast.buffer.SpillQueue;
import dev.outlast.cache.Freshness;
import dev.outlast.cache.QueryCache;
import dev.outlast.core.Guard;
import dev.outlast.core.GuardConfig;
import dev.outlast.core.RecoveryProbe;
import dev.outlast.core.Redaction;
import dev.outlast.core.annotation.Guarded;
import dev.outlast.core.annotation.Outlast;
import dev.outlast.core.annotation.ReadFallback;
import dev.outlast.core.annotation.SpillOnFailure;
import dev.outlast.core.jdbc.JdbcEventSource;
import dev.outlast.core.jdbc.JdbcTimeouts;
import dev.outlast.core.spi.Codec;
import dev.outlast.core.spi.StreamEvent;
import dev.outlast.sink.elasticsearch.ElasticsearchSink;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.util.List;
import javax.sql.DataSource;

/**
 * The small service the drill runs: a product catalog read through a query cache (MySQL), order
 * events published through a spill queue (Elasticsearch), and stream history read from the event
 * store with the ledger as fallback. What a service would write: annotated interfaces, plain
 * implementations, one {@link Outlast}. Closing and opening it again is the drill's "restart".
 */
final class DrillService implements AutoCloseable {

  /** Events of the order stream, published by the service. */
  interface OrderEvents {
    @Guarded("elasticsearch")
    @SpillOnFailure(queue = "orders")
    void placed(String json) throws IOException;
  }

  /** History of an account, from the event store, else from the ledger. */
  interface History {
    @Guarded("event-store")
    @ReadFallback(method = "fromLedger")
    Answer read(String stream) throws SQLException;

    @Guarded("ledger")
    Answer fromLedger(String stream) throws SQLException;
  }

  /**
   * A stream's history and where it came from, so that the caller counts the answers the fallback
   * gave (counting in the ledger's method would also count a call abandoned at its timeout).
   */
  record Answer(List<StreamEvent> events, boolean fromLedger) {
    Answer {
      events = List.copyOf(events);
    }
  }

  final Guard mysql;
  final Guard store;
  final Guard ledger;
  final Guard search;
  final QueryCache<Long, String> products;
  final SpillQueue<String> orders;
  final OrderEvents events;
  final History history;

  private final Outlast outlast;

  /**
   * @param names the tables and index of this run
   * @param cluster the cluster's credentials and trust
   * @param elasticsearch where the service reaches it (the proxy)
   */
  DrillService(
      DrillNames names,
      DataSource shop,
      DataSource storeDs,
      DataSource ledgerDs,
      SearchTarget cluster,
      URI elasticsearch,
      Path dir,
      Duration freshFor) {
    GuardConfig db =
        GuardConfig.from(GuardConfig.database())
            .callTimeout(Duration.ofSeconds(1))
            .openWait(Duration.ofSeconds(1))
            .maxOpenWait(Duration.ofSeconds(2))
            .maxAttempts(1)
            .build();
    // Each database guard checks its server on its own while its breaker is open, so the drill's
    // health (and fresh reads) come back within a probe interval of the server, without traffic.
    mysql = probed("mysql", db, shop);
    store = probed("event-store", db, storeDs);
    ledger = probed("ledger", db, ledgerDs);
    // Elasticsearch is checked the same way: its breaker closes when the index answers again.
    search =
        Guard.builder("elasticsearch")
            .config(
                GuardConfig.from(GuardConfig.broker())
                    .callTimeout(Duration.ofSeconds(2))
                    .openWait(Duration.ofSeconds(1))
                    .maxOpenWait(Duration.ofSeconds(2))
                    .build())
            .recoveryProbe(cluster.indexCheck(elasticsearch, names.index()))
            .build();
    // Built by hand, not by @CachedQuery: the snapshot that makes the warm start needs codecs.
    products =
        QueryCache.<Long, String>builder("products")
            .guard(mysql)
            .freshness(Freshness.of(freshFor, Duration.ZERO, Duration.ofHours(1)))
            .maxStaleWait(Duration.ofMillis(50))
            .snapshot(dir.resolve("products.snapshot"), Codec.int64(), Codec.utf8())
            .snapshotInterval(Duration.ofSeconds(1))
            .build(id -> productName(shop, names.product(), id));
    try {
      orders = queue(cluster.sink(elasticsearch, names.index()), dir);
    } catch (RuntimeException e) {
      products.close();
      throw e;
    }
    Outlast wiring = null;
    try {
      wiring = wire();
    } catch (RuntimeException e) {
      orders.close();
      products.close();
      throw e;
    }
    outlast = wiring;
    events =
        outlast.wrap(OrderEvents.class, new HttpOrderEvents(cluster, elasticsearch, names.index()));
    JdbcEventSource storeEvents = JdbcEventSource.builder(storeDs).table(names.event()).build();
    JdbcEventSource ledgerEvents = JdbcEventSource.builder(ledgerDs).table(names.event()).build();
    history =
        outlast.wrap(
            History.class,
            new History() {
              @Override
              public Answer read(String stream) throws SQLException {
                return new Answer(storeEvents.read(stream, 1, 100), false);
              }

              @Override
              public Answer fromLedger(String stream) throws SQLException {
                return new Answer(ledgerEvents.read(stream, 1, 100), true);
              }
            });
  }

  private SpillQueue<String> queue(ElasticsearchSink.Builder<String> sink, Path dir) {
    return SpillQueue.<String>builder("orders")
        .directory(dir.resolve("orders-journal"))
        .codec(Codec.utf8())
        .sink(
            sink.rawJson(s -> s)
                .requestTimeout(Duration.ofSeconds(2))
                .connectTimeout(Duration.ofSeconds(1))
                .build())
        .guard(search)
        .batchSize(500)
        .retryBackoff(Duration.ofMillis(200), Duration.ofSeconds(1))
        .build();
  }

  private Outlast wire() {
    return Outlast.builder()
        .guard(mysql)
        .guard(store)
        .guard(ledger)
        .guard(search)
        .resource("orders", orders)
        .build();
  }

  private static String productName(DataSource shop, String table, long id) throws SQLException {
    JdbcTimeouts timeouts = JdbcTimeouts.of(Duration.ofSeconds(1), "products");
    try (JdbcTimeouts.Call call = timeouts.open(shop);
        PreparedStatement ps = call.prepare("SELECT name FROM " + table + " WHERE id = ?")) {
      ps.setLong(1, id);
      try (ResultSet rs = ps.executeQuery()) {
        return rs.next() ? rs.getString(1) : "";
      }
    }
  }

  /** Closes the wiring, the queue (its journal stays) and the cache (it writes a last snapshot). */
  @Override
  public void close() {
    try {
      outlast.close();
    } finally {
      try {
        orders.close();
      } finally {
        products.close();
      }
    }
  }

  /** Posts one order document, under the order's own id: the service's direct path. */
  private static final class HttpOrderEvents implements OrderEvents {
    private final SearchTarget search;
    private final HttpClient http;
    private final URI base;
    private final String index;

    HttpOrderEvents(SearchTarget search, URI base, String index) {
      this.search = search;
      this.http = search.client(Duration.ofSeconds(1));
      this.base = base;
      this.index = index;
    }

    @Override
    public void placed(String json) throws IOException {
      HttpResponse<String> r;
      try {
        r = search.send(http, base, "POST", "/" + index + "/_doc", json, Duration.ofSeconds(2));
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IOException("interrupted", e);
      }
      if (r.statusCode() >= 500 || r.statusCode() == 429) {
        throw new IOException("HTTP " + r.statusCode());
      }
      if (r.statusCode() >= 300) {
        throw new IllegalArgumentException(
            "refused: HTTP " + r.statusCode() + " " + Redaction.redact(r.body()));
      }
    }
  }

  private static Guard probed(String name, GuardConfig config, DataSource ds) {
    return Guard.builder(name)
        .config(config)
        .recoveryProbe(RecoveryProbe.jdbc(ds, config.callTimeout()))
        .build();
  }
}
