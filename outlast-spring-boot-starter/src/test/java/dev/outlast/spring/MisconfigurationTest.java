package dev.outlast.spring;

import static org.assertj.core.api.Assertions.assertThat;

import dev.outlast.core.annotation.Guarded;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.springframework.boot.autoconfigure.AutoConfigurations;
import org.springframework.boot.test.context.FilteredClassLoader;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;
import org.springframework.context.ApplicationContextInitializer;
import org.springframework.context.ConfigurableApplicationContext;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.core.env.StandardEnvironment;
import org.springframework.core.env.SystemEnvironmentPropertySource;

/**
 * Every misconfiguration fails the start, and Spring Boot's report names what is wrong and the fix.
 */
class MisconfigurationTest {
  @TempDir Path dir;

  final ApplicationContextRunner runner =
      new ApplicationContextRunner()
          .withConfiguration(AutoConfigurations.of(OutlastAutoConfiguration.class))
          .withPropertyValues("outlast.guard.mysql.preset=database");

  @Test
  void aCoreGuardWithoutRecoveryProbe_isRefused_itCouldNeverBeReadyAgain() {
    runner
        .withPropertyValues("outlast.guard.payments.importance=core")
        .run(
            ctx ->
                Failures.assertThat(ctx)
                    .contains(
                        "outlast.guard.payments: importance core needs a recovery probe: without"
                            + " one its breaker closes only on a call, and a pod that is not ready"
                            + " gets none")
                    .contains("Set recovery-probe: jdbc (or jdbc:<DataSource bean>)")
                    .contains("or set importance: dependent"));
  }

  @Configuration(proxyBeanMethods = false)
  static class PaymentsGuard {
    @Bean
    dev.outlast.core.Guard paymentsGuard() {
      return dev.outlast.core.Guard.of("payments", dev.outlast.core.GuardConfig.broker());
    }
  }

  @Test
  void aCoreGuardBeanWithoutRecoveryProbe_isRefused() {
    runner
        .withUserConfiguration(PaymentsGuard.class)
        .withPropertyValues("outlast.health.importance.payments=core")
        .run(
            ctx ->
                Failures.assertThat(ctx)
                    .contains("outlast.health.importance.payments: importance core needs a")
                    .contains("Guard.builder(\"payments\").recoveryProbe(..)")
                    .contains("outlast.health.importance.payments=dependent"));
  }

  private static ApplicationContextInitializer<ConfigurableApplicationContext> env(
      Map<String, Object> variables) {
    return ctx ->
        ctx.getEnvironment()
            .getPropertySources()
            .addFirst(
                new SystemEnvironmentPropertySource(
                    "test-" + StandardEnvironment.SYSTEM_ENVIRONMENT_PROPERTY_SOURCE_NAME,
                    variables));
  }

  /** The process's environment is shared: a variable another tool set is none of our business. */
  @Test
  void anEnvironmentVariableThatNamesNoOutlastSection_isLeftAlone() {
    runner
        .withInitializer(
            env(Map.of("OUTLAST_REQUIRE_CHROMIUM", "1", "OUTLAST_DRILL_ES_PASSWORD", "x")))
        .run(ctx -> assertThat(ctx).hasNotFailed());
  }

  /** One that names a section is a setting: a typo in it fails the start like one in a file. */
  @Test
  void aMisspeltEnvironmentVariableInAnOutlastSection_failsTheStart() {
    runner
        .withInitializer(env(Map.of("OUTLAST_GUARD_MYSQL_CALLTIMOUT", "2s")))
        .run(
            ctx ->
                Failures.assertThat(ctx)
                    .contains("outlast.guard.mysql.calltimout")
                    .contains("is not an Outlast setting, so it would do nothing"));
  }

  /** And a right one is bound. */
  @Test
  void anEnvironmentVariableInAnOutlastSection_isBound() {
    runner
        .withInitializer(env(Map.of("OUTLAST_GUARD_MYSQL_CALLTIMEOUT", "3s")))
        .run(
            ctx ->
                assertThat(ctx.getBean("mysqlGuard", dev.outlast.core.Guard.class).config())
                    .extracting(dev.outlast.core.GuardConfig::callTimeout)
                    .isEqualTo(java.time.Duration.ofSeconds(3)));
  }

