package dev.outlast.spring;

import dev.outlast.buffer.spi.Delivery;
import dev.outlast.buffer.spi.Outcome;
import dev.outlast.buffer.spi.Sink;
import dev.outlast.core.annotation.CachedQuery;
import dev.outlast.core.annotation.Guarded;
import dev.outlast.core.annotation.SpillOnFailure;
import dev.outlast.core.spi.Codec;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.SQLTransientConnectionException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import javax.sql.DataSource;
import org.h2.jdbcx.JdbcDataSource;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.jdbc.datasource.DelegatingDataSource;

/** Beans the starter's tests wire: a database that can be taken down, and annotated services. */
final class Fixtures {
  private Fixtures() {}

  /** A database stand-in: answers, or fails as an unreachable server does. */
  static final class Backend {
    final AtomicBoolean down = new AtomicBoolean();
    final AtomicInteger calls = new AtomicInteger();

    String query(String what) {
      calls.incrementAndGet();
      if (down.get()) {
        throw new UncheckedIOException(new IOException("connection refused"));
      }
      return "row:" + what;
    }
  }

  /** Annotated on the interface: wired through the interface's handler. */
  interface ProductRepository {
    @Guarded("mysql")
    @CachedQuery(name = "products", freshFor = "1h", serveStaleFor = "1h")
    String find(String id);

    String plain(String id);
  }

  static class JdbcProducts implements ProductRepository {
    private final Backend db;

    JdbcProducts(Backend db) {
      this.db = db;
    }

    @Override
    public String find(String id) {
      return db.query(id);
    }

    @Override
    public String plain(String id) {
      return "plain:" + id;
    }
  }

  /** Annotated on the class: wired through a subclass proxy. */
  public static class PriceService {
    private final Backend db;

    public PriceService(Backend db) {
      this.db = db;
    }

    @Guarded("mysql")
    @CachedQuery(name = "prices", freshFor = "1ms", serveStaleFor = "1h")
    public String price(String sku) {
      return db.query(sku);
    }

    @Guarded("mysql")
    public String write(String sku) {
      return db.query("write " + sku);
    }

    /** Calls its own guarded method: no proxy sees that call. */
    public String writeFromInside(String sku) {
      return write(sku);
    }
  }

  interface OrderEvents {
    @SpillOnFailure(queue = "orders")
    void placed(String event);
  }

  /** Publishes to the sink's stand-in; fails while the backend is down, so events spill. */
  static class DirectOrderEvents implements OrderEvents {
    private final Backend broker;
    final List<String> sent = new CopyOnWriteArrayList<>();

    DirectOrderEvents(Backend broker) {
      this.broker = broker;
    }

    @Override
    public void placed(String event) {
      broker.query(event);
      sent.add(event);
    }
  }

  /** A sink that keeps what it is given. */
  static final class RecordingSink implements Sink<String> {
    final List<String> delivered = new CopyOnWriteArrayList<>();

    @Override
    public CompletionStage<List<Outcome>> deliver(List<Delivery<String>> batch) {
      List<Outcome> out = new ArrayList<>();
      for (Delivery<String> d : batch) {
        delivered.add(d.event());
        out.add(Outcome.ok());
      }
      return CompletableFuture.completedFuture(out);
    }
  }

  @Configuration(proxyBeanMethods = false)
  static class Beans {
    @Bean
    Backend backend() {
      return new Backend();
    }

    @Bean
    ProductRepository productRepository(Backend backend) {
      return new JdbcProducts(backend);
    }

    @Bean
    PriceService priceService(Backend backend) {
      return new PriceService(backend);
    }
  }

  /**
   * A pool in front of the same stand-in: refuses connections while the backend is down, so a
   * recovery probe sees the outage and the recovery.
   */
  @Configuration(proxyBeanMethods = false)
  static class Pool {
    @Bean
    DataSource dataSource(Backend backend) {
      JdbcDataSource h2 = new JdbcDataSource();
      h2.setURL("jdbc:h2:mem:fixtures;DB_CLOSE_DELAY=-1");
      return new DelegatingDataSource(h2) {
        @Override
        public Connection getConnection() throws SQLException {
          if (backend.down.get()) {
            throw new SQLTransientConnectionException("connection refused");
          }
          return super.getConnection();
        }
      };
    }
  }

  @Configuration(proxyBeanMethods = false)
  static class QueueBeans {
    @Bean
    Codec<String> eventCodec() {
      return Codec.utf8();
    }

    @Bean
    RecordingSink recordingSink() {
      return new RecordingSink();
    }

    @Bean
    OrderEvents orderEvents() {
      Backend broker = new Backend();
      broker.down.set(true);
      return new DirectOrderEvents(broker);
    }
  }
}
