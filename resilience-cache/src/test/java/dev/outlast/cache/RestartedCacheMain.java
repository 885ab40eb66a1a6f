package dev.outlast.cache;

import dev.outlast.cache.jdbc.SqlQuery;
import dev.outlast.core.Guard;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.Optional;
import javax.sql.DataSource;

/**
 * A pod restarted during an outage, in a JVM of its own: builds the product cache from its
 * snapshot, reads every key and prints what it got. Arguments: snapshot path, database port, key
 * count, and how far its clock runs ahead of the real one (to stand for time passed).
 */
final class RestartedCacheMain {
  private RestartedCacheMain() {}

  public static void main(String[] args) throws Exception {
    Path snapshot = Path.of(args[0]);
    int port = Integer.parseInt(args[1]);
    int keys = Integer.parseInt(args[2]);
    Clock clock = Clock.offset(Clock.systemUTC(), Duration.ofMillis(Long.parseLong(args[3])));
    Guard guard = Guard.of("mysql", ProductDatabase.guardConfig(clock));
    DataSource ds = ProductDatabase.dataSource("127.0.0.1", port, "shop");
    try (QueryCache<SqlQuery, Optional<Product>> cache =
        ProductDatabase.cache(ds, guard, clock, snapshot)) {
      System.out.println("RESTORED " + cache.stats().restoredFromSnapshot());
      for (long id = 1; id <= keys; id++) {
        try {
          Answer<Optional<Product>> a = cache.lookup(ProductDatabase.byId(id));
          System.out.println(
              "KEY "
                  + id
                  + " "
                  + a.state()
                  + " "
                  + a.age().toMillis()
                  + " "
                  + a.value().map(Product::name).orElse("-"));
        } catch (NoUsableValueException e) {
          System.out.println("KEY " + id + " ERROR " + e.getMessage());
        }
      }
    }
    System.out.flush();
  }
}
