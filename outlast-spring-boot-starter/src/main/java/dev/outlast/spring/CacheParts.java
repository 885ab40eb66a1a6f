package dev.outlast.spring;

import dev.outlast.cache.QueryCache;
import dev.outlast.core.health.Importance;
import java.util.List;
import java.util.Map;
import java.util.Set;

/** The caches the wiring built. Loaded only when resilience-cache is on the class path. */
final class CacheParts {
  private CacheParts() {}

  static void add(
      List<Parts.Part> parts,
      Set<String> names,
      Map<String, Object> components,
      Map<String, Importance> given) {
    for (Map.Entry<String, Object> e : components.entrySet()) {
      if (e.getValue() instanceof QueryCache<?, ?> c) {
        Parts.add(
            parts,
            names,
            e.getKey(),
            "cache",
            c,
            u -> given.getOrDefault(u, Importance.DEPENDENT),
            c::health);
      }
    }
  }
}
