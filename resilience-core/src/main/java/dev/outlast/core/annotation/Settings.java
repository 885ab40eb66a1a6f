package dev.outlast.core.annotation;

import java.time.Duration;
import java.time.format.DateTimeParseException;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.jspecify.annotations.Nullable;

/**
 * The {@code outlast.*} properties, checked once when the {@link Outlast} is built: a key of an
 * unknown kind or attribute is a typo that would otherwise be ignored, so it is an error.
 * Immutable.
 */
final class Settings {
  static final String PREFIX = "outlast.";
  private static final Pattern SHORT_DURATION = Pattern.compile("(\\d+)\\s*(ms|s|m|h|d)");

  private final Map<String, String> values;
  private final Set<String> kinds;

  private Settings(Map<String, String> values, Set<String> kinds) {
    this.values = values;
    this.kinds = kinds;
  }

  /**
   * Keeps the {@code outlast.*} entries, checking each key's kind and attribute.
   *
   * @param attributes the attributes of each kind
   */
  static Settings of(Map<String, String> properties, Map<String, Set<String>> attributes) {
    Map<String, String> kept = new TreeMap<>();
    for (Map.Entry<String, String> e : properties.entrySet()) {
      String key = e.getKey();
      if (!key.startsWith(PREFIX)) {
        continue;
      }
      String rest = key.substring(PREFIX.length());
      int firstDot = rest.indexOf('.');
      int lastDot = rest.lastIndexOf('.');
      if (firstDot <= 0 || lastDot <= firstDot + 1 || lastDot == rest.length() - 1) {
        throw new WiringException(
            "property "
                + key
                + ": expected outlast.<kind>.<name>.<attribute>, e.g."
                + " outlast.cache.products.fresh-for");
      }
      String kind = rest.substring(0, firstDot);
      String attribute = rest.substring(lastDot + 1);
      Set<String> known = attributes.get(kind);
      if (known == null) {
        throw new WiringException(
            "property "
                + key
                + ": unknown kind '"
                + kind
                + "'; the kinds are "
                + new TreeMap<>(attributes).keySet()
                + " (a kind whose module is not on the class path is not known)");
      }
      if (!known.contains(attribute)) {
        throw new WiringException(
            "property "
                + key
                + ": "
                + kind
                + " has no attribute '"
                + attribute
                + "'; it has "
                + new java.util.TreeSet<>(known));
      }
      kept.put(key, e.getValue().trim());
    }
    return new Settings(Map.copyOf(kept), Set.copyOf(attributes.keySet()));
  }

  static String key(String kind, String name, String attribute) {
    return PREFIX + kind + "." + name + "." + attribute;
  }

  /** The kinds properties may have: "guarded", "cache", ... */
  Set<String> kinds() {
    return new java.util.TreeSet<>(kinds);
  }

  /** The names the properties of a kind mention. */
  Set<String> names(String kind) {
    String prefix = PREFIX + kind + ".";
    Set<String> names = new java.util.TreeSet<>();
    for (String key : values.keySet()) {
      if (key.startsWith(prefix)) {
        names.add(key.substring(prefix.length(), key.lastIndexOf('.')));
      }
    }
    return names;
  }

  @Nullable String get(String kind, String name, String attribute) {
    return values.get(key(kind, name, attribute));
  }

  /**
   * Reads a duration: a number and a unit ({@code 500ms}, {@code 30s}, {@code 5m}, {@code 2h},
   * {@code 1d}) or ISO-8601 ({@code PT30S}); not negative.
   *
   * @return null if it is not one
   */
  static @Nullable Duration parseDuration(String text) {
    String t = text.trim();
    Duration d;
    Matcher m = SHORT_DURATION.matcher(t);
    if (m.matches()) {
      try {
        long n = Long.parseLong(m.group(1));
        d =
            switch (m.group(2)) {
              case "ms" -> Duration.ofMillis(n);
              case "s" -> Duration.ofSeconds(n);
              case "m" -> Duration.ofMinutes(n);
              case "h" -> Duration.ofHours(n);
              default -> Duration.ofDays(n);
            };
      } catch (NumberFormatException | ArithmeticException e) {
        return null; // not a number, or more than a Duration holds
      }
    } else {
      try {
        d = Duration.parse(t);
      } catch (DateTimeParseException e) {
        return null;
      }
    }
    return d.isNegative() ? null : d;
  }

  @Override
  public String toString() {
    return values.toString();
  }
}
