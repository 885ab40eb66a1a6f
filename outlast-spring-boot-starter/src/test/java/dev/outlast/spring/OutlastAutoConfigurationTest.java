package dev.outlast.spring;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import dev.outlast.buffer.SpillQueue;
import dev.outlast.core.DependencyUnavailableException;
import dev.outlast.core.Guard;
import dev.outlast.core.annotation.Guarded;
import dev.outlast.core.annotation.Outlast;
import dev.outlast.core.health.HealthReport;
import dev.outlast.core.health.HealthStatus;
import dev.outlast.spring.Fixtures.Backend;
import dev.outlast.spring.Fixtures.OrderEvents;
import dev.outlast.spring.Fixtures.PriceService;
import dev.outlast.spring.Fixtures.ProductRepository;
import dev.outlast.spring.Fixtures.RecordingSink;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.aopalliance.intercept.MethodInterceptor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.springframework.aop.framework.ProxyFactory;
import org.springframework.aop.support.AopUtils;
import org.springframework.boot.LazyInitializationBeanFactoryPostProcessor;
import org.springframework.boot.autoconfigure.AutoConfigurations;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;
import org.springframework.context.SmartLifecycle;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

/** Properties to beans, the annotations on Spring beans, and the shutdown order. */
class OutlastAutoConfigurationTest {
  /** A breaker that opens after two failed calls and stays open. */
  static final String[] MYSQL = {
    "outlast.guard.mysql.max-attempts=1",
    "outlast.guard.mysql.sliding-window=2",
    "outlast.guard.mysql.minimum-calls=2",
    "outlast.guard.mysql.open-wait=1h",
    "outlast.guard.mysql.max-open-wait=1h",
    "outlast.guard.mysql.call-timeout=750ms"
  };

  @TempDir Path dir;

  final ApplicationContextRunner runner =
      new ApplicationContextRunner()
          .withConfiguration(AutoConfigurations.of(OutlastAutoConfiguration.class))
          .withPropertyValues(MYSQL);

  String[] queue() {
    return new String[] {
      "outlast.queue.orders.directory=" + dir.resolve("orders"),
      "outlast.queue.orders.sink=recordingSink",
      "outlast.queue.orders.codec=eventCodec",
      "outlast.queue.orders.mode=spill-on-failure",
      "outlast.queue.orders.batch-size=10"
    };
  }

  @Test
  void properties_makeAGuardPerName_aQueuePerName_andOneOutlast() {
    runner
        .withUserConfiguration(Fixtures.QueueBeans.class)
        .withPropertyValues(queue())
        .run(
            ctx -> {
              assertThat(ctx).hasNotFailed();
              Guard mysql = ctx.getBean("mysqlGuard", Guard.class);
              assertThat(mysql.dependency()).isEqualTo("mysql");
              assertThat(mysql.config().callTimeout()).isEqualTo(Duration.ofMillis(750));
              assertThat(mysql.config().maxAttempts()).isEqualTo(1);
              SpillQueue<?> orders = ctx.getBean("ordersQueue", SpillQueue.class);
              assertThat(orders.name()).isEqualTo("orders");
              assertThat(ctx).hasSingleBean(Outlast.class);
              // The publisher's broker is down: the event spills to the queue, which delivers it.
              ctx.getBean(OrderEvents.class).placed("order-1");
              RecordingSink sink = ctx.getBean(RecordingSink.class);
              await()
                  .atMost(Duration.ofSeconds(10))
                  .until(() -> sink.delivered.contains("order-1"));
            });
  }

  @Test
  void aStartThatFailsAfterAQueueOpened_closesIt_releasingItsDirectory() throws Exception {
    runner
        .withUserConfiguration(Fixtures.QueueBeans.class)
        .withPropertyValues(queue())
        // Checked once every bean is made: after the queue opened.
        .withPropertyValues("outlast.health.importance.nosuch=core")
        .run(ctx -> assertThat(ctx).hasFailed());
    try (SpillQueue<String> again =
        SpillQueue.<String>builder("orders")
            .directory(dir.resolve("orders"))
            .codec(dev.outlast.core.spi.Codec.utf8())
            .sink(new RecordingSink())
            .guard(Guard.of("orders", dev.outlast.core.GuardConfig.broker()))
            .build()) {
      assertThat(again.name()).isEqualTo("orders");
    }
  }

