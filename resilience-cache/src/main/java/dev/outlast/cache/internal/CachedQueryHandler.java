package dev.outlast.cache.internal;

import dev.outlast.cache.Freshness;
import dev.outlast.cache.QueryCache;
import dev.outlast.core.Guard;
import dev.outlast.core.annotation.CachedQuery;
import dev.outlast.core.annotation.Outlast;
import dev.outlast.core.annotation.spi.AnnotationHandler;
import dev.outlast.core.annotation.spi.Invoker;
import dev.outlast.core.annotation.spi.WiringSite;
import java.lang.annotation.Annotation;
import java.lang.reflect.Method;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.Spliterator;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Executor;
import java.util.concurrent.Future;
import java.util.concurrent.ScheduledExecutorService;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.BaseStream;
import org.jspecify.annotations.Nullable;

/**
 * Wires {@link CachedQuery}: one {@link QueryCache} per method, keyed by the argument list, loading
 * through the implementation under the method's guard, on the {@link Outlast}'s loader pool and
 * scheduler (shared by all its caches; each cache keeps its own bound on concurrent loads). Found
 * by core through {@link java.util.ServiceLoader}. Threadsafe and stateless.
 */
public final class CachedQueryHandler implements AnnotationHandler {
  private static final Pattern ARG = Pattern.compile("\\{(\\d+)}");
  private static final List<Class<?>> ONE_SHOT =
      List.of(
          Future.class, CompletionStage.class, BaseStream.class, Iterator.class, Spliterator.class);

  /** For {@link java.util.ServiceLoader}. */
  public CachedQueryHandler() {}

  @Override
  public Class<? extends Annotation> annotation() {
    return CachedQuery.class;
  }

  @Override
  public String kind() {
    return "cache";
  }

  @Override
  public Set<String> attributes() {
    return Set.of("fresh-for", "stale-while-revalidate", "serve-stale-for", "maximum-size", "tags");
  }

  @Override
  public Invoker wire(WiringSite site) {
    Method m = site.method();
    CachedQuery q = Objects.requireNonNull(m.getAnnotation(CachedQuery.class));
    checkReturnType(site, m.getReturnType());
    Class<?>[] params = m.getParameterTypes();
    for (int i = 0; i < params.length; i++) {
      if (params[i].isArray()) {
        throw site.problem(
            "parameter "
                + i
                + " is a "
                + params[i].getSimpleName()
                + ", and arrays are equal only to themselves, so no call would hit the cache",
            "take a List or a record instead");
      }
    }
    Guard guard = site.guard();
    if (guard == null) {
      throw site.problem(
          "@CachedQuery without @Guarded: the cache serves stale answers only during an outage,"
              + " and needs the dependency's guard to tell one",
          "add @Guarded(\"<dependency>\") naming the database the method queries");
    }
    String name = q.name().isEmpty() ? site.id() : q.name();
    if (!name.matches("[A-Za-z0-9._-]{1,64}")) {
      throw site.problem(
          "the cache name '" + name + "' is not 1-64 letters, digits, '.', '_' or '-'",
          "give @CachedQuery(name = ...) such a name");
    }
    Duration freshFor = site.duration(name, "fresh-for", q.freshFor());
    Duration swr = site.duration(name, "stale-while-revalidate", q.staleWhileRevalidate());
    Duration serveStale = site.duration(name, "serve-stale-for", q.serveStaleFor());
    long maximumSize = site.number(name, "maximum-size", q.maximumSize(), 1);
    String tagText = site.setting(name, "tags", String.join(",", q.tags()));
    List<String> tags = new ArrayList<>();
    for (String t : tagText.split(",", -1)) {
      if (!t.isBlank()) {
        tags.add(checkTag(site, t.trim(), params.length));
      }
    }
    Freshness freshness;
    try {
      freshness = Freshness.of(freshFor, swr, serveStale);
    } catch (IllegalArgumentException e) {
      throw site.problem("its freshness cannot be: " + e.getMessage(), "change the durations");
    }
    QueryCache.Builder<Object, Object> b =
        QueryCache.<Object, Object>builder(name)
            .guard(guard)
            .freshness(freshness)
            .maximumSize(maximumSize)
            .executor(site.resource(Outlast.LOADER_POOL, Executor.class, "loader pool"))
            .scheduler(
                site.resource(Outlast.SCHEDULER, ScheduledExecutorService.class, "scheduler"));
    if (!tags.isEmpty()) {
      b.tags((key, value) -> tagsOf(tags, key));
    }
    Invoker target = site.target();
    String where = site.id();
    QueryCache<Object, Object> cache =
        b.build(
            key ->
                Objects.requireNonNull(
                    invoke(target, key),
                    () ->
                        where
                            + new ArgsKey(argsOf(key))
                            + " returned null, which a cache cannot hold: return an Optional"
                            + " or an empty collection for \"no row\""));
    site.component(name, cache);
    return args -> cache.get(keyOf(args));
  }

  private static void checkReturnType(WiringSite site, Class<?> r) {
    String why = null;
    if (r == void.class || r == Void.class) {
      why = "returns nothing to cache";
    } else if (r.isArray()) {
      why = "returns an array, which every caller would share and could change";
    } else {
      for (Class<?> c : ONE_SHOT) {
        if (c.isAssignableFrom(r)) {
          why = "returns a " + r.getSimpleName() + ", which can be used only once";
        }
      }
    }
    if (why != null) {
      throw site.problem(
          "@CachedQuery: the method " + why,
          "cache a method that returns a value: an entity, an Optional, an immutable List");
    }
  }

  private static String checkTag(WiringSite site, String tag, int params) {
    Matcher m = ARG.matcher(tag);
    while (m.find()) {
      int i;
      try {
        i = Integer.parseInt(m.group(1));
      } catch (NumberFormatException e) {
        i = Integer.MAX_VALUE;
      }
      if (i >= params) {
        throw site.problem(
            "the tag '"
                + tag
                + "' refers to argument {"
                + m.group(1)
                + "}, and the method has "
                + params
                + " parameters",
            "use {0} to {" + Math.max(0, params - 1) + "}");
      }
    }
    return tag;
  }

  /**
   * The cache key of a call: the argument itself for one non-null argument (no wrapper to allocate,
   * and its own equals and hashCode), else the argument list.
   */
  private static Object keyOf(@Nullable Object @Nullable [] args) {
    if (args != null && args.length == 1 && args[0] != null) {
      return args[0];
    }
    return new ArgsKey(args);
  }

  private static @Nullable Object[] argsOf(Object key) {
    return key instanceof ArgsKey k ? k.args() : new Object[] {key};
  }

  private static Set<String> tagsOf(List<String> templates, Object key) {
    @Nullable Object[] args = argsOf(key);
    Set<String> out = new LinkedHashSet<>();
    for (String t : templates) {
      Matcher m = ARG.matcher(t);
      StringBuilder s = new StringBuilder();
      while (m.find()) {
        m.appendReplacement(
            s, Matcher.quoteReplacement(String.valueOf(args[Integer.parseInt(m.group(1))])));
      }
      m.appendTail(s);
      out.add(s.toString());
    }
    return out;
  }

  private static @Nullable Object invoke(Invoker target, Object key) throws Exception {
    return target.invoke(argsOf(key));
  }

  @Override
  public String toString() {
    return "@CachedQuery handler " + Arrays.asList(kind());
  }
}
