package dev.outlast.core.annotation;

import dev.outlast.core.DependencyCallException;
import dev.outlast.core.Guard;
import dev.outlast.core.annotation.spi.AnnotationHandler;
import dev.outlast.core.annotation.spi.Invoker;
import dev.outlast.core.annotation.spi.WiringSite;
import java.lang.annotation.Annotation;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;
import java.lang.reflect.InvocationHandler;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.lang.reflect.ParameterizedType;
import java.lang.reflect.Proxy;
import java.lang.reflect.Type;
import java.lang.reflect.UndeclaredThrowableException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.stream.Collectors;
import org.jspecify.annotations.Nullable;

/**
 * The proxy of one interface around one implementation: each method's call, wired once, when the
 * proxy is made. After that a call is one map lookup and the wired invoker; an unannotated method's
 * invoker is a method handle bound to the implementation.
 *
 * <p>Also the handler of a proxy someone else makes ({@link Outlast#handler}), of an interface or
 * of a class: then it does not answer {@code equals}, {@code hashCode} and {@code toString} as a
 * proxy of its own, and passes methods it did not wire to the target.
 */
final class ProxyWiring<T> implements InvocationHandler {
  static final String GUARDED = "guarded";
  static final String FALLBACK = "fallback";
  private static final Object[] NO_ARGS = {};

  /** The annotations core defines but other modules make work, with the module that does. */
  private static final Map<Class<? extends Annotation>, String> PLUGGED =
      Map.of(CachedQuery.class, "resilience-cache", SpillOnFailure.class, "resilience-buffer");

  private final Outlast outlast;
  private final Class<T> type;
  private final T target;
  private final Map<String, Object> built;

  /** Whether this is the handler of a proxy {@link Outlast#wrap} made, or of someone else's. */
  private final boolean ownProxy;

  private final Map<Method, Invoker> invokers = new HashMap<>();
  private final Map<Method, String> wiredAs = new LinkedHashMap<>();

  /** Settings read while wiring, as "kind|name", to find properties that name nothing. */
  private final Set<String> settingsRead = new HashSet<>();

  private volatile @Nullable Object proxy;

  ProxyWiring(
      Outlast outlast, Class<T> type, T target, Map<String, Object> built, boolean ownProxy) {
    this.outlast = outlast;
    this.type = type;
    this.target = target;
    this.built = built;
    this.ownProxy = ownProxy;
    if (!type.isInterface()) {
      checkClassCanBeProxied();
    } else if (ownProxy) {
      checkNoAnnotationsOnImplementation();
    }
    for (Method m : type.getMethods()) {
      if (!Modifier.isStatic(m.getModifiers()) && m.getDeclaringClass() != Object.class) {
        invokers.put(m, wire(m));
      }
    }
    checkSettingsNameMethods();
    if (ownProxy) {
      try {
        invokers.put(Object.class.getMethod("equals", Object.class), this::proxyEquals);
        invokers.put(Object.class.getMethod("hashCode"), args -> target.hashCode());
        invokers.put(Object.class.getMethod("toString"), args -> proxyToString());
      } catch (NoSuchMethodException e) {
        throw new AssertionError(e);
      }
    }
  }

  /** The settings this wiring read, as "kind|name". */
  Set<String> settingsRead() {
    return settingsRead;
  }

  void proxy(Object proxy) {
    this.proxy = proxy;
  }

  @Override
  public @Nullable Object invoke(Object proxy, Method method, @Nullable Object @Nullable [] args)
      throws Throwable {
    Invoker i = invokers.get(method);
    if (i == null) {
      if (ownProxy) {
        // A method the interface's getMethods() did not list: cannot happen for a proxy of it.
        throw new IllegalStateException(method + " is not wired on the proxy of " + type.getName());
      }
      // Someone else's proxy: a method of Object, or one it chose to pass on; the target answers.
      i = handle(method, target);
    }
    if (this.proxy == null) {
      this.proxy = proxy; // someone else's proxy, known only now: default methods run on it
    }
    return i.invoke(args);
  }

  @Override
  public String toString() {
    return type.getSimpleName() + " " + wiredAs.values();
  }

