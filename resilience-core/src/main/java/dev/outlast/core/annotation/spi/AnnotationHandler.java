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
  /** The annotation this handler makes work. */
  Class<? extends Annotation> annotation();

  /** The second part of its property keys: "cache" for {@code outlast.cache.<name>.fresh-for}. */
  String kind();

  /** The attributes its properties may set: "fresh-for", ... Any other is a wiring error. */
  Set<String> attributes();

  /**
   * Wires one method: checks what the annotation asks for against the method, and returns the call
   * that replaces it.
   *
   * @throws dev.outlast.core.annotation.WiringException if the method cannot work as annotated;
   *     from {@link WiringSite#problem}
   */
  Invoker wire(WiringSite site);
}
