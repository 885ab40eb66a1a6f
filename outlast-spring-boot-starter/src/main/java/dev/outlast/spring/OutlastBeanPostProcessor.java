package dev.outlast.spring;

import dev.outlast.core.annotation.CachedQuery;
import dev.outlast.core.annotation.Guarded;
import dev.outlast.core.annotation.Outlast;
import dev.outlast.core.annotation.ReadFallback;
import dev.outlast.core.annotation.SpillOnFailure;
import java.lang.annotation.Annotation;
import java.lang.reflect.InvocationHandler;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.aopalliance.intercept.MethodInterceptor;
import org.aopalliance.intercept.MethodInvocation;
import org.jspecify.annotations.Nullable;
import org.springframework.aop.ProxyMethodInvocation;
import org.springframework.aop.framework.Advised;
import org.springframework.aop.framework.AopConfigException;
import org.springframework.aop.framework.AopInfrastructureBean;
import org.springframework.aop.framework.AopProxyUtils;
import org.springframework.aop.framework.ProxyFactory;
import org.springframework.aop.support.AopUtils;
import org.springframework.beans.factory.ObjectProvider;
import org.springframework.beans.factory.config.BeanPostProcessor;
import org.springframework.core.Ordered;
import org.springframework.util.ClassUtils;

/**
 * Makes the Outlast annotations work on Spring beans. A bean whose interfaces carry them, or whose
 * own public methods do, is replaced by a proxy whose annotated methods go through {@link
 * Outlast#handler}: interface methods through a handler of their interface, class methods through a
 * handler of the class. The proxy is made with Spring AOP's {@link ProxyFactory} (spring-aop comes
 * with every Spring application), as a subclass when the class can be subclassed, else of the
 * bean's interfaces.
 *
 * <p>It runs after Spring's own proxy creators, so a bean that is already a proxy (a transaction, a
 * security check) is wrapped as it is: the guard is outermost and the transaction runs inside it,
 * on the guard's thread. Its proxies are frozen, so that later processors wrap them rather than add
 * advice that the Outlast handler would skip.
 *
 * <p>A call from inside the bean to its own method does not go through any proxy and is not wired.
 * That cannot be detected; the guide says so. Threadsafe.
 */
final class OutlastBeanPostProcessor implements BeanPostProcessor, Ordered {
  private static final List<Class<? extends Annotation>> OURS =
      List.of(Guarded.class, ReadFallback.class, CachedQuery.class, SpillOnFailure.class);

  private final ObjectProvider<Outlast> outlast;
  private final boolean proxyTargetClass;
  private final Map<PlanKey, Plan> plans = new ConcurrentHashMap<>();

  OutlastBeanPostProcessor(ObjectProvider<Outlast> outlast, boolean proxyTargetClass) {
    this.outlast = outlast;
    this.proxyTargetClass = proxyTargetClass;
  }

  @Override
  public int getOrder() {
    return Ordered.LOWEST_PRECEDENCE;
  }

  @Override
  public Object postProcessAfterInitialization(Object bean, String beanName) {
    if (bean instanceof AopInfrastructureBean || bean instanceof Outlast) {
      return bean;
    }
    Class<?> userClass = ClassUtils.getUserClass(AopUtils.getTargetClass(bean));
    // A JDK proxy (a Spring Data repository) implements interfaces its target class does not: the
    // annotations are on those, so they are planned over too.
    Plan plan =
        plans.computeIfAbsent(
            new PlanKey(userClass, bean.getClass()),
            k -> Plan.of(userClass, ClassUtils.getAllInterfacesAsSet(bean)));
    if (plan.isEmpty()) {
      return bean;
    }
    return proxy(bean, beanName, userClass, plan);
  }

  /** The interfaces the bean itself implements, without the ones Spring's proxies add. */
  private static Class<?>[] ownInterfaces(Object bean) {
    if (bean instanceof Advised) {
      return AopProxyUtils.proxiedUserInterfaces(bean);
    }
    return ClassUtils.getAllInterfaces(bean);
  }