  // ---- wiring one method ----

  private Invoker wire(Method m) {
    Guarded guarded = m.getAnnotation(Guarded.class);
    ReadFallback fallback = m.getAnnotation(ReadFallback.class);
    List<Annotation> plugged = new ArrayList<>();
    for (Annotation a : m.getAnnotations()) {
      if (PLUGGED.containsKey(a.annotationType()) || outlast.handler(a.annotationType()) != null) {
        plugged.add(a);
      }
    }
    if (plugged.size() > 1) {
      throw problem(
          m,
          "@"
              + plugged.get(0).annotationType().getSimpleName()
              + " and @"
              + plugged.get(1).annotationType().getSimpleName()
              + " cannot be on one method",
          "keep one; a method either reads through a cache or publishes events");
    }
    if (!plugged.isEmpty() && fallback != null) {
      throw problem(
          m,
          "@ReadFallback cannot be combined with @"
              + plugged.get(0).annotationType().getSimpleName(),
          plugged.get(0) instanceof CachedQuery
              ? "the cache already answers from stale values during an outage; put @CachedQuery"
                  + " on the fallback method too if its answers should be cached"
              : "an event is published or spilled, not read: remove @ReadFallback");
    }
    Invoker target = targetCall(m);
    Guard guard = null;
    String summary = "";
    if (guarded != null) {
      String dependency = setting(GUARDED, id(m), "dependency", guarded.value());
      guard = knownGuard(m, dependency, "@Guarded");
      summary = "@Guarded(" + dependency + ")";
    }
    Invoker wired;
    if (!plugged.isEmpty()) {
      Annotation a = plugged.get(0);
      AnnotationHandler handler = outlast.handler(a.annotationType());
      if (handler == null) {
        String module = PLUGGED.get(a.annotationType());
        throw problem(
            m,
            "@"
                + a.annotationType().getSimpleName()
                + " needs the module "
                + module
                + ", which is not on the class path, so the annotation would do nothing",
            "add the dependency dev.outlast:"
                + module
                + " (Maven: <groupId>dev.outlast</groupId><artifactId>"
                + module
                + "</artifactId>), or remove the annotation");
      }
      wired = handler.wire(new Site(m, handler.kind(), guard, target));
      summary += " @" + a.annotationType().getSimpleName();
    } else if (fallback != null) {
      if (guard == null) {
        throw problem(
            m,
            "@ReadFallback without @Guarded: there is no guard to tell an outage (fall back) from"
                + " an error of the call (throw it)",
            "add @Guarded(\"<dependency>\") naming the dependency the method reads from");
      }
      wired = withFallback(m, guarded(m, target, guard), guard);
      summary += " @ReadFallback";
    } else if (guard != null) {
      wired = guarded(m, target, guard);
    } else {
      wired = target;
      summary = "pass-through";
    }
    wiredAs.put(m, m.getName() + "=" + summary.trim());
    return wired;
  }

  private Guard knownGuard(Method m, String dependency, String where) {
    Guard g = outlast.guard(dependency);
    if (g == null) {
      throw problem(
          m,
          where + " names dependency '" + dependency + "', which has no guard registered",
          "register one with Outlast.builder().guard(Guard.of(\""
              + dependency
              + "\", config)); the dependencies registered are "
              + outlast.guardNames());
    }
    return g;
  }

  /**
   * The call through a guard. A checked exception the method declares comes out as itself, not
   * wrapped: the proxy keeps the interface's contract.
   */
  private static Invoker guarded(Method m, Invoker call, Guard guard) {
    Class<?>[] declared = m.getExceptionTypes();
    return args -> {
      try {
        return guard.call(() -> new Box(call.invoke(args))).value;
      } catch (DependencyCallException e) {
        if (e.getCause() instanceof Exception cause && isDeclared(declared, cause)) {
          throw cause;
        }
        throw e;
      }
    };
  }