  @Test
  void unknownGuardSetting_namesTheOneMeant() {
    runner
        .withPropertyValues("outlast.guard.mysql.call-timout=2s")
        .run(
            ctx ->
                Failures.assertThat(ctx)
                    .contains("the property outlast.guard.mysql.call-timout (")
                    .contains("is not an Outlast setting, so it would do nothing")
                    .contains("Did you mean call-timeout?")
                    .contains("A guard takes: preset, call-timeout, failure-rate-threshold"));
  }

  @Test
  void unknownSection_namesTheSections() {
    runner
        .withPropertyValues("outlast.cahce.products.fresh-for=1s")
        .run(
            ctx ->
                Failures.assertThat(ctx)
                    .contains("outlast.cahce.products.fresh-for")
                    .contains(
                        "Action: Did you mean cache? Outlast's settings are: enabled, guard"));
  }

  @Test
  void unknownSinkSetting() {
    runner
        .withPropertyValues(
            "outlast.queue.orders.directory=" + dir,
            "outlast.queue.orders.sink=elasticsearch",
            "outlast.queue.orders.elasticsearch.urll=http://localhost:9200")
        .run(
            ctx ->
                Failures.assertThat(ctx)
                    .contains("Did you mean url? An Elasticsearch sink takes: url, index"));
  }

  @Test
  void aValueThatIsNotADuration() {
    runner
        .withPropertyValues("outlast.guard.mysql.call-timeout=2 seconds")
        .run(
            ctx ->
                Failures.assertThat(ctx)
                    .contains("outlast.guard.mysql.call-timeout")
                    .contains("'2 seconds', which cannot be read as a Duration")
                    .contains("Action: Write a duration such as 500ms, 2s, 5m or PT2S"));
  }

  @Test
  void aValueOutOfRange_namesTheProperty() {
    runner
        .withPropertyValues("outlast.guard.mysql.failure-rate-threshold=150")
        .run(
            ctx ->
                Failures.assertThat(ctx)
                    .contains("outlast.guard.mysql.failure-rate-threshold is 150.0")
                    .contains("(0, 100]"));
  }

  @Test
  void misspeltCacheName_inTheAnnotationSettings() {
    runner
        .withUserConfiguration(Fixtures.Beans.class)
        .withPropertyValues("outlast.cache.prodcts.fresh-for=1s")
        .run(
            ctx ->
                Failures.assertThat(ctx)
                    .contains("outlast.cache.prodcts.*")
                    .contains("the cache names wired are [prices, products]")
                    .contains("Action: Correct the name"));
  }

  @Test
  void misspeltInterfaceName_inTheAnnotationSettings() {
    runner
        .withUserConfiguration(Fixtures.Beans.class)
        .withPropertyValues("outlast.guarded.ProductRepo.find.dependency=mysql")
        .run(
            ctx ->
                Failures.assertThat(ctx)
                    .contains("outlast.guarded.ProductRepo.find.*")
                    .contains("ProductRepository.find"));
  }

  @Test
  void misspeltMethodName_ofAWiredInterface() {
    runner
        .withUserConfiguration(Fixtures.Beans.class)
        .withPropertyValues("outlast.guarded.ProductRepository.fnd.dependency=mysql")
        .run(
            ctx ->
                Failures.assertThat(ctx)
                    .contains("ProductRepository has no method fnd annotated for them")
                    .contains("find, plain"));
  }

  @Test
  void unknownAttribute_inTheAnnotationSettings() {
    runner
        .withUserConfiguration(Fixtures.Beans.class)
        .withPropertyValues("outlast.cache.products.importance=core")
        .run(
            ctx ->
                Failures.assertThat(ctx)
                    .contains("cache has no attribute 'importance'")
                    .contains("fresh-for"));
  }

  @Test
  void aGuardedDependencyWithoutAGuard() {
    runner
        .withUserConfiguration(Fixtures.Beans.class)
        .withPropertyValues("outlast.guarded.PriceService.write.dependency=mysqll")
        .run(
            ctx ->
                Failures.assertThat(ctx)
                    .contains("PriceService.write(String): @Guarded names dependency 'mysqll'")
                    .contains("the dependencies registered are [mysql]"));
  }

  @Test
  void spillOnFailure_namingNoQueue() {
    runner
        .withUserConfiguration(Fixtures.QueueBeans.class)
        .run(
            ctx ->
                Failures.assertThat(ctx)
                    .contains("OrderEvents.placed(String)")
                    .contains("no spill queue is registered as 'orders'"));
  }

