package dev.outlast.benchmarks;

import dev.outlast.buffer.SpillQueue;
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
    List<String> flags = new ArrayList<>(SpillQueue.requiredJvmFlags());
    flags.add("-Dchronicle.analytics.disable=true");
    flags.add("-Dorg.slf4j.simpleLogger.defaultLogLevel=warn");
    return flags;
  }
}