  private Invoker withFallback(Method m, Invoker primary, Guard guard) {
    ReadFallback f = Objects.requireNonNull(m.getAnnotation(ReadFallback.class));
    String id = id(m);
    // Properties naming either of the two replace the annotation's choice as a whole.
    boolean fromProperties =
        outlast.settings().get(FALLBACK, id, "method") != null
            || outlast.settings().get(FALLBACK, id, "source") != null;
    String method = setting(FALLBACK, id, "method", fromProperties ? "" : f.method());
    String source = setting(FALLBACK, id, "source", fromProperties ? "" : f.source());
    String dependency = setting(FALLBACK, id, "dependency", f.dependency());
    if (method.isEmpty() == source.isEmpty()) {
      throw problem(
          m,
          "@ReadFallback must name exactly one of method and source, it names "
              + (method.isEmpty() ? "neither" : "both"),
          "write @ReadFallback(method = \"fromLedger\") for a method with the same parameters, or"
              + " @ReadFallback(source = \"ledger\") for another implementation registered with"
              + " Outlast.builder().resource(\"ledger\", impl)");
    }
    Invoker next;
    if (!method.isEmpty()) {
      if (!dependency.isEmpty()) {
        throw problem(
            m,
            "@ReadFallback(dependency = \"" + dependency + "\") applies to a source, not a method",
            "annotate the fallback method itself with @Guarded(\"" + dependency + "\")");
      }
      next = fallbackMethod(m, method);
    } else {
      Object other = outlast.resource(source);
      if (!type.isInstance(other)) {
        throw problem(
            m,
            "@ReadFallback(source = \""
                + source
                + "\"): "
                + (other == null
                    ? "no resource has that name"
                    : "the resource of that name is a "
                        + other.getClass().getName()
                        + ", not a "
                        + type.getSimpleName()),
            "register an implementation of "
                + type.getSimpleName()
                + " with Outlast.builder().resource(\""
                + source
                + "\", impl); the resources registered are "
                + outlast.resourceNames());
      }
      next = handle(m, other);
      if (!dependency.isEmpty()) {
        next = guarded(m, next, knownGuard(m, dependency, "@ReadFallback(dependency)"));
      }
    }
    Invoker answer = next;
    return args -> {
      try {
        return primary.invoke(args);
      } catch (Exception t) {
        if (!guard.isOutage(t)) {
          throw t; // the call's own error: no other source would answer it differently
        }
        try {
          return answer.invoke(args);
        } catch (Exception second) {
          if (second != t) {
            second.addSuppressed(t);
          }
          throw second;
        }
      }
    };
  }

  private Invoker fallbackMethod(Method m, String name) {
    Class<?>[] params = m.getParameterTypes();
    Method onInterface = type.isInterface() ? find(type, name, params) : publicMethod(name, params);
    if (onInterface != null && !Modifier.isStatic(onInterface.getModifiers())) {
      checkReturns(m, onInterface);
      checkNoCycle(m);
      // Through the proxy, so that the fallback's own annotations apply. Looked up per call: the
      // map is complete by the time any call is made.
      return args -> Objects.requireNonNull(invokers.get(onInterface)).invoke(args);
    }
    for (Class<?> c = target.getClass(); c != null && c != Object.class; c = c.getSuperclass()) {
      Method onClass = find(c, name, params);
      if (onClass != null && !Modifier.isStatic(onClass.getModifiers())) {
        if (!type.isInterface()) {
          // The target may be a subclass proxy of the class, whose own fields are empty: only a
          // public method, which the proxy overrides, reaches the real object.
          throw problem(
              m,
              "@ReadFallback(method = \""
                  + name
                  + "\"): "
                  + name
                  + " is not public, and a proxy of "
                  + type.getSimpleName()
                  + " can reach only public methods",
              "make " + name + " public");
        }
        checkReturns(m, onClass);
        return handle(onClass, target);
      }
    }
    Set<String> sameName = new LinkedHashSet<>();
    for (Class<?> c = target.getClass(); c != null && c != Object.class; c = c.getSuperclass()) {
      for (Method x : c.getDeclaredMethods()) {
        if (x.getName().equals(name)) {
          sameName.add(signature(x));
        }
      }
    }
    for (Method x : type.getMethods()) {
      if (x.getName().equals(name)) {
        sameName.add(signature(x));
      }
    }
    throw problem(
        m,
        "@ReadFallback(method = \""
            + name
            + "\"): no method "
            + name
            + "("
            + simpleNames(params)
            + ") on "
            + type.getSimpleName()
            + " or "
            + target.getClass().getSimpleName()
            + (sameName.isEmpty()
                ? ""
                : "; there is " + String.join(", ", sameName) + ", with other parameters"),
        "declare "
            + typeName(m.getGenericReturnType())
            + " "
            + name
            + "("
            + simpleNames(params)
            + "): a fallback takes the same parameters as the method it stands in for");
  }

