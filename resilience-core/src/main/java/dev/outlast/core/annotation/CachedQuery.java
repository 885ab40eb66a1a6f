package dev.outlast.core.annotation;

import java.lang.annotation.Documented;
import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;

/**
 * The method's results are cached per argument list by a query cache (module {@code
 * resilience-cache}, which must be on the class path): fresh answers for {@link #freshFor}, and,
 * while the dependency is out, the last answer for up to {@link #serveStaleFor}. The method must
 * also be {@link Guarded}: the cache loads through that guard and serves stale values only when it
 * reports an outage.
 *
 * <p>The method must return a value that can be shared between callers: not {@code void}, not a
 * future, stream, iterator or array. Its arguments are the key, compared with {@code equals}: no
 * arrays. It must not return null; return an {@code Optional} or an empty collection for "no row".
 *
 * <p>Durations are written {@code 500ms}, {@code 30s}, {@code 5m}, {@code 2h}, {@code 1d}, or in
 * ISO-8601 ({@code PT30S}). Properties, with {@code <name>} the cache's {@link #name}: {@code
 * outlast.cache.<name>.fresh-for}, {@code .stale-while-revalidate}, {@code .serve-stale-for},
 * {@code .maximum-size}, {@code .tags} (comma-separated).
 */
@Documented
@Retention(RetentionPolicy.RUNTIME)
@Target(ElementType.METHOD)
public @interface CachedQuery {
  /**
   * {@return the cache's name, for properties, logs and {@link Outlast#component}} Empty (the
   * default) means {@code <Interface>.<method>}; a name is 1 to 64 letters, digits, '.', '_' or
   * '-', and two methods cannot share one.
   */
  String name() default "";

  /** {@return how long a loaded answer is served without asking the database; positive} */
  String freshFor() default "30s";

  /**
   * {@return how long after {@link #freshFor} the old answer is still served at once while a reload
   * runs in the background} 0 (the default) means a caller past {@code freshFor} waits for a fresh
   * answer, and gets the old one only if the database fails.
   */
  String staleWhileRevalidate() default "0s";

  /**
   * {@return how old an answer may be and still be served while the database is out} At least
   * {@link #freshFor} plus {@link #staleWhileRevalidate}.
   */
  String serveStaleFor() default "1h";

  /**
   * {@return how many argument lists are cached at most, at least 1} The least useful are evicted
   * first.
   */
  long maximumSize() default 10_000;

  /**
   * {@return the tags put on every answer, for {@code QueryCache.invalidateTag}} {@code {0}},
   * {@code {1}}, ... stand for the arguments: {@code "product:{0}"}.
   */
  String[] tags() default {};
}
