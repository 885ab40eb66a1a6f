package dev.outlast.examples.spring;

import com.zaxxer.hikari.HikariDataSource;
import dev.outlast.buffer.SpillQueue;
import dev.outlast.core.Guard;
import dev.outlast.core.GuardConfig;
import dev.outlast.core.RecoveryProbe;
import dev.outlast.core.annotation.Outlast;
import dev.outlast.sink.elasticsearch.ElasticsearchSink;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.TreeMap;
import javax.sql.DataSource;
import org.springframework.beans.factory.annotation.Qualifier;
import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.boot.convert.DurationStyle;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.core.env.ConfigurableEnvironment;
import org.springframework.core.env.EnumerablePropertySource;
import org.springframework.core.env.Environment;

/**
 * The service's dependencies and Outlast's parts around them, wired by hand: two connection pools,
 * a guard per dependency, the spill queue {@code orders} with its Elasticsearch sink, and one
 * {@link Outlast} that wraps the annotated interfaces.
 *
 * <p>The guards' and the queue's settings are read from {@code outlast.guard.*} and {@code
 * outlast.queue.*}; the annotations' own properties ({@code outlast.cache.*}, {@code
 * outlast.guarded.*}, ...) go to {@link Outlast} as they are.
 */
@Configuration(proxyBeanMethods = false)
class OutlastWiring {
  /** The kinds of property {@link Outlast} itself reads; the others are this class's. */
  private static final String[] ANNOTATION_KINDS = {
    "outlast.cache.", "outlast.guarded.", "outlast.fallback.", "outlast.spill."
  };

  @Bean
  @ConfigurationProperties("shop.mysql")
  HikariDataSource mysqlDataSource() {
    return new HikariDataSource();
  }

  @Bean
  @ConfigurationProperties("shop.postgres")
  HikariDataSource postgresDataSource() {
    return new HikariDataSource();
  }

  @Bean
  Guard mysqlGuard(@Qualifier("mysqlDataSource") DataSource mysql, Environment env) {
    return databaseGuard("mysql", mysql, env);
  }

  @Bean
  Guard postgresGuard(@Qualifier("postgresDataSource") DataSource postgres, Environment env) {
    return databaseGuard("postgres", postgres, env);
  }

  @Bean
  Guard elasticsearchGuard(Environment env) {
    GuardConfig config = guardConfig("elasticsearch", GuardConfig.broker(), env);
    URI base = URI.create(env.getRequiredProperty("shop.elasticsearch.url"));
    HttpClient http = HttpClient.newBuilder().connectTimeout(config.callTimeout()).build();
    // While the breaker is open the guard asks the cluster itself, so that health and delivery
    // come back within a probe interval of the cluster, not at the next grown open wait.
    RecoveryProbe probe =
        () -> {
          HttpResponse<Void> r =
              http.send(
                  HttpRequest.newBuilder(base.resolve("/_cluster/health"))
                      .timeout(config.callTimeout())
                      .build(),
                  HttpResponse.BodyHandlers.discarding());
          if (r.statusCode() >= 300) {
            throw new IOException("cluster health answered HTTP " + r.statusCode());
          }
        };
    return Guard.builder("elasticsearch").config(config).recoveryProbe(probe).build();
  }

  @Bean(destroyMethod = "close")
  SpillQueue<Order> ordersQueue(@Qualifier("elasticsearchGuard") Guard search, Environment env) {
    String prefix = "outlast.queue.orders.";
    URI url = URI.create(env.getRequiredProperty(prefix + "elasticsearch.url"));
    Duration timeout = search.config().callTimeout();
    return SpillQueue.<Order>builder("orders")
        .directory(Path.of(env.getRequiredProperty(prefix + "directory")))
        .codec(Order.CODEC)
        .sink(
            ElasticsearchSink.<Order>builder(
                    url, env.getRequiredProperty(prefix + "elasticsearch.index"))
                .rawJson(Order::json)
                .requestTimeout(timeout)
                .connectTimeout(timeout)
                .build())
        .guard(search)
        .retryBackoff(Duration.ofMillis(200), Duration.ofSeconds(1))
        .build();
  }

