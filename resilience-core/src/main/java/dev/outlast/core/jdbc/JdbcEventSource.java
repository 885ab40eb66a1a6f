package dev.outlast.core.jdbc;

import dev.outlast.core.spi.EventStore;
import dev.outlast.core.spi.StreamEvent;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import javax.sql.DataSource;

/**
 * An event store (or ledger) in a SQL table, to read and, for a rebuild, to append to: one row per
 * event, with the stream's name, the event's sequence number in the stream and its bytes. Works
 * with any database that has {@code LIMIT} (PostgreSQL, MySQL, MariaDB, H2).
 *
 * <pre>{@code
 * EventSource store =
 *     JdbcEventSource.builder(dataSource)
 *         .table("event").streamColumn("stream_id").sequenceColumn("seq").payloadColumn("body")
 *         .timeout(Duration.ofSeconds(2))
 *         .build();
 * }</pre>
 *
 * <p>Every query is bounded in the driver ({@link JdbcTimeouts}), so that a read against a dead or
 * frozen database gives up by itself instead of holding the caller: a read returns or fails within
 * the timeout plus half a second. Building the source checks the data source's own timeouts ({@link
 * JdbcTimeouts#check}) and logs a warning for each that can hold a caller longer. An index on
 * (stream, sequence) makes both queries cheap.
 *
 * <p>Immutable and threadsafe if the data source is.
 */
public final class JdbcEventSource implements EventStore {
  private final DataSource dataSource;
  private final String readSql;
  private final String markSql;
  private final String insertSql;
  private final JdbcTimeouts timeouts;
  private final String description;

  private JdbcEventSource(Builder b) {
    this.dataSource = b.dataSource;
    this.readSql =
        "SELECT "
            + b.sequence
            + ", "
            + b.payload
            + " FROM "
            + b.table
            + " WHERE "
            + b.stream
            + " = ? AND "
            + b.sequence
            + " >= ? ORDER BY "
            + b.sequence
            + " LIMIT ?";
    this.markSql =
        "SELECT COALESCE(MAX("
            + b.sequence
            + "), 0) FROM "
            + b.table
            + " WHERE "
            + b.stream
            + " = ?";
    this.insertSql =
        "INSERT INTO "
            + b.table
            + " ("
            + b.stream
            + ", "
            + b.sequence
            + ", "
            + b.payload
            + ") VALUES (?, ?, ?)";
    this.description = "JdbcEventSource[" + b.table + "]";
    this.timeouts = JdbcTimeouts.of(b.timeout, description);
    // At start-up, while it is cheap to fix: settings that would hold a reader past the timeout.
    JdbcTimeouts.check(dataSource, b.timeout, description);
  }

  /**
   * {@return a builder over a data source} Table and column names default to {@code event(stream,
   * seq, payload)}, the timeout to 2 seconds.
   *
   * @param dataSource where connections come from, usually the service's pool
   */
  public static Builder builder(DataSource dataSource) {
    return new Builder(dataSource);
  }

  @Override
  public List<StreamEvent> read(String stream, long fromSequence, int limit) throws SQLException {
    try (JdbcTimeouts.Call call = timeouts.open(dataSource);
        PreparedStatement ps = call.prepare(readSql)) {
      ps.setString(1, stream);
      ps.setLong(2, fromSequence);
      ps.setInt(3, limit);
      List<StreamEvent> events = new ArrayList<>(Math.min(limit, 1024));
      try (ResultSet rs = ps.executeQuery()) {
        while (rs.next()) {
          byte[] payload = rs.getBytes(2);
          events.add(
              new StreamEvent(stream, rs.getLong(1), payload == null ? new byte[0] : payload));
        }
      }
      return events;
    }
  }

  @Override
  public long highWaterMark(String stream) throws SQLException {
    try (JdbcTimeouts.Call call = timeouts.open(dataSource);
        PreparedStatement ps = call.prepare(markSql)) {
      ps.setString(1, stream);
      try (ResultSet rs = ps.executeQuery()) {
        return rs.next() ? rs.getLong(1) : 0;
      }
    }
  }