  private void checkReturns(Method m, Method fallback) {
    if (!returnsCompatible(m, fallback)) {
      throw problem(
          m,
          "@ReadFallback(method = \""
              + fallback.getName()
              + "\"): it returns "
              + typeName(fallback.getGenericReturnType())
              + ", which cannot stand in for "
              + typeName(m.getGenericReturnType()),
          "make " + fallback.getName() + " return " + typeName(m.getGenericReturnType()));
    }
  }

  private static boolean returnsCompatible(Method m, Method fallback) {
    Class<?> want = m.getReturnType();
    Class<?> have = fallback.getReturnType();
    if (want.isPrimitive() || have.isPrimitive()) {
      return want == have;
    }
    if (!want.isAssignableFrom(have)) {
      return false;
    }
    Type wantG = m.getGenericReturnType();
    Type haveG = fallback.getGenericReturnType();
    // Optional<Product> and Optional<Order> share a class: compare the type arguments too.
    return !(want == have
        && wantG instanceof ParameterizedType
        && haveG instanceof ParameterizedType
        && !wantG.equals(haveG));
  }

  private void checkNoCycle(Method start) {
    List<String> path = new ArrayList<>();
    Set<Method> seen = new LinkedHashSet<>();
    Method m = start;
    while (m != null && seen.add(m)) {
      path.add(m.getName());
      ReadFallback f = m.getAnnotation(ReadFallback.class);
      if (f == null) {
        return;
      }
      String next = setting(FALLBACK, id(m), "method", f.method());
      Class<?>[] params = m.getParameterTypes();
      m =
          next.isEmpty()
              ? null
              : type.isInterface() ? find(type, next, params) : publicMethod(next, params);
    }
    if (m != null) {
      path.add(m.getName());
      throw problem(
          start,
          "@ReadFallback methods form a loop: " + String.join(" -> ", path),
          "end the chain at a method without @ReadFallback");
    }
  }

  /** A public instance method of the type (a class), or null. */
  private @Nullable Method publicMethod(String name, Class<?>[] params) {
    try {
      Method p = type.getMethod(name, params);
      return p.getDeclaringClass() != Object.class ? p : null;
    } catch (NoSuchMethodException e) {
      return null;
    }
  }

  private static @Nullable Method find(Class<?> c, String name, Class<?>[] params) {
    try {
      return c.isInterface() ? c.getMethod(name, params) : c.getDeclaredMethod(name, params);
    } catch (NoSuchMethodException e) {
      return null;
    }
  }

  /** The implementation's method, or the interface's default through the proxy. */
  private Invoker targetCall(Method m) {
    if (m.isDefault() && !overridden(m)) {
      return defaultOnProxy(m);
    }
    return handle(m, target);
  }

  /**
   * The interface's default method, run on the proxy, so that its calls to other methods are wired
   * too. Through a lookup in the interface itself rather than {@code
   * InvocationHandler.invokeDefault}, which refuses interfaces that are not public.
   */
  private Invoker defaultOnProxy(Method m) {
    Class<?> owner = m.getDeclaringClass();
    MethodHandle h;
    try {
      h =
          MethodHandles.privateLookupIn(owner, MethodHandles.lookup())
              .unreflectSpecial(m, owner)
              .asSpreader(Object[].class, m.getParameterCount())
              .asType(MethodType.methodType(Object.class, Object.class, Object[].class));
    } catch (IllegalAccessException | RuntimeException e) {
      throw problem(
          m,
          "its default method cannot be called from Outlast: " + e.getMessage(),
          "open its package to Outlast's module (opens ... to dev.outlast.core)");
    }
    return args -> {
      // Typed locals: invokeExact matches the static types of its arguments exactly, and a
      // conditional expression passed to it is typed Object.
      Object receiver = Objects.requireNonNull(proxy);
      @Nullable Object[] spread = args == null ? NO_ARGS : args;
      try {
        return (Object) h.invokeExact(receiver, spread);
      } catch (Throwable t) {
        throw asException(t);
      }
    };
  }

