package dev.outlast.examples.cache;

import dev.outlast.cache.Answer;
import dev.outlast.cache.NoUsableValueException;
import dev.outlast.testkit.MariaDbServer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.Statement;
import java.util.Optional;
import org.mariadb.jdbc.MariaDbDataSource;

/**
 * The query cache through a MySQL outage, on a real MariaDB: warm, kill MariaDB, keep answering,
 * restart the service during the outage, keep answering from the snapshot, bring MariaDB back.
 *
 * <p>Run: {@code mvn -q -pl examples -am package -DskipTests} then {@code java -cp ...
 * dev.outlast.examples.cache.CacheOutageExample}; or see {@code CacheOutageExampleTest}.
 */
public final class CacheOutageExample {
  private CacheOutageExample() {}

  public static void main(String[] args) throws Exception {
    Path snapshot = Files.createTempDirectory("outlast-example").resolve("products.snapshot");
    try (MariaDbServer mysql = MariaDbServer.builder().database("shop").start()) {
      try (Connection c = DriverManager.getConnection(mysql.jdbcUrl(), "root", "");
          Statement s = c.createStatement()) {
        s.execute(
            "CREATE TABLE product (id BIGINT PRIMARY KEY, name VARCHAR(64), price DECIMAL(10,2))");
        s.execute("INSERT INTO product VALUES (1, 'kettle', 29.90), (2, 'teapot', 19.50)");
      }
      MariaDbDataSource ds = new MariaDbDataSource();
      ds.setUrl(mysql.jdbcUrl() + "?connectTimeout=1000");
      ds.setUser("root");

      try (ProductCatalog catalog = new ProductCatalog(ds, snapshot)) {
        print("warm", catalog.lookup(1));
        print("warm", catalog.lookup(2));
        mysql.kill();
        print("mysql killed", catalog.lookup(1));
        try {
          catalog.find(3);
        } catch (NoUsableValueException e) {
          System.out.println("mysql killed, unknown id 3: " + e.getMessage());
        }
      } // the service stops: the snapshot is written

      try (ProductCatalog restarted = new ProductCatalog(ds, snapshot)) {
        print("service restarted during the outage", restarted.lookup(2));
        mysql.start();
        restarted.productsChanged();
        print("mysql back", restarted.lookup(2));
      }
    }
  }

  private static void print(String when, Answer<Optional<ProductCatalog.Product>> answer) {
    System.out.println(
        when + ": " + answer.state() + " age=" + answer.age().toMillis() + "ms " + answer.value());
  }
}
