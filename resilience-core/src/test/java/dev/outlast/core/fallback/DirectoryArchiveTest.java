package dev.outlast.core.fallback;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.outlast.core.internal.PrivateFiles;
import dev.outlast.core.spi.StreamEvent;
import java.io.IOException;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Folder names that cannot collide, private files and folders, and what is refused. */
class DirectoryArchiveTest {
  @TempDir Path dir;

  @Test
  void namesThatSharedAFolder_eachReadTheirOwnEvents() throws IOException {
    // "a b" was kept as x-612062, and the plain name "x-612062" as itself: one folder for two
    // streams, so reading either returned the other's events.
    List<String> names =
        List.of(
            "a b",
            "x-612062",
            "X-612062",
            "x-",
            "",
            ".",
            "..",
            "../outside",
            "a/b",
            ".hidden",
            "orders-ü",
            "order-42");
    DirectoryArchive archive = DirectoryArchive.in(dir.resolve("archive"));
    for (String name : names) {
      archive.write(events(name, 1, 3));
    }
    for (String name : names) {
      assertThat(archive.read(name, 1, 10))
          .as("'%s'", name)
          .extracting(e -> new String(e.payload(), UTF_8))
          .containsExactly(name + "#1", name + "#2", name + "#3");
      assertThat(archive.highWaterMark(name)).isEqualTo(3);
    }
    try (Stream<Path> folders = Files.list(dir.resolve("archive"))) {
      assertThat(folders).as("one folder each, none outside the archive").hasSize(names.size());
    }
    assertThat(dir.resolve("archive/order-42"))
        .as("a plain name keeps the folder it always had, so existing archives stay readable")
        .isDirectory();
    assertThat(dir.resolve("archive/x-612062")).as("still the folder of 'a b'").isDirectory();
  }

  @Test
  void aLocaleWithItsOwnDigits_stillFindsTheFilesItWrote() throws IOException {
    Locale before = Locale.getDefault();
    try {
      for (String tag : List.of("ar-EG", "fa-IR", "th-TH-u-nu-thai")) {
        Locale.setDefault(Locale.forLanguageTag(tag));
        DirectoryArchive archive = DirectoryArchive.in(dir.resolve(tag));
        archive.write(events("orders", 1, 3));
        assertThat(archive.read("orders", 1, 10)).as(tag).hasSize(3);
        assertThat(archive.highWaterMark("orders")).as(tag).isEqualTo(3);
      }
    } finally {
      Locale.setDefault(before);
    }
  }

  @Test
  void aStreamNameThatIsNotValidUnicode_isRefused() {
    DirectoryArchive archive = DirectoryArchive.in(dir);
    // The JDK's encoder would write a lone surrogate as '?', the same bytes as "?" itself.
    assertThatThrownBy(() -> archive.write(events("\uD800", 1, 1)))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("not valid Unicode");
  }

  @Test
  void anXNameInItsOldFolder_failsWithTheCommandThatMovesIt() throws IOException {
    Path root = dir.resolve("archive");
    DirectoryArchive archive = DirectoryArchive.in(root);
    archive.write(events("x-orders", 1, 2));
    Path now = root.resolve(DirectoryArchive.folder("x-orders"));
    Path old = root.resolve("x-orders");
    Files.move(now, old); // as an earlier version laid it out
    assertThatThrownBy(() -> archive.read("x-orders", 1, 10))
        .isInstanceOf(IOException.class)
        .hasMessageContaining(old + ": holds stream 'x-orders'")
        .hasMessageContaining("fix: mv " + old + " " + now);
    assertThatThrownBy(() -> archive.write(events("x-orders", 3, 3)))
        .hasMessageContaining("fix: mv");
    Files.move(old, now);
    assertThat(archive.read("x-orders", 1, 10)).hasSize(2);
  }

  @Test
  void anOldFolderNameThatIsAnotherStreamsEscape_isThatStreams() throws IOException {
    DirectoryArchive archive = DirectoryArchive.in(dir);
    archive.write(events("a b", 1, 2));
    assertThat(archive.read("x-612062", 1, 10)).as("no events of 'a b'").isEmpty();
  }

