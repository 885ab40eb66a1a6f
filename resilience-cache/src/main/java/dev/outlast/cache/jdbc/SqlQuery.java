package dev.outlast.cache.jdbc;

import dev.outlast.core.spi.Codec;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.math.BigDecimal;
import java.math.BigInteger;
import java.time.Instant;
import java.time.LocalDate;
import java.time.LocalDateTime;
import java.time.LocalTime;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Objects;
import java.util.UUID;
import org.jspecify.annotations.Nullable;

/**
 * A SQL query and its parameters: the key of a query cache. Two queries are equal when their SQL
 * text and parameters are equal.
 *
 * <p>Parameters are limited to types with a stable value and a stable encoding, so that keys
 * compare correctly and survive the snapshot: {@code null}, {@link String}, {@link Boolean}, {@link
 * Byte}, {@link Short}, {@link Integer}, {@link Long}, {@link Float}, {@link Double}, {@link
 * BigDecimal}, {@link BigInteger}, {@link LocalDate}, {@link LocalTime}, {@link LocalDateTime},
 * {@link Instant}, {@link UUID} and {@code byte[]}.
 *
 * <p>Immutable and threadsafe.
 */
public final class SqlQuery {
  private static final int MAX_SQL = 64 * 1024;

  private final String sql;
  private final List<@Nullable Object> params;
  private final int hash;

  private SqlQuery(String sql, List<@Nullable Object> params) {
    this.sql = sql;
    this.params = params;
    int h = sql.hashCode();
    for (Object p : params) {
      h = 31 * h + (p instanceof byte[] b ? Arrays.hashCode(b) : Objects.hashCode(p));
    }
    this.hash = h;
  }

  /**
   * A query with {@code ?} parameters.
   *
   * @param sql the SQL text, at most 65,536 characters; each {@code ?} outside quotes and comments
   *     is a parameter (the count must match as MySQL reads quotes and comments, or as standard SQL
   *     and PostgreSQL do, where {@code ??} is the escaped {@code ?} operator)
   * @param params one value per {@code ?}, in order, of a supported type; null for SQL {@code
   *     NULL}. Copied ({@code byte[]} too), so later changes to them do not change the key
   * @return the query
   * @throws IllegalArgumentException if the SQL is blank or too long, the number of {@code ?} does
   *     not match the parameters, or a parameter has an unsupported type
   */
  public static SqlQuery of(String sql, @Nullable Object... params) {
    Objects.requireNonNull(sql, "sql");
    if (sql.isBlank() || sql.length() > MAX_SQL) {
      throw new IllegalArgumentException(
          "sql must be non-blank and at most " + MAX_SQL + " characters, was " + sql.length());
    }
    Object[] given = params == null ? new Object[] {null} : params;
    // Read as MySQL/MariaDB read it and as standard SQL/PostgreSQL do: quotes and comments differ,
    // and refusing a query one of them takes would be worse than missing a mistake.
    int mysql = countPlaceholders(sql, true);
    int standard = countPlaceholders(sql, false);
    if (mysql != given.length && standard != given.length) {
      throw new IllegalArgumentException(
          "the SQL has "
              + (mysql == standard ? mysql : mysql + " (read as MySQL) or " + standard)
              + " '?' but "
              + given.length
              + " parameters were given: "
              + sql);
    }
    List<@Nullable Object> copy = new ArrayList<>(given.length);
    for (int i = 0; i < given.length; i++) {
      Object p = given[i];
      if (p != null && !supported(p)) {
        throw new IllegalArgumentException(
            "parameter "
                + (i + 1)
                + " is a "
                + p.getClass().getName()
                + ", which a cache key cannot hold; use String, a number, Boolean, a java.time"
                + " type (LocalDate, LocalTime, LocalDateTime, Instant), UUID or byte[]");
      }
      copy.add(p instanceof byte[] b ? b.clone() : p);
    }
    return new SqlQuery(sql, Collections.unmodifiableList(copy));
  }

  /** {@return the SQL text} */
  public String sql() {
    return sql;
  }

  /**
   * {@return the parameters, in order; unmodifiable (a {@code byte[]} in it must not be changed)}
   */
  public List<@Nullable Object> params() {
    return params;
  }

  @Override
  public boolean equals(@Nullable Object o) {
    if (this == o) {
      return true;
    }
    if (!(o instanceof SqlQuery q) || hash != q.hash || !sql.equals(q.sql)) {
      return false;
    }
    if (params.size() != q.params.size()) {
      return false;
    }
    for (int i = 0; i < params.size(); i++) {
      Object a = params.get(i);
      Object b = q.params.get(i);
      boolean same =
          (a instanceof byte[] x && b instanceof byte[] y)
              ? Arrays.equals(x, y)
              : Objects.equals(a, b);
      if (!same) {
        return false;
      }
    }
    return true;
  }

