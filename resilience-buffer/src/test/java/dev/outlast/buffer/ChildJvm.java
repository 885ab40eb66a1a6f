package dev.outlast.buffer;

import java.lang.management.ManagementFactory;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** The command line of a child JVM on this test's class path, for tests that kill or starve it. */
final class ChildJvm {
  private ChildJvm() {}

  /**
   * {@code java [this JVM's module and Chronicle flags] [jvmOptions] -cp <class path> main args}.
   *
   * @param withFlags false to leave out the flags Chronicle needs, to see what a user without them
   *     sees
   */
  static List<String> command(
      boolean withFlags, List<String> jvmOptions, Class<?> main, String... args) {
    List<String> command = new ArrayList<>();
    command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    // The test JVM's own temp directory (under target/), not the machine's shared one; and no
    // perf-data file in /tmp/hsperfdata_<user>, which a killed JVM would leave behind.
    command.add("-Djava.io.tmpdir=" + System.getProperty("java.io.tmpdir"));
    command.add("-XX:-UsePerfData");
    if (withFlags) {
      for (String arg : ManagementFactory.getRuntimeMXBean().getInputArguments()) {
        if (arg.startsWith("--add-")
            || arg.startsWith("-Dchronicle")
            || arg.startsWith("--enable-native")
            || arg.startsWith("--sun-misc")) {
          command.add(arg);
        }
      }
    }
    command.addAll(jvmOptions);
    command.add("-cp");
    command.add(System.getProperty("java.class.path"));
    command.add(main.getName());
    command.addAll(List.of(args));
    return command;
  }
}
