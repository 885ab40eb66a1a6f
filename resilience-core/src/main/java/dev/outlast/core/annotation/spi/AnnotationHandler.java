package dev.outlast.core.annotation.spi;

import java.lang.annotation.Annotation;
import java.util.Set;

/**
 * Makes one annotation work, for the modules core does not depend on: {@code resilience-cache}
 * handles {@link dev.outlast.core.annotation.CachedQuery}, {@code resilience-buffer} {@link
 * dev.outlast.core.annotation.SpillOnFailure}. Found with {@link java.util.ServiceLoader}: a module
 * lists its handler in {@code META-INF/services/dev.outlast.core.annotation.spi.AnnotationHandler}.
 *
 * <p>Implementations must be threadsafe and stateless: one instance serves every {@code Outlast}.
 */
public interface AnnotationHandler {
  /**
   * {@return the annotation this handler makes work} Two handlers of different classes for one
   * annotation fail {@code Outlast.Builder.build()}.
   */
  Class<? extends Annotation> annotation();

  /**
   * {@return the second part of its property keys: "cache" for {@code
   * outlast.cache.<name>.fresh-for}}
   */
  String kind();

  /**
   * {@return the attributes its properties may set: "fresh-for", ...} A property with any other is
   * a wiring error.
   */
  Set<String> attributes();

  /**
   * Wires one method: checks what the annotation asks for against the method, and returns the call
   * that replaces it.
   *
   * @param site the method and what the handler may use for it; valid only during this call
   * @return the call that replaces the method; it runs on the callers' threads, so it must be
   *     threadsafe
   * @throws dev.outlast.core.annotation.WiringException if the method cannot work as annotated;
   *     from {@link WiringSite#problem}
   */
  Invoker wire(WiringSite site);
}
