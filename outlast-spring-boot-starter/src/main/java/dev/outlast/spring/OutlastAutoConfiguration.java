package dev.outlast.spring;

import dev.outlast.core.Guard;
import dev.outlast.core.annotation.Outlast;
import dev.outlast.core.health.Health;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.beans.factory.DisposableBean;
import org.springframework.beans.factory.ListableBeanFactory;
import org.springframework.beans.factory.ObjectProvider;
import org.springframework.beans.factory.SmartInitializingSingleton;
import org.springframework.beans.factory.config.BeanDefinition;
import org.springframework.beans.factory.config.ConfigurableListableBeanFactory;
import org.springframework.boot.autoconfigure.AutoConfiguration;
import org.springframework.boot.autoconfigure.condition.ConditionalOnBooleanProperty;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Import;
import org.springframework.context.annotation.Lazy;
import org.springframework.core.env.Environment;

/**
 * Configures Outlast from {@code outlast.*}: a {@link Guard} per {@code outlast.guard.<name>} (bean
 * {@code <name>Guard}), a spill queue per {@code outlast.queue.<name>} (bean {@code <name>Queue}),
 * one {@link Outlast} with them and the annotation settings, the annotations made to work on every
 * bean, one {@link Health} of every component, and, with Actuator, health indicators (see {@link
 * OutlastHealthConfiguration}). {@code outlast.enabled=false} turns all of it off.
 *
 * <p>Every misconfiguration fails the start with an {@link OutlastConfigurationException} or a
 * {@link dev.outlast.core.annotation.WiringException} naming the fix, shown by Spring Boot's
 * start-up report.
 */
@AutoConfiguration(
    afterName = "org.springframework.boot.jdbc.autoconfigure.DataSourceAutoConfiguration")
@ConditionalOnBooleanProperty(name = "outlast.enabled", matchIfMissing = true)
@Import({OutlastBeanRegistrar.class, OutlastHealthConfiguration.class, OutlastMetrics.class})
public class OutlastAutoConfiguration {
  private static final Logger log = LoggerFactory.getLogger(OutlastAutoConfiguration.class);

  /** For Spring. */
  public OutlastAutoConfiguration() {}

  /**
   * The one {@link Outlast}: every {@link Guard} bean, every spill queue (under its name, for
   * {@code @SpillOnFailure}), the annotation settings of {@code outlast.*}, and other beans by name
   * (for {@code @ReadFallback(source = ...)}). Closed after the queues, before the guards.
   */
  @Bean
  Outlast outlast(
      OutlastProperties outlastProperties,
      ObjectProvider<Guard> guards,
      ListableBeanFactory beans) {
    Outlast.Builder b = Outlast.builder();
    guards.orderedStream().forEach(b::guard);
    Map<String, Object> queues = new LinkedHashMap<>();
    if (Parts.BUFFER) {
      BufferParts.resources(beans, queues);
    }
    queues.forEach(b::resource);
    b.properties(outlastProperties.annotationSettings());
    b.resourceLookup(new BeanLookup(beans));
    return b.build();
  }

  /** Closes the {@link Outlast} before Spring does, to say so: it depends on it. */
  @Bean
  static DisposableBean outlastCloser(Outlast outlast, ListableBeanFactory beans) {
    ShutdownObserver observer = OutlastBeanRegistrar.observer(beans);
    return () -> {
      outlast.close();
      if (observer != null) {
        observer.closed("outlast");
      }
    };
  }

  /** Proxies the beans that carry Outlast annotations. */
  @Bean
  static OutlastBeanPostProcessor outlastBeanPostProcessor(
      ObjectProvider<Outlast> outlast, Environment environment) {
    return new OutlastBeanPostProcessor(
        outlast, environment.getProperty("spring.aop.proxy-target-class", Boolean.class, true));
  }

  /**
   * The health of every guard, queue and cache, for the application's own use. Made on first use,
   * which must come after start-up (inject {@code ObjectProvider<Health>}): the caches exist only
   * once the annotated beans are made.
   */
  @Bean
  @Lazy
  Health outlastHealth(OutlastStartup startup) {
    Health.Builder b = Health.builder();
    for (Parts.Part p : startup.parts()) {
      b.check(p.check());
    }
    return b.build();
  }

