package dev.outlast.core.annotation;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.outlast.core.Guard;
import dev.outlast.core.GuardConfig;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.reflect.InvocationHandler;
import java.lang.reflect.Method;
import java.lang.reflect.Proxy;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;
import org.jspecify.annotations.Nullable;
import org.junit.jupiter.api.Test;

/**
 * The doors for frameworks that make their own proxies ({@link Outlast#handler}), the check that
 * properties name what was wired ({@link Outlast#checkSettingsUsed}), {@link Outlast#components},
 * and resources looked up by name.
 */
class OutlastHandlerTest {
  private final Guard store = Guard.of("store", quick());

  private static GuardConfig quick() {
    return GuardConfig.custom()
        .maxAttempts(1)
        .slidingWindowSize(2)
        .minimumNumberOfCalls(2)
        .openWait(Duration.ofMinutes(5))
        .maxOpenWait(Duration.ofMinutes(5))
        .build();
  }

  /** A class whose own methods are annotated, as a Spring bean proxied by a subclass would be. */
  public static class Prices {
    final AtomicBoolean down = new AtomicBoolean();
    final List<String> calls = new ArrayList<>();

    @Guarded("store")
    @ReadFallback(method = "fromLedger")
    public String price(String sku) {
      calls.add("price");
      if (down.get()) {
        throw new UncheckedIOException(new IOException("connection refused"));
      }
      return "store:" + sku;
    }

    public String fromLedger(String sku) {
      calls.add("fromLedger");
      return "ledger:" + sku;
    }

    public String plain(String sku) {
      calls.add("plain");
      return sku;
    }
  }

  /** What a framework's interceptor does: hands the call to the handler. */
  private static Object call(InvocationHandler h, Object proxy, Method m, Object... args)
      throws Throwable {
    return h.invoke(proxy, m, args);
  }

  @Test
  void handler_ofAClass_wiresItsAnnotatedPublicMethods() throws Throwable {
    Prices target = new Prices();
    InvocationHandler h = Outlast.builder().guard(store).build().handler(Prices.class, target);
    Method price = Prices.class.getMethod("price", String.class);
    Method plain = Prices.class.getMethod("plain", String.class);

    assertThat(call(h, target, price, "a")).isEqualTo("store:a");
    assertThat(call(h, target, plain, "b")).isEqualTo("b");
    target.down.set(true);
    assertThat(call(h, target, price, "a")).isEqualTo("ledger:a");
    assertThat(call(h, target, price, "a")).isEqualTo("ledger:a");
    // The breaker opened after two failures: the store is not called any more.
    int before = target.calls.size();
    assertThat(call(h, target, price, "a")).isEqualTo("ledger:a");
    assertThat(target.calls.subList(before, target.calls.size())).containsExactly("fromLedger");
    assertThat(store.state()).isEqualTo(Guard.State.OPEN);
  }

  interface Reader {
    @Guarded("store")
    String read(String k);

    default String twice(String k) {
      return read(k) + read(k);
    }
  }

  @Test
  void handler_ofAnInterface_runsDefaultMethodsOnTheCallersProxy_andPassesObjectMethodsOn()
      throws Throwable {
    List<String> seen = new ArrayList<>();
    Reader impl =
        new Reader() {
          @Override
          public String read(String k) {
            seen.add(k);
            return k;
          }

          @Override
          public String toString() {
            return "impl";
          }
        };
    InvocationHandler h = Outlast.builder().guard(store).build().handler(Reader.class, impl);
    // A proxy made by someone else, whose every call goes to the handler.
    Reader proxy =
        (Reader)
            Proxy.newProxyInstance(
                Reader.class.getClassLoader(),
                new Class<?>[] {Reader.class},
                (p, m, a) -> h.invoke(p, m, a));
    assertThat(proxy.twice("x")).isEqualTo("xx");
    assertThat(seen).containsExactly("x", "x");
    assertThat(proxy.toString()).isEqualTo("impl");
    store.addListener((g, from, to) -> seen.add(to.name()));
    assertThat(store.snapshot().toString()).contains("store");
  }

  interface Bare {
    String read(String k);
  }

  @Test
  void handler_ofAnInterface_doesNotReadTheImplementationsAnnotations() {
    // The framework decides whether it wires them (through a handler of the class).
    class Annotated implements Bare {
      @Override
      @Guarded("store")
      public String read(String k) {
        return k;
      }
    }
    Outlast o = Outlast.builder().guard(store).build();
    assertThat(o.handler(Bare.class, new Annotated())).isNotNull();
    assertThatThrownBy(() -> o.wrap(Bare.class, new Annotated()))
        .isInstanceOf(WiringException.class)
        .hasMessageContaining("is on the implementation");
  }

  public static final class FinalClass {
    @Guarded("store")
    public String a() {
      return "a";
    }
  }

  public static class FinalMethod {
    @Guarded("store")
    public final String a() {
      return "a";
    }
  }

  public static class PrivateMethod {
    @Guarded("store")
    private String a() {
      return "a";
    }

    public String b() {
      return a();
    }
  }

  public static class PackageMethod {
    @Guarded("store")
    String a() {
      return "a";
    }
  }

