package dev.outlast.examples.spring;

import com.zaxxer.hikari.HikariDataSource;
import dev.outlast.core.Guard;
import dev.outlast.core.spi.Codec;
import java.net.URI;
import javax.sql.DataSource;
import org.springframework.beans.factory.annotation.Qualifier;
import org.springframework.beans.factory.annotation.Value;
import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

/**
 * The service's own beans: two connection pools, the three implementations behind the annotated
 * interfaces, and the codec of the order queue's journal. Everything of Outlast's (the guards, the
 * queue with its Elasticsearch sink, the proxies that make the annotations work, health and
 * metrics) comes from the starter, configured under {@code outlast.*} in {@code application.yml}.
 *
 * <p>The implementations are plain: they get the guard of their dependency only to bound each query
 * in the driver by its call timeout.
 */
@Configuration(proxyBeanMethods = false)
class ShopConfiguration {
  /** MySQL (MariaDB): the catalog and the ledger. */
  @Bean
  @ConfigurationProperties("shop.mysql")
  HikariDataSource mysqlDataSource() {
    return new HikariDataSource();
  }

  /** PostgreSQL: the event store. */
  @Bean
  @ConfigurationProperties("shop.postgres")
  HikariDataSource postgresDataSource() {
    return new HikariDataSource();
  }

  /** How the {@code orders} queue keeps an order in its journal. */
  @Bean
  Codec<Order> orderCodec() {
    return Order.CODEC;
  }

  @Bean
  ProductRepository productRepository(
      @Qualifier("mysqlDataSource") DataSource mysql, @Qualifier("mysqlGuard") Guard guard) {
    return new JdbcProductRepository(mysql, guard.config().callTimeout());
  }

  @Bean
  OrderEvents orderEvents(
      @Value("${shop.elasticsearch.url}") URI url,
      @Value("${shop.elasticsearch.index}") String index,
      @Qualifier("elasticsearchGuard") Guard guard) {
    return new HttpOrderEvents(url, index, guard.config().callTimeout());
  }

  @Bean
  AccountHistory accountHistory(
      @Qualifier("postgresDataSource") DataSource store,
      @Qualifier("mysqlDataSource") DataSource ledger,
      @Qualifier("postgresGuard") Guard guard) {
    return new JdbcAccountHistory(store, ledger, guard.config().callTimeout());
  }
}