  private Object proxy(Object bean, String beanName, Class<?> userClass, Plan plan) {
    Outlast o = outlast.getObject();
    Map<Method, Route> routes = new HashMap<>();
    for (Class<?> iface : plan.interfaces) {
      InvocationHandler h = handler(o, iface, bean);
      for (Method m : iface.getMethods()) {
        if (Modifier.isStatic(m.getModifiers())) {
          continue;
        }
        Route r = new Route(h, m);
        routes.put(m, r);
        // A subclass proxy sees the class's method, not the interface's.
        Method impl =
            iface.isAssignableFrom(userClass) ? ClassUtils.getMostSpecificMethod(m, userClass) : m;
        if (!impl.equals(m)) {
          if (ours(impl) != null && ours(m) != null) {
            throw new OutlastConfigurationException(
                "bean '"
                    + beanName
                    + "': "
                    + userClass.getSimpleName()
                    + "."
                    + impl.getName()
                    + " and "
                    + iface.getSimpleName()
                    + "."
                    + m.getName()
                    + " both carry Outlast annotations, so the method would be wired twice",
                "keep the annotations in one place: on the interface or on the class");
          }
          routes.putIfAbsent(impl, r);
        }
      }
    }
    if (plan.classAnnotated) {
      if (!userClass.isInstance(bean)) {
        throw new OutlastConfigurationException(
            "bean '"
                + beanName
                + "' of "
                + userClass.getName()
                + " has Outlast annotations on its class's methods, but it is a proxy of its"
                + " interfaces only ("
                + bean.getClass().getName()
                + "), which a class proxy cannot extend",
            "set spring.aop.proxy-target-class=true (the default), or move the annotations to an"
                + " interface the class implements");
      }
      InvocationHandler h = handler(o, userClass, bean);
      for (Method m : userClass.getMethods()) {
        if (ours(m) != null) {
          routes.put(m, new Route(h, m));
        }
      }
    }
    ProxyFactory pf = new ProxyFactory();
    pf.setTarget(bean);
    // A bean that is not an instance of its target class (a JDK proxy) can only be proxied again
    // through the interfaces it implements.
    boolean ofTarget = userClass.isInstance(bean);
    boolean subclass =
        plan.classAnnotated
            || (ofTarget && proxyTargetClass && !Modifier.isFinal(userClass.getModifiers()));
    if (subclass) {
      pf.setProxyTargetClass(true);
    } else if (ofTarget) {
      pf.setInterfaces(ClassUtils.getAllInterfacesForClass(userClass, userClass.getClassLoader()));
    } else {
      pf.setInterfaces(ownInterfaces(bean));
    }
    pf.addAdvice(new Interceptor(routes));
    // Later processors must wrap this proxy, not add advice to it that the handler would skip.
    pf.setFrozen(true);
    try {
      // A JDK proxy's loader sees all its interfaces; its target's may not.
      return pf.getProxy(ofTarget ? userClass.getClassLoader() : bean.getClass().getClassLoader());
    } catch (AopConfigException | IllegalArgumentException e) {
      throw new OutlastConfigurationException(
          "bean '"
              + beanName
              + "' of "
              + userClass.getName()
              + " cannot be proxied: "
              + e.getMessage(),
          "make the class public and not final with a constructor a subclass can use, or put"
              + " the annotations on an interface it implements",
          e);
    }
  }

  @SuppressWarnings("unchecked") // the bean is an instance of the type: checked by the plan
  private static <T> InvocationHandler handler(Outlast o, Class<T> type, Object bean) {
    return o.handler(type, (T) bean);
  }

  /** Whether beans of the type would be wired: their interfaces or class carry annotations. */
  static boolean annotated(Class<?> type) {
    return !Plan.of(ClassUtils.getUserClass(type), Set.of()).isEmpty();
  }

  static @Nullable Annotation ours(Method m) {
    for (Class<? extends Annotation> a : OURS) {
      Annotation found = m.getAnnotation(a);
      if (found != null) {
        return found;
      }
    }
    return null;
  }

  /** Which of a class's interfaces and methods carry Outlast annotations. Immutable. */
  private static final class Plan {
    final Set<Class<?>> interfaces;
    final boolean classAnnotated;

    Plan(Set<Class<?>> interfaces, boolean classAnnotated) {
      this.interfaces = interfaces;
      this.classAnnotated = classAnnotated;
    }

    static Plan of(Class<?> type, Set<Class<?>> beanInterfaces) {
      Set<Class<?>> all = new LinkedHashSet<>(ClassUtils.getAllInterfacesForClassAsSet(type));
      all.addAll(beanInterfaces);
      Set<Class<?>> ifaces = new LinkedHashSet<>();
      for (Class<?> i : all) {
        for (Method m : i.getMethods()) {
          if (ours(m) != null) {
            ifaces.add(i);
            break;
          }
        }
      }
      boolean onClass = false;
      for (Class<?> c = type; c != null && c != Object.class && !onClass; c = c.getSuperclass()) {
        for (Method m : c.getDeclaredMethods()) {
          if (!m.isSynthetic() && ours(m) != null) {
            onClass = true;
            break;
          }
        }
      }
      return new Plan(ifaces, onClass);
    }

    boolean isEmpty() {
      return interfaces.isEmpty() && !classAnnotated;
    }
  }

  private record Route(InvocationHandler handler, Method method) {}

  /** A plan depends on the target's class and on what the bean's own class implements. */
  private record PlanKey(Class<?> target, Class<?> bean) {}

  /** Hands the wired methods to their handler; everything else goes on to the bean. */
  private static final class Interceptor implements MethodInterceptor {
    private final Map<Method, Route> routes;

    Interceptor(Map<Method, Route> routes) {
      this.routes = Map.copyOf(routes);
    }

    @Override
    public @Nullable Object invoke(MethodInvocation invocation) throws Throwable {
      Route r = routes.get(invocation.getMethod());
      if (r == null) {
        return invocation.proceed();
      }
      Object proxy =
          invocation instanceof ProxyMethodInvocation p ? p.getProxy() : invocation.getThis();
      return r.handler.invoke(proxy, r.method, invocation.getArguments());
    }

    @Override
    public String toString() {
      List<String> names = new ArrayList<>();
      routes.values().forEach(r -> names.add(r.method.getName()));
      return "Outlast interceptor " + names;
    }
  }
}