  public static class StaticMethod {
    @Guarded("store")
    public static String a() {
      return "a";
    }
  }

  public static class Base {
    @Guarded("store")
    public String a() {
      return "a";
    }
  }

  public static class OverrideWithoutAnnotation extends Base {
    @Override
    public String a() {
      return "b";
    }
  }

  @Test
  void handler_ofAClass_refusesWhatAProxyCannotIntercept() {
    Outlast o = Outlast.builder().guard(store).build();
    assertThatThrownBy(() -> o.handler(FinalClass.class, new FinalClass()))
        .isInstanceOf(WiringException.class)
        .hasMessageContaining("FinalClass.a(): @Guarded would do nothing: the class is final")
        .hasMessageContaining("Fix: remove final from FinalClass, or put the annotations on an");
    assertThatThrownBy(() -> o.handler(FinalMethod.class, new FinalMethod()))
        .isInstanceOf(WiringException.class)
        .hasMessageContaining("FinalMethod.a(): @Guarded would do nothing: it is final")
        .hasMessageContaining("Fix: remove final from the method");
    assertThatThrownBy(() -> o.handler(PrivateMethod.class, new PrivateMethod()))
        .isInstanceOf(WiringException.class)
        .hasMessageContaining("PrivateMethod.a(): @Guarded would do nothing: it is private")
        .hasMessageContaining("Fix: make it public");
    assertThatThrownBy(() -> o.handler(PackageMethod.class, new PackageMethod()))
        .isInstanceOf(WiringException.class)
        .hasMessageContaining("it is not public");
    assertThatThrownBy(() -> o.handler(StaticMethod.class, new StaticMethod()))
        .isInstanceOf(WiringException.class)
        .hasMessageContaining("it is static");
    assertThatThrownBy(
            () -> o.handler(OverrideWithoutAnnotation.class, new OverrideWithoutAnnotation()))
        .isInstanceOf(WiringException.class)
        .hasMessageContaining("Base.a(): @Guarded would do nothing: it is overridden in")
        .hasMessageContaining("Fix: repeat @Guarded on OverrideWithoutAnnotation.a");
  }

  public static class PrivateFallback {
    @Guarded("store")
    @ReadFallback(method = "other")
    public String a(String k) {
      return k;
    }

    @SuppressWarnings("UnusedMethod") // named by the annotation
    private String other(String k) {
      return k;
    }
  }

  @Test
  void handler_ofAClass_needsAPublicFallbackMethod() {
    assertThatThrownBy(
            () ->
                Outlast.builder()
                    .guard(store)
                    .build()
                    .handler(PrivateFallback.class, new PrivateFallback()))
        .isInstanceOf(WiringException.class)
        .hasMessageContaining("@ReadFallback(method = \"other\"): other is not public")
        .hasMessageContaining("Fix: make other public");
  }

  @Test
  void checkSettingsUsed_namesPropertiesThatNameNothingWired() {
    Outlast o =
        Outlast.builder()
            .guard(store)
            .properties(
                Map.of(
                    "outlast.guarded.Prices.price.dependency", "store",
                    "outlast.guarded.Pricess.price.dependency", "store"))
            .build();
    var unused = o.handler(Prices.class, new Prices());
    assertThatThrownBy(o::checkSettingsUsed)
        .isInstanceOf(WiringException.class)
        .hasMessageContaining("outlast.guarded.Pricess.price.*")
        .hasMessageContaining("the guarded names wired are [Prices.price]")
        .hasMessageContaining("Fix: correct the name");

    Outlast fine =
        Outlast.builder()
            .guard(store)
            .properties(Map.of("outlast.guarded.Prices.price.dependency", "store"))
            .build();
    assertThat(fine.handler(Prices.class, new Prices())).isNotNull();
    fine.checkSettingsUsed();
    assertThat(fine.components()).isEmpty();
  }

  interface ByName {
    @Guarded("store")
    @ReadFallback(source = "ledger")
    String read(String k);
  }

  @Test
  @SuppressWarnings("UnusedMethod") // Other.read is wired, never called
  void resourcesNotRegistered_areLookedUpByName() {
    ByName ledger = k -> "ledger:" + k;
    ByName failing =
        k -> {
          throw new UncheckedIOException(new IOException("connection refused"));
        };
    Map<String, Object> registry = Map.of("ledger", ledger);
    java.util.function.Function<String, @Nullable Object> lookup =
        new java.util.function.Function<>() {
          @Override
          public @Nullable Object apply(String name) {
            return registry.get(name);
          }

          @Override
          public String toString() {
            return "the test's registry";
          }
        };
    ByName b =
        Outlast.builder().guard(store).resourceLookup(lookup).build().wrap(ByName.class, failing);
    assertThat(b.read("k")).isEqualTo("ledger:k");

    interface Other {
      @Guarded("store")
      @ReadFallback(source = "nothing")
      String read(String k);
    }
    Other impl = k -> k;
    assertThatThrownBy(
            () ->
                Outlast.builder()
                    .guard(store)
                    .resourceLookup(lookup)
                    .build()
                    .wrap(Other.class, impl))
        .isInstanceOf(WiringException.class)
        .hasMessageContaining("other names are looked up in the test's registry");
  }
}
