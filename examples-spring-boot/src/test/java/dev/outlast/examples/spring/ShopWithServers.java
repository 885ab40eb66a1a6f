package dev.outlast.examples.spring;

import dev.outlast.testkit.TestServer;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CountDownLatch;
import org.jspecify.annotations.Nullable;
import org.springframework.boot.SpringApplication;
import org.springframework.context.ConfigurableApplicationContext;

/**
 * Runs the shop by hand, on the test kit's servers: starts MariaDB, PostgreSQL and OpenSearch,
 * seeds them as the test does, and starts the service on port 8080 (or {@code --server.port=N}).
 * Then reads commands from the terminal to break the servers and watch the service ride it out:
 * {@code kill mariadb}, {@code start mariadb}, {@code freeze opensearch}, {@code thaw opensearch}
 * (also {@code stop}; servers {@code mariadb}, {@code postgres}, {@code opensearch}), {@code quit}.
 *
 * <p>Run with {@code mvn -B -Pshop -pl examples-spring-boot -am verify -DskipTests}. Ctrl-C stops
 * the service and the servers; the test kit's watchdog removes them should the JVM be killed.
 */
public final class ShopWithServers {
  private ShopWithServers() {}

  /**
   * Starts everything and serves until {@code quit}, the end of input, or Ctrl-C.
   *
   * @param args Spring Boot arguments, which win over the ones given here
   * @throws Exception if a server or the service does not start
   */
  public static void main(String[] args) throws Exception {
    // The servers' directories go in the temp directory, which the build points into target/.
    Files.createDirectories(Path.of(System.getProperty("java.io.tmpdir")));
    ShopServers servers = ShopServers.start();
    List<String> all = new ArrayList<>(servers.serviceArguments());
    all.add("--server.port=8080");
    all.add("--outlast.queue.orders.directory=target/shop/spill/orders");
    all.addAll(List.of(args));
    SpringApplication app = new SpringApplication(ShopApplication.class);
    app.setRegisterShutdownHook(false);
    ConfigurableApplicationContext shop;
    try {
      shop = app.run(all.toArray(String[]::new));
    } catch (RuntimeException e) {
      servers.close();
      throw e;
    }
    // One hook, so that the service stops (and its queue closes) before its servers do.
    Runtime.getRuntime()
        .addShutdownHook(
            new Thread(
                () -> {
                  shop.close();
                  servers.close();
                },
                "shop-shutdown"));
    String port = shop.getEnvironment().getProperty("local.server.port");
    System.out.printf(
        Locale.ROOT,
        "%nThe shop answers on http://127.0.0.1:%s: /products/1 .. /products/%d, POST /orders,"
            + " /history/acct-1 .. /history/acct-%d, /actuator/health, /actuator/prometheus.%n"
            + "Commands: kill|stop|start|freeze|thaw mariadb|postgres|opensearch, quit.%n",
        port,
        ShopServers.PRODUCTS,
        ShopServers.ACCOUNTS);
    BufferedReader in =
        new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
    for (String line = in.readLine(); line != null; line = in.readLine()) {
      String[] words = line.trim().toLowerCase(Locale.ROOT).split("\\s+", -1);
      if (words[0].equals("quit")) {
        System.exit(0);
      }
      if (words.length != 2) {
        System.out.println("? kill|stop|start|freeze|thaw mariadb|postgres|opensearch, or quit");
        continue;
      }
      @Nullable TestServer server =
          switch (words[1]) {
            case "mariadb", "mysql" -> servers.mariadb;
            case "postgres", "postgresql" -> servers.postgres;
            case "opensearch", "elasticsearch" -> servers.opensearch;
            default -> null;
          };
      if (server == null) {
        System.out.println("? no server " + words[1]);
        continue;
      }
      try {
        switch (words[0]) {
          case "kill" -> server.kill();
          case "stop" -> server.stop();
          case "start" -> server.start();
          case "freeze" -> server.freeze();
          case "thaw" -> server.thaw();
          default -> System.out.println("? " + words[0]);
        }
        System.out.println(server);
      } catch (RuntimeException e) {
        System.out.println(e.getMessage());
      }
    }
    // No terminal (or it was closed): serve until Ctrl-C.
    new CountDownLatch(1).await();
  }
}
