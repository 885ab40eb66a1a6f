package dev.outlast.spring;

import dev.outlast.buffer.SpillQueue;
import dev.outlast.core.health.Importance;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.springframework.beans.factory.ListableBeanFactory;

/** The spill queues among the parts. Loaded only when resilience-buffer is on the class path. */
final class BufferParts {
  private BufferParts() {}

  static void add(
      List<Parts.Part> parts,
      Set<String> names,
      ListableBeanFactory beans,
      OutlastProperties props) {
    Map<String, Importance> given = props.getHealth().getImportance();
    for (SpillQueue<?> q : beans.getBeansOfType(SpillQueue.class, false, false).values()) {
      OutlastProperties.QueueProperties p = props.getQueue().get(q.name());
      Parts.add(
          parts,
          names,
          q.name(),
          "queue",
          q,
          u -> p != null ? p.getImportance() : given.getOrDefault(u, Importance.DEPENDENT),
          q::health);
    }
  }

  /** The queues, by their names, as resources for {@code @SpillOnFailure(queue = ...)}. */
  static void resources(ListableBeanFactory beans, Map<String, Object> into) {
    for (SpillQueue<?> q : beans.getBeansOfType(SpillQueue.class).values()) {
      into.put(q.name(), q);
    }
  }
}
