package dev.outlast.cache;

import dev.outlast.core.OutlastException;
import java.time.Duration;
import java.util.Optional;
import org.jspecify.annotations.Nullable;

/**
 * A {@link QueryCache} has no value it may serve for a key, and could not load one: the key was
 * never loaded (or was invalidated), or its value is older than {@link Freshness#serveStaleFor()},
 * and the database failed or is unavailable. The message names the cache, the dependency, the key,
 * the age of what the cache has, and the cause.
 */
public final class NoUsableValueException extends OutlastException {
  private static final long serialVersionUID = 1L;

  /** The cache's name. */
  private final String cache;

  /** The dependency the cache loads from. */
  private final String dependency;

  /** The key, as text. */
  private final String key;

  /** The age of the value the cache has but may not serve; null if it has none. */
  private final @Nullable Duration age;

  NoUsableValueException(
      String cache,
      String dependency,
      String key,
      @Nullable Duration age,
      boolean servable,
      String why,
      Throwable cause) {
    super(message(cache, dependency, key, age, servable, why, cause), cause);
    this.cache = cache;
    this.dependency = dependency;
    this.key = key;
    this.age = age;
  }

  private static String message(
      String cache,
      String dependency,
      String key,
      @Nullable Duration age,
      boolean servable,
      String why,
      Throwable cause) {
    String have;
    if (age == null) {
      have = "no value for key " + key;
    } else if (servable) {
      have = "the cached value of key " + key + " (" + human(age) + " old) is not served";
    } else {
      have = "the value of key " + key + " is " + human(age) + " old, past what may be served";
    }
    return cache + ": " + have + ", and " + dependency + " " + why + ": " + cause;
  }

  /** {@return the cache's name} */
  public String cache() {
    return cache;
  }

  /** {@return the name of the dependency the cache loads from} */
  public String dependency() {
    return dependency;
  }

  /** {@return the key, as text} */
  public String key() {
    return key;
  }

  /** {@return the age of the value the cache has but may not serve, or empty if it has none} */
  public Optional<Duration> age() {
    return Optional.ofNullable(age);
  }

  static String human(Duration d) {
    long s = d.toSeconds();
    if (s < 120) {
      return d.toMillis() < 10_000 ? d.toMillis() + " ms" : s + " s";
    }
    if (s < 2 * 3600) {
      return s / 60 + " min";
    }
    return s / 3600 + " h " + (s % 3600) / 60 + " min";
  }
}
