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
  /** {@return the annotated method, of the interface (or class) being wired} */
  Method method();

  /**
   * {@return the method as properties and messages name it: {@code ProductRepository.findById}} The
   * type's simple name and the method's name.
   */
  String id();

  /** {@return the guard of the method's {@code @Guarded} dependency, or null if it has none} */
  @Nullable Guard guard();

  /**
   * {@return a call to the implementation, with no guard and no fallback around it} The handler
   * decides how to guard it (a cache takes permits from {@link #guard()} itself).
   */
  Invoker target();

  /**
   * {@return {@link #target()} through a guard: what {@code @Guarded} does} A checked exception the
   * method declares comes out as itself, not wrapped in a {@code DependencyCallException}.
   *
   * @param guard the guard to call through; usually {@link #guard()}
   */
  Invoker guarded(Guard guard);

  /**
   * A registered resource, checked for its type. {@code Outlast.LOADER_POOL} and {@code
   * Outlast.SCHEDULER} name the threads the {@code Outlast} shares with its components.
   *
   * @param <T> the resource's type
   * @param name the name it was registered under, or one the builder's resource lookup knows
   * @param type the type the handler uses it as
   * @param what what it is for the message: "spill queue"
   * @return the resource
   * @throws WiringException naming the method, the name, and the names that are registered, if
   *     there is none by that name or it is not of the type
   */
  <T> T resource(String name, Class<T> type, String what);

  /**
   * A setting: the property {@code outlast.<kind>.<name>.<attribute>} if set, else the annotation's
   * value. The kind is the handler's {@link AnnotationHandler#kind()}. Reading a name marks it as
   * wired, for {@code Outlast.checkSettingsUsed()}.
   *
   * @param name the middle of the key: a component's name, or {@link #id()}
   * @param attribute the last part of the key, one of {@link AnnotationHandler#attributes()}
   * @param annotationValue the annotation's value, used when no property is set
   * @return the property's value, trimmed, or {@code annotationValue}
   */
  String setting(String name, String attribute, String annotationValue);

  /**
   * As {@link #setting}, read as a duration ({@code 30s}, {@code 500ms}, {@code PT1M}).
   *
   * @param name the middle of the key: a component's name, or {@link #id()}
   * @param attribute the last part of the key
   * @param annotationValue the annotation's value, used when no property is set
   * @return the duration; zero or positive
   * @throws WiringException naming the property or annotation attribute, if it is not one
   */
  Duration duration(String name, String attribute, String annotationValue);

  /**
   * As {@link #setting}, read as a whole number, at least {@code min}.
   *
   * @param name the middle of the key: a component's name, or {@link #id()}
   * @param attribute the last part of the key
   * @param annotationValue the annotation's value, used when no property is set
   * @param min the smallest value allowed
   * @return the number
   * @throws WiringException naming the property or annotation attribute, if it is not one
   */
  long number(String name, String attribute, long annotationValue, long min);

  /**
   * {@return an exception for this method, for the handler to throw} Its message is {@code
   * <Type>.<method>(<parameter types>): <problem>. Fix: <fix>}.
   *
   * @param problem what is wrong, without a final full stop
   * @param fix what to change
   */
  WiringException problem(String problem, String fix);

  /**
   * Registers something the handler built for this method under a name, for {@link
   * dev.outlast.core.annotation.Outlast#component}; closed with the {@code Outlast} if it is {@link
   * AutoCloseable}, and also if a later method of the same wiring fails.
   *
   * @param name the component's name, unique within the {@code Outlast}
   * @param component what the handler built
   * @throws WiringException if a component of that name exists already; the component given is
   *     closed first, if it is {@link AutoCloseable}
   */
  void component(String name, Object component);
}
