package dev.outlast.testkit;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;

/**
 * CPU time that processes spend over a stretch of a measurement, from Linux's {@code /proc}: for
 * harnesses that compare two ways of doing the same work against a server on the same machine, to
 * say which process the work costs (this JVM, or the server). Clock ticks are 10 ms, so read it
 * over stretches of a second or more. Not threadsafe.
 */
public final class CpuMeter {
  private final long[] pids;
  private final long[] startTicks;
  private final String[] names;
  private String result = "not measured";

  /**
   * A meter of this JVM and of a server.
   *
   * @param server the server whose process is measured beside this JVM
   * @return a meter; call {@link #start()} and then {@link #stop(long)}
   */
  public static CpuMeter ofThisJvmAnd(TestServer server) {
    return new CpuMeter(
        new long[] {ProcessHandle.current().pid(), server.pid()},
        new String[] {"this JVM", server.getClass().getSimpleName()});
  }

  CpuMeter(long[] pids, String[] names) {
    this.pids = pids;
    this.names = names;
    this.startTicks = new long[pids.length];
  }

  /**
   * Reads the processes' CPU time now.
   *
   * @throws IOException if {@code /proc} cannot be read (not Linux, or a process is gone)
   */
  public void start() throws IOException {
    for (int i = 0; i < pids.length; i++) {
      startTicks[i] = ticks(pids[i]);
    }
  }

  /**
   * Reads them again and keeps the CPU time per unit of work since {@link #start()}.
   *
   * @param units how much work was done meanwhile (events, requests)
   * @throws IOException if {@code /proc} cannot be read
   */
  public void stop(long units) throws IOException {
    StringBuilder b = new StringBuilder();
    for (int i = 0; i < pids.length; i++) {
      double micros = (ticks(pids[i]) - startTicks[i]) * 10_000.0 / Math.max(1, units);
      b.append(i == 0 ? "" : ", ")
          .append(names[i])
          .append(String.format(Locale.ROOT, " %.2f us", micros));
    }
    result = b.append(" CPU each").toString();
  }

  /** User and system time of a process, in clock ticks (fields 14 and 15 of its stat line). */
  private static long ticks(long pid) throws IOException {
    String stat = Files.readString(Path.of("/proc/" + pid + "/stat"));
    String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ", -1);
    return Long.parseLong(f[11]) + Long.parseLong(f[12]);
  }

  /** {@return what the last {@link #stop(long)} measured, per unit} */
  @Override
  public String toString() {
    return result;
  }
}
