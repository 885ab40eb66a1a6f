package dev.outlast.core.jdbc;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.zaxxer.hikari.HikariDataSource;
import dev.outlast.core.jdbc.JdbcTimeouts.Finding;
import java.lang.reflect.Proxy;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLTimeoutException;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import javax.sql.DataSource;
import org.junit.jupiter.api.Test;
import org.mariadb.jdbc.MariaDbDataSource;
import org.postgresql.ds.PGSimpleDataSource;

/**
 * The start-up check of data sources (no server needed: it does no I/O), and what a call does when
 * the data source took its whole time. The bounds themselves are measured against real frozen
 * servers in {@link FrozenDatabaseSpec}.
 */
class JdbcTimeoutsTest {
  private static final Duration ONE_SECOND = Duration.ofSeconds(1);

  @Test
  void check_hikariDefaults_findConnectionAndValidationTimeouts_withTheValuesToUse() {
    try (HikariDataSource pool = new HikariDataSource()) {
      pool.setJdbcUrl("jdbc:postgresql://127.0.0.1:1/none");
      assertThat(pool.getPoolName()).as("not started: no I/O").isNull();
      List<Finding> findings = JdbcTimeouts.check(pool, ONE_SECOND, "JdbcLoader[products]");
      assertThat(findings)
          .extracting(Finding::setting, Finding::value, Finding::recommended)
          .containsExactly(
              org.assertj.core.groups.Tuple.tuple(
                  "HikariCP connectionTimeout", "30000 ms", "1000 ms or less"),
              org.assertj.core.groups.Tuple.tuple(
                  "HikariCP validationTimeout",
                  "5000 ms",
                  "250 ms (HikariCP's minimum) to 500 ms"));
      assertThat(findings.get(0).message())
          .startsWith("JdbcLoader[products] (HikariCP pool)")
          .contains("HikariCP connectionTimeout is 30000 ms")
          .contains("call timeout of 1000 ms")
          .endsWith("Set HikariCP connectionTimeout to 1000 ms or less.");
    }
  }

  @Test
  void check_hikariBoundedAsTheGuideSays_findsNothing() {
    try (HikariDataSource pool = new HikariDataSource()) {
      pool.setJdbcUrl("jdbc:postgresql://127.0.0.1:1/none");
      pool.setConnectionTimeout(1000);
      pool.setValidationTimeout(250);
      assertThat(JdbcTimeouts.check(pool, ONE_SECOND, "loader")).isEmpty();
    }
  }

  @Test
  void check_postgresWithoutLoginTimeout_findsIt_andWithOne_findsNothing() {
    PGSimpleDataSource ds = new PGSimpleDataSource();
    ds.setURL("jdbc:postgresql://127.0.0.1:1/none");
    assertThat(JdbcTimeouts.check(ds, ONE_SECOND, "JdbcEventSource[event]"))
        .singleElement()
        .satisfies(
            f -> {
              assertThat(f.setting()).isEqualTo("PostgreSQL loginTimeout");
              assertThat(f.value()).isEqualTo("0 (no limit)");
              assertThat(f.recommended()).isEqualTo("1 s or less");
              assertThat(f.message()).startsWith("JdbcEventSource[event] (PGSimpleDataSource)");
            });
    ds.setLoginTimeout(1);
    assertThat(JdbcTimeouts.check(ds, ONE_SECOND, "JdbcEventSource[event]")).isEmpty();
    // Whole seconds: 2 s is as close as the driver gets to a 1.5 s call timeout.
    ds.setLoginTimeout(2);
    assertThat(JdbcTimeouts.check(ds, Duration.ofMillis(1500), "source")).isEmpty();
    ds.setLoginTimeout(3);
    assertThat(JdbcTimeouts.check(ds, Duration.ofMillis(1500), "source"))
        .extracting(Finding::value)
        .containsExactly("3 s");
  }

