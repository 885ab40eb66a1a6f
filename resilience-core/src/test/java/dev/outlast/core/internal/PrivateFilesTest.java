package dev.outlast.core.internal;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.nio.file.attribute.UserPrincipal;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Each refusal, and the modes of what is created. The suite runs as root, for whom every path is
 * writable and every mode changeable, so a foreign owner is made with {@code chown nobody} and
 * nothing here relies on {@code Files.isWritable}.
 */
class PrivateFilesTest {
  @TempDir Path dir;

  @Test
  void createPrivateDirectory_makesEveryMissingLevel0700() throws IOException {
    Path deep = dir.resolve("a/b/c");
    PrivateFiles.createPrivateDirectory(deep);
    assertThat(deep).isDirectory();
    assertThat(modesUnder(dir.resolve("a")))
        .as("a, a/b and a/b/c")
        .hasSize(3)
        .containsOnly("rwx------");
  }

  @Test
  void createPrivateDirectory_leavesAnExistingDirectoryOthersMayOnlyRead() throws IOException {
    Path existing = Files.createDirectory(dir.resolve("shared-read"));
    Files.setPosixFilePermissions(existing, PosixFilePermissions.fromString("rwxr-xr-x"));
    PrivateFiles.createPrivateDirectory(existing);
    assertThat(mode(existing)).as("not ours to change, and safe").isEqualTo("rwxr-xr-x");
  }

  @Test
  void aDirectoryEveryoneCanWrite_isRefused_withTheFix() throws IOException {
    Path open = directory("open", "rwxrwxrwx");
    assertThatThrownBy(() -> PrivateFiles.createPrivateDirectory(open))
        .isInstanceOf(PrivateFiles.NotPrivateException.class)
        .hasMessageContaining(open.toString())
        .hasMessageContaining("can be written by its group and every other user (rwxrwxrwx)")
        .hasMessageContaining("fix: chmod 700 " + open);
    assertThatThrownBy(() -> PrivateFiles.checkDirectory(directory("others", "rwx---rwx")))
        .hasMessageContaining("can be written by every user");
  }

  @Test
  void aDirectoryItsGroupCanWrite_isRefused() throws IOException {
    Path group = directory("group", "rwxrwx---");
    assertThatThrownBy(() -> PrivateFiles.checkDirectory(group))
        .isInstanceOf(PrivateFiles.NotPrivateException.class)
        .hasMessageContaining(group + ": can be written by its group (rwxrwx---)")
        .hasMessageContaining("chmod 700 " + group);
  }

  @Test
  void aDirectoryOfAnotherUser_isRefused() throws IOException {
    Path foreign = directory("foreign", "rwx------");
    Files.setOwner(foreign, nobody());
    assertThatThrownBy(() -> PrivateFiles.createPrivateDirectory(foreign))
        .isInstanceOf(PrivateFiles.NotPrivateException.class)
        .hasMessageContaining(foreign + ": is owned by nobody, not by root")
        .hasMessageContaining("fix: chown root " + foreign);
  }

  @Test
  void aSymlinkedRoot_isRefused_butASymlinkedParentIsFollowed() throws IOException {
    Path real = directory("real", "rwx------");
    Path link = Files.createSymbolicLink(dir.resolve("link"), real);
    assertThatThrownBy(() -> PrivateFiles.createPrivateDirectory(link))
        .isInstanceOf(PrivateFiles.NotPrivateException.class)
        .hasMessageContaining(link + ": is a symbolic link (to " + real + ")")
        .hasMessageContaining("use the real directory (" + real.toRealPath() + ")");
    // A link to nowhere is refused too, and nothing is created through it.
    Path dangling = Files.createSymbolicLink(dir.resolve("dangling"), dir.resolve("nowhere"));
    assertThatThrownBy(() -> PrivateFiles.createPrivateDirectory(dangling))
        .hasMessageContaining("is a symbolic link");
    assertThat(dir.resolve("nowhere")).doesNotExist();

    PrivateFiles.createPrivateDirectory(link.resolve("below"));
    assertThat(mode(real.resolve("below"))).isEqualTo("rwx------");
  }

  @Test
  void somethingThatIsNotADirectory_isRefused() throws IOException {
    Path file = Files.writeString(dir.resolve("file"), "x");
    assertThatThrownBy(() -> PrivateFiles.checkDirectory(file))
        .isInstanceOf(PrivateFiles.NotPrivateException.class)
        .hasMessageContaining(file + ": is not a directory");
  }

  @Test
  void aDirectoryItsOwnerCannotWrite_isRefused() throws IOException {
    Path readOnly = directory("read-only", "r-x------");
    assertThatThrownBy(() -> PrivateFiles.checkDirectory(readOnly))
        .isInstanceOf(PrivateFiles.NotPrivateException.class)
        .hasMessageContaining(readOnly + ": is not writable by this process (r-x------)")
        .hasMessageContaining("chmod 700 " + readOnly);
  }

