package dev.outlast.core.annotation;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.outlast.core.DependencyUnavailableException;
import dev.outlast.core.Guard;
import dev.outlast.core.GuardConfig;
import dev.outlast.testkit.Unreachable;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/**
 * The proxy's logic, with in-memory implementations: pass-through, the Object methods, default
 * methods, guards and fallbacks, and a message for every misconfiguration core can see. Outages of
 * real servers are in the cache and sink modules' tests.
 */
class OutlastTest {
  /** Fails with an outage (an IOException) while {@code down} is set. */
  static class Store {
    volatile boolean down;
    final AtomicInteger calls = new AtomicInteger();

    String read(String key) {
      calls.incrementAndGet();
      if (down) {
        throw new UncheckedIOException(new IOException("connection refused"));
      }
      if (key.isEmpty()) {
        throw new IllegalArgumentException("empty key");
      }
      return "store:" + key;
    }
  }

  interface Accounts {
    String name(long id);

    @Guarded("store")
    @ReadFallback(method = "fromLedger")
    String balance(String account);

    @Guarded("ledger")
    String fromLedger(String account);

    @Guarded("store")
    String owner(String account) throws SQLException;

    default String summary(String account) {
      return name(1) + "/" + balance(account);
    }
  }

  static final class RealAccounts implements Accounts {
    final Store store;
    final Store ledger;
    final List<String> calls = new ArrayList<>();

    RealAccounts(Store store, Store ledger) {
      this.store = store;
      this.ledger = ledger;
    }

    @Override
    public String name(long id) {
      calls.add("name");
      return "account " + id;
    }

    @Override
    public String balance(String account) {
      return store.read(account);
    }

    @Override
    public String fromLedger(String account) {
      return ledger.read(account).replace("store:", "ledger:");
    }

    @Override
    public String owner(String account) throws SQLException {
      throw new SQLException("duplicate key", "23000");
    }

    @Override
    public boolean equals(Object o) {
      return o instanceof RealAccounts r && r.store == store;
    }

    @Override
    public int hashCode() {
      return 42;
    }

    @Override
    public String toString() {
      return "RealAccounts";
    }
  }

  private final Store store = new Store();
  private final Store ledger = new Store();
  private final Guard storeGuard = Guard.of("store", quick());
  private final Guard ledgerGuard = Guard.of("ledger", quick());

  private static GuardConfig quick() {
    return GuardConfig.custom()
        .maxAttempts(1)
        .slidingWindowSize(4)
        .minimumNumberOfCalls(2)
        .openWait(Duration.ofMinutes(5))
        .maxOpenWait(Duration.ofMinutes(5))
        .build();
  }

  private Outlast.Builder outlast() {
    return Outlast.builder().guard(storeGuard).guard(ledgerGuard);
  }

  @Test
  void unannotatedMethods_passStraightThrough() {
    RealAccounts real = new RealAccounts(store, ledger);
    Accounts a = outlast().build().wrap(Accounts.class, real);
    assertThat(a.name(7)).isEqualTo("account 7");
    assertThat(real.calls).containsExactly("name");
    assertThat(storeGuard.snapshot().toString()).doesNotContain("calls=1");
  }

  @Test
  void readFallback_answersFromTheLedger_onlyDuringAnOutage() {
    Accounts a = outlast().build().wrap(Accounts.class, new RealAccounts(store, ledger));
    assertThat(a.balance("alice")).isEqualTo("store:alice");

    store.down = true;
    assertThat(a.balance("alice")).isEqualTo("ledger:alice");
    assertThat(a.balance("alice")).isEqualTo("ledger:alice");
    // The store's breaker is open now: the ledger answers without the store being asked.
    int storeCalls = store.calls.get();
    assertThat(storeGuard.state()).isEqualTo(Guard.State.OPEN);
    assertThat(a.balance("bob")).isEqualTo("ledger:bob");
    assertThat(store.calls.get()).isEqualTo(storeCalls);

    // An error of the call itself is not an outage: thrown, not answered from elsewhere.
    store.down = false;
    Accounts b =
        Outlast.builder()
            .guard(Guard.of("store", quick()))
            .guard(Guard.of("ledger", quick()))
            .build()
            .wrap(Accounts.class, new RealAccounts(store, ledger));
    assertThatThrownBy(() -> b.balance(""))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("empty key");
  }

