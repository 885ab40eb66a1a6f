package dev.outlast.buffer;

import java.io.UncheckedIOException;
import java.nio.file.Path;

/**
 * Child-JVM main for {@link DirectoryLockTest}: tries to open a spill queue on a directory another
 * process may hold, and prints one line: {@code OPENED}, or {@code REFUSED <message>}.
 */
final class LockProbe {
  private LockProbe() {}

  public static void main(String[] args) {
    Path dir = Path.of(args[0]);
    try (SpillQueue<String> q = JournalDamageTest.builder(dir, new TestSink()).build()) {
      System.out.println("OPENED " + q.name());
    } catch (UncheckedIOException e) {
      System.out.println("REFUSED " + String.valueOf(e.getMessage()).replace('\n', '|'));
    }
    System.out.flush();
    System.exit(0);
  }
}