  @Test
  void aStoppedContext_refusesToStartItsClosedQueuesAgain() {
    runner
        .withUserConfiguration(Fixtures.QueueBeans.class)
        .withPropertyValues(queue())
        .run(
            ctx -> {
              assertThat(ctx).hasNotFailed();
              ctx.getBean(OrderEvents.class);
              ctx.stop();
              assertThatThrownBy(ctx::start)
                  .rootCause()
                  .isInstanceOf(IllegalStateException.class)
                  .hasMessageContaining("the spill queues [orders] were closed when the context")
                  .hasMessageContaining("start a new one");
            });
  }

  @Test
  void interfaceAnnotations_onASpringBean_answerFromTheCache() {
    runner
        .withUserConfiguration(Fixtures.Beans.class)
        .run(
            ctx -> {
              assertThat(ctx).hasNotFailed();
              ProductRepository products = ctx.getBean(ProductRepository.class);
              Backend db = ctx.getBean(Backend.class);
              assertThat(AopUtils.isAopProxy(products)).isTrue();
              assertThat(products.find("1")).isEqualTo("row:1");
              assertThat(products.find("1")).isEqualTo("row:1");
              assertThat(db.calls.get()).isEqualTo(1);
              assertThat(products.plain("2")).isEqualTo("plain:2");
              assertThat(ctx.getBean(Outlast.class).components())
                  .containsKeys("products", "prices");
              // A stale answer while the database is out: the cache serves it, the caller sees
              // none.
              db.down.set(true);
              assertThat(products.find("1")).isEqualTo("row:1");
            });
  }

  /** What Spring Data's query methods are: the interface's calls answered by advice. */
  static final class QueryMethods {}

  @Configuration(proxyBeanMethods = false)
  static class RepositoryProxies {
    @Bean
    Backend backend() {
      return new Backend();
    }

    /** As a Spring Data repository: a JDK proxy whose target does not implement the interface. */
    @Bean
    ProductRepository productRepository(Backend backend) {
      ProxyFactory pf = new ProxyFactory();
      pf.setTarget(new QueryMethods());
      pf.addInterface(ProductRepository.class);
      pf.addAdvice(
          (MethodInterceptor)
              call -> {
                String id = (String) call.getArguments()[0];
                return call.getMethod().getName().equals("find")
                    ? backend.query(id)
                    : "plain:" + id;
              });
      return (ProductRepository) pf.getProxy();
    }

    /** A plain java.lang.reflect.Proxy. */
    @Bean
    OrderLookup orderLookup(Backend backend) {
      return (OrderLookup)
          java.lang.reflect.Proxy.newProxyInstance(
              OrderLookup.class.getClassLoader(),
              new Class<?>[] {OrderLookup.class},
              (proxy, method, args) ->
                  method.getName().equals("order")
                      ? backend.query("order " + args[0])
                      : method.invoke(this, args));
    }
  }

  interface OrderLookup {
    @Guarded("mysql")
    @dev.outlast.core.annotation.CachedQuery(name = "orders", freshFor = "1h")
    String order(String id);
  }

