package dev.outlast.buffer;

import java.util.ArrayList;
import java.util.List;

/**
 * Chronicle Queue reaches into JDK internals; on JDK 17+ that needs module flags. Without them it
 * fails deep inside with {@code IllegalAccessException: member is private}. The queue checks at
 * build time and names exactly what is missing.
 */
final class JvmFlags {
  private static final String[][] EXPORTS = {
    {"java.base", "jdk.internal.misc"},
    {"java.base", "jdk.internal.ref"},
    {"java.base", "jdk.internal.util"},
    {"java.base", "sun.nio.ch"},
    {"jdk.unsupported", "sun.misc"},
  };
  private static final String[][] OPENS = {
    {"java.base", "java.io"},
    {"java.base", "java.lang"},
    {"java.base", "java.lang.reflect"},
    {"java.base", "java.util"},
    {"java.base", "java.nio"},
  };

  private JvmFlags() {}

  /** Every flag Chronicle Queue needs on this JDK, as written on a command line. */
  static List<String> required() {
    List<String> flags = new ArrayList<>();
    for (String[] e : EXPORTS) {
      flags.add("--add-exports=" + e[0] + "/" + e[1] + "=ALL-UNNAMED");
    }
    for (String[] o : OPENS) {
      flags.add("--add-opens=" + o[0] + "/" + o[1] + "=ALL-UNNAMED");
    }
    if (Runtime.version().feature() >= 24) {
      flags.add("--enable-native-access=ALL-UNNAMED");
      flags.add("--sun-misc-unsafe-memory-access=allow");
    }
    return flags;
  }

  /** The flags this JVM lacks, as they must be written on the command line; empty if none. */
  static List<String> missing() {
    Module self = JvmFlags.class.getModule();
    List<String> missing = new ArrayList<>();
    for (String[] e : EXPORTS) {
      Module m = ModuleLayer.boot().findModule(e[0]).orElse(null);
      if (m != null && !m.isExported(e[1], self)) {
        missing.add("--add-exports=" + e[0] + "/" + e[1] + "=ALL-UNNAMED");
      }
    }
    for (String[] o : OPENS) {
      Module m = ModuleLayer.boot().findModule(o[0]).orElse(null);
      if (m != null && !m.isOpen(o[1], self)) {
        missing.add("--add-opens=" + o[0] + "/" + o[1] + "=ALL-UNNAMED");
      }
    }
    return missing;
  }

  /** Fails with the list of flags to add if any is missing. */
  static void check() {
    List<String> missing = missing();
    if (!missing.isEmpty()) {
      throw new IllegalStateException(
          "the spill queue runs on Chronicle Queue, which needs these JVM flags on JDK "
              + Runtime.version().feature()
              + "; add them to the java command line (or JDK_JAVA_OPTIONS):\n  "
              + String.join(" ", missing)
              + (Runtime.version().feature() >= 24
                  ? "\n  and on JDK 24+ also: --enable-native-access=ALL-UNNAMED"
                      + " --sun-misc-unsafe-memory-access=allow"
                  : ""));
    }
  }
}
