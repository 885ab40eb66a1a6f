package dev.outlast.spring;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.outlast.core.Guard;
import dev.outlast.spring.Fixtures.Backend;
import dev.outlast.spring.Fixtures.PriceService;
import dev.outlast.spring.Fixtures.ProductRepository;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import org.junit.jupiter.api.Test;
import org.springframework.boot.SpringApplication;
import org.springframework.boot.autoconfigure.AutoConfigurations;
import org.springframework.boot.autoconfigure.availability.ApplicationAvailabilityAutoConfiguration;
import org.springframework.boot.availability.AvailabilityChangeEvent;
import org.springframework.boot.availability.LivenessState;
import org.springframework.boot.availability.ReadinessState;
import org.springframework.boot.health.actuate.endpoint.CompositeHealthDescriptor;
import org.springframework.boot.health.actuate.endpoint.HealthDescriptor;
import org.springframework.boot.health.actuate.endpoint.HealthEndpoint;
import org.springframework.boot.health.autoconfigure.actuate.endpoint.AvailabilityProbesAutoConfiguration;
import org.springframework.boot.health.autoconfigure.actuate.endpoint.HealthEndpointAutoConfiguration;
import org.springframework.boot.health.autoconfigure.application.AvailabilityHealthContributorAutoConfiguration;
import org.springframework.boot.health.autoconfigure.contributor.HealthContributorAutoConfiguration;
import org.springframework.boot.health.autoconfigure.registry.HealthContributorRegistryAutoConfiguration;
import org.springframework.boot.health.contributor.CompositeHealthContributor;
import org.springframework.boot.health.contributor.Health;
import org.springframework.boot.health.contributor.HealthContributors;
import org.springframework.boot.health.contributor.HealthIndicator;
import org.springframework.boot.health.contributor.Status;
import org.springframework.boot.test.context.assertj.AssertableApplicationContext;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;

/**
 * Actuator's view: an indicator per component with DEGRADED between DOWN and UP, readiness DOWN
 * only for a core component down, liveness only for a failure inside the process, and the defaults
 * that put them into Actuator's groups.
 */
class HealthIndicatorsTest {
  final ApplicationContextRunner runner =
      new ApplicationContextRunner()
          .withInitializer(
              ctx ->
                  new OutlastEnvironmentDefaults()
                      .postProcessEnvironment(ctx.getEnvironment(), new SpringApplication()))
          .withConfiguration(
              AutoConfigurations.of(
                  OutlastAutoConfiguration.class,
                  ApplicationAvailabilityAutoConfiguration.class,
                  HealthContributorAutoConfiguration.class,
                  HealthContributorRegistryAutoConfiguration.class,
                  HealthEndpointAutoConfiguration.class,
                  AvailabilityHealthContributorAutoConfiguration.class,
                  AvailabilityProbesAutoConfiguration.class))
          .withUserConfiguration(Fixtures.Beans.class, Fixtures.Pool.class)
          .withPropertyValues(OutlastAutoConfigurationTest.MYSQL)
          .withPropertyValues(
              "outlast.guard.mysql.importance=core", "outlast.guard.mysql.recovery-probe=jdbc")
          .withPropertyValues("management.endpoint.health.probes.enabled=true");

  static Map<String, Health> components(AssertableApplicationContext ctx) {
    CompositeHealthContributor outlast =
        ctx.getBean("outlastHealthContributor", CompositeHealthContributor.class);
    Map<String, Health> out = new LinkedHashMap<>();
    for (HealthContributors.Entry e : outlast) {
      out.put(e.name(), Objects.requireNonNull(((HealthIndicator) e.contributor()).health()));
    }
    return out;
  }

  static Status probe(AssertableApplicationContext ctx, String name) {
    return Objects.requireNonNull(
            ctx.getBean(name + "HealthIndicator", HealthIndicator.class).health())
        .getStatus();
  }

  /** The database goes down: the price cache answers stale, the guard opens. */
  static void outage(AssertableApplicationContext ctx) {
    // What SpringApplication publishes once it has started.
    AvailabilityChangeEvent.publish(ctx, LivenessState.CORRECT);
    AvailabilityChangeEvent.publish(ctx, ReadinessState.ACCEPTING_TRAFFIC);
    PriceService prices = ctx.getBean(PriceService.class);
    ctx.getBean(ProductRepository.class).find("1");
    prices.price("a");
    ctx.getBean(Backend.class).down.set(true);
    Guard mysql = ctx.getBean("mysqlGuard", Guard.class);
    await()
        .atMost(Duration.ofSeconds(5))
        .until(
            () -> {
              prices.price("a"); // answered stale, its reload fails
              return mysql.state() == Guard.State.OPEN;
            });
  }

  @Test
  void everyComponent_hasAnIndicator_upWhileAllIsWell() {
    runner.run(
        ctx -> {
          assertThat(ctx).hasNotFailed();
          Map<String, Health> c = components(ctx);
          assertThat(c).containsOnlyKeys("mysql", "products", "prices");
          assertThat(c.values()).extracting(Health::getStatus).containsOnly(Status.UP);
          Health mysql = c.get("mysql");
          assertThat(Objects.requireNonNull(mysql).getDetails())
              .containsEntry("kind", "guard")
              .containsEntry("dependency", "mysql")
              .containsEntry("importance", "CORE")
              .containsEntry("componentStatus", "UP")
              .containsEntry("state", "CLOSED")
              .containsKey("reason");
          assertThat(probe(ctx, "outlastReadiness")).isEqualTo(Status.UP);
          assertThat(probe(ctx, "outlastLiveness")).isEqualTo(Status.UP);
        });
  }