  @Test
  void everyFolderAndFileItWrites_isPrivate_andNoTemporaryFileIsLeft() throws IOException {
    Path root = dir.resolve("mnt/archive");
    DirectoryArchive archive = DirectoryArchive.in(root);
    for (String name : List.of("order-1", "a b")) {
      archive.write(events(name, 1, 100));
      archive.write(events(name, 101, 200));
      archive.write(events(name, 101, 200)); // rewritten in place
    }
    List<Path> all = walk(dir.resolve("mnt"));
    assertThat(all).hasSize(2 + 2 + 4);
    for (Path p : all) {
      String mode = mode(p);
      if (Files.isDirectory(p)) {
        assertThat(mode).as(p.toString()).isEqualTo("rwx------");
      } else {
        assertThat(mode).as(p.toString()).isEqualTo("rw-------");
        assertThat(p.getFileName().toString()).endsWith(".events");
      }
    }
  }

  @Test
  void anArchiveDirectoryOthersOrItsGroupCanWrite_isRefused_forReadsAndWrites() throws IOException {
    DirectoryArchive archive = DirectoryArchive.in(dir.resolve("archive"));
    archive.write(events("order-1", 1, 2));
    for (String mode : List.of("rwxrwxrwx", "rwxrwx---")) {
      Files.setPosixFilePermissions(dir.resolve("archive"), PosixFilePermissions.fromString(mode));
      assertThatThrownBy(() -> archive.read("order-1", 1, 10))
          .as(mode)
          .isInstanceOf(PrivateFiles.NotPrivateException.class)
          .hasMessageContaining(dir.resolve("archive") + ": can be written by")
          .hasMessageContaining("fix: chmod 700 " + dir.resolve("archive"));
      assertThatThrownBy(() -> archive.highWaterMark("order-1"))
          .isInstanceOf(PrivateFiles.NotPrivateException.class);
      assertThatThrownBy(() -> archive.write(events("order-2", 1, 2)))
          .isInstanceOf(PrivateFiles.NotPrivateException.class);
    }
    assertThat(dir.resolve("archive/order-2")).as("nothing written").doesNotExist();
  }

  @Test
  void aStreamFolderOfAnotherUser_orASymlinkedArchive_isRefused() throws IOException {
    Path root = dir.resolve("archive");
    DirectoryArchive archive = DirectoryArchive.in(root);
    archive.write(events("order-1", 1, 2));
    Files.setOwner(
        root.resolve("order-1"),
        FileSystems.getDefault().getUserPrincipalLookupService().lookupPrincipalByName("nobody"));
    assertThatThrownBy(() -> archive.read("order-1", 1, 10))
        .hasMessageContaining(root.resolve("order-1") + ": is owned by nobody")
        .hasMessageContaining("chown root");

    Path link = Files.createSymbolicLink(dir.resolve("link"), root);
    assertThatThrownBy(() -> DirectoryArchive.in(link).read("order-1", 1, 10))
        .hasMessageContaining(link + ": is a symbolic link");
  }

  @Test
  void anArchiveFileOthersCanWrite_orALinkInItsPlace_failsTheRead() throws IOException {
    DirectoryArchive archive = DirectoryArchive.in(dir);
    archive.write(events("order-1", 1, 2));
    Path file = dir.resolve("order-1/000000000001-000000000002.events");
    Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rw-rw-rw-"));
    assertThatThrownBy(() -> archive.read("order-1", 1, 10))
        .hasMessageContaining(file + ": can be written by")
        .hasMessageContaining("chmod 600 " + file);

    Path planted = dir.resolve("planted");
    Files.move(file, planted);
    Files.createSymbolicLink(file, planted);
    assertThatThrownBy(() -> archive.read("order-1", 1, 10))
        .hasMessageContaining(file + ": is a symbolic link");
  }

  private static List<StreamEvent> events(String stream, long from, long to) {
    List<StreamEvent> events = new ArrayList<>();
    for (long seq = from; seq <= to; seq++) {
      events.add(new StreamEvent(stream, seq, (stream + "#" + seq).getBytes(UTF_8)));
    }
    return events;
  }

  private static String mode(Path p) throws IOException {
    return PosixFilePermissions.toString(
        Files.getPosixFilePermissions(p, LinkOption.NOFOLLOW_LINKS));
  }

  private static List<Path> walk(Path root) throws IOException {
    try (Stream<Path> all = Files.walk(root)) {
      return all.toList();
    }
  }
}
