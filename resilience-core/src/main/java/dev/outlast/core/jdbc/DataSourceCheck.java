package dev.outlast.core.jdbc;

import dev.outlast.core.Redaction;
import dev.outlast.core.jdbc.JdbcTimeouts.Finding;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.sql.Driver;
import java.sql.DriverManager;
import java.sql.DriverPropertyInfo;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.WeakHashMap;
import javax.sql.DataSource;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Reads the connection settings of the data sources {@link JdbcTimeouts#check} knows, through their
 * public getters by reflection (the core depends on no driver or pool), and says which can hold a
 * caller past the call timeout. The rules follow what was measured against frozen servers:
 *
 * <ul>
 *   <li>HikariCP: a caller waits up to {@code connectionTimeout} for a connection, and each idle
 *       connection the pool hands it is first validated for up to {@code validationTimeout} (5 s by
 *       default), past {@code connectionTimeout}: a borrow took 5 s with a 1 s connection timeout.
 *       Connections are made by the pool's own thread, so the driver's connect settings hold no
 *       caller.
 *   <li>pgjdbc, unpooled: a frozen server accepts the TCP connection and never answers the start-up
 *       message; without {@code loginTimeout} {@code getConnection} waited for good ({@code
 *       connectTimeout} bounds only the TCP connect).
 *   <li>MariaDB Connector/J, unpooled: {@code connectTimeout} bounds the connect and the handshake;
 *       30 s by default (or the JVM-wide {@code DriverManager} login timeout).
 * </ul>
 *
 * <p>Threadsafe.
 */
final class DataSourceCheck {
  private static final Logger log = LoggerFactory.getLogger(DataSourceCheck.class);
  private static final String HIKARI = "com.zaxxer.hikari.HikariDataSource";

  // What was logged, per data source: a service building many loaders on one pool warns once.
  private static final Map<DataSource, Set<String>> reported =
      Collections.synchronizedMap(new WeakHashMap<>());

  private DataSourceCheck() {}

  static List<Finding> inspect(DataSource ds, Duration callTimeout, String what) {
    List<Finding> findings = new ArrayList<>();
    String type = ds.getClass().getName();
    try {
      if (isA(ds.getClass(), HIKARI)) {
        hikari(ds, callTimeout, what, findings);
      } else if (type.startsWith("org.postgresql.")) {
        postgres(ds, callTimeout, what, findings);
      } else if (type.startsWith("org.mariadb.jdbc.")) {
        mariadb(ds, callTimeout, what, findings);
      } else {
        log.debug("{}: cannot check the timeouts of a {}", what, type);
      }
    } catch (ReflectiveOperationException | SQLException | RuntimeException e) {
      // A version whose getters differ: say so, do not fail the service's start.
      log.info(
          "{}: could not read the timeouts of {}: {}", what, type, Redaction.redact(e.toString()));
    }
    return List.copyOf(findings);
  }

  /** Whether this finding has not been logged for this data source yet; remembers it. */
  static boolean firstReport(DataSource ds, Finding f) {
    synchronized (reported) {
      return reported.computeIfAbsent(ds, k -> new HashSet<>()).add(f.setting() + "|" + f.value());
    }
  }

  private static void hikari(DataSource ds, Duration callTimeout, String what, List<Finding> out)
      throws ReflectiveOperationException {
    // Named as the pool names itself; a pool not started yet has no name.
    Object name = get(ds, "getPoolName");
    String pool = what + " (HikariCP pool" + (name == null ? "" : " " + name) + ")";
    long t = callTimeout.toMillis();
    long connectionTimeout = millis(ds, "getConnectionTimeout");
    // HikariCP reads 0 as "wait for ever".
    if (connectionTimeout == 0 || connectionTimeout > t) {
      out.add(
          new Finding(
              pool,
              "HikariCP connectionTimeout",
              connectionTimeout == 0 ? "0 (no limit)" : connectionTimeout + " ms",
              Math.max(250, t) + " ms or less",
              "a caller waits that long for a connection while the database does not answer,"
                  + " longer than the call timeout of "
                  + t
                  + " ms"));
    }
    long validationTimeout = millis(ds, "getValidationTimeout");
    long grace = JdbcTimeouts.GRACE.toMillis();
    if (validationTimeout > grace) {
      out.add(
          new Finding(
              pool,
              "HikariCP validationTimeout",
              validationTimeout + " ms",
              "250 ms (HikariCP's minimum) to " + grace + " ms",
              "each idle connection a caller is handed is validated first, for up to this long,"
                  + " also past connectionTimeout: against an unresponsive server a borrow takes"
                  + " connectionTimeout plus this"));
    }
  }

  private static void postgres(DataSource ds, Duration callTimeout, String what, List<Finding> out)
      throws SQLException {
    long limit = secondsCeil(callTimeout);
    // loginTimeout is JDBC's own (CommonDataSource); pgjdbc bounds the whole connect with it.
    int login = ds.getLoginTimeout();
    if (login == 0 || login > limit) {
      out.add(
          new Finding(
              what + " (" + ds.getClass().getSimpleName() + ")",
              "PostgreSQL loginTimeout",
              login == 0 ? "0 (no limit)" : login + " s",
              limit + " s or less",
              "a server that accepts connections but does not answer (frozen, overloaded) holds"
                  + " getConnection until the socket timeout, for good by default"));
    }
  }

  private static void mariadb(DataSource ds, Duration callTimeout, String what, List<Finding> out)
      throws ReflectiveOperationException, SQLException {
    Object url = get(ds, "getUrl");
    if (!(url instanceof String s) || s.isEmpty()) {
      return;
    }
    // The driver's own reading of the URL, its defaults included (30 s, or the JVM-wide
    // DriverManager login timeout, which HikariCP sets).
    String value = driverProperty(s, "connectTimeout");
    if (value == null) {
      return;
    }
    long connectTimeout = Long.parseLong(value.trim());
    long t = callTimeout.toMillis();
    if (connectTimeout == 0 || connectTimeout > t) {
      out.add(
          new Finding(
              what + " (" + ds.getClass().getSimpleName() + ")",
              "MariaDB connectTimeout",
              connectTimeout == 0 ? "0 (no limit)" : connectTimeout + " ms",
              t + " ms or less",
              "getConnection waits that long for a server that does not answer the handshake"));
    }
  }

  private static @Nullable String driverProperty(String url, String name) throws SQLException {
    Driver driver = DriverManager.getDriver(url);
    for (DriverPropertyInfo p : driver.getPropertyInfo(url, new Properties())) {
      if (name.equals(p.name)) {
        return p.value;
      }
    }
    return null;
  }

  private static boolean isA(Class<?> type, String name) {
    for (Class<?> c = type; c != null; c = c.getSuperclass()) {
      if (c.getName().equals(name)) {
        return true;
      }
    }
    return false;
  }

  private static @Nullable Object get(Object target, String getter)
      throws ReflectiveOperationException {
    Method m = target.getClass().getMethod(getter);
    try {
      return m.invoke(target);
    } catch (InvocationTargetException e) {
      Throwable cause = e.getCause();
      if (cause instanceof RuntimeException r) {
        throw r;
      }
      throw e;
    }
  }

  private static long millis(Object target, String getter) throws ReflectiveOperationException {
    if (get(target, getter) instanceof Number n) {
      return n.longValue();
    }
    throw new NoSuchMethodException(
        target.getClass().getName() + "." + getter + " is not a number");
  }

  private static long secondsCeil(Duration d) {
    return Math.max(1, (d.toMillis() + 999) / 1000);
  }
}