  @Test
  void annotationsOnTheInterfacesOfAJdkProxy_whoseTargetDoesNotImplementThem_areWired() {
    runner
        .withUserConfiguration(RepositoryProxies.class)
        .run(
            ctx -> {
              assertThat(ctx).hasNotFailed();
              assertThat(ctx.getBean(Outlast.class).components())
                  .containsKeys("products", "orders");
              Backend db = ctx.getBean(Backend.class);
              ProductRepository products = ctx.getBean(ProductRepository.class);
              assertThat(products.find("1")).isEqualTo("row:1");
              assertThat(products.find("1")).isEqualTo("row:1");
              assertThat(db.calls.get()).isEqualTo(1);
              assertThat(products.plain("2")).isEqualTo("plain:2");
              OrderLookup orders = ctx.getBean(OrderLookup.class);
              assertThat(orders.order("7")).isEqualTo("row:order 7");
              assertThat(orders.order("7")).isEqualTo("row:order 7");
              assertThat(db.calls.get()).isEqualTo(2);
            });
  }

  @Test
  void classAnnotations_throughASubclassProxy_guardAndCache_butNotCallsFromInside() {
    runner
        .withUserConfiguration(Fixtures.Beans.class)
        .run(
            ctx -> {
              PriceService prices = ctx.getBean(PriceService.class);
              Backend db = ctx.getBean(Backend.class);
              assertThat(AopUtils.isCglibProxy(prices)).isTrue();
              assertThat(prices.price("a")).isEqualTo("row:a");
              db.down.set(true);
              // Cached: answered stale while the database is out.
              await()
                  .atMost(Duration.ofSeconds(5))
                  .untilAsserted(() -> assertThat(prices.price("a")).isEqualTo("row:a"));
              // Guarded: the failed loads and calls open the breaker (two failures), then no call
              // reaches the database.
              for (int i = 0; i < 2; i++) {
                // The cache's failed reloads may have opened it already.
                assertThatThrownBy(() -> prices.write("x"))
                    .isInstanceOfAny(
                        UncheckedIOException.class, DependencyUnavailableException.class);
              }
              int before = db.calls.get();
              assertThatThrownBy(() -> prices.write("x"))
                  .isInstanceOf(DependencyUnavailableException.class);
              assertThat(db.calls.get()).isEqualTo(before);
              // A call from inside the bean passes no proxy: it reaches the database regardless.
              assertThatThrownBy(() -> prices.writeFromInside("x"))
                  .isInstanceOf(UncheckedIOException.class);
              assertThat(db.calls.get()).isEqualTo(before + 1);
            });
  }

  @Test
  void health_ofEveryComponent_includingTheCachesTheWiringBuilt() {
    runner
        .withUserConfiguration(Fixtures.Beans.class, Fixtures.QueueBeans.class)
        .withPropertyValues(queue())
        .withPropertyValues("outlast.health.importance.prices=core")
        .run(
            ctx -> {
              assertThat(ctx).hasNotFailed();
              HealthReport report = ctx.getBean(dev.outlast.core.health.Health.class).snapshot();
              assertThat(report.components())
                  .extracting(c -> c.component() + ":" + c.kind() + ":" + c.importance())
                  .containsExactly(
                      "mysql:guard:DEPENDENT",
                      "orders:queue:DEPENDENT",
                      "products:cache:DEPENDENT",
                      "prices:cache:CORE");
              assertThat(report.status()).isEqualTo(HealthStatus.UP);
            });
  }

  @Test
  void aCacheRenamedForAGuardOfItsName_takesTheImportanceGivenUnderItsNewName() {
    runner
        .withUserConfiguration(Fixtures.Beans.class)
        // A guard named as the cache: the cache becomes products-cache among the components.
        .withPropertyValues(
            "outlast.guard.products.preset=database",
            "outlast.health.importance.products-cache=core")
        .run(
            ctx -> {
              assertThat(ctx).hasNotFailed();
              List<Parts.Part> parts =
                  ctx.getBean(OutlastAutoConfiguration.OutlastStartup.class).parts();
              assertThat(parts)
                  .filteredOn(p -> p.kind().equals("cache"))
                  .extracting(p -> p.name() + ":" + p.importance())
                  .containsExactlyInAnyOrder("products-cache:CORE", "prices:DEPENDENT");
              assertThat(parts)
                  .filteredOn(p -> p.kind().equals("guard"))
                  .extracting(p -> p.name() + ":" + p.importance())
                  .contains("products:DEPENDENT");
            });
  }