  @Test
  void aPathWithSpaces_getsAFixThatAShellCanRun() throws IOException {
    Path spaced = directory("it's open", "rwxrwxrwx");
    assertThatThrownBy(() -> PrivateFiles.checkDirectory(spaced))
        .hasMessageContaining("chmod 700 '" + dir + "/it'\\''s open'");
  }

  @Test
  void createPrivateFile_is0600_andNeverReplacesOrFollowsWhatIsThere() throws IOException {
    Path file = dir.resolve("producer.id");
    PrivateFiles.createPrivateFile(file);
    assertThat(mode(file)).isEqualTo("rw-------");
    assertThatThrownBy(() -> PrivateFiles.createPrivateFile(file))
        .isInstanceOf(FileAlreadyExistsException.class);
    Path link = Files.createSymbolicLink(dir.resolve("planted"), dir.resolve("elsewhere"));
    assertThatThrownBy(() -> PrivateFiles.createPrivateFile(link))
        .isInstanceOf(FileAlreadyExistsException.class);
    assertThat(dir.resolve("elsewhere")).doesNotExist();
  }

  @Test
  void makePrivate_narrowsWhatAnotherLibraryCreated() throws IOException {
    Path file = Files.writeString(dir.resolve("20261121.cq4"), "x");
    Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rw-r--r--"));
    Path sub = directory("journal", "rwxr-xr-x");
    PrivateFiles.makePrivate(file);
    PrivateFiles.makePrivate(sub);
    assertThat(mode(file)).isEqualTo("rw-------");
    assertThat(mode(sub)).isEqualTo("rwx------");
  }

  @Test
  void makePrivate_refusesALink_andLeavesItsTarget() throws IOException {
    Path target = Files.writeString(dir.resolve("target"), "x");
    Files.setPosixFilePermissions(target, PosixFilePermissions.fromString("rw-r--r--"));
    Path link = Files.createSymbolicLink(dir.resolve("link.cq4"), target);
    assertThatThrownBy(() -> PrivateFiles.makePrivate(link))
        .isInstanceOf(PrivateFiles.NotPrivateException.class)
        .hasMessageContaining(link + ": is a symbolic link");
    assertThat(mode(target)).isEqualTo("rw-r--r--");
  }

  @Test
  void makePrivate_refusesAFileOfAnotherUser() throws IOException {
    Path file = Files.writeString(dir.resolve("theirs"), "x");
    Files.setOwner(file, nobody());
    assertThatThrownBy(() -> PrivateFiles.makePrivate(file))
        .hasMessageContaining(file + ": is owned by nobody");
  }

  @Test
  void checkFile_acceptsAPrivateFile_andRefusesEachKindOfUnsafeOne() throws IOException {
    Path good = dir.resolve("good");
    PrivateFiles.createPrivateFile(good);
    PrivateFiles.checkFile(good);

    Path writable = file("writable", "rw-rw-rw-");
    assertThatThrownBy(() -> PrivateFiles.checkFile(writable))
        .isInstanceOf(PrivateFiles.NotPrivateException.class)
        .hasMessageContaining(writable + ": can be written by its group and every other user")
        .hasMessageContaining("fix: chmod 600 " + writable);
    Path groupWritable = file("group-writable", "rw-rw----");
    assertThatThrownBy(() -> PrivateFiles.checkFile(groupWritable))
        .hasMessageContaining("can be written by its group (rw-rw----)");

    Path theirs = file("theirs", "rw-------");
    Files.setOwner(theirs, nobody());
    assertThatThrownBy(() -> PrivateFiles.checkFile(theirs))
        .hasMessageContaining(theirs + ": is owned by nobody, not by root")
        .hasMessageContaining("chown root " + theirs);

    Path link = Files.createSymbolicLink(dir.resolve("link"), good);
    assertThatThrownBy(() -> PrivateFiles.checkFile(link))
        .hasMessageContaining(link + ": is a symbolic link (to " + good + ")")
        .hasMessageContaining("fix: remove the link");

    Path folder = directory("folder", "rwx------");
    assertThatThrownBy(() -> PrivateFiles.checkFile(folder))
        .hasMessageContaining(folder + ": is not a regular file");
  }

  @Test
  void writeAtomically_writesA0600File_evenOverA0644One_andLeavesNoTemporaryFile()
      throws IOException {
    Path target = dir.resolve("snapshot");
    PrivateFiles.writeAtomically(target, out -> out.write("one".getBytes(UTF_8)));
    assertThat(target).hasContent("one");
    assertThat(mode(target)).isEqualTo("rw-------");

    Files.setPosixFilePermissions(target, PosixFilePermissions.fromString("rw-r--r--"));
    PrivateFiles.writeAtomically(
        target,
        out -> {
          out.write("two".getBytes(UTF_8));
          out.close(); // allowed: the helper still forces and renames
        });
    assertThat(target).hasContent("two");
    assertThat(mode(target)).as("a new file, not the old one rewritten").isEqualTo("rw-------");
    assertThat(namesIn(dir)).containsExactly("snapshot");
  }

