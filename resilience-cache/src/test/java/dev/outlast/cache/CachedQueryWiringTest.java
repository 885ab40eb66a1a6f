package dev.outlast.cache;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.outlast.core.Guard;
import dev.outlast.core.annotation.CachedQuery;
import dev.outlast.core.annotation.Guarded;
import dev.outlast.core.annotation.Outlast;
import dev.outlast.core.annotation.ReadFallback;
import dev.outlast.core.annotation.WiringException;
import dev.outlast.testkit.Unreachable;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/** {@code @CachedQuery}'s wiring: what it caches, by which key, and each misconfiguration. */
class CachedQueryWiringTest {
  interface Catalog {
    @Guarded("db")
    @CachedQuery(
        name = "prices",
        tags = {"sku:{0}", "all"})
    Optional<String> price(String sku, int qty);

    @Guarded("db")
    @CachedQuery
    List<String> skus();
  }

  private final Guard db = Guard.ofDefaults("db");

  @Test
  void answersAreCachedPerArgumentList_andTagsInvalidate() {
    AtomicInteger loads = new AtomicInteger();
    Catalog impl =
        new Catalog() {
          @Override
          public Optional<String> price(String sku, int qty) {
            loads.incrementAndGet();
            return Optional.of(sku + "x" + qty + "#" + loads.get());
          }

          @Override
          public List<String> skus() {
            loads.incrementAndGet();
            return List.of("a", "b");
          }
        };
    try (Outlast o = Outlast.builder().guard(db).build()) {
      Catalog c = o.wrap(Catalog.class, impl);
      assertThat(c.price("a", 1)).contains("ax1#1");
      assertThat(c.price("a", 1)).contains("ax1#1");
      assertThat(c.price("a", 2)).contains("ax2#2");
      assertThat(c.skus()).containsExactly("a", "b");
      assertThat(c.skus()).containsExactly("a", "b");
      assertThat(loads).hasValue(3);

      QueryCache<?, ?> prices = o.component("prices", QueryCache.class);
      assertThat(o.component("Catalog.skus", QueryCache.class).name()).isEqualTo("Catalog.skus");
      prices.invalidateTag("sku:a");
      assertThat(c.price("a", 1)).contains("ax1#4");
      assertThat(prices.stats().loads()).isEqualTo(3);
    }
  }

  @Test
  void nullFromTheImplementation_isNamed() {
    interface Nulls {
      @Guarded("db")
      @CachedQuery
      String name(long id);
    }
    try (Outlast o = Outlast.builder().guard(db).build()) {
      // A misbehaving implementation, as the proxy would meet it.
      Nulls n = o.wrap(Nulls.class, id -> nothing());
      assertThatThrownBy(() -> n.name(3))
          .hasMessageContaining("Nulls.name(3) returned null")
          .hasMessageContaining("return an Optional");
    }
  }

  @Test
  void propertiesReplaceTheAnnotation() {
    AtomicInteger loads = new AtomicInteger();
    interface Counter {
      @Guarded("db")
      @CachedQuery(freshFor = "1h")
      Integer next();
    }
    try (Outlast o =
        Outlast.builder()
            .guard(db)
            .properties(Map.of("outlast.cache.Counter.next.maximum-size", "5"))
            .build()) {
      Counter c = o.wrap(Counter.class, loads::incrementAndGet);
      assertThat(c.next()).isEqualTo(1);
      assertThat(c.next()).isEqualTo(1);
    }
    assertThatThrownBy(
            () ->
                Outlast.builder()
                    .guard(db)
                    .properties(Map.of("outlast.cache.Counter.next.fresh-for", "soon"))
                    .build()
                    .wrap(Counter.class, loads::incrementAndGet))
        .isInstanceOf(WiringException.class)
        .hasMessageContaining("Counter.next(): property outlast.cache.Counter.next.fresh-for")
        .hasMessageContaining("is 'soon', which is not a duration")
        .hasMessageContaining("500ms, 30s, 5m");
    assertThatThrownBy(
            () ->
                Outlast.builder()
                    .properties(Map.of("outlast.cache.Counter.next.fresh-fro", "1s"))
                    .build())
        .isInstanceOf(WiringException.class)
        .hasMessageContaining("cache has no attribute 'fresh-fro'");
  }

  @SuppressWarnings("NullAway") // on purpose: what a broken implementation returns
  private static String nothing() {
    return null;
  }

  // ---- misconfigurations ----

  interface ReturnsNothing {
    @Guarded("db")
    @CachedQuery
    void touch(long id);
  }

  interface ReturnsFuture {
    @Guarded("db")
    @CachedQuery
    CompletableFuture<String> name(long id);
  }

  interface ReturnsStream {
    @Guarded("db")
    @CachedQuery
    Stream<String> names();
  }

  interface ReturnsArray {
    @Guarded("db")
    @CachedQuery
    String[] names();
  }

  @Test
  void uncacheableReturnTypes() {
    assertWiring(ReturnsNothing.class)
        .hasMessageContaining(
            "ReturnsNothing.touch(long): @CachedQuery: the method returns nothing")
        .hasMessageContaining("Fix: cache a method that returns a value");
    assertWiring(ReturnsFuture.class)
        .hasMessageContaining("returns a CompletableFuture, which can be used only once");
    assertWiring(ReturnsStream.class)
        .hasMessageContaining("returns a Stream, which can be used only once");
    assertWiring(ReturnsArray.class)
        .hasMessageContaining("returns an array, which every caller would share");
  }

  interface ArrayKey {
    @Guarded("db")
    @CachedQuery
    String name(byte[] id);
  }

  interface Unguarded {
    @CachedQuery
    String name(long id);
  }

  interface WithFallback {
    @Guarded("db")
    @CachedQuery
    @ReadFallback(method = "other")
    String name(long id);

    String other(long id);
  }

  interface BadTag {
    @Guarded("db")
    @CachedQuery(tags = "product:{1}")
    String name(long id);
  }

  interface BadFreshness {
    @Guarded("db")
    @CachedQuery(freshFor = "10m", serveStaleFor = "1m")
    String name(long id);
  }

  interface SameName {
    @Guarded("db")
    @CachedQuery(name = "names")
    String name(long id);

    @Guarded("db")
    @CachedQuery(name = "names")
    String otherName(long id);
  }

  @Test
  void otherMisconfigurations() {
    assertWiring(ArrayKey.class)
        .hasMessageContaining("ArrayKey.name(byte[]): parameter 0 is a byte[]")
        .hasMessageContaining("take a List or a record instead");
    assertWiring(Unguarded.class)
        .hasMessageContaining("Unguarded.name(long): @CachedQuery without @Guarded")
        .hasMessageContaining("add @Guarded(\"<dependency>\")");
    assertWiring(WithFallback.class)
        .hasMessageContaining("@ReadFallback cannot be combined with @CachedQuery");
    assertWiring(BadTag.class)
        .hasMessageContaining("the tag 'product:{1}' refers to argument {1}")
        .hasMessageContaining("use {0} to {0}");
    assertWiring(BadFreshness.class)
        .hasMessageContaining("its freshness cannot be: serveStaleFor (PT1M) is shorter");
    assertWiring(SameName.class).hasMessageContaining("a component named 'names' exists already");
  }

  private <T> org.assertj.core.api.AbstractThrowableAssert<?, ? extends Throwable> assertWiring(
      Class<T> type) {
    T impl = Unreachable.implementation(type);
    Outlast o = Outlast.builder().guard(db).build();
    return assertThatThrownBy(() -> o.wrap(type, impl)).isInstanceOf(WiringException.class);
  }
}
