package dev.outlast.benchmarks;

import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import org.openjdk.jmh.runner.Runner;
import org.openjdk.jmh.runner.RunnerException;
import org.openjdk.jmh.runner.options.CommandLineOptionException;
import org.openjdk.jmh.runner.options.CommandLineOptions;
import org.openjdk.jmh.runner.options.OptionsBuilder;

/**
 * The jar's main class: JMH's command line, with {@link Jvm#flags()} appended to every fork's JVM
 * arguments (after any {@code -jvmArgsAppend} given), so that no benchmark lists them. Listing and
 * help go to JMH's own main unchanged.
 */
public final class BenchmarkMain {
  private BenchmarkMain() {}

  public static void main(String[] args) throws Exception {
    CommandLineOptions cmd;
    try {
      cmd = new CommandLineOptions(args);
    } catch (CommandLineOptionException e) {
      System.err.println("Error parsing command line: " + e.getMessage());
      System.exit(1);
      return;
    }
    if (cmd.shouldHelp()
        || cmd.shouldList()
        || cmd.shouldListWithParams()
        || cmd.shouldListProfilers()
        || cmd.shouldListResultFormats()) {
      org.openjdk.jmh.Main.main(args);
      return;
    }
    List<String> append = new ArrayList<>();
    if (cmd.getJvmArgsAppend().hasValue()) {
      append.addAll(cmd.getJvmArgsAppend().get());
    }
    append.addAll(Jvm.flags());
    try {
      Collection<?> results =
          new Runner(
                  new OptionsBuilder()
                      .parent(cmd)
                      .jvmArgsAppend(append.toArray(String[]::new))
                      .build())
              .run();
      if (results.isEmpty()) {
        System.exit(1);
      }
    } catch (RunnerException e) {
      System.err.println("ERROR: " + e.getMessage());
      System.exit(1);
    }
  }
}
