package dev.outlast.buffer;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Heap does not grow with the backlog: a backlog of 1,000,000 events (about 300 MB of journal)
 * builds, reopens and drains in a JVM with 40 MB of heap. The benchmark suite runs the same with
 * 10,000,000 events at 64 MB ({@code SpillBacklogHeap}).
 */
class BacklogHeapTest {
  @TempDir Path work;

  @Test
  void aMillionEventBacklog_opensAndDrains_inOrder_in40MbOfHeap() throws Exception {
    Process p =
        new ProcessBuilder(
                ChildJvm.command(
                    true,
                    List.of(
                        "-Xmx40m",
                        "-XX:+UseSerialGC",
                        "-Dorg.slf4j.simpleLogger.defaultLogLevel=warn"),
                    BacklogHeapProbe.class,
                    work.resolve("q").toString(),
                    "1000000"))
            .redirectErrorStream(true)
            .start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(p.waitFor(5, TimeUnit.MINUTES)).isTrue();
    assertThat(p.exitValue()).as(out).isZero();
    assertThat(out).as(out).contains("DRAINED 1000000 0").doesNotContain("OutOfMemoryError");
  }
}
