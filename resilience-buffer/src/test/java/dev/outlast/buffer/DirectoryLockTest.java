package dev.outlast.buffer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 14, item 1: a directory belongs to one queue at a time, in this JVM and across processes,
 * for the whole life of the queue. On Linux, closing any channel of a file drops every POSIX lock
 * the process holds on it: a second queue refused in the same JVM must not open (and close) a
 * channel to the lock file, or another process could then open the directory too.
 */
class DirectoryLockTest {
  @TempDir Path dir;

  @Test
  void aSecondQueueRefusedInThisJvm_leavesTheDirectoryLockedAgainstOtherProcesses()
      throws Exception {
    Path q = dir.resolve("q");
    Path link = Files.createSymbolicLink(dir.resolve("q-link"), Files.createDirectories(q));
    try (SpillQueue<String> first = JournalDamageTest.builder(q, new TestSink()).build()) {
      assertThat(first.name()).isEqualTo("damage");
      assertThatThrownBy(() -> JournalDamageTest.builder(q, new TestSink()).build())
          .isInstanceOf(UncheckedIOException.class)
          .hasMessageContaining("in use");
      // A link to the directory is refused as a link (issue 16), before any lock file is opened.
      assertThatThrownBy(() -> JournalDamageTest.builder(link, new TestSink()).build())
          .isInstanceOf(UncheckedIOException.class)
          .hasMessageContaining("is a symbolic link");
      assertThat(probe(q))
          .as("another process, while the first queue is open")
          .startsWith("REFUSED");
      assertThatThrownBy(() -> JournalDamageTest.builder(q, new TestSink()).build())
          .hasMessageContaining("is in use by another spill queue in this JVM");
    }
    assertThat(probe(q)).as("another process, after the first queue closed").startsWith("OPENED");
    // And this JVM may open it again: the registry forgot the directory at close.
    try (SpillQueue<String> again = JournalDamageTest.builder(q, new TestSink()).build()) {
      assertThat(again.name()).isEqualTo("damage");
    }
  }

  /** Runs {@link LockProbe} in a child JVM on {@code q}; returns its line. */
  private static String probe(Path q) throws Exception {
    Process p =
        new ProcessBuilder(
                ChildJvm.command(
                    true,
                    List.of("-Xmx128m", "-Dorg.slf4j.simpleLogger.defaultLogLevel=error"),
                    LockProbe.class,
                    q.toString()))
            .redirectError(ProcessBuilder.Redirect.DISCARD)
            .start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(p.waitFor(60, TimeUnit.SECONDS)).as(out).isTrue();
    return out.lines()
        .filter(l -> l.startsWith("OPENED") || l.startsWith("REFUSED"))
        .findFirst()
        .orElse("no answer: " + out);
  }
}
