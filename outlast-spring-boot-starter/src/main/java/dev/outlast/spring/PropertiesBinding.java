package dev.outlast.spring;

import java.lang.reflect.Field;
import java.lang.reflect.Modifier;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeSet;
import org.jspecify.annotations.Nullable;
import org.springframework.boot.context.properties.bind.BindException;
import org.springframework.boot.context.properties.bind.BindHandler;
import org.springframework.boot.context.properties.bind.Bindable;
import org.springframework.boot.context.properties.bind.Binder;
import org.springframework.boot.context.properties.bind.PropertySourcesPlaceholdersResolver;
import org.springframework.boot.context.properties.bind.UnboundConfigurationPropertiesException;
import org.springframework.boot.context.properties.bind.handler.NoUnboundElementsBindHandler;
import org.springframework.boot.context.properties.source.ConfigurationProperty;
import org.springframework.boot.context.properties.source.ConfigurationPropertyName;
import org.springframework.boot.context.properties.source.ConfigurationPropertySource;
import org.springframework.boot.context.properties.source.ConfigurationPropertySources;
import org.springframework.core.env.Environment;
import org.springframework.core.env.SystemEnvironmentPropertySource;
import org.springframework.util.unit.DataSize;

/**
 * Binds {@code outlast.*} with every name checked: a property that binds to nothing is a typo that
 * would leave a default in force, so it fails the start, naming the names there are. Stateless.
 */
final class PropertiesBinding {
  static final String PREFIX = "outlast";

  private PropertiesBinding() {}

  /** The settings under {@code outlast.}: the sections of {@link OutlastProperties}. */
  static final List<String> SECTIONS =
      List.of("enabled", "guard", "queue", "health", "cache", "guarded", "fallback", "spill");

  static OutlastProperties bind(Environment environment) {
    OutlastProperties target = new OutlastProperties();
    try {
      binder(environment)
          .bind(
              PREFIX,
              Bindable.ofInstance(target),
              new NoUnboundElementsBindHandler(BindHandler.DEFAULT));
    } catch (BindException e) {
      throw translate(e);
    }
    return target;
  }

  /**
   * A binder over the environment in which the operating system's environment variables show only
   * those that name an Outlast section. Variables are shared with everything else in the process's
   * environment, and Spring reads {@code OUTLAST_REQUIRE_CHROMIUM} as {@code
   * outlast.require.chromium}: a variable some other tool set must not stop the service from
   * starting. One that names a section ({@code OUTLAST_GUARD_MYSQL_CALLTIMEOUT}) is a setting, and
   * is checked as strictly as a property in a file.
   */
  private static Binder binder(Environment environment) {
    List<ConfigurationPropertySource> sources = new ArrayList<>();
    for (ConfigurationPropertySource source : ConfigurationPropertySources.get(environment)) {
      sources.add(
          source.getUnderlyingSource() instanceof SystemEnvironmentPropertySource
              ? source.filter(PropertiesBinding::namesASection)
              : source);
    }
    return new Binder(sources, new PropertySourcesPlaceholdersResolver(environment));
  }

  private static boolean namesASection(ConfigurationPropertyName name) {
    return name.getNumberOfElements() < 2
        || !element(name, 0).equals(PREFIX)
        || SECTIONS.contains(element(name, 1));
  }

  private static OutlastConfigurationException translate(BindException e) {
    UnboundConfigurationPropertiesException unbound =
        find(e, UnboundConfigurationPropertiesException.class);
    if (unbound != null) {
      List<String> problems = new ArrayList<>();
      List<String> fixes = new ArrayList<>();
      for (ConfigurationProperty p : new TreeSet<>(unbound.getUnboundProperties())) {
        problems.add(p.getName() + " (" + p.getOrigin() + ")");
        fixes.add(suggest(p.getName()));
      }
      boolean one = problems.size() == 1;
      return new OutlastConfigurationException(
          (one ? "the property " : "the properties ")
              + String.join(", ", problems)
              + (one
                  ? " is not an Outlast setting, so it would do nothing"
                  : " are not Outlast settings, so they would do nothing"),
          String.join("; ", fixes),
          e);
    }
    ConfigurationProperty p = e.getProperty();
    String name = p != null ? p.getName().toString() : e.getName().toString();
    Object value = p != null ? p.getValue() : "?";
    Class<?> type = e.getTarget().getType().resolve(Object.class);
    Throwable root = e;
    while (root.getCause() != null && root.getCause() != root) {
      root = root.getCause();
    }
    return new OutlastConfigurationException(
        "the property "
            + name
            + (p != null && p.getOrigin() != null ? " (" + p.getOrigin() + ")" : "")
            + " is '"
            + value
            + "', which cannot be read as "
            + describe(type)
            + ": "
            + root.getMessage(),
        "write " + example(type),
        e);
  }