  @Override
  public int hashCode() {
    return hash;
  }

  @Override
  public String toString() {
    StringBuilder s = new StringBuilder(sql.length() + 32).append(sql);
    if (!params.isEmpty()) {
      s.append(" [");
      for (int i = 0; i < params.size(); i++) {
        Object p = params.get(i);
        s.append(i == 0 ? "" : ", ").append(p instanceof byte[] b ? "byte[" + b.length + "]" : p);
      }
      s.append(']');
    }
    return s.toString();
  }

  /**
   * Counts {@code ?} outside quoted strings, quoted identifiers and comments.
   *
   * @param mysql read as MySQL and MariaDB do by default: a backslash escapes the next character in
   *     a string, and {@code #} starts a comment. Otherwise as standard SQL and PostgreSQL: a
   *     backslash is a plain character, {@code $$...$$} and {@code $tag$...$tag$} quote, and {@code
   *     ??} is a {@code ?} operator (PostgreSQL's driver), not a parameter
   */
  static int countPlaceholders(String sql, boolean mysql) {
    int count = 0;
    int n = sql.length();
    for (int i = 0; i < n; i++) {
      char c = sql.charAt(i);
      if (c == '\'' || c == '"' || c == '`') {
        i = endOfQuote(sql, i, c, mysql && c != '`');
      } else if ((c == '-' && i + 1 < n && sql.charAt(i + 1) == '-') || (mysql && c == '#')) {
        int end = sql.indexOf('\n', i);
        i = end < 0 ? n : end;
      } else if (c == '/' && i + 1 < n && sql.charAt(i + 1) == '*') {
        int end = sql.indexOf("*/", i + 2);
        i = end < 0 ? n : end + 1;
      } else if (!mysql && c == '$' && dollarTag(sql, i) > 0) {
        String tag = sql.substring(i, dollarTag(sql, i));
        int end = sql.indexOf(tag, i + tag.length());
        i = end < 0 ? n : end + tag.length() - 1;
      } else if (c == '?') {
        if (!mysql && i + 1 < n && sql.charAt(i + 1) == '?') {
          i++; // "??": the operator, escaped
        } else {
          count++;
        }
      }
    }
    return count;
  }

  /** Where the quote opened at {@code start} ends (a doubled quote character stays inside). */
  private static int endOfQuote(String sql, int start, char quote, boolean backslashEscapes) {
    for (int i = start + 1; i < sql.length(); i++) {
      char c = sql.charAt(i);
      if (backslashEscapes && c == '\\') {
        i++;
      } else if (c == quote) {
        return i; // a doubled quote ends here and opens again at the next character: same count
      }
    }
    return sql.length();
  }

  /**
   * The end (exclusive) of a PostgreSQL dollar-quote tag starting at {@code i} ({@code $$} or
   * {@code $name$}), or 0 if none starts there. A {@code $} after an identifier character (a name
   * like {@code a$b}) or followed by a digit ({@code $1}) starts none.
   */
  private static int dollarTag(String sql, int i) {
    if (i > 0 && Character.isJavaIdentifierPart(sql.charAt(i - 1))) {
      return 0;
    }
    int j = i + 1;
    if (j < sql.length() && Character.isDigit(sql.charAt(j))) {
      return 0;
    }
    while (j < sql.length() && (Character.isLetterOrDigit(sql.charAt(j)) || sql.charAt(j) == '_')) {
      j++;
    }
    return j < sql.length() && sql.charAt(j) == '$' ? j + 1 : 0;
  }

  private static boolean supported(Object p) {
    return p instanceof String
        || p instanceof Boolean
        || p instanceof Byte
        || p instanceof Short
        || p instanceof Integer
        || p instanceof Long
        || p instanceof Float
        || p instanceof Double
        || p instanceof BigDecimal
        || p instanceof BigInteger
        || p instanceof LocalDate
        || p instanceof LocalTime
        || p instanceof LocalDateTime
        || p instanceof Instant
        || p instanceof UUID
        || p instanceof byte[];
  }

  /**
   * {@return the codec for query keys in a cache snapshot}
   *
   * <p>A versioned binary format: a format byte, the SQL as UTF-8, then each parameter tagged with
   * its type. Decoding checks the format, the lengths and the parameters as {@link #of} does, and
   * throws {@link IllegalArgumentException} for bytes it cannot read.
   */
  public static Codec<SqlQuery> codec() {
    return QueryCodec.INSTANCE;
  }

  /** Tagged, versioned encoding of a query: a format byte, the SQL, then typed parameters. */
  private enum QueryCodec implements Codec<SqlQuery> {
    INSTANCE;

    private static final int FORMAT = 1;

