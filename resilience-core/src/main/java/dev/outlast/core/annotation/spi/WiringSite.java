package dev.outlast.core.annotation.spi;

import dev.outlast.core.Guard;
import dev.outlast.core.annotation.WiringException;
import java.lang.reflect.Method;
import java.time.Duration;
import org.jspecify.annotations.Nullable;

/**
 * One annotated method being wired, as an {@link AnnotationHandler} sees it. Valid only during
 * {@link AnnotationHandler#wire}, from the thread that calls it.
 */
public interface WiringSite {
  /** The interface method. */
  Method method();

  /** The method as properties and messages name it: {@code ProductRepository.findById}. */
  String id();

  /** The guard of the method's {@code @Guarded} dependency, or null if it has none. */
  @Nullable Guard guard();

  /**
   * Calls the implementation, with no guard and no fallback around it: the handler decides how to
   * guard it (a cache takes permits from {@link #guard()} itself).
   */
  Invoker target();

  /**
   * {@link #target()} through a guard: what {@code @Guarded} does. A checked exception the method
   * declares comes out as itself, not wrapped in a {@code DependencyCallException}.
   */
  Invoker guarded(Guard guard);

  /**
   * A registered resource, checked for its type.
   *
   * @param what what it is for the message: "spill queue"
   * @throws WiringException naming the method, the name, and the names that are registered, if
   *     there is none by that name or it is not of the type
   */
  <T> T resource(String name, Class<T> type, String what);

  /**
   * A setting: the property {@code outlast.<kind>.<name>.<attribute>} if set, else the annotation's
   * value.
   */
  String setting(String name, String attribute, String annotationValue);

  /**
   * As {@link #setting}, read as a duration ({@code 30s}, {@code 500ms}, {@code PT1M}).
   *
   * @throws WiringException naming the property or annotation attribute, if it is not one
   */
  Duration duration(String name, String attribute, String annotationValue);

  /**
   * As {@link #setting}, read as a whole number, at least {@code min}.
   *
   * @throws WiringException naming the property or annotation attribute, if it is not one
   */
  long number(String name, String attribute, long annotationValue, long min);

  /** An exception for this method: "{@code <id>}: {@code <problem>}. {@code <fix>}". */
  WiringException problem(String problem, String fix);

  /**
   * Registers something the handler built for this method under a name, for {@link
   * dev.outlast.core.annotation.Outlast#component}; closed with the {@code Outlast} if it is {@link
   * AutoCloseable}.
   *
   * @throws WiringException if a component of that name exists already
   */
  void component(String name, Object component);
}