  @Test
  void check_mariadbDefaultConnectTimeout_findsIt_andWithOne_findsNothing() throws Exception {
    // The driver's default follows the JVM-wide login timeout, which a HikariCP pool sets.
    int jvmWide = DriverManager.getLoginTimeout();
    DriverManager.setLoginTimeout(0);
    try {
      MariaDbDataSource ds = new MariaDbDataSource("jdbc:mariadb://127.0.0.1:1/none");
      assertThat(JdbcTimeouts.check(ds, ONE_SECOND, "JdbcLoader[mysql]"))
          .extracting(Finding::setting, Finding::value)
          .containsExactly(
              org.assertj.core.groups.Tuple.tuple("MariaDB connectTimeout", "30000 ms"));
      // A new one: this driver version keeps the first URL's settings after setUrl (getUrl says
      // so, and the check reads what getUrl says).
      MariaDbDataSource bounded = new MariaDbDataSource();
      bounded.setUrl("jdbc:mariadb://127.0.0.1:1/none?connectTimeout=1000");
      assertThat(JdbcTimeouts.check(bounded, ONE_SECOND, "JdbcLoader[mysql]")).isEmpty();
    } finally {
      DriverManager.setLoginTimeout(jvmWide);
    }
  }

  @Test
  void check_aDataSourceItDoesNotKnow_findsNothing() {
    assertThat(
            JdbcTimeouts.check(fakeDataSource(Duration.ZERO, new AtomicBoolean()), ONE_SECOND, "x"))
        .isEmpty();
  }

  @Test
  void check_logsEachFindingOncePerDataSource() {
    PGSimpleDataSource ds = new PGSimpleDataSource();
    Finding f = JdbcTimeouts.check(ds, ONE_SECOND, "first").get(0);
    // check() above logged it; a second loader on the same data source does not log it again.
    assertThat(DataSourceCheck.firstReport(ds, f)).isFalse();
    assertThat(DataSourceCheck.firstReport(new PGSimpleDataSource(), f)).isTrue();
  }

  @Test
  void check_andOf_rejectATimeoutThatIsNotPositive() {
    assertThatThrownBy(() -> JdbcTimeouts.check(new PGSimpleDataSource(), Duration.ZERO, "x"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("callTimeout must be positive, was PT0S");
    assertThatThrownBy(() -> JdbcTimeouts.of(Duration.ofMillis(-1), "x"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("timeout must be positive, was PT-0.001S");
  }

  @Test
  void open_whenGettingTheConnectionTookTheWholeTimeout_failsAsATimeout_andClosesTheConnection() {
    AtomicBoolean closed = new AtomicBoolean();
    DataSource slowPool = fakeDataSource(Duration.ofMillis(150), closed);
    JdbcTimeouts timeouts = JdbcTimeouts.of(Duration.ofMillis(100), "JdbcLoader[products]");
    assertThatThrownBy(() -> timeouts.open(slowPool))
        .isInstanceOf(SQLTimeoutException.class)
        .hasMessageContaining("JdbcLoader[products]: getting a connection took the whole timeout")
        .hasMessageContaining("the query was not sent");
    assertThat(closed).as("the connection went back").isTrue();
  }

  /** A data source whose getConnection takes this long and whose connection records its close. */
  private static DataSource fakeDataSource(Duration delay, AtomicBoolean closed) {
    Connection connection =
        (Connection)
            Proxy.newProxyInstance(
                JdbcTimeoutsTest.class.getClassLoader(),
                new Class<?>[] {Connection.class},
                (proxy, method, args) ->
                    switch (method.getName()) {
                      case "close" -> {
                        closed.set(true);
                        yield null;
                      }
                      case "isClosed" -> closed.get();
                      case "toString" -> "fake connection";
                      default -> throw new UnsupportedOperationException(method.getName());
                    });
    return (DataSource)
        Proxy.newProxyInstance(
            JdbcTimeoutsTest.class.getClassLoader(),
            new Class<?>[] {DataSource.class},
            (proxy, method, args) ->
                switch (method.getName()) {
                  case "getConnection" -> {
                    // A pool that had no connection free for this long.
                    Thread.sleep(delay.toMillis());
                    yield connection;
                  }
                  case "toString" -> "fake data source";
                  default -> throw new UnsupportedOperationException(method.getName());
                });
  }
}
