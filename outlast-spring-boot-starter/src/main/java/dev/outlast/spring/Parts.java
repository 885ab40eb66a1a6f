package dev.outlast.spring;

import dev.outlast.core.Guard;
import dev.outlast.core.annotation.Outlast;
import dev.outlast.core.health.Health;
import dev.outlast.core.health.HealthCheck;
import dev.outlast.core.health.Importance;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;
import org.jspecify.annotations.Nullable;
import org.springframework.beans.factory.ListableBeanFactory;
import org.springframework.util.ClassUtils;

/**
 * Every component Outlast has in the context: the guards, the spill queues, and the caches the
 * wiring built. Looked up afresh on each call, so components wired late are included. Threadsafe.
 */
final class Parts {
  static final boolean BUFFER = present("dev.outlast.buffer.SpillQueue");
  static final boolean CACHE = present("dev.outlast.cache.QueryCache");

  private Parts() {}

  /**
   * One component.
   *
   * @param name its name, unique among the parts ("orders", or "orders-queue" if a guard has the
   *     name too)
   * @param component the guard, queue or cache itself
   */
  record Part(
      String name,
      String original,
      String kind,
      Object component,
      Importance importance,
      HealthCheck check) {}

  static List<Part> collect(
      ListableBeanFactory beans, @Nullable Outlast outlast, OutlastProperties props) {
    List<Part> parts = new ArrayList<>();
    Set<String> names = new HashSet<>();
    Map<String, Importance> given = props.getHealth().getImportance();
    for (Guard g : beans.getBeansOfType(Guard.class, false, false).values()) {
      String n = g.dependency();
      OutlastProperties.GuardProperties p = props.getGuard().get(n);
      add(
          parts,
          names,
          n,
          "guard",
          g,
          u -> p != null ? p.getImportance() : given.getOrDefault(u, Importance.DEPENDENT),
          i -> Health.of(g, i));
    }
    if (BUFFER) {
      BufferParts.add(parts, names, beans, props);
    }
    if (CACHE && outlast != null) {
      CacheParts.add(parts, names, outlast.components(), given);
    }
    return parts;
  }

  /**
   * Adds a component under its name, or {@code <name>-<kind>} if that is taken; its importance is
   * looked up by the name it gets, the one {@code outlast.health.importance} is checked against.
   */
  static void add(
      List<Part> parts,
      Set<String> names,
      String name,
      String kind,
      Object component,
      Function<String, Importance> importanceOf,
      Function<Importance, HealthCheck> check) {
    String n = names.add(name) ? name : name + "-" + kind;
    names.add(n);
    Importance i = importanceOf.apply(n);
    parts.add(new Part(n, name, kind, component, i, check.apply(i)));
  }

  /** The names components may have in {@code outlast.health.importance}: all but configured. */
  static Set<String> importanceNames(List<Part> parts, OutlastProperties props) {
    Set<String> out = new java.util.TreeSet<>();
    for (Part p : parts) {
      boolean configured =
          ("guard".equals(p.kind()) && props.getGuard().containsKey(p.original()))
              || ("queue".equals(p.kind()) && props.getQueue().containsKey(p.original()));
      if (!configured) {
        out.add(p.name());
      }
    }
    return out;
  }

  private static boolean present(String type) {
    return ClassUtils.isPresent(type, Parts.class.getClassLoader());
  }
}