  private boolean overridden(Method m) {
    try {
      return !target.getClass().getMethod(m.getName(), m.getParameterTypes()).isDefault();
    } catch (NoSuchMethodException e) {
      return false;
    }
  }

  private Invoker handle(Method m, Object receiver) {
    try {
      // The interface or class may be package-private; the method itself is ours to call.
      m.setAccessible(true);
    } catch (RuntimeException e) {
      throw problem(
          m,
          "cannot be called from Outlast: " + e.getMessage(),
          "open its package to Outlast's module (opens ... to dev.outlast.core), or make it"
              + " public");
    }
    // Method.invoke rather than a method handle held in a field: the JDK's accessor for it is a
    // constant the JIT inlines, a field's handle is not, and the proxy call costs less this way.
    return args -> {
      try {
        return m.invoke(receiver, args);
      } catch (InvocationTargetException e) {
        throw asException(Objects.requireNonNullElse(e.getCause(), e));
      }
    };
  }

  /**
   * What the implementation threw, as the {@link Invoker}s pass it on: itself, unless it is a
   * {@code Throwable} of neither kind, which no Java code throws but bytecode could.
   */
  private static Exception asException(Throwable t) {
    if (t instanceof Error e) {
      throw e;
    }
    return t instanceof Exception e ? e : new UndeclaredThrowableException(t);
  }

  // ---- checks across methods ----

  /**
   * Annotations on the implementation's methods are not read: Java does not carry them over to the
   * interface's. A service that put them there would run unprotected, so that is an error.
   */
  private void checkNoAnnotationsOnImplementation() {
    for (Method im : target.getClass().getMethods()) {
      if (im.getDeclaringClass().isInterface() || im.getDeclaringClass() == Object.class) {
        continue;
      }
      for (Annotation a : im.getAnnotations()) {
        Class<? extends Annotation> at = a.annotationType();
        boolean ours =
            at == Guarded.class
                || at == ReadFallback.class
                || PLUGGED.containsKey(at)
                || outlast.handler(at) != null;
        if (!ours) {
          continue;
        }
        Method onInterface = find(type, im.getName(), im.getParameterTypes());
        if (onInterface == null || onInterface.getAnnotation(at) == null) {
          throw new WiringException(
              target.getClass().getSimpleName()
                  + "."
                  + im.getName()
                  + ": @"
                  + at.getSimpleName()
                  + " is on the implementation, where Outlast does not read it (Java does not"
                  + " carry method annotations from a class to its interface). Move it to "
                  + (onInterface == null
                      ? "a method of " + type.getSimpleName()
                      : type.getSimpleName() + "." + im.getName()));
        }
      }
    }
  }

