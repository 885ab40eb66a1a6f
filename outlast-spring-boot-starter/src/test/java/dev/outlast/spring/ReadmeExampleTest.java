package dev.outlast.spring;

import static org.assertj.core.api.Assertions.assertThat;

import dev.outlast.buffer.SpillQueue;
import dev.outlast.core.Guard;
import dev.outlast.core.health.Importance;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.sql.DataSource;
import org.h2.jdbcx.JdbcDataSource;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.springframework.boot.autoconfigure.AutoConfigurations;
import org.springframework.boot.test.context.ConfigDataApplicationContextInitializer;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

/**
 * The five lines of application.yml in the README, read from the README itself, start a service as
 * it says, and the guide shows the same lines.
 */
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

  /** The repository's root: the module's parent (surefire runs in the module's directory). */
  static Path root() {
    Path module = Path.of(System.getProperty("user.dir")).toAbsolutePath();
    Path parent = module.getParent();
    Path root = parent != null && module.endsWith("outlast-spring-boot-starter") ? parent : module;
    assertThat(root.resolve("README.md")).as("the repository root from " + module).isRegularFile();
    return root;
  }

  /** The first yaml block of the file that configures outlast. */
  static String yaml(Path file) throws IOException {
    Matcher m =
        Pattern.compile("```yaml\n(outlast:\n.*?)```", Pattern.DOTALL)
            .matcher(Files.readString(file));
    assertThat(m.find()).as("a ```yaml block starting with outlast: in " + file).isTrue();
    return m.group(1);
  }

  @Test
  void theGuide_showsTheReadmesApplicationYml() throws IOException {
    assertThat(yaml(root().resolve("docs/GUIDE.md"))).isEqualTo(yaml(root().resolve("README.md")));
  }

  @Test
  void theReadmesApplicationYml_starts() throws IOException {
    Path yml = dir.resolve("readme-example.yml");
    Files.writeString(yml, yaml(root().resolve("README.md")));
    new ApplicationContextRunner()
        .withInitializer(new ConfigDataApplicationContextInitializer())
        .withConfiguration(AutoConfigurations.of(OutlastAutoConfiguration.class))
        .withUserConfiguration(Fixtures.Beans.class, Fixtures.QueueBeans.class, Pool.class)
        .withPropertyValues(
            "spring.config.location=file:" + yml,
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