  @Test
  void coreDatabaseOut_cacheDegraded_guardDown_notReady_butAlive() {
    runner.run(
        ctx -> {
          outage(ctx);
          Map<String, Health> c = components(ctx);
          assertThat(Objects.requireNonNull(c.get("mysql")).getStatus()).isEqualTo(Status.DOWN);
          Health prices = Objects.requireNonNull(c.get("prices"));
          assertThat(prices.getStatus().getCode()).isEqualTo("DEGRADED");
          assertThat(prices.getDetails())
              .containsEntry("kind", "cache")
              .containsKey("staleAnswers");
          assertThat(probe(ctx, "outlastReadiness")).isEqualTo(Status.DOWN);
          assertThat(probe(ctx, "outlastLiveness")).isEqualTo(Status.UP);
          HealthEndpoint endpoint = ctx.getBean(HealthEndpoint.class);
          assertThat(endpoint.health().getStatus()).isEqualTo(Status.DOWN);
          HealthDescriptor readiness = Objects.requireNonNull(endpoint.healthForPath("readiness"));
          assertThat(readiness.getStatus()).isEqualTo(Status.DOWN);
          assertThat(((CompositeHealthDescriptor) readiness).getComponents())
              .containsKeys("readinessState", "outlastReadiness");
          HealthDescriptor liveness = Objects.requireNonNull(endpoint.healthForPath("liveness"));
          assertThat(liveness.getStatus()).isEqualTo(Status.UP);
        });
  }

  /**
   * Not ready means no traffic: only the recovery probe can close the breaker, and then the pod is
   * ready again without a single call.
   */
  @Test
  void coreDatabaseBack_probeClosesTheBreaker_readyAgainWithoutTraffic() {
    runner.run(
        ctx -> {
          outage(ctx);
          assertThat(probe(ctx, "outlastReadiness")).isEqualTo(Status.DOWN);
          int calls = ctx.getBean(Backend.class).calls.get();
          ctx.getBean(Backend.class).down.set(false);
          await()
              .atMost(Duration.ofSeconds(15))
              .until(() -> probe(ctx, "outlastReadiness").equals(Status.UP));
          assertThat(ctx.getBean("mysqlGuard", Guard.class).state()).isEqualTo(Guard.State.CLOSED);
          assertThat(ctx.getBean(Backend.class).calls.get()).isEqualTo(calls);
        });
  }

  @Test
  void aGuardIsDependentByDefault_soAnOutageLeavesThePodReady() {
    new ApplicationContextRunner()
        .withConfiguration(AutoConfigurations.of(OutlastAutoConfiguration.class))
        .withUserConfiguration(Fixtures.Beans.class)
        .withPropertyValues(OutlastAutoConfigurationTest.MYSQL)
        .run(
            ctx -> {
              assertThat(ctx).hasNotFailed();
              assertThat(ctx.getBean(OutlastProperties.class).getGuard().get("mysql"))
                  .extracting(OutlastProperties.GuardProperties::getImportance)
                  .isEqualTo(dev.outlast.core.health.Importance.DEPENDENT);
            });
  }

  @Test
  void dependentDatabaseOut_serviceDegraded_stillReady() {
    runner
        .withPropertyValues("outlast.guard.mysql.importance=dependent")
        .run(
            ctx -> {
              outage(ctx);
              Map<String, Health> c = components(ctx);
              Health mysql = Objects.requireNonNull(c.get("mysql"));
              // What it does to the service: a dependent component down only degrades it.
              assertThat(mysql.getStatus().getCode()).isEqualTo("DEGRADED");
              assertThat(mysql.getDetails())
                  .containsEntry("componentStatus", "DOWN")
                  .containsEntry("importance", "DEPENDENT")
                  .containsEntry("state", "OPEN");
              assertThat(probe(ctx, "outlastReadiness")).isEqualTo(Status.UP);
              HealthEndpoint endpoint = ctx.getBean(HealthEndpoint.class);
              // DEGRADED aggregates between DOWN and UP.
              assertThat(endpoint.health().getStatus().getCode()).isEqualTo("DEGRADED");
              HealthDescriptor outlast = Objects.requireNonNull(endpoint.healthForPath("outlast"));
              assertThat(outlast.getStatus().getCode()).isEqualTo("DEGRADED");
              assertThat(Objects.requireNonNull(endpoint.healthForPath("readiness")).getStatus())
                  .isEqualTo(Status.UP);
            });
  }

  @Test
  void defaults_orderDegradedBetweenDownAndUp_andAnswer200() {
    runner.run(
        ctx -> {
          assertThat(ctx.getEnvironment().getProperty("management.endpoint.health.status.order"))
              .isEqualTo("down,out-of-service,degraded,up,unknown");
          assertThat(
                  ctx.getEnvironment()
                      .getProperty("management.endpoint.health.status.http-mapping.degraded"))
              .isEqualTo("200");
          assertThat(
                  ctx.getEnvironment()
                      .getProperty("management.endpoint.health.group.readiness.include"))
              .isEqualTo("readinessState,outlastReadiness");
        });
    // The application's own settings win.
    runner
        .withPropertyValues("management.endpoint.health.group.readiness.include=readinessState")
        .run(
            ctx ->
                assertThat(
                        ctx.getEnvironment()
                            .getProperty("management.endpoint.health.group.readiness.include"))
                    .isEqualTo("readinessState"));
  }
}
