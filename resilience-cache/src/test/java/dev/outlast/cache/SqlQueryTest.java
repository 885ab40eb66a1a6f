package dev.outlast.cache;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.outlast.cache.jdbc.SqlQuery;
import java.math.BigDecimal;
import java.time.Instant;
import java.time.LocalDate;
import java.util.UUID;
import org.junit.jupiter.api.Test;

class SqlQueryTest {

  @Test
  void equality_coversSqlAndParameters_byteArraysByContent() {
    assertThat(SqlQuery.of("SELECT ? ", new byte[] {1, 2}))
        .isEqualTo(SqlQuery.of("SELECT ? ", new byte[] {1, 2}))
        .hasSameHashCodeAs(SqlQuery.of("SELECT ? ", new byte[] {1, 2}));
    assertThat(SqlQuery.of("SELECT ?", 1)).isNotEqualTo(SqlQuery.of("SELECT ?", 1L));
    assertThat(SqlQuery.of("SELECT ?", 1)).isNotEqualTo(SqlQuery.of("SELECT  ?", 1));
  }

  @Test
  void placeholders_inEachDialectsQuotesAndComments_areNotParameters() {
    // MySQL and MariaDB: a backslash escapes a quote inside a string; # starts a comment.
    assertThat(SqlQuery.of("SELECT 'it\\'s ?', ? FROM t WHERE a = ?", 1, 2).params()).hasSize(2);
    assertThat(SqlQuery.of("SELECT a FROM t WHERE a = ? # or ?\nAND b = ?", 1, 2).params())
        .hasSize(2);
    // Standard SQL and PostgreSQL: a backslash is a plain character, so this string ends at it.
    assertThat(SqlQuery.of("SELECT 'C:\\' , ? FROM t", 1).params()).hasSize(1);
    // PostgreSQL: dollar quotes, and ?? for the ? operator.
    assertThat(SqlQuery.of("SELECT $$ ? $$, $fn$ '?' $fn$ FROM t WHERE a = ?", 1).params())
        .hasSize(1);
    assertThat(SqlQuery.of("SELECT * FROM t WHERE tags ?? 'x' AND id = ?", 7).params()).hasSize(1);
    assertThat(SqlQuery.of("SELECT a$b, $1 FROM t WHERE a = ?", 1).params()).hasSize(1);
    // Doubled quotes stay inside the string in both.
    assertThat(SqlQuery.of("SELECT 'it''s ?' FROM t WHERE a = ?", 1).params()).hasSize(1);
  }

  @Test
  void aCountNoDialectReads_isRefused_sayingBothReadings() {
    assertThatThrownBy(() -> SqlQuery.of("SELECT 'a\\' , ? FROM t", 1, 2, 3))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("the SQL has 0 (read as MySQL) or 1 '?' but 3 parameters");
    assertThatThrownBy(() -> SqlQuery.of("SELECT ? , ?", 1))
        .hasMessageContaining("the SQL has 2 '?' but 1 parameters");
  }

  @Test
  void codec_roundTripsEverySupportedType() {
    SqlQuery q =
        SqlQuery.of(
            "SELECT ?,?,?,?,?,?,?,?,?,?,?,?,?",
            null,
            "text ü",
            true,
            (byte) 1,
            (short) 2,
            3,
            4L,
            5.5f,
            6.25,
            new BigDecimal("7.10"),
            LocalDate.of(2026, 11, 21),
            Instant.parse("2026-11-21T12:00:00.123Z"),
            UUID.fromString("00000000-0000-0000-0000-000000000042"));
    SqlQuery back = SqlQuery.codec().decode(SqlQuery.codec().encode(q));
    assertThat(back).isEqualTo(q);
    assertThat(back.params().get(9)).isEqualTo(new BigDecimal("7.10"));
  }

  @Test
  void codec_rejectsBytesItDidNotWrite() {
    byte[] good = SqlQuery.codec().encode(SqlQuery.of("SELECT ?", "x"));
    assertThatThrownBy(() -> SqlQuery.codec().decode(new byte[] {9, 9}))
        .isInstanceOf(RuntimeException.class);
    byte[] truncated = java.util.Arrays.copyOf(good, good.length - 1);
    assertThatThrownBy(() -> SqlQuery.codec().decode(truncated))
        .isInstanceOf(RuntimeException.class);
  }

  @Test
  void toString_showsTheParameters() {
    assertThat(SqlQuery.of("SELECT ? , ?", 1, new byte[3]))
        .hasToString("SELECT ? , ? [1, byte[3]]");
  }
}
