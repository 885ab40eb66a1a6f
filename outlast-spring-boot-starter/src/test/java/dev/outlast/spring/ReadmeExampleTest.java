package dev.outlast.spring;

import static org.assertj.core.api.Assertions.assertThat;

import dev.outlast.buffer.SpillQueue;
import dev.outlast.core.Guard;
import dev.outlast.core.health.Importance;
import java.nio.file.Path;
import javax.sql.DataSource;
import org.h2.jdbcx.JdbcDataSource;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.springframework.boot.autoconfigure.AutoConfigurations;
import org.springframework.boot.test.context.ConfigDataApplicationContextInitializer;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

/** The five lines of application.yml in the README and the guide start a service as they say. */
class ReadmeExampleTest {
  @TempDir Path dir;

  @Configuration(proxyBeanMethods = false)
  static class Pool {
    @Bean
    DataSource dataSource() {
      JdbcDataSource h2 = new JdbcDataSource();
      h2.setURL("jdbc:h2:mem:readme;DB_CLOSE_DELAY=-1");
      return h2;
    }
  }

  @Test
  void theReadmesApplicationYml_starts() {
    new ApplicationContextRunner()
        .withInitializer(new ConfigDataApplicationContextInitializer())
        .withConfiguration(AutoConfigurations.of(OutlastAutoConfiguration.class))
        .withUserConfiguration(Fixtures.Beans.class, Fixtures.QueueBeans.class, Pool.class)
        .withPropertyValues(
            "spring.config.name=readme-example",
            // Not /var/lib in a test.
            "outlast.queue.orders.directory=" + dir.resolve("orders"))
        .run(
            ctx -> {
              assertThat(ctx).hasNotFailed();
              Guard mysql = ctx.getBean("mysqlGuard", Guard.class);
              assertThat(mysql.hasRecoveryProbe()).isTrue();
              assertThat(ctx.getBean(OutlastProperties.class).getGuard().get("mysql"))
                  .extracting(OutlastProperties.GuardProperties::getImportance)
                  .isEqualTo(Importance.DEPENDENT);
              assertThat(ctx.getBean("ordersQueue", SpillQueue.class).name()).isEqualTo("orders");
              assertThat(ctx.getBean(OutlastProperties.class).getCache())
                  .containsEntry("products.fresh-for", "30s");
            });
  }
}