  @Test
  void lazyAnnotatedBeans_theirSettingsDoNotFailTheStart_andTheyAreWiredWhenMade() {
    runner
        .withInitializer(
            c -> c.addBeanFactoryPostProcessor(new LazyInitializationBeanFactoryPostProcessor()))
        .withUserConfiguration(Fixtures.Beans.class)
        .withPropertyValues(
            "outlast.cache.products.fresh-for=1h", "outlast.health.importance.products=core")
        .run(
            ctx -> {
              assertThat(ctx).hasNotFailed();
              assertThat(ctx.getBean(Outlast.class).components()).doesNotContainKey("products");
              ProductRepository products = ctx.getBean(ProductRepository.class);
              assertThat(products.find("1")).isEqualTo("row:1");
              assertThat(products.find("1")).isEqualTo("row:1");
              assertThat(ctx.getBean(Backend.class).calls.get()).isEqualTo(1);
              assertThat(ctx.getBean(OutlastAutoConfiguration.OutlastStartup.class).parts())
                  .filteredOn(p -> p.name().equals("products"))
                  .extracting(Parts.Part::importance)
                  .containsExactly(dev.outlast.core.health.Importance.CORE);
            });
  }

  @Test
  void disabled_configuresNothing() {
    runner
        .withUserConfiguration(Fixtures.Beans.class)
        .withPropertyValues("outlast.enabled=false")
        .run(
            ctx -> {
              assertThat(ctx).hasNotFailed().doesNotHaveBean(Outlast.class);
              assertThat(AopUtils.isAopProxy(ctx.getBean(ProductRepository.class))).isFalse();
            });
  }

  /** Stands for the web server, which stops in this phase (Spring Boot's). */
  static final int WEB_SERVER_PHASE = Integer.MAX_VALUE - 2048;

  @Configuration(proxyBeanMethods = false)
  static class Recording {
    final List<String> steps = new CopyOnWriteArrayList<>();

    @Bean
    ShutdownObserver shutdownObserver() {
      return steps::add;
    }

    @Bean
    SmartLifecycle webServer() {
      return new SmartLifecycle() {
        private volatile boolean running;

        @Override
        public void start() {
          running = true;
        }

        @Override
        public void stop() {
          running = false;
          steps.add("web server");
        }

        @Override
        public boolean isRunning() {
          return running;
        }

        @Override
        public int getPhase() {
          return WEB_SERVER_PHASE;
        }
      };
    }
  }

  @Test
  void shutdown_closesQueuesAfterTheWebServer_thenOutlast_thenGuards() {
    List<List<String>> steps = new CopyOnWriteArrayList<>();
    runner
        .withUserConfiguration(Fixtures.Beans.class, Fixtures.QueueBeans.class, Recording.class)
        .withPropertyValues(queue())
        .withPropertyValues("outlast.guard.mysql.recovery-probe=none")
        .run(
            ctx -> {
              assertThat(ctx).hasNotFailed();
              steps.add(ctx.getBean(Recording.class).steps);
              ctx.getBean(ProductRepository.class).find("1");
            });
    assertThat(steps.get(0)).containsExactly("web server", "queue orders", "outlast", "guards");
  }

  /** A final class cannot be subclassed: its annotation would do nothing. */
  static final class FinalService {
    @Guarded("mysql")
    public String a() {
      return "a";
    }
  }

  @Configuration(proxyBeanMethods = false)
  static class FinalBean {
    @Bean
    FinalService finalService() {
      return new FinalService();
    }
  }

  @Test
  void anAnnotatedFinalClass_failsTheStart() {
    runner
        .withUserConfiguration(FinalBean.class)
        .run(
            ctx ->
                Failures.assertThat(ctx)
                    .contains("FinalService.a(): @Guarded would do nothing: the class is final")
                    .contains("Action: Remove final from FinalService"));
  }
}
