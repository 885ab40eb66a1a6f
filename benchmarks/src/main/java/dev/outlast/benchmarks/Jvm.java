package dev.outlast.benchmarks;

import java.util.ArrayList;
import java.util.List;

/**
 * JVM flags every JVM the suite starts gets (JMH forks through {@link BenchmarkMain}, the backlog
 * harness's child): what Chronicle Queue needs on JDK 17+ (and 24+), its analytics off, quiet logs.
 * Heap sizes are each benchmark's own ({@code @Fork(jvmArgs = ...)}).
 */
final class Jvm {
  private Jvm() {}

  static List<String> flags() {
    List<String> flags = new ArrayList<>();
    for (String export :
        List.of(
            "java.base/jdk.internal.misc",
            "java.base/jdk.internal.ref",
            "java.base/jdk.internal.util",
            "java.base/sun.nio.ch",
            "jdk.unsupported/sun.misc")) {
      flags.add("--add-exports=" + export + "=ALL-UNNAMED");
    }
    for (String open :
        List.of(
            "java.base/java.io",
            "java.base/java.lang",
            "java.base/java.lang.reflect",
            "java.base/java.util",
            "java.base/java.nio")) {
      flags.add("--add-opens=" + open + "=ALL-UNNAMED");
    }
    if (Runtime.version().feature() >= 24) {
      flags.add("--enable-native-access=ALL-UNNAMED");
      flags.add("--sun-misc-unsafe-memory-access=allow");
    }
    flags.add("-Dchronicle.analytics.disable=true");
    flags.add("-Dorg.slf4j.simpleLogger.defaultLogLevel=warn");
    return flags;
  }
}
