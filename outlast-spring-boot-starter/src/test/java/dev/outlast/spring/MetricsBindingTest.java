package dev.outlast.spring;

import static org.assertj.core.api.Assertions.assertThat;

import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.Tag;
import io.micrometer.core.instrument.binder.MeterBinder;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.springframework.boot.autoconfigure.AutoConfigurations;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;

/** With resilience-micrometer on the class path, every guard, queue and cache gets its meters. */
class MetricsBindingTest {
  @TempDir Path dir;

  @Test
  void everyComponent_isBound_cachesOfAnnotatedBeansIncluded() {
    new ApplicationContextRunner()
        .withConfiguration(AutoConfigurations.of(OutlastAutoConfiguration.class))
        .withUserConfiguration(Fixtures.Beans.class, Fixtures.QueueBeans.class)
        .withPropertyValues(OutlastAutoConfigurationTest.MYSQL)
        .withPropertyValues(
            "outlast.queue.orders.directory=" + dir.resolve("orders"),
            "outlast.queue.orders.sink=recordingSink")
        .run(
            ctx -> {
              assertThat(ctx).hasNotFailed();
              SimpleMeterRegistry registry = new SimpleMeterRegistry();
              ctx.getBean("outlastMeterBinder", MeterBinder.class).bindTo(registry);
              List<String> ids = registry.getMeters().stream().map(MetricsBindingTest::id).toList();
              assertThat(ids).anyMatch(i -> i.startsWith("outlast.guard.") && i.contains("mysql"));
              assertThat(ids)
                  .anyMatch(
                      i -> i.startsWith("outlast.queue.backlog.events") && i.contains("orders"));
              // The queue's own guard (no bean) has its meters too.
              assertThat(ids)
                  .anyMatch(
                      i ->
                          i.startsWith("resilience4j.circuitbreaker.state")
                              && i.contains("name=orders"));
              assertThat(ids).anyMatch(i -> i.contains("products"));
              assertThat(ids).anyMatch(i -> i.contains("prices"));
            });
  }

  private static String id(Meter m) {
    StringBuilder s = new StringBuilder(m.getId().getName());
    for (Tag t : m.getId().getTags()) {
      s.append(' ').append(t.getKey()).append('=').append(t.getValue());
    }
    return s.toString();
  }
}