  @Test
  void readFallback_whenBothAreOut_throwsTheLastFailure_withTheFirstSuppressed() {
    Accounts a = outlast().build().wrap(Accounts.class, new RealAccounts(store, ledger));
    store.down = true;
    ledger.down = true;
    assertThatThrownBy(() -> a.balance("alice"))
        .isInstanceOf(UncheckedIOException.class)
        .satisfies(t -> assertThat(t.getSuppressed()).hasSize(1));
  }

  @Test
  void readFallback_toASource_callsTheSameMethodOnIt() {
    interface Prices {
      @Guarded("store")
      @ReadFallback(source = "replica", dependency = "ledger")
      String price(String sku);
    }
    Prices replica = sku -> "replica:" + sku;
    Prices primary = sku -> store.read(sku);
    Prices p = outlast().resource("replica", replica).build().wrap(Prices.class, primary);
    store.down = true;
    assertThat(p.price("x")).isEqualTo("replica:x");
  }

  @Test
  void guardedMethod_keepsItsDeclaredCheckedException_andFailsFastWhenOpen() {
    Accounts a = outlast().build().wrap(Accounts.class, new RealAccounts(store, ledger));
    assertThatThrownBy(() -> a.owner("x"))
        .isInstanceOf(SQLException.class)
        .hasMessage("duplicate key");

    interface Reader {
      @Guarded("store")
      String read(String k);
    }
    Reader r = outlast().build().wrap(Reader.class, store::read);
    store.down = true;
    for (int i = 0; i < 4; i++) {
      assertThatThrownBy(() -> r.read("k")).isInstanceOf(RuntimeException.class);
    }
    assertThatThrownBy(() -> r.read("k"))
        .isInstanceOf(DependencyUnavailableException.class)
        .hasMessageContaining("store");
  }

  @Test
  void objectMethods_andDefaultMethods_behaveAsExpected() {
    RealAccounts real = new RealAccounts(store, ledger);
    Outlast o = outlast().build();
    Accounts a = o.wrap(Accounts.class, real);
    Accounts again = o.wrap(Accounts.class, new RealAccounts(store, ledger));
    Accounts other = o.wrap(Accounts.class, new RealAccounts(new Store(), ledger));

    assertThat(a.equals(a)).as("reflexive").isTrue();
    assertThat(a).isEqualTo(again).isNotEqualTo(other).isNotEqualTo(real);
    assertThat(a.hashCode()).isEqualTo(42).isEqualTo(again.hashCode());
    assertThat(a.toString()).contains("Accounts").contains("RealAccounts");

    // The default method runs on the proxy: its call to balance() falls back like any other.
    store.down = true;
    assertThat(a.summary("alice")).isEqualTo("account 1/ledger:alice");
    assertThat(real.calls).containsExactly("name");
  }

  @Test
  void componentsAndClose() {
    Outlast o = outlast().build();
    assertThatThrownBy(() -> o.component("products", Object.class))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("no component named 'products'");
    o.close();
    o.close();
    assertThatThrownBy(() -> o.wrap(Accounts.class, new RealAccounts(store, ledger)))
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("closed");
  }

