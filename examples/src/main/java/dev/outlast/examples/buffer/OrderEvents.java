package dev.outlast.examples.buffer;

import dev.outlast.buffer.FullPolicy;
import dev.outlast.buffer.SpillQueue;
import dev.outlast.buffer.SpillQueueMetrics;
import dev.outlast.buffer.spi.Delivery;
import dev.outlast.buffer.spi.EventId;
import dev.outlast.buffer.spi.Outcome;
import dev.outlast.buffer.spi.Sink;
import dev.outlast.core.FailureClassifier;
import dev.outlast.core.Guard;
import dev.outlast.core.GuardConfig;
import dev.outlast.core.spi.Codec;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import javax.sql.DataSource;
import org.jspecify.annotations.Nullable;

/**
 * Order events written to an {@code order_event} table through a spill queue: {@link #placed}
 * returns as soon as the event is in the table or, while the database is down, in the local
 * journal; the queue then delivers the journal in order when the database is back. The event's
 * stable id is the table's primary key, so an event delivered twice (after a crash, before its
 * acknowledgement was recorded) is inserted once.
 */
public final class OrderEvents implements AutoCloseable {
  /** The event. */
  public record OrderPlaced(long orderId, String sku, int quantity) {}

  /** Eight bytes of order id, four of quantity, then the SKU in UTF-8; no Java serialization. */
  static final Codec<OrderPlaced> CODEC =
      new Codec<>() {
        @Override
        public byte[] encode(OrderPlaced e) {
          byte[] sku = e.sku().getBytes(StandardCharsets.UTF_8);
          return ByteBuffer.allocate(12 + sku.length)
              .putLong(e.orderId())
              .putInt(e.quantity())
              .put(sku)
              .array();
        }

        @Override
        public OrderPlaced decode(byte[] bytes) {
          ByteBuffer b = ByteBuffer.wrap(bytes);
          long orderId = b.getLong();
          int quantity = b.getInt();
          return new OrderPlaced(
              orderId, new String(bytes, 12, bytes.length - 12, StandardCharsets.UTF_8), quantity);
        }
      };

  private final SpillQueue<OrderPlaced> queue;
  private final TableSink sink;

  public OrderEvents(DataSource events, Path journal) {
    this.sink = new TableSink(events);
    Guard db = Guard.of("events-db", GuardConfig.database());
    this.queue =
        SpillQueue.<OrderPlaced>builder("orders")
            .directory(journal)
            .codec(CODEC)
            .sink(sink)
            .guard(db)
            .mode(SpillQueue.Mode.SPILL_ON_FAILURE) // straight to the table while it answers
            .maxDiskBytes(1L << 30)
            .whenFull(FullPolicy.block(Duration.ofSeconds(2)))
            .drainRate(20_000) // a recovering database is not flooded with the backlog
            .build();
  }

  /** Returns once the event is in the table or in the journal. */
  public EventId placed(OrderPlaced event) {
    return queue.publish(event);
  }

  public SpillQueueMetrics metrics() {
    return queue.metrics();
  }

  @Override
  public void close() {
    queue.close();
    sink.closeConnection();
  }

  /**
   * Inserts a batch in one transaction. A database that cannot be reached makes every event a
   * retry; a row the database refuses (a constraint, a value too long) is found by inserting one by
   * one, and only that event is rejected to the dead-letter journal.
   */
  static final class TableSink implements Sink<OrderPlaced> {
    private static final String INSERT =
        "INSERT INTO order_event (id, order_id, sku, quantity) VALUES (?, ?, ?, ?)"
            + " ON CONFLICT (id) DO NOTHING";
    private final DataSource ds;
    private @Nullable Connection connection; // kept between batches, replaced after a failure

    TableSink(DataSource ds) {
      this.ds = ds;
    }

    // Publishers (direct delivery) and the drainer both call in; one connection serves them.
    @Override
    public synchronized CompletionStage<List<Outcome>> deliver(List<Delivery<OrderPlaced>> batch) {
      try {
        Connection c = connection;
        if (c == null) {
          c = ds.getConnection();
          connection = c;
        }
        c.setAutoCommit(false);
        try {
          insert(c, batch);
          c.commit();
          return done(Collections.nCopies(batch.size(), Outcome.ok()));
        } catch (SQLException e) {
          c.rollback();
          if (FailureClassifier.infrastructure().isInfrastructureFailure(e)) {
            throw e;
          }
          c.setAutoCommit(true);
          List<Outcome> outcomes = new ArrayList<>(batch.size());
          for (Delivery<OrderPlaced> d : batch) {
            outcomes.add(insertOne(c, d));
          }
          return done(outcomes);
        }
      } catch (SQLException e) {
        closeConnection();
        return done(Collections.nCopies(batch.size(), Outcome.retry(e.toString())));
      }
    }

    synchronized void closeConnection() {
      if (connection != null) {
        try {
          connection.close();
        } catch (SQLException e) {
          // already broken: nothing to release
        }
        connection = null;
      }
    }

    private static Outcome insertOne(Connection c, Delivery<OrderPlaced> d) throws SQLException {
      try {
        insert(c, List.of(d));
        return Outcome.ok();
      } catch (SQLException e) {
        if (FailureClassifier.infrastructure().isInfrastructureFailure(e)) {
          throw e;
        }
        return Outcome.reject(e.getMessage());
      }
    }

    private static void insert(Connection c, List<Delivery<OrderPlaced>> batch)
        throws SQLException {
      try (PreparedStatement ps = c.prepareStatement(INSERT)) {
        ps.setQueryTimeout(2);
        for (Delivery<OrderPlaced> d : batch) {
          ps.setString(1, d.id().toString());
          ps.setLong(2, d.event().orderId());
          ps.setString(3, d.event().sku());
          ps.setInt(4, d.event().quantity());
          ps.addBatch();
        }
        ps.executeBatch();
      }
    }

    private static CompletionStage<List<Outcome>> done(List<Outcome> outcomes) {
      return CompletableFuture.completedFuture(outcomes);
    }
  }
}
