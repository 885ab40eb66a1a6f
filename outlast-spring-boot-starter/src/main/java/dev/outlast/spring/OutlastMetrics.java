package dev.outlast.spring;

import dev.outlast.core.Guard;
import dev.outlast.core.annotation.Outlast;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.binder.MeterBinder;
import java.lang.reflect.Constructor;
import java.util.Map;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.beans.factory.ListableBeanFactory;
import org.springframework.beans.factory.ObjectProvider;
import org.springframework.boot.autoconfigure.condition.ConditionalOnClass;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

/**
 * Binds every guard, queue and cache to Micrometer through the binders of {@code
 * resilience-micrometer} ({@code GuardMetrics}, {@code SpillQueueMetrics}, {@code
 * QueryCacheMetrics}), when that module and Micrometer are on the class path. One {@link
 * MeterBinder} bean, which Spring Boot binds to its registry once every bean is made, so the caches
 * of annotated beans are included.
 *
 * <p>The binders are found by name: the starter does not depend on resilience-micrometer, and a
 * service without it pulls in none of Micrometer.
 */
@Configuration(proxyBeanMethods = false)
@ConditionalOnClass(
    name = {"io.micrometer.core.instrument.MeterRegistry", OutlastMetrics.GUARD_METRICS})
class OutlastMetrics {
  static final String GUARD_METRICS = "dev.outlast.micrometer.GuardMetrics";
  private static final Map<String, String> BINDERS =
      Map.of(
          "guard", GUARD_METRICS,
          "queue", "dev.outlast.micrometer.SpillQueueMetrics",
          "cache", "dev.outlast.micrometer.QueryCacheMetrics");
  private static final Logger log = LoggerFactory.getLogger(OutlastMetrics.class);

  @Bean
  MeterBinder outlastMeterBinder(
      ObjectProvider<Outlast> outlast,
      OutlastProperties outlastProperties,
      ListableBeanFactory beans) {
    return registry -> {
      bind(registry, Parts.collect(beans, outlast.getObject(), outlastProperties));
      // A queue's own guard is no bean, so not among the parts; it has meters all the same.
      OutlastQueues queues = beans.getBeanProvider(OutlastQueues.class).getIfAvailable();
      if (queues != null) {
        for (Guard g : queues.ownGuards()) {
          bind(registry, "guard", g.dependency(), g);
        }
      }
    };
  }

  static void bind(MeterRegistry registry, java.util.List<Parts.Part> parts) {
    for (Parts.Part p : parts) {
      bind(registry, p.kind(), p.name(), p.component());
    }
  }

  private static void bind(MeterRegistry registry, String kind, String name, Object component) {
    MeterBinder b = binder(kind, name, component);
    if (b != null) {
      b.bindTo(registry);
    }
  }

  private static @Nullable MeterBinder binder(String kind, String name, Object component) {
    String type = BINDERS.get(kind);
    if (type == null) {
      return null;
    }
    try {
      Class<?> c = Class.forName(type, true, OutlastMetrics.class.getClassLoader());
      for (Constructor<?> k : c.getConstructors()) {
        Class<?>[] params = k.getParameterTypes();
        if (params.length == 1 && params[0].isInstance(component)) {
          return (MeterBinder) k.newInstance(component);
        }
      }
      log.warn("{} has no public constructor taking a {}", type, component.getClass());
      return null;
    } catch (ReflectiveOperationException | ClassCastException e) {
      log.warn("cannot bind the metrics of {} {}", kind, name, e);
      return null;
    }
  }
}