  /**
   * A class is wired by a proxy that subclasses it, which can override only public, non-final
   * instance methods of a class that is not final. An annotation anywhere else would do nothing, so
   * that is an error; so is an override that drops its superclass method's annotations, which Java
   * does not carry over.
   */
  private void checkClassCanBeProxied() {
    for (Class<?> c = type; c != null && c != Object.class; c = c.getSuperclass()) {
      for (Method m : c.getDeclaredMethods()) {
        if (m.isSynthetic() || m.isBridge()) {
          continue;
        }
        Annotation a = firstOurs(m);
        if (a == null) {
          continue;
        }
        String at = "@" + a.annotationType().getSimpleName();
        int mod = m.getModifiers();
        String why = null;
        String fix = null;
        if (Modifier.isStatic(mod)) {
          why = "it is static, and a proxy intercepts only calls on an instance";
          fix = "make it an instance method";
        } else if (Modifier.isPrivate(mod)) {
          why = "it is private, and a proxy cannot see it";
          fix = "make it public";
        } else if (!Modifier.isPublic(mod)) {
          why = "it is not public, and Outlast wires only public methods";
          fix = "make it public";
        } else if (Modifier.isFinal(mod)) {
          why =
              "it is final, and a proxy that subclasses "
                  + type.getSimpleName()
                  + " cannot override it";
          fix = "remove final from the method";
        } else if (Modifier.isFinal(type.getModifiers())) {
          why = "the class is final, and a proxy cannot subclass it";
          fix =
              "remove final from "
                  + type.getSimpleName()
                  + ", or put the annotations on an interface it implements";
        } else {
          Method used = publicMethod(m.getName(), m.getParameterTypes());
          if (used != null && used.getDeclaringClass() != c && firstOurs(used) == null) {
            why =
                "it is overridden in "
                    + used.getDeclaringClass().getSimpleName()
                    + " without the annotation, and Java does not carry method annotations to an"
                    + " override";
            fix =
                "repeat "
                    + at
                    + " on "
                    + used.getDeclaringClass().getSimpleName()
                    + "."
                    + m.getName();
          }
        }
        if (why != null) {
          throw new WiringException(
              c.getSimpleName()
                  + "."
                  + m.getName()
                  + "("
                  + simpleNames(m.getParameterTypes())
                  + "): "
                  + at
                  + " would do nothing: "
                  + why
                  + ". Fix: "
                  + fix);
        }
      }
    }
  }

  /** The first Outlast annotation on a method, or null. */
  private @Nullable Annotation firstOurs(Method m) {
    for (Annotation a : m.getAnnotations()) {
      Class<? extends Annotation> at = a.annotationType();
      if (at == Guarded.class
          || at == ReadFallback.class
          || PLUGGED.containsKey(at)
          || outlast.handler(at) != null) {
        return a;
      }
    }
    return null;
  }

  /** A property naming a method of this interface that has no such annotation is an error. */
  private void checkSettingsNameMethods() {
    String prefix = type.getSimpleName() + ".";
    List<String> kinds = new ArrayList<>(List.of(GUARDED, FALLBACK));
    for (AnnotationHandler h : outlast.handlers()) {
      kinds.add(h.kind());
    }
    for (String kind : kinds) {
      for (String name : outlast.settings().names(kind)) {
        if (name.startsWith(prefix) && !settingsRead.contains(kind + "|" + name)) {
          throw new WiringException(
              "properties outlast."
                  + kind
                  + "."
                  + name
                  + ".*: "
                  + type.getSimpleName()
                  + " has no method "
                  + name.substring(prefix.length())
                  + " annotated for them, so they would do nothing. Methods of "
                  + type.getSimpleName()
                  + ": "
                  + Arrays.stream(type.getMethods())
                      .map(Method::getName)
                      .distinct()
                      .sorted()
                      .collect(Collectors.joining(", ")));
        }
      }
    }
  }

  // ---- helpers ----

  private String setting(String kind, String name, String attribute, String annotationValue) {
    settingsRead.add(kind + "|" + name);
    String v = outlast.settings().get(kind, name, attribute);
    return v != null ? v : annotationValue;
  }

  private String id(Method m) {
    return type.getSimpleName() + "." + m.getName();
  }

  private WiringException problem(Method m, String problem, String fix) {
    return new WiringException(
        type.getSimpleName()
            + "."
            + m.getName()
            + "("
            + simpleNames(m.getParameterTypes())
            + "): "
            + problem
            + ". Fix: "
            + fix);
  }

  /**
   * A type as a reader writes it: {@code Optional<Product>}, not {@code java.util.Optional<...>}.
   */
  private static String typeName(Type t) {
    return t.getTypeName().replaceAll("\\bjava\\.(lang|util)\\.", "");
  }

  private static String signature(Method m) {
    return m.getReturnType().getSimpleName()
        + " "
        + m.getName()
        + "("
        + simpleNames(m.getParameterTypes())
        + ")";
  }