  @Test
  @SuppressWarnings("UnusedMethod") // a and b are called by the proxy, as fallbacks
  void properties_replaceAnnotationValues() {
    Store third = new Store();
    interface Reader {
      @Guarded("store")
      @ReadFallback(method = "a")
      String read(String k);

      String a(String k);

      String b(String k);
    }
    Reader impl =
        new Reader() {
          @Override
          public String read(String k) {
            return third.read(k);
          }

          @Override
          public String a(String k) {
            return "a";
          }

          @Override
          public String b(String k) {
            return "b";
          }
        };
    Reader r =
        Outlast.builder()
            .guard(Guard.of("other", quick()))
            .properties(
                Map.of(
                    "outlast.guarded.Reader.read.dependency", "other",
                    "outlast.fallback.Reader.read.method", "b"))
            .build()
            .wrap(Reader.class, impl);
    third.down = true;
    assertThat(r.read("k")).isEqualTo("b");
  }

  // ---- misconfigurations: each fails at wiring, naming the method and the fix ----

  interface MissingFallback {
    @Guarded("store")
    @ReadFallback(method = "fromLedgr")
    String balance(String account);

    String fromLedger(String account);
  }

  @Test
  void missingFallbackMethod() {
    assertWiring(MissingFallback.class)
        .hasMessageContaining("MissingFallback.balance(String)")
        .hasMessageContaining("no method fromLedgr(String)")
        .hasMessageContaining("Fix: declare String fromLedgr(String)");
  }

  interface FallbackWithOtherParameters {
    @Guarded("store")
    @ReadFallback(method = "fromLedger")
    String balance(String account);

    String fromLedger(long account);
  }

  @Test
  void fallbackMethodWithOtherParameters() {
    assertWiring(FallbackWithOtherParameters.class)
        .hasMessageContaining("FallbackWithOtherParameters.balance(String)")
        .hasMessageContaining("there is String fromLedger(long), with other parameters")
        .hasMessageContaining("a fallback takes the same parameters");
  }

  interface FallbackReturningOtherType {
    @Guarded("store")
    @ReadFallback(method = "fromLedger")
    Optional<String> balance(String account);

    Optional<Long> fromLedger(String account);
  }

  @Test
  void fallbackMethodReturningAnotherType() {
    assertWiring(FallbackReturningOtherType.class)
        .hasMessageContaining("FallbackReturningOtherType.balance(String)")
        .hasMessageContaining("returns Optional<Long>")
        .hasMessageContaining("cannot stand in for Optional<String>")
        .hasMessageContaining("make fromLedger return Optional<String>");
  }

  interface FallbackLoop {
    @Guarded("store")
    @ReadFallback(method = "b")
    String a(String k);

    @Guarded("ledger")
    @ReadFallback(method = "a")
    String b(String k);
  }

  @Test
  void fallbackLoop() {
    assertWiring(FallbackLoop.class)
        .hasMessageMatching(".*form a loop: (a -> b -> a|b -> a -> b)\\. Fix: end the chain.*");
  }

  interface FallbackWithoutGuard {
    @ReadFallback(method = "b")
    String a(String k);

    String b(String k);
  }

  @Test
  void fallbackWithoutGuard() {
    assertWiring(FallbackWithoutGuard.class)
        .hasMessageContaining("FallbackWithoutGuard.a(String): @ReadFallback without @Guarded")
        .hasMessageContaining("add @Guarded(\"<dependency>\")");
  }

  interface FallbackNamingBoth {
    @Guarded("store")
    @ReadFallback(method = "b", source = "replica")
    String a(String k);

    String b(String k);
  }

  @Test
  void fallbackNamingBothMethodAndSource() {
    assertWiring(FallbackNamingBoth.class)
        .hasMessageContaining("must name exactly one of method and source, it names both");
  }

  interface UnknownSource {
    @Guarded("store")
    @ReadFallback(source = "replica")
    String a(String k);
  }

  @Test
  void unknownFallbackSource() {
    assertWiring(UnknownSource.class)
        .hasMessageContaining("UnknownSource.a(String): @ReadFallback(source = \"replica\")")
        .hasMessageContaining("no resource has that name")
        .hasMessageContaining("Outlast.builder().resource(\"replica\", impl)");
  }

  interface UnknownDependency {
    @Guarded("mysqll")
    String a(String k);
  }

