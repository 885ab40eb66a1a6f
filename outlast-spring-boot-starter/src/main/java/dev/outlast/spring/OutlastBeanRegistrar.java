package dev.outlast.spring;

import dev.outlast.core.Guard;
import java.util.Map;
import java.util.Objects;
import org.jspecify.annotations.Nullable;
import org.springframework.beans.factory.BeanClassLoaderAware;
import org.springframework.beans.factory.BeanFactory;
import org.springframework.beans.factory.BeanFactoryAware;
import org.springframework.beans.factory.ListableBeanFactory;
import org.springframework.beans.factory.config.ConfigurableBeanFactory;
import org.springframework.beans.factory.support.BeanDefinitionRegistry;
import org.springframework.beans.factory.support.RootBeanDefinition;
import org.springframework.boot.SpringBootVersion;
import org.springframework.context.EnvironmentAware;
import org.springframework.context.annotation.ImportBeanDefinitionRegistrar;
import org.springframework.core.env.Environment;
import org.springframework.core.type.AnnotationMetadata;

/**
 * Binds {@code outlast.*} (failing on any name it does not know) and registers a bean per guard
 * ({@code <name>Guard}) and per queue ({@code <name>Queue}), so that the application can inject
 * them by name. Beans are made only when asked for, as any other.
 */
final class OutlastBeanRegistrar
    implements ImportBeanDefinitionRegistrar,
        EnvironmentAware,
        BeanFactoryAware,
        BeanClassLoaderAware {
  static final String PROPERTIES = "outlastProperties";
  static final String PROBES = "outlastGuardProbes";
  static final String QUEUES = "outlastQueues";

  private @Nullable Environment environment;
  private @Nullable ListableBeanFactory beans;
  private ClassLoader classLoader = OutlastBeanRegistrar.class.getClassLoader();

  @Override
  public void setBeanClassLoader(ClassLoader classLoader) {
    this.classLoader = classLoader;
  }

  @Override
  public void setEnvironment(Environment environment) {
    this.environment = environment;
  }

  @Override
  public void setBeanFactory(BeanFactory beanFactory) {
    this.beans = (ListableBeanFactory) beanFactory;
  }

  @Override
  public void registerBeanDefinitions(
      AnnotationMetadata metadata, BeanDefinitionRegistry registry) {
    checkBootVersion(SpringBootVersion.getVersion());
    OutlastProperties props = PropertiesBinding.bind(Objects.requireNonNull(environment));
    ListableBeanFactory bf = Objects.requireNonNull(beans);
    registry.registerBeanDefinition(
        PROPERTIES, new RootBeanDefinition(OutlastProperties.class, () -> props));
    registry.registerBeanDefinition(
        PROBES, new RootBeanDefinition(GuardProbes.class, () -> new GuardProbes(observer(bf))));
    for (Map.Entry<String, OutlastProperties.GuardProperties> e : props.getGuard().entrySet()) {
      String name = e.getKey();
      OutlastProperties.GuardProperties p = e.getValue();
      Guards.checkCoreHasProbe(
          "outlast.guard." + name,
          name,
          p.getImportance(),
          !p.getRecoveryProbe().trim().equals("none"),
          true);
      String beanName = name + "Guard";
      RootBeanDefinition def =
          new RootBeanDefinition(
              Guard.class,
              () -> {
                Guard g = Guards.build(name, p, bf, bf.getBean(GuardProbes.class).scheduler());
                String ds = Guards.probeDataSource(name, p.getRecoveryProbe(), bf);
                if (ds != null && bf instanceof ConfigurableBeanFactory c) {
                  // The pool closes after the guard that probes it.
                  c.registerDependentBean(ds, beanName);
                }
                return g;
              });
      def.setDependsOn(PROBES);
      registry.registerBeanDefinition(beanName, def);
    }
    if (props.getQueue().isEmpty()) {
      return;
    }
    for (String name : props.getQueue().keySet()) {
      QueueSettings.needBuffer("outlast.queue." + name, classLoader);
      QueueSettings.check(name, props.getQueue().get(name), classLoader);
    }
    registry.registerBeanDefinition(
        QUEUES,
        new RootBeanDefinition(
            OutlastQueues.class, () -> new OutlastQueues(props, bf, observer(bf))));
    for (String name : props.getQueue().keySet()) {
      RootBeanDefinition def = new RootBeanDefinition(Queues.queueType());
      def.setInstanceSupplier(() -> bf.getBean(OutlastQueues.class).open(name));
      def.setDependsOn(QUEUES);
      // Closed by OutlastQueues after the web server stops, or when it is destroyed after a
      // start that failed; not by the queue bean's own destruction.
      def.setDestroyMethodName("");
      registry.registerBeanDefinition(name + "Queue", def);
    }
  }

  /**
   * Spring Boot 3 moved its health API and environment hooks in 4: on 3.x the health indicators and
   * Actuator defaults would be missing without a word, so the start fails instead.
   */
  static void checkBootVersion(@Nullable String version) {
    if (version != null && !version.startsWith("4.")) {
      throw new OutlastConfigurationException(
          "outlast-spring-boot-starter runs on Spring Boot 4.0, and this is Spring Boot "
              + version
              + " (Boot 4 moved the health API to org.springframework.boot.health, which the"
              + " starter's health indicators use)",
          "upgrade to Spring Boot 4.0.x, or on Boot 3 wire Outlast yourself with"
              + " Outlast.builder() and the modules' builders (see the guide)");
    }
  }

  static @Nullable ShutdownObserver observer(ListableBeanFactory bf) {
    return bf.getBeanProvider(ShutdownObserver.class).getIfAvailable();
  }
}