  private static String describe(Class<?> type) {
    if (type.isEnum()) {
      return "one of " + names(type);
    }
    return "a " + type.getSimpleName();
  }

  private static String example(Class<?> type) {
    if (type == Duration.class) {
      return "a duration such as 500ms, 2s, 5m or PT2S";
    }
    if (type == DataSize.class) {
      return "a size such as 64MB, 1GB or a number of bytes";
    }
    if (type.isEnum()) {
      return "one of " + names(type);
    }
    if (type == Boolean.class || type == boolean.class) {
      return "true or false";
    }
    return "a " + type.getSimpleName().toLowerCase(Locale.ROOT);
  }

  private static String names(Class<?> type) {
    List<String> names = new ArrayList<>();
    for (Object c : type.getEnumConstants()) {
      names.add(((Enum<?>) c).name().toLowerCase(Locale.ROOT).replace('_', '-'));
    }
    return String.join(", ", names);
  }

  /** What to write instead of a property that binds to nothing. */
  static String suggest(ConfigurationPropertyName name) {
    int n = name.getNumberOfElements();
    String section = n > 1 ? element(name, 1) : "";
    Map<String, Class<?>> sections =
        Map.of(
            "guard", OutlastProperties.GuardProperties.class,
            "queue", OutlastProperties.QueueProperties.class);
    Class<?> props = sections.get(section);
    if (props != null && n >= 4) {
      String attribute = element(name, 3);
      if (props == OutlastProperties.QueueProperties.class && n >= 5) {
        if (attribute.equals("elasticsearch")) {
          return choose(
              "an Elasticsearch sink takes",
              element(name, 4),
              attributes(OutlastProperties.ElasticsearchProperties.class));
        }
        if (attribute.equals("pulsar")) {
          return choose(
              "a Pulsar sink takes",
              element(name, 4),
              attributes(OutlastProperties.PulsarProperties.class));
        }
      }
      return choose("a " + section + " takes", attribute, attributes(props));
    }
    if (props != null) {
      return "write outlast."
          + section
          + ".<name>.<setting>, e.g. outlast.guard.mysql.call-timeout";
    }
    if (section.equals("health")) {
      return "write outlast.health.importance.<component>=core or dependent";
    }
    return choose("Outlast's settings are", section, SECTIONS);
  }

  private static String element(ConfigurationPropertyName name, int i) {
    return name.getElement(i, ConfigurationPropertyName.Form.DASHED);
  }

  private static String choose(String what, String given, List<String> known) {
    String close = closest(given, known);
    return (close != null ? "did you mean " + close + "? " + upper(what) : what)
        + ": "
        + String.join(", ", known);
  }

  private static String upper(String s) {
    return Character.toUpperCase(s.charAt(0)) + s.substring(1);
  }

  /** The settings of a properties class, as written in properties. */
  static List<String> attributes(Class<?> props) {
    List<String> out = new ArrayList<>();
    for (Field f : props.getDeclaredFields()) {
      if (!Modifier.isStatic(f.getModifiers())) {
        out.add(f.getName().replaceAll("([a-z0-9])([A-Z])", "$1-$2").toLowerCase(Locale.ROOT));
      }
    }
    return out;
  }

  private static @Nullable String closest(String given, List<String> known) {
    String best = null;
    int bestDistance = Integer.MAX_VALUE;
    for (String k : known) {
      int d = distance(given, k);
      if (d < bestDistance) {
        bestDistance = d;
        best = k;
      }
    }
    return bestDistance <= Math.max(2, given.length() / 3) ? best : null;
  }

  /** Levenshtein distance: how many letters to change, add or remove. */
  private static int distance(String a, String b) {
    int[] prev = new int[b.length() + 1];
    int[] cur = new int[b.length() + 1];
    for (int j = 0; j <= b.length(); j++) {
      prev[j] = j;
    }
    for (int i = 1; i <= a.length(); i++) {
      cur[0] = i;
      for (int j = 1; j <= b.length(); j++) {
        int cost = a.charAt(i - 1) == b.charAt(j - 1) ? 0 : 1;
        cur[j] = Math.min(Math.min(cur[j - 1] + 1, prev[j] + 1), prev[j - 1] + cost);
      }
      int[] t = prev;
      prev = cur;
      cur = t;
    }
    return prev[b.length()];
  }

  private static <T extends Throwable> @Nullable T find(Throwable t, Class<T> type) {
    for (Throwable c = t; c != null; c = c.getCause()) {
      if (type.isInstance(c)) {
        return type.cast(c);
      }
      if (c.getCause() == c) {
        break;
      }
    }
    return null;
  }
}