  @Test
  void unknownDependency() {
    assertWiring(UnknownDependency.class)
        .hasMessageContaining("UnknownDependency.a(String): @Guarded names dependency 'mysqll'")
        .hasMessageContaining("Guard.of(\"mysqll\", config)")
        .hasMessageContaining("registered are [ledger, store]");
  }

  interface Cached {
    @Guarded("store")
    @CachedQuery
    String a(String k);
  }

  interface Spilled {
    @SpillOnFailure(queue = "orders")
    void publish(String event);
  }

  @Test
  void cacheAndQueueAnnotations_withoutTheirModules_failInsteadOfDoingNothing() {
    // Core's tests run without resilience-cache and resilience-buffer on the class path.
    assertWiring(Cached.class)
        .hasMessageContaining("Cached.a(String): @CachedQuery needs the module resilience-cache")
        .hasMessageContaining("add the dependency dev.outlast:resilience-cache");
    assertWiring(Spilled.class)
        .hasMessageContaining("@SpillOnFailure needs the module resilience-buffer");
  }

  interface Plain {
    String a(String k);
  }

  @Test
  void annotationsOnTheImplementation_areAnError() {
    class Annotated implements Plain {
      @Override
      @Guarded("store")
      public String a(String k) {
        return k;
      }
    }
    assertThatThrownBy(() -> outlast().build().wrap(Plain.class, new Annotated()))
        .isInstanceOf(WiringException.class)
        .hasMessageContaining("Annotated.a: @Guarded is on the implementation")
        .hasMessageContaining("Move it to Plain.a");
  }

  @Test
  void badProperties() {
    assertThatThrownBy(
            () -> outlast().properties(Map.of("outlast.guardd.Plain.a.dependency", "x")).build())
        .isInstanceOf(WiringException.class)
        .hasMessageContaining("unknown kind 'guardd'")
        .hasMessageContaining("[fallback, guarded]");
    assertThatThrownBy(
            () -> outlast().properties(Map.of("outlast.guarded.Plain.a.dependncy", "x")).build())
        .isInstanceOf(WiringException.class)
        .hasMessageContaining("guarded has no attribute 'dependncy'; it has [dependency]");
    assertThatThrownBy(() -> outlast().properties(Map.of("outlast.guarded", "x")).build())
        .isInstanceOf(WiringException.class)
        .hasMessageContaining("expected outlast.<kind>.<name>.<attribute>");
    Outlast o = outlast().properties(Map.of("outlast.guarded.Plain.b.dependency", "x")).build();
    assertThatThrownBy(() -> o.wrap(Plain.class, k -> k))
        .isInstanceOf(WiringException.class)
        .hasMessageContaining("Plain has no method b annotated for them")
        .hasMessageContaining("Methods of Plain: a");
  }

  @Test
  void durations() {
    assertThat(Settings.parseDuration("500ms")).isEqualTo(Duration.ofMillis(500));
    assertThat(Settings.parseDuration("30s")).isEqualTo(Duration.ofSeconds(30));
    assertThat(Settings.parseDuration("5m")).isEqualTo(Duration.ofMinutes(5));
    assertThat(Settings.parseDuration("2h")).isEqualTo(Duration.ofHours(2));
    assertThat(Settings.parseDuration("1d")).isEqualTo(Duration.ofDays(1));
    assertThat(Settings.parseDuration("PT1M")).isEqualTo(Duration.ofMinutes(1));
    assertThat(Settings.parseDuration("30")).isNull();
    assertThat(Settings.parseDuration("-PT1S")).isNull();
    assertThat(Settings.parseDuration("99999999999999999999s")).isNull();
  }

  private <T> org.assertj.core.api.AbstractThrowableAssert<?, ? extends Throwable> assertWiring(
      Class<T> type) {
    T impl = Unreachable.implementation(type);
    return assertThatThrownBy(() -> outlast().build().wrap(type, impl))
        .isInstanceOf(WiringException.class);
  }
}