  /** Checks, once every bean is made, what only then can be checked. */
  @Bean
  OutlastStartup outlastStartup(
      ObjectProvider<Outlast> outlast,
      OutlastProperties outlastProperties,
      ListableBeanFactory beans) {
    return new OutlastStartup(outlast, outlastProperties, beans);
  }

  /** Beans by name, for resources no property names. */
  private static final class BeanLookup implements Function<String, @Nullable Object> {
    private final ListableBeanFactory beans;

    BeanLookup(ListableBeanFactory beans) {
      this.beans = beans;
    }

    @Override
    public @Nullable Object apply(String name) {
      return beans.containsBean(name) ? beans.getBean(name) : null;
    }

    @Override
    public String toString() {
      return "the application's beans";
    }
  }

  /**
   * After every singleton is made: checks that the annotation settings named what was wired and
   * that {@code outlast.health.importance} names components that exist.
   */
  static final class OutlastStartup implements SmartInitializingSingleton {
    private final ObjectProvider<Outlast> outlast;
    private final OutlastProperties props;
    private final ListableBeanFactory beans;
    private volatile boolean started;

    OutlastStartup(
        ObjectProvider<Outlast> outlast, OutlastProperties props, ListableBeanFactory beans) {
      this.outlast = outlast;
      this.props = props;
      this.beans = beans;
    }

    @Override
    public void afterSingletonsInstantiated() {
      Outlast o = outlast.getObject();
      // Annotated beans made later (lazy, or not singletons) are wired when made: the settings for
      // them cannot be matched yet, and the names of their caches are not known.
      List<String> later = annotatedBeansNotYetMade();
      if (later.isEmpty()) {
        o.checkSettingsUsed();
      } else {
        log.info(
            "the annotated beans {} are lazy or not singletons: the outlast.* settings naming"
                + " their caches and methods are not checked at start-up (a setting naming a"
                + " method of a type is checked when a bean of it is made)",
            later);
      }
      java.util.List<Parts.Part> all = parts(o);
      for (Parts.Part p : all) {
        // Guards of outlast.guard.* were checked when their properties were read.
        if (p.component() instanceof Guard g && !props.getGuard().containsKey(p.original())) {
          Guards.checkCoreHasProbe(
              "outlast.health.importance." + p.name(),
              p.name(),
              p.importance(),
              g.hasRecoveryProbe(),
              false);
        }
      }
      java.util.Set<String> names = Parts.importanceNames(all, props);
      for (String n : props.getHealth().getImportance().keySet()) {
        if (!names.contains(n) && !later.isEmpty()) {
          log.warn(
              "outlast.health.importance.{} names no component made yet; those are {}, and the"
                  + " lazy beans {} may add caches",
              n,
              names,
              later);
        } else if (!names.contains(n)) {
          throw new OutlastConfigurationException(
              "outlast.health.importance."
                  + n
                  + " names no component that takes it; those are "
                  + names
                  + " (guards and queues of outlast.guard.* and outlast.queue.* take their"
                  + " importance there)",
              "correct the name, or set the importance where the component is configured");
        }
      }
      started = true;
    }

    private List<String> annotatedBeansNotYetMade() {
      List<String> out = new ArrayList<>();
      if (!(beans instanceof ConfigurableListableBeanFactory f)) {
        return out;
      }
      for (String n : f.getBeanDefinitionNames()) {
        BeanDefinition d = f.getBeanDefinition(n);
        if (d.isAbstract() || (d.isSingleton() && !d.isLazyInit()) || f.containsSingleton(n)) {
          continue;
        }
        Class<?> type = f.getType(n, false);
        if (type != null && OutlastBeanPostProcessor.annotated(type)) {
          out.add(n);
        }
      }
      return out;
    }

    /** Every component now. */
    java.util.List<Parts.Part> parts() {
      if (!started) {
        throw new IllegalStateException(
            "Outlast's components are known only once every bean is made (the caches come with"
                + " the annotated beans): inject ObjectProvider<Health> and ask it later, not in a"
                + " constructor");
      }
      return parts(outlast.getObject());
    }

    private java.util.List<Parts.Part> parts(Outlast o) {
      return Parts.collect(beans, o, props);
    }

    boolean started() {
      return started;
    }
  }
}