  private static String simpleNames(Class<?>[] types) {
    return Arrays.stream(types).map(Class::getSimpleName).collect(Collectors.joining(", "));
  }

  private static boolean isDeclared(Class<?>[] declared, Throwable t) {
    for (Class<?> d : declared) {
      if (d.isInstance(t)) {
        return true;
      }
    }
    return false;
  }

  private boolean proxyEquals(@Nullable Object @Nullable [] args) {
    Object other = Objects.requireNonNull(args)[0];
    if (other == proxy) {
      return true;
    }
    if (other == null || !Proxy.isProxyClass(other.getClass())) {
      return false;
    }
    return Proxy.getInvocationHandler(other) instanceof ProxyWiring<?> w
        && w.type == type
        && w.target.equals(target);
  }

  private String proxyToString() {
    return "Outlast proxy of " + type.getSimpleName() + " over " + target;
  }

  /** A result that may be null, through {@link Guard#call}, whose results may not be. */
  private record Box(@Nullable Object value) {}

  /** What a handler sees of the method it wires. */
  private final class Site implements WiringSite {
    private final Method method;
    private final String kind;
    private final @Nullable Guard guard;
    private final Invoker target;

    Site(Method method, String kind, @Nullable Guard guard, Invoker target) {
      this.method = method;
      this.kind = kind;
      this.guard = guard;
      this.target = target;
    }

    @Override
    public Method method() {
      return method;
    }

    @Override
    public String id() {
      return ProxyWiring.this.id(method);
    }

    @Override
    public @Nullable Guard guard() {
      return guard;
    }

    @Override
    public Invoker target() {
      return target;
    }

    @Override
    public Invoker guarded(Guard g) {
      return ProxyWiring.guarded(method, target, g);
    }

    @Override
    public <R> R resource(String name, Class<R> rtype, String what) {
      Object r = outlast.resource(name);
      if (!rtype.isInstance(r)) {
        throw problem(
            (r == null ? "no " + what + " is registered as '" + name + "'" : "'" + name + "' is a ")
                + (r == null ? "" : r.getClass().getName() + ", not a " + what),
            "register it with Outlast.builder().resource(\""
                + name
                + "\", ...); the resources registered are "
                + outlast.resourceNames());
      }
      return rtype.cast(r);
    }

    @Override
    public String setting(String name, String attribute, String annotationValue) {
      return ProxyWiring.this.setting(kind, name, attribute, annotationValue);
    }

    @Override
    public Duration duration(String name, String attribute, String annotationValue) {
      String v = setting(name, attribute, annotationValue);
      Duration d = Settings.parseDuration(v);
      if (d == null) {
        throw problem(
            source(name, attribute) + " is '" + v + "', which is not a duration",
            "write it as 500ms, 30s, 5m, 2h, 1d or ISO-8601 (PT30S)");
      }
      return d;
    }

    @Override
    public long number(String name, String attribute, long annotationValue, long min) {
      String v = setting(name, attribute, Long.toString(annotationValue));
      long n;
      try {
        n = Long.parseLong(v);
      } catch (NumberFormatException e) {
        n = Long.MIN_VALUE;
      }
      if (n < min) {
        throw problem(
            source(name, attribute) + " is '" + v + "'", "write a whole number of at least " + min);
      }
      return n;
    }

    private String source(String name, String attribute) {
      return outlast.settings().get(kind, name, attribute) != null
          ? "property " + Settings.key(kind, name, attribute)
          : "the annotation's " + attribute;
    }

    @Override
    public WiringException problem(String problem, String fix) {
      return ProxyWiring.this.problem(method, problem, fix);
    }

    @Override
    public void component(String name, Object component) {
      if (built.containsKey(name) || outlast.hasComponent(name)) {
        if (component instanceof AutoCloseable c) {
          try {
            c.close();
          } catch (Exception e) {
            // It was never used; the wiring error below is what matters.
          }
        }
        throw problem(
            "a component named '" + name + "' exists already",
            "give this one another name (two methods cannot share one cache)");
      }
      built.put(name, component);
    }
  }
}