  @Test
  void aQueueWithoutADirectory() {
    runner
        .withPropertyValues("outlast.queue.orders.sink=recordingSink")
        .run(
            ctx ->
                Failures.assertThat(ctx)
                    .contains("outlast.queue.orders.directory is not set")
                    .contains("Action: Set outlast.queue.orders.directory"));
  }

  @Test
  void aQueueWithoutASink() {
    runner
        .withPropertyValues("outlast.queue.orders.directory=" + dir)
        .run(ctx -> Failures.assertThat(ctx).contains("outlast.queue.orders.sink is not set"));
  }

  @Test
  void aSinkWhoseModuleIsMissing() {
    runner
        .withClassLoader(new FilteredClassLoader("dev.outlast.sink.elasticsearch"))
        .withPropertyValues(
            "outlast.queue.orders.directory=" + dir, "outlast.queue.orders.sink=elasticsearch")
        .run(
            ctx ->
                Failures.assertThat(ctx)
                    .contains("needs the module resilience-sink-elasticsearch")
                    .contains("<artifactId>resilience-sink-elasticsearch</artifactId>"));
  }

  @Test
  void aQueueWithoutTheBufferModule() {
    runner
        .withClassLoader(new FilteredClassLoader("dev.outlast.buffer"))
        .withPropertyValues(
            "outlast.queue.orders.directory=" + dir, "outlast.queue.orders.sink=recordingSink")
        .run(
            ctx ->
                Failures.assertThat(ctx)
                    .contains("outlast.queue.orders needs the module resilience-buffer"));
  }

  @Test
  void aSinkBeanThatDoesNotExist() {
    runner
        .withUserConfiguration(Fixtures.QueueBeans.class)
        .withPropertyValues(
            "outlast.queue.orders.directory=" + dir, "outlast.queue.orders.sink=recordingSinkk")
        .run(
            ctx ->
                Failures.assertThat(ctx)
                    .contains("outlast.queue.orders.sink names the bean 'recordingSinkk'")
                    .contains("[recordingSink]"));
  }

  @Test
  void aRecoveryProbeNamingNoDataSource() {
    runner
        .withPropertyValues("outlast.guard.mysql.recovery-probe=jdbc:mainPool")
        .run(
            ctx ->
                Failures.assertThat(ctx)
                    .contains("recovery-probe names the DataSource bean 'mainPool'")
                    .contains("Action: Name one of them, or write recovery-probe=none"));
  }

  @Test
  void healthImportance_ofNoComponent() {
    runner
        .withUserConfiguration(Fixtures.Beans.class)
        .withPropertyValues("outlast.health.importance.prodcts=core")
        .run(
            ctx ->
                Failures.assertThat(ctx)
                    .contains("outlast.health.importance.prodcts names no component")
                    .contains("[prices, products]"));
  }

  @Test
  void springBoot3_isRefused_ratherThanLeftWithoutHealth() {
    org.assertj.core.api.Assertions.assertThatThrownBy(
            () -> OutlastBeanRegistrar.checkBootVersion("3.5.7"))
        .isInstanceOf(OutlastConfigurationException.class)
        .hasMessageContaining("runs on Spring Boot 4.0, and this is Spring Boot 3.5.7")
        .hasMessageContaining("Fix: upgrade to Spring Boot 4.0.x");
    OutlastBeanRegistrar.checkBootVersion("4.0.7");
    OutlastBeanRegistrar.checkBootVersion(null); // a repackaged jar without a version
  }

  public static class PrivateAnnotated {
    @Guarded("mysql")
    @SuppressWarnings("UnusedMethod") // the point: an annotation where no proxy can see it
    private String hidden() {
      return "h";
    }
  }

  @Configuration(proxyBeanMethods = false)
  static class PrivateBean {
    @Bean
    PrivateAnnotated privateAnnotated() {
      return new PrivateAnnotated();
    }
  }

  @Test
  void anAnnotatedPrivateMethod() {
    runner
        .withUserConfiguration(PrivateBean.class)
        .run(
            ctx ->
                Failures.assertThat(ctx)
                    .contains("PrivateAnnotated.hidden(): @Guarded would do nothing: it is private")
                    .contains("Action: Make it public"));
  }
}