  @Test
  void writeAtomically_aBodyThatFails_leavesTheOldFileAndNoTemporaryOne() throws IOException {
    Path target = dir.resolve("snapshot");
    PrivateFiles.writeAtomically(target, out -> out.write("old".getBytes(UTF_8)));
    assertThatThrownBy(
            () ->
                PrivateFiles.writeAtomically(
                    target,
                    out -> {
                      out.write("half".getBytes(UTF_8));
                      throw new IOException("disk full");
                    }))
        .hasMessage("disk full");
    assertThatThrownBy(
            () ->
                PrivateFiles.writeAtomically(
                    target,
                    out -> {
                      throw new IllegalStateException("codec broke");
                    }))
        .hasMessage("codec broke");
    assertThat(target).hasContent("old");
    assertThat(namesIn(dir)).containsExactly("snapshot");
  }

  @Test
  void writeAtomically_refusesADirectoryOthersCanWrite_andWritesNothing() throws IOException {
    Path open = directory("open", "rwxrwxrwx");
    assertThatThrownBy(() -> PrivateFiles.writeAtomically(open.resolve("f"), out -> out.write(1)))
        .isInstanceOf(PrivateFiles.NotPrivateException.class);
    assertThat(namesIn(open)).isEmpty();
  }

  @Test
  void writeAtomically_concurrentWritesOfOneTarget_leaveOneWholeContent() throws Exception {
    Path target = dir.resolve("shared");
    ExecutorService pool = Executors.newFixedThreadPool(8);
    try {
      List<Future<?>> writes = new ArrayList<>();
      for (int t = 0; t < 8; t++) {
        String content = String.valueOf((char) ('a' + t)).repeat(10_000);
        writes.add(
            pool.submit(
                () -> {
                  for (int i = 0; i < 20; i++) {
                    try {
                      PrivateFiles.writeAtomically(
                          target, out -> out.write(content.getBytes(UTF_8)));
                    } catch (IOException e) {
                      throw new UncheckedIOException(e);
                    }
                  }
                }));
      }
      for (Future<?> w : writes) {
        w.get();
      }
    } finally {
      pool.shutdownNow();
    }
    String content = Files.readString(target);
    assertThat(content).hasSize(10_000).matches(c -> c.chars().distinct().count() == 1, "one");
    assertThat(namesIn(dir)).containsExactly("shared");
  }

  @Test
  void deleteTemporaries_removesOnlyThisTargetsLeftovers() throws IOException {
    Files.writeString(dir.resolve("snapshot.0123456789abcdef.tmp"), "left by a crash");
    Files.writeString(dir.resolve("snapshot2.0123456789abcdef.tmp"), "another target's");
    Files.writeString(dir.resolve("snapshot.notatag.tmp"), "not ours");
    Files.writeString(dir.resolve("snapshot"), "the file");
    PrivateFiles.deleteTemporaries(dir.resolve("snapshot"));
    assertThat(namesIn(dir))
        .containsExactlyInAnyOrder(
            "snapshot", "snapshot2.0123456789abcdef.tmp", "snapshot.notatag.tmp");
  }

  private Path directory(String name, String mode) throws IOException {
    Path d = Files.createDirectory(dir.resolve(name));
    Files.setPosixFilePermissions(d, PosixFilePermissions.fromString(mode));
    return d;
  }

  private Path file(String name, String mode) throws IOException {
    Path f = Files.writeString(dir.resolve(name), "x");
    Files.setPosixFilePermissions(f, PosixFilePermissions.fromString(mode));
    return f;
  }

  private static UserPrincipal nobody() throws IOException {
    return FileSystems.getDefault().getUserPrincipalLookupService().lookupPrincipalByName("nobody");
  }

  private static String mode(Path p) throws IOException {
    return PosixFilePermissions.toString(
        Files.getPosixFilePermissions(p, LinkOption.NOFOLLOW_LINKS));
  }

  private static List<String> modesUnder(Path root) throws IOException {
    try (Stream<Path> all = Files.walk(root)) {
      List<String> modes = new ArrayList<>();
      for (Path p : (Iterable<Path>) all::iterator) {
        modes.add(mode(p));
      }
      return modes;
    }
  }

  private static List<String> namesIn(Path d) throws IOException {
    try (Stream<Path> all = Files.list(d)) {
      return all.map(p -> p.getFileName().toString()).toList();
    }
  }
}
