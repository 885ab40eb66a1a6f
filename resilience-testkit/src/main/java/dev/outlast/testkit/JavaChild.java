package dev.outlast.testkit;

import java.io.File;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.function.Predicate;
import java.util.stream.Collectors;

/**
 * Builds the command for a server that runs in a child JVM: the same {@code java}, the same class
 * path, and the JVM flags the test JVM was given that the child needs too (module exports and
 * opens, native access, and Chronicle's analytics switch), so that every JVM of the build runs
 * alike.
 */
final class JavaChild {
  /** The line a child main prints once its server answers; probes wait for it. */
  static final String READY = "OUTLAST-CHILD-READY";

  private JavaChild() {}

  static ProcessBuilder command(
      TestServer server,
      String heap,
      Class<?> mainClass,
      List<String> jvmFlags,
      List<String> args) {
    return command(server, heap, mainClass, jvmFlags, args, entry -> true);
  }

  /**
   * As above, with only the test class path's entries that {@code keep} accepts: a server whose own
   * jars clash with a library the test uses (Pulsar's shaded client beside the broker's unshaded
   * one) runs without it.
   */
  static ProcessBuilder command(
      TestServer server,
      String heap,
      Class<?> mainClass,
      List<String> jvmFlags,
      List<String> args,
      Predicate<String> keep) {
    Path directory = server.directory();
    Path java = Path.of(System.getProperty("java.home"), "bin", "java");
    List<String> command = new ArrayList<>();
    command.add(java.toString());
    command.add("-Xmx" + heap);
    // Native libraries (RocksDB, netty) unpack themselves into the temp directory and only clean
    // up at a normal exit; keep them in the server's directory, which close() deletes.
    Path tmp = server.tmpDirectory();
    command.add("-Djava.io.tmpdir=" + tmp);
    command.add("-XX:-UsePerfData");
    command.addAll(inheritedFlags());
    command.add("-Dchronicle.analytics.disable=true");
    command.addAll(jvmFlags);
    // An argument file: a full class path can exceed the kernel's limit for one argument.
    command.add("@" + writeClassPathFile(directory, keep));
    command.add(mainClass.getName());
    command.addAll(args);
    ProcessBuilder builder = new ProcessBuilder(command).directory(directory.toFile());
    Map<String, String> env = builder.environment();
    env.put("TMPDIR", tmp.toString());
    // Telemetry exporters read these; a test server must not open extra ports or call out.
    env.keySet().removeIf(k -> k.startsWith("OTEL_") || k.startsWith("PULSAR_STANDALONE_"));
    return builder;
  }

  /** The test JVM's flags that a child JVM must share. */
  static List<String> inheritedFlags() {
    List<String> flags = new ArrayList<>();
    List<String> input = ManagementFactory.getRuntimeMXBean().getInputArguments();
    for (int i = 0; i < input.size(); i++) {
      String arg = input.get(i);
      boolean twoTokens =
          (arg.equals("--add-opens") || arg.equals("--add-exports")) && i + 1 < input.size();
      if (twoTokens) {
        flags.add(arg + "=" + input.get(++i));
      } else if (arg.startsWith("--add-opens=")
          || arg.startsWith("--add-exports=")
          || arg.startsWith("--enable-native-access")
          || arg.startsWith("--sun-misc-unsafe-memory-access")
          || arg.startsWith("-Dchronicle.")) {
        flags.add(arg);
      }
    }
    return flags;
  }

  private static Path writeClassPathFile(Path directory, Predicate<String> keep) {
    String classPath =
        Arrays.stream(System.getProperty("java.class.path").split(File.pathSeparator))
            .filter(keep)
            .collect(Collectors.joining(File.pathSeparator));
    Path file = directory.resolve("java-classpath.args");
    try {
      // Argument files treat backslashes and quotes specially; a quoted, escaped token is safe.
      String escaped = classPath.replace("\\", "\\\\").replace("\"", "\\\"");
      Files.writeString(file, "-cp \"" + escaped + "\"\n", StandardCharsets.UTF_8);
      return file;
    } catch (IOException e) {
      throw new UncheckedIOException("cannot write " + file, e);
    }
  }
}
