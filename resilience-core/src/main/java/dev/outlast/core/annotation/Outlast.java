package dev.outlast.core.annotation;

import dev.outlast.core.Guard;
import dev.outlast.core.Redaction;
import dev.outlast.core.annotation.spi.AnnotationHandler;
import java.lang.annotation.Annotation;
import java.lang.reflect.InvocationHandler;
import java.lang.reflect.Proxy;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Properties;
import java.util.ServiceLoader;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.Executor;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.SynchronousQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Makes the Outlast annotations on an interface work: {@link #wrap} returns a proxy of the
 * interface around the real implementation, with each annotated method wired as its annotations say
 * and every other method passed straight through. No Spring, CDI or agent: one call.
 *
 * <pre>{@code
 * Outlast outlast = Outlast.builder()
 *     .guard(mysql)                     // @Guarded("mysql")
 *     .resource("orders", orderQueue)   // @SpillOnFailure(queue = "orders")
 *     .properties(System.getProperties())
 *     .build();
 * ProductRepository products = outlast.wrap(ProductRepository.class, new JdbcProducts(db));
 * }</pre>
 *
 * <p>Everything is checked when {@link #wrap} runs: a misconfigured annotation throws {@link
 * WiringException} then, naming the method and what to change, and never turns into a silent no-op.
 * The caches the wiring builds belong to this object and close with it; guards and resources stay
 * the caller's.
 *
 * <p>The components it builds share its threads: one pool for their loads (each cache still bounds
 * its own concurrency, so the pool holds at most the sum of their bounds, and a hung database
 * behind one cache cannot starve another) and one two-thread scheduler for their maintenance. Both
 * are made when the first component needs them and stopped on {@link #close}; give your own with
 * {@link Builder#loaderPool} and {@link Builder#scheduler}, which close leaves running.
 *
 * <p>This class is threadsafe; its proxies are as threadsafe as the implementations they wrap.
 */
public final class Outlast implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(Outlast.class);

  /**
   * The name under which a handler finds this object's loader pool, an {@link Executor}, through
   * {@code WiringSite.resource}. Resources cannot be registered under names starting with {@code
   * outlast:}.
   */
  public static final String LOADER_POOL = "outlast:loader-pool";

  /**
   * The name under which a handler finds this object's maintenance scheduler, a {@link
   * ScheduledExecutorService}, through {@code WiringSite.resource}.
   */
  public static final String SCHEDULER = "outlast:scheduler";

  private static final String RESERVED = "outlast:";

  private final Map<String, Guard> guards;
  private final Map<String, Object> resources;
  private final Map<Class<? extends Annotation>, AnnotationHandler> handlers;
  private final Settings settings;
  private final @Nullable Function<String, @Nullable Object> resourceLookup;
  private final Map<String, Object> components = new LinkedHashMap<>();

  /** The settings every wiring so far has read, as "kind|name"; guarded by this. */
  private final Set<String> settingsRead = new HashSet<>();

  private boolean closed;

  /** Threads given by the user (never stopped here), or made here on first use; guarded by this. */
  private final @Nullable Executor givenLoaderPool;

  private final @Nullable ScheduledExecutorService givenScheduler;
  private @Nullable ThreadPoolExecutor ownLoaderPool;
  private @Nullable ScheduledThreadPoolExecutor ownScheduler;

  private Outlast(Builder b, Map<Class<? extends Annotation>, AnnotationHandler> handlers) {
    this.guards = Map.copyOf(b.guards);
    this.resources = Map.copyOf(b.resources);
    this.resourceLookup = b.resourceLookup;
    this.givenLoaderPool = b.loaderPool;
    this.givenScheduler = b.scheduler;
    this.handlers = Map.copyOf(handlers);
    Map<String, Set<String>> kinds = new HashMap<>();
    kinds.put(ProxyWiring.GUARDED, Set.of("dependency"));
    kinds.put(ProxyWiring.FALLBACK, Set.of("method", "source", "dependency"));
    for (AnnotationHandler h : handlers.values()) {
      kinds.put(h.kind(), Set.copyOf(h.attributes()));
    }
    this.settings = Settings.of(b.properties, kinds);
  }

  /**
   * {@return a new builder with no guards, resources or properties} The annotation handlers on the
   * class path are found when {@link Builder#build()} runs.
   */
  public static Builder builder() {
    return new Builder();
  }

  /**
   * Wraps an implementation of an interface in a proxy that makes the interface's annotations work.
   *
   * @param <T> the interface's type
   * @param type the interface; its annotated methods are wired, others pass through
   * @param target the real implementation
   * @return the proxy; {@code equals} is true for proxies of the same interface around equal
   *     implementations, {@code hashCode} is the implementation's, {@code toString} names both
   * @throws WiringException if an annotation cannot work as written; nothing is left built
   * @throws IllegalArgumentException if {@code type} is not an interface
   * @throws IllegalStateException if this is closed
   */
  public <T> T wrap(Class<T> type, T target) {
    Objects.requireNonNull(type, "type");
    Objects.requireNonNull(target, "target");
    if (!type.isInterface()) {
      throw new IllegalArgumentException(
          type.getName() + " is not an interface: Outlast wraps interfaces, not classes");
    }
    checkInstance(type, target);
    Map<String, Object> built = new LinkedHashMap<>();
    synchronized (this) {
      checkOpen();
      ProxyWiring<T> wiring;
      T proxy;
      try {
        wiring = new ProxyWiring<>(this, type, target, built, true);
        proxy = type.cast(Proxy.newProxyInstance(loader(type), new Class<?>[] {type}, wiring));
      } catch (RuntimeException | Error e) {
        closeAll(built.values(), e);
        throw e;
      }
      wiring.proxy(proxy);
      wired(wiring, built);
      return proxy;
    }
  }

  /**
   * The wiring of a type's annotated methods, for frameworks that make their own proxies (Spring
   * AOP, CDI interceptors): they call {@link InvocationHandler#invoke} with the method called and
   * its arguments, and get what {@link #wrap} would have answered. Everything is checked now, as
   * {@link #wrap} checks it.
   *
   * <p>{@code type} may be an interface, whose annotated methods are wired, or a class, whose own
   * annotated public methods are wired (its interfaces' annotations are not read: get a handler of
   * each interface for those). A class's annotated methods must be public and neither final nor
   * static, and the class not final, since a proxy that subclasses it must override them; a method
   * overriding an annotated one must carry the annotations again (Java does not inherit method
   * annotations). Annotations on the implementation of an interface are not checked: the framework
   * decides whether it wires them through a handler of the class.
   *
   * <p>The handler calls {@code target} for the work itself, so a framework may pass an object that
   * is a proxy already (a transaction around the implementation), which then runs inside the guard.
   * Methods it did not wire (an unannotated method, one of {@code Object}) are passed to {@code
   * target}. One handler serves one proxy: a default method of an interface runs on the first proxy
   * the handler is invoked with, so that its calls to other methods are wired too.
   *
   * @param <T> the type whose methods are wired
   * @param type the interface or class whose annotated methods are wired
   * @param target what the calls go to: an instance of {@code type}
   * @return the handler; threadsafe
   * @throws WiringException if an annotation cannot work as written; nothing is left built
   * @throws IllegalArgumentException if {@code target} is not an instance of {@code type}
   * @throws IllegalStateException if this is closed
   */
  public <T> InvocationHandler handler(Class<T> type, T target) {
    Objects.requireNonNull(type, "type");
    Objects.requireNonNull(target, "target");
    checkInstance(type, target);
    Map<String, Object> built = new LinkedHashMap<>();
    synchronized (this) {
      checkOpen();
      ProxyWiring<T> wiring;
      try {
        wiring = new ProxyWiring<>(this, type, target, built, false);
      } catch (RuntimeException | Error e) {
        closeAll(built.values(), e);
        throw e;
      }
      wired(wiring, built);
      return wiring;
    }
  }

  /**
   * Checks that every {@code outlast.*} property names something that was wired: a cache that a
   * {@code @CachedQuery} built, a method of a wrapped interface or class. A name misspelt in a
   * property would otherwise leave the annotation's value in force without a word. Call it once
   * every annotated type is wrapped (the Spring Boot starter does, once every bean is created);
   * {@link #wrap} already checks the properties that name methods of the type it wraps.
   *
   * @throws WiringException listing each property that names nothing, and the names that were wired
   */
  public synchronized void checkSettingsUsed() {
    List<String> problems = new ArrayList<>();
    for (String kind : settings.kinds()) {
      Set<String> wired = new TreeSet<>();
      for (String read : settingsRead) {
        if (read.startsWith(kind + "|")) {
          wired.add(read.substring(kind.length() + 1));
        }
      }
      for (String name : settings.names(kind)) {
        if (!wired.contains(name)) {
          problems.add(
              Settings.PREFIX
                  + kind
                  + "."
                  + name
                  + ".* ("
                  + (wired.isEmpty()
                      ? "nothing of kind " + kind + " was wired"
                      : "the " + kind + " names wired are " + wired)
                  + ")");
        }
      }
    }
    if (!problems.isEmpty()) {
      throw new WiringException(
          "properties name no "
              + (problems.size() == 1 ? "thing" : "things")
              + " that was wired, so they would do nothing: "
              + String.join("; ", problems)
              + ". Fix: correct the name (a cache's name, or <Interface>.<method> with the"
              + " interface's or class's simple name), or remove the properties");
    }
  }

  /**
   * {@return what the wiring built so far, by name: the {@code QueryCache} of each
   * {@code @CachedQuery}, in the order they were built} A copy: later wiring does not change it.
   */
  public synchronized Map<String, Object> components() {
    return Collections.unmodifiableMap(new LinkedHashMap<>(components));
  }

  private static void checkInstance(Class<?> type, Object target) {
    if (!type.isInstance(target)) {
      throw new IllegalArgumentException(
          target.getClass().getName()
              + (type.isInterface() ? " does not implement " : " is not a ")
              + type.getName());
    }
  }

  private void checkOpen() {
    if (closed) {
      throw new IllegalStateException("this Outlast is closed");
    }
  }

  /** Keeps what one wiring built and read; called holding the lock, once it succeeded. */
  private void wired(ProxyWiring<?> wiring, Map<String, Object> built) {
    components.putAll(built);
    settingsRead.addAll(wiring.settingsRead());
    log.debug("wired {}", wiring);
  }

  /**
   * Something the wiring built, by name: the {@code QueryCache} of a {@code @CachedQuery} is {@code
   * component("products", QueryCache.class)}, for its stats, health and invalidation.
   *
   * @param <T> the component's type
   * @param name the name it was built under: for a {@code @CachedQuery}, its name, or {@code
   *     <Interface>.<method>} if it has none
   * @param type the type the component is used as
   * @return the component
   * @throws IllegalArgumentException naming the components there are, if there is none by that name
   *     or it is of another type
   */
  public synchronized <T> T component(String name, Class<T> type) {
    Object c = components.get(Objects.requireNonNull(name, "name"));
    if (!type.isInstance(c)) {
      throw new IllegalArgumentException(
          (c == null ? "no component named '" + name + "'" : "'" + name + "' is a " + c.getClass())
              + "; the components are "
              + new TreeMap<>(components).keySet());
    }
    return type.cast(c);
  }

  /**
   * Closes what the wiring built (caches), then stops the threads this object made for them
   * (threads given to its builder are left running). Proxies that need the components fail
   * afterwards. Idempotent.
   */
  @Override
  public void close() {
    List<Object> toClose;
    ThreadPoolExecutor pool;
    ScheduledThreadPoolExecutor scheduler;
    synchronized (this) {
      if (closed) {
        return;
      }
      closed = true;
      toClose = new ArrayList<>(components.values());
      pool = ownLoaderPool;
      scheduler = ownScheduler;
    }
    closeAll(toClose, null);
    // The caches ended (or abandoned and interrupted) their loads while they closed.
    if (pool != null) {
      pool.shutdownNow();
    }
    if (scheduler != null) {
      scheduler.shutdownNow();
      try {
        if (!scheduler.awaitTermination(10, TimeUnit.SECONDS)) {
          log.warn("the Outlast scheduler did not stop within 10 s");
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
  }

  @Override
  public synchronized String toString() {
    return "Outlast[guards=" + guards.keySet() + ", components=" + components.keySet() + "]";
  }

  @Nullable Guard guard(String dependency) {
    return guards.get(dependency);
  }

  Set<String> guardNames() {
    return new TreeMap<>(guards).keySet();
  }

  @Nullable Object resource(String name) {
    if (LOADER_POOL.equals(name)) {
      return loaderPool();
    }
    if (SCHEDULER.equals(name)) {
      return scheduler();
    }
    Object r = resources.get(name);
    Function<String, @Nullable Object> lookup = resourceLookup;
    if (r == null && lookup != null && !name.startsWith(RESERVED)) {
      r = lookup.apply(name);
    }
    return r;
  }

  /** The loader pool: the one given, or one made now (while wiring, on the wrapping thread). */
  private synchronized Executor loaderPool() {
    Executor given = givenLoaderPool;
    if (given != null) {
      return given;
    }
    ThreadPoolExecutor pool = ownLoaderPool;
    if (pool == null) {
      AtomicInteger n = new AtomicInteger();
      // No queue and no thread limit of its own: each cache hands it at most its loadConcurrency
      // tasks at once, so it holds at most the sum of those, and a cache whose database hangs
      // cannot take threads another cache needs.
      pool =
          new ThreadPoolExecutor(
              0,
              Integer.MAX_VALUE,
              30,
              TimeUnit.SECONDS,
              new SynchronousQueue<>(),
              r -> daemon(r, "outlast-loader-" + n.incrementAndGet()));
      ownLoaderPool = pool;
    }
    return pool;
  }

  /** The maintenance scheduler: the one given, or one made now. */
  private synchronized ScheduledExecutorService scheduler() {
    ScheduledExecutorService given = givenScheduler;
    if (given != null) {
      return given;
    }
    ScheduledThreadPoolExecutor s = ownScheduler;
    if (s == null) {
      AtomicInteger n = new AtomicInteger();
      // Two threads: one cache's snapshot write must not hold up the others' upkeep.
      s =
          new ScheduledThreadPoolExecutor(
              2, r -> daemon(r, "outlast-maintenance-" + n.incrementAndGet()));
      s.setRemoveOnCancelPolicy(true);
      ownScheduler = s;
    }
    return s;
  }

  private static Thread daemon(Runnable r, String name) {
    Thread t = new Thread(r, name);
    t.setDaemon(true);
    return t;
  }

  /** The names of the registered resources, for messages, and where others are looked up. */
  String resourceNames() {
    String names = new TreeMap<>(resources).keySet().toString();
    Function<String, @Nullable Object> lookup = resourceLookup;
    return lookup == null ? names : names + " (other names are looked up in " + lookup + ")";
  }

  @Nullable AnnotationHandler handler(Class<? extends Annotation> annotation) {
    return handlers.get(annotation);
  }

  Iterable<AnnotationHandler> handlers() {
    return handlers.values();
  }

  Settings settings() {
    return settings;
  }

  /** Whether a component of that name exists, built by an earlier wrap. */
  boolean hasComponent(String name) {
    return components.containsKey(name);
  }

  private static ClassLoader loader(Class<?> type) {
    ClassLoader l = type.getClassLoader();
    return l != null ? l : Outlast.class.getClassLoader();
  }

  private static void closeAll(Iterable<Object> things, @Nullable Throwable primary) {
    for (Object o : things) {
      if (o instanceof AutoCloseable c) {
        try {
          c.close();
        } catch (Exception e) {
          if (primary != null) {
            primary.addSuppressed(e);
          } else {
            log.warn("closing {} failed", o, Redaction.forLog(e));
          }
        }
      }
    }
  }

  /** Builds an {@link Outlast}. Not threadsafe. */
  public static final class Builder {
    private final Map<String, Guard> guards = new HashMap<>();
    private final Map<String, Object> resources = new HashMap<>();
    private final Map<String, String> properties = new HashMap<>();
    private @Nullable Function<String, @Nullable Object> resourceLookup;
    private @Nullable Executor loaderPool;
    private @Nullable ScheduledExecutorService scheduler;

    private Builder() {}

    /**
     * The threads the components' loads run on (the caches of {@code @CachedQuery}), instead of a
     * pool this object makes; {@link Outlast#close} does not shut it down. Each cache still runs at
     * most its own number of loads at once on it.
     *
     * @param pool the threads, shared by every component this object builds; a pool of few fixed
     *     threads lets a cache whose database hangs hold the threads another cache needs
     * @return this builder
     */
    public Builder loaderPool(Executor pool) {
      this.loaderPool = Objects.requireNonNull(pool, "pool");
      return this;
    }

    /**
     * The scheduler of the components' maintenance, instead of one this object makes; {@link
     * Outlast#close} does not shut it down.
     *
     * @param scheduler the scheduler, shared by every component this object builds
     * @return this builder
     */
    public Builder scheduler(ScheduledExecutorService scheduler) {
      this.scheduler = Objects.requireNonNull(scheduler, "scheduler");
      return this;
    }

    /**
     * Registers the guard of a dependency, under {@link Guard#dependency()}, for {@code @Guarded}.
     *
     * @param guard the guard; it stays the caller's, and {@link Outlast#close} does not touch it
     * @return this builder
     * @throws IllegalArgumentException if a guard of that dependency is registered already
     */
    public Builder guard(Guard guard) {
      Objects.requireNonNull(guard, "guard");
      if (guards.putIfAbsent(guard.dependency(), guard) != null) {
        throw new IllegalArgumentException(
            "a guard for dependency '" + guard.dependency() + "' is registered already");
      }
      return this;
    }

    /**
     * Registers something annotations refer to by name: a spill queue for {@code @SpillOnFailure},
     * another implementation of an interface for {@code @ReadFallback(source = ...)}.
     *
     * @param name the name annotations use; names starting with {@code outlast:} are Outlast's own
     * @param resource the object; it stays the caller's, and {@link Outlast#close} does not close
     *     it
     * @return this builder
     * @throws IllegalArgumentException if the name is blank, taken, or starts with {@code outlast:}
     */
    public Builder resource(String name, Object resource) {
      Objects.requireNonNull(name, "name");
      Objects.requireNonNull(resource, "resource");
      if (name.isBlank()) {
        throw new IllegalArgumentException("a resource name must not be blank");
      }
      if (name.startsWith(RESERVED)) {
        throw new IllegalArgumentException(
            "resource names starting with '"
                + RESERVED
                + "' are Outlast's own, was '"
                + name
                + "'; to give the loader pool or scheduler, use loaderPool(...) or scheduler(...)");
      }
      if (resources.putIfAbsent(name, resource) != null) {
        throw new IllegalArgumentException("a resource named '" + name + "' is registered already");
      }
      return this;
    }

    /**
     * Where a name that no {@link #resource} registered is looked up, at wiring time: a framework's
     * registry of named objects (the Spring Boot starter looks up beans by name). The lookup
     * returns null for a name it does not know; its {@code toString} names it in messages.
     *
     * @param lookup takes a name and returns the object, or null; never asked for a name starting
     *     with {@code outlast:}
     * @return this builder
     */
    public Builder resourceLookup(Function<String, @Nullable Object> lookup) {
      this.resourceLookup = Objects.requireNonNull(lookup, "lookup");
      return this;
    }

    /**
     * Adds settings that replace annotation attributes: the {@code outlast.*} entries are used,
     * others ignored. Later calls win over earlier ones for the same key.
     *
     * @param properties read now (with their defaults; entries whose key or value is not a string
     *     are skipped); later changes to them are not seen
     * @return this builder
     */
    public Builder properties(Properties properties) {
      Objects.requireNonNull(properties, "properties");
      for (String key : properties.stringPropertyNames()) {
        this.properties.put(key, properties.getProperty(key));
      }
      return this;
    }

    /**
     * As {@link #properties(Properties)}, from a map.
     *
     * @param properties read now; later changes to the map are not seen
     * @return this builder
     */
    public Builder properties(Map<String, String> properties) {
      Objects.requireNonNull(properties, "properties");
      properties.forEach(
          (k, v) ->
              this.properties.put(
                  Objects.requireNonNull(k, "property key"),
                  Objects.requireNonNull(v, () -> "value of property " + k)));
      return this;
    }

    /**
     * Builds it, with the annotation handlers {@link ServiceLoader} finds.
     *
     * @return a new {@code Outlast}; it makes no threads until a component needs them
     * @throws WiringException if an {@code outlast.*} property has an unknown kind or attribute, or
     *     two different handlers claim one annotation
     */
    public Outlast build() {
      Map<Class<? extends Annotation>, AnnotationHandler> found = new HashMap<>();
      for (AnnotationHandler h :
          ServiceLoader.load(AnnotationHandler.class, Outlast.class.getClassLoader())) {
        AnnotationHandler other = found.putIfAbsent(h.annotation(), h);
        if (other != null && other.getClass() != h.getClass()) {
          throw new WiringException(
              "two handlers for @"
                  + h.annotation().getSimpleName()
                  + " on the class path: "
                  + other.getClass().getName()
                  + " and "
                  + h.getClass().getName()
                  + "; keep one");
        }
      }
      return new Outlast(this, found);
    }
  }
}