    @Override
    public byte[] encode(SqlQuery q) {
      ByteArrayOutputStream bytes =
          new ByteArrayOutputStream(q.sql.length() + 16 * q.params.size());
      try (DataOutputStream out = new DataOutputStream(bytes)) {
        out.writeByte(FORMAT);
        byte[] sql = q.sql.getBytes(java.nio.charset.StandardCharsets.UTF_8);
        out.writeInt(sql.length);
        out.write(sql);
        out.writeShort(q.params.size());
        for (Object p : q.params) {
          writeParam(out, p);
        }
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
      return bytes.toByteArray();
    }

    @Override
    public SqlQuery decode(byte[] bytes) {
      try (DataInputStream in = new DataInputStream(new ByteArrayInputStream(bytes))) {
        int format = in.readUnsignedByte();
        if (format != FORMAT) {
          throw new IllegalArgumentException("unknown SqlQuery encoding " + format);
        }
        int length = in.readInt();
        if (length < 0 || length > 4 * MAX_SQL) {
          throw new IllegalArgumentException("impossible SQL length " + length);
        }
        String sql = new String(in.readNBytes(length), java.nio.charset.StandardCharsets.UTF_8);
        int n = in.readUnsignedShort();
        Object[] params = new Object[n];
        for (int i = 0; i < n; i++) {
          params[i] = readParam(in);
        }
        if (in.available() != 0) {
          throw new IllegalArgumentException("trailing bytes after a SqlQuery");
        }
        return of(sql, params);
      } catch (IOException e) {
        throw new IllegalArgumentException("truncated SqlQuery", e);
      }
    }

    private static void writeParam(DataOutputStream out, @Nullable Object p) throws IOException {
      if (p == null) {
        out.writeByte(0);
      } else if (p instanceof String s) {
        out.writeByte(1);
        byte[] b = s.getBytes(java.nio.charset.StandardCharsets.UTF_8);
        out.writeInt(b.length);
        out.write(b);
      } else if (p instanceof Boolean b) {
        out.writeByte(2);
        out.writeBoolean(b);
      } else if (p instanceof Byte b) {
        out.writeByte(3);
        out.writeByte(b);
      } else if (p instanceof Short s) {
        out.writeByte(4);
        out.writeShort(s);
      } else if (p instanceof Integer i) {
        out.writeByte(5);
        out.writeInt(i);
      } else if (p instanceof Long l) {
        out.writeByte(6);
        out.writeLong(l);
      } else if (p instanceof Float f) {
        out.writeByte(7);
        out.writeFloat(f);
      } else if (p instanceof Double d) {
        out.writeByte(8);
        out.writeDouble(d);
      } else if (p instanceof byte[] b) {
        out.writeByte(16);
        out.writeInt(b.length);
        out.write(b);
      } else {
        // BigDecimal, BigInteger, java.time and UUID: their canonical text form round-trips.
        out.writeByte(textTag(p));
        out.writeUTF(p.toString());
      }
    }

    private static int textTag(Object p) {
      if (p instanceof BigDecimal) {
        return 9;
      } else if (p instanceof BigInteger) {
        return 10;
      } else if (p instanceof LocalDate) {
        return 11;
      } else if (p instanceof LocalTime) {
        return 12;
      } else if (p instanceof LocalDateTime) {
        return 13;
      } else if (p instanceof Instant) {
        return 14;
      } else if (p instanceof UUID) {
        return 15;
      }
      throw new IllegalArgumentException("unsupported parameter type " + p.getClass());
    }

    private static @Nullable Object readParam(DataInputStream in) throws IOException {
      int tag = in.readUnsignedByte();
      return switch (tag) {
        case 0 -> null;
        case 1 -> {
          int n = in.readInt();
          if (n < 0 || n > in.available()) {
            throw new IllegalArgumentException("impossible string length " + n);
          }
          yield new String(in.readNBytes(n), java.nio.charset.StandardCharsets.UTF_8);
        }
        case 2 -> in.readBoolean();
        case 3 -> in.readByte();
        case 4 -> in.readShort();
        case 5 -> in.readInt();
        case 6 -> in.readLong();
        case 7 -> in.readFloat();
        case 8 -> in.readDouble();
        case 9 -> new BigDecimal(in.readUTF());
        case 10 -> new BigInteger(in.readUTF());
        case 11 -> LocalDate.parse(in.readUTF());
        case 12 -> LocalTime.parse(in.readUTF());
        case 13 -> LocalDateTime.parse(in.readUTF());
        case 14 -> Instant.parse(in.readUTF());
        case 15 -> UUID.fromString(in.readUTF());
        case 16 -> {
          int n = in.readInt();
          if (n < 0 || n > in.available()) {
            throw new IllegalArgumentException("impossible byte[] length " + n);
          }
          yield in.readNBytes(n);
        }
        default -> throw new IllegalArgumentException("unknown parameter tag " + tag);
      };
    }
  }
}