  @Bean(destroyMethod = "close")
  Outlast outlast(
      @Qualifier("mysqlGuard") Guard mysql,
      @Qualifier("postgresGuard") Guard postgres,
      @Qualifier("elasticsearchGuard") Guard search,
      SpillQueue<Order> orders,
      ConfigurableEnvironment env) {
    return Outlast.builder()
        .guard(mysql)
        .guard(postgres)
        .guard(search)
        .resource("orders", orders)
        .properties(annotationProperties(env))
        .build();
  }

  @Bean
  ProductRepository productRepository(
      Outlast outlast,
      @Qualifier("mysqlDataSource") DataSource mysql,
      @Qualifier("mysqlGuard") Guard guard) {
    return outlast.wrap(
        ProductRepository.class, new JdbcProductRepository(mysql, guard.config().callTimeout()));
  }

  @Bean
  OrderEvents orderEvents(
      Outlast outlast, @Qualifier("elasticsearchGuard") Guard guard, Environment env) {
    URI url = URI.create(env.getRequiredProperty("shop.elasticsearch.url"));
    String index = env.getRequiredProperty("shop.elasticsearch.index");
    return outlast.wrap(
        OrderEvents.class, new HttpOrderEvents(url, index, guard.config().callTimeout()));
  }

  @Bean
  AccountHistory accountHistory(
      Outlast outlast,
      @Qualifier("postgresDataSource") DataSource store,
      @Qualifier("mysqlDataSource") DataSource ledger,
      @Qualifier("postgresGuard") Guard guard) {
    return outlast.wrap(
        AccountHistory.class, new JdbcAccountHistory(store, ledger, guard.config().callTimeout()));
  }

  private static Guard databaseGuard(String name, DataSource dataSource, Environment env) {
    GuardConfig config = guardConfig(name, GuardConfig.database(), env);
    return Guard.builder(name)
        .config(config)
        .recoveryProbe(RecoveryProbe.jdbc(dataSource, config.callTimeout()))
        .build();
  }

  /** A guard's settings: the defaults for its kind, then {@code outlast.guard.<name>.*}. */
  private static GuardConfig guardConfig(String name, GuardConfig defaults, Environment env) {
    String prefix = "outlast.guard." + name + ".";
    GuardConfig.Builder b = GuardConfig.from(defaults);
    String v;
    if ((v = env.getProperty(prefix + "call-timeout")) != null) {
      b.callTimeout(DurationStyle.detectAndParse(v));
    }
    if ((v = env.getProperty(prefix + "open-wait")) != null) {
      b.openWait(DurationStyle.detectAndParse(v));
    }
    if ((v = env.getProperty(prefix + "max-open-wait")) != null) {
      b.maxOpenWait(DurationStyle.detectAndParse(v));
    }
    if ((v = env.getProperty(prefix + "probe-interval")) != null) {
      b.probeInterval(DurationStyle.detectAndParse(v));
    }
    if ((v = env.getProperty(prefix + "max-attempts")) != null) {
      b.maxAttempts(Integer.parseInt(v));
    }
    return b.build();
  }

  /** Every {@code outlast.*} property of a kind the annotations read, as the environment has it. */
  private static Map<String, String> annotationProperties(ConfigurableEnvironment env) {
    Map<String, String> found = new TreeMap<>();
    for (var source : env.getPropertySources()) {
      if (source instanceof EnumerablePropertySource<?> e) {
        for (String key : e.getPropertyNames()) {
          for (String kind : ANNOTATION_KINDS) {
            String value = key.startsWith(kind) ? env.getProperty(key) : null;
            if (value != null) {
              found.putIfAbsent(key, value);
            }
          }
        }
      }
    }
    return found;
  }
}