  /**
   * Inserts the events in one transaction: all or none. A row that is already there (the same
   * stream and sequence) fails the whole call, as the table's key should make it.
   */
  @Override
  public void append(List<StreamEvent> events) throws SQLException {
    if (events.isEmpty()) {
      return;
    }
    try (JdbcTimeouts.Call call = timeouts.open(dataSource)) {
      Connection c = call.connection();
      boolean autoCommit = c.getAutoCommit();
      c.setAutoCommit(false);
      try (PreparedStatement ps = call.prepare(insertSql)) {
        for (StreamEvent e : events) {
          ps.setString(1, e.stream());
          ps.setLong(2, e.sequence());
          ps.setBytes(3, e.payload());
          ps.addBatch();
        }
        ps.executeBatch();
        c.commit();
      } catch (SQLException | RuntimeException e) {
        // On a connection that broke (a frozen server) these fail too: keep the cause.
        try {
          c.rollback();
          c.setAutoCommit(autoCommit);
        } catch (SQLException cleanup) {
          e.addSuppressed(cleanup);
        }
        throw e;
      }
      c.setAutoCommit(autoCommit);
    }
  }

  @Override
  public String toString() {
    return description;
  }

  /** Settings for a {@link JdbcEventSource}. Not threadsafe; build once. */
  public static final class Builder {
    private final DataSource dataSource;
    private String table = "event";
    private String stream = "stream";
    private String sequence = "seq";
    private String payload = "payload";
    private Duration timeout = Duration.ofSeconds(2);

    private Builder(DataSource dataSource) {
      this.dataSource = Objects.requireNonNull(dataSource, "dataSource");
    }

    /**
     * The table, optionally schema-qualified; {@code event} by default.
     *
     * @param name a plain SQL identifier, or {@code schema.table}; not quoted, so the database's
     *     case rules apply
     * @return this builder
     * @throws IllegalArgumentException if the name is not a plain identifier (letters, digits, '_')
     */
    public Builder table(String name) {
      this.table = identifier(name, "table");
      return this;
    }

    /**
     * The column of the stream's name (text); {@code stream} by default.
     *
     * @param name a plain SQL identifier
     * @return this builder
     * @throws IllegalArgumentException if the name is not a plain identifier (letters, digits, '_')
     */
    public Builder streamColumn(String name) {
      this.stream = identifier(name, "streamColumn");
      return this;
    }

    /**
     * The column of the sequence number (integer); {@code seq} by default.
     *
     * @param name a plain SQL identifier
     * @return this builder
     * @throws IllegalArgumentException if the name is not a plain identifier (letters, digits, '_')
     */
    public Builder sequenceColumn(String name) {
      this.sequence = identifier(name, "sequenceColumn");
      return this;
    }

    /**
     * The column of the event's bytes (bytea, blob, varbinary); {@code payload} by default. A SQL
     * NULL there is read as an empty payload.
     *
     * @param name a plain SQL identifier
     * @return this builder
     * @throws IllegalArgumentException if the name is not a plain identifier (letters, digits, '_')
     */
    public Builder payloadColumn(String name) {
      this.payload = identifier(name, "payloadColumn");
      return this;
    }

    /**
     * How long one call may take, from asking for a connection; 2 seconds by default. Keep it at or
     * below the source guard's call timeout.
     *
     * @param t positive
     * @return this builder
     * @throws IllegalArgumentException if the timeout is zero or negative
     */
    public Builder timeout(Duration t) {
      Objects.requireNonNull(t, "timeout");
      if (t.isNegative() || t.isZero()) {
        throw new IllegalArgumentException("timeout must be positive, was " + t);
      }
      this.timeout = t;
      return this;
    }

    // Names go into SQL text: only plain identifiers, so that nothing can be injected.
    private static String identifier(String name, String what) {
      Objects.requireNonNull(name, what);
      if (!name.matches("[A-Za-z_][A-Za-z0-9_]*(\\.[A-Za-z_][A-Za-z0-9_]*)?")) {
        throw new IllegalArgumentException(
            what
                + " must be a plain SQL identifier (letters, digits, _; schema.name), was '"
                + name
                + "'");
      }
      return name;
    }

    /**
     * The source. Logs a warning for each setting of the data source that can hold a caller past
     * the timeout ({@link JdbcTimeouts#check}). Opens no connection: the database may be down.
     *
     * @return the source
     */
    public JdbcEventSource build() {
      return new JdbcEventSource(this);
    }
  }
}
