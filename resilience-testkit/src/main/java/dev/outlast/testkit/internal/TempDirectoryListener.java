package dev.outlast.testkit.internal;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.platform.launcher.LauncherSession;
import org.junit.platform.launcher.LauncherSessionListener;

/**
 * Creates the test JVM's temp directory ({@code java.io.tmpdir}) before any test runs, if it is
 * missing. The build gives every test JVM a directory of its own under {@code target/} that does
 * not exist yet, and the JDK does not create it: {@code File.createTempFile}, {@code
 * Files.createTempDirectory} and JUnit's {@code @TempDir} all fail in a missing directory.
 *
 * <p>Found by the JUnit Platform through {@code META-INF/services}; not API.
 *
 * <p>This class is threadsafe (it has no state).
 */
public final class TempDirectoryListener implements LauncherSessionListener {
  /** Called by the JUnit Platform's service loader. */
  public TempDirectoryListener() {}

  /**
   * Creates {@code java.io.tmpdir} with its parents.
   *
   * @throws UncheckedIOException if it cannot be created; the run would fail later and less clearly
   */
  @Override
  public void launcherSessionOpened(LauncherSession session) {
    String configured = System.getProperty("java.io.tmpdir");
    if (configured == null || configured.isEmpty()) {
      return;
    }
    Path dir = Path.of(configured);
    try {
      Files.createDirectories(dir);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot create the test JVM's temp directory " + dir, e);
    }
  }
}
