package dev.outlast.buffer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.nio.file.attribute.UserPrincipal;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Every directory and file the queue writes is private (0700 / 0600), and a directory other users
 * could change is refused at {@code build()} with the fix in the message.
 */
class FilePolicyTest {
  @TempDir Path dir;
  private final TestSink sink = new TestSink();
  private final List<SpillQueue<?>> opened = new ArrayList<>();

  private SpillQueue.Builder<String> builder(Path queueDir) {
    return SpillQueueTest.builder("files", queueDir, sink).segmentBytes(1 << 20);
  }

  private SpillQueue<String> open(SpillQueue.Builder<String> b) {
    SpillQueue<String> q = b.build();
    opened.add(q);
    return q;
  }

  @AfterEach
  void closeAll() {
    opened.forEach(SpillQueue::close);
  }

  /**
   * A queue that journaled several segments, wrote a dead letter, rebuilt a counter file and
   * quarantined a damaged roll file: every directory under its root is 0700 and every file 0600.
   */
  @Test
  void everythingTheQueueWrites_isPrivate() throws Exception {
    Path root = dir.resolve("q");
    sink.rejects = e -> e.startsWith("poison");
    SpillQueue<String> q = open(builder(root));
    q.publish("poison");
    await().untilAsserted(() -> assertThat(q.metrics().deadLetters()).isEqualTo(1));
    sink.state = TestSink.State.DOWN;
    String big = "x".repeat(2_000);
    for (int i = 0; i < 2_000; i++) {
      q.publish(big + i);
    }
    q.close();
    try (Stream<Path> segments = Files.list(root.resolve("journal"))) {
      assertThat(segments).as("a backlog of several segments").hasSizeGreaterThan(2);
    }
    assertThat(notPrivate(root, dir.resolve("none"))).isEmpty();
    // A damaged roll file in a segment of its own, and a lost counter file: the next open
    // quarantines the one and rebuilds the other.
    Path fake = root.resolve("journal").resolve(Segment.name(9_000_000));
    Files.createDirectory(fake);
    Files.write(fake.resolve("20261201F.cq4"), new byte[100]);
    Files.delete(root.resolve("sequence.lease"));
    sink.state = TestSink.State.UP;
    SpillQueue<String> again = open(builder(root));
    await().untilAsserted(() -> assertThat(sink.events).hasSize(2_000));
    again.close();

    assertThat(root.resolve("quarantine")).isDirectory();
    assertThat(notPrivate(root, fake)).isEmpty();
  }

  /** What under {@code root} is not 0700 (directories) or 0600 (files), skipping {@code skip}. */
  private static List<String> notPrivate(Path root, Path skip) throws Exception {
    List<String> wrong = new ArrayList<>();
    int files = 0;
    try (Stream<Path> all = Files.walk(root)) {
      for (Path p : (Iterable<Path>) all::iterator) {
        if (p.startsWith(skip) || p.getFileName().toString().startsWith("20261201F")) {
          continue; // made by the test, not by the queue
        }
        boolean directory = Files.isDirectory(p, LinkOption.NOFOLLOW_LINKS);
        String mode = PosixFilePermissions.toString(Files.getPosixFilePermissions(p));
        if (!mode.equals(directory ? "rwx------" : "rw-------")) {
          wrong.add(root.relativize(p) + " " + mode);
        }
        files += directory ? 0 : 1;
      }
    }
    assertThat(files).as("files checked under %s", root).isGreaterThanOrEqualTo(6);
    return wrong;
  }

  @Test
  void aDirectoryEveryoneCanWrite_isRefused_withTheFix() throws Exception {
    Path root = dir.resolve("open");
    Files.createDirectory(root);
    Files.setPosixFilePermissions(root, PosixFilePermissions.fromString("rwxrwxrwx"));
    assertThatThrownBy(() -> open(builder(root)))
        .hasMessageContaining(root.toString())
        .hasMessageContaining("chmod 700");
    try (Stream<Path> inside = Files.list(root)) {
      assertThat(inside).as("nothing was created in it").isEmpty();
    }
  }

  @Test
  void aGroupWritableJournal_isRefused() throws Exception {
    Path root = dir.resolve("q");
    open(builder(root)).close();
    Files.setPosixFilePermissions(
        root.resolve("journal"), PosixFilePermissions.fromString("rwxrwx---"));
    assertThatThrownBy(() -> open(builder(root)))
        .hasMessageContaining("journal")
        .hasMessageContaining("chmod 700");
  }

  @Test
  void aDirectoryOwnedByAnotherUser_isRefused() throws Exception {
    Path root = dir.resolve("theirs");
    Files.createDirectory(
        root, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
    UserPrincipal nobody =
        root.getFileSystem().getUserPrincipalLookupService().lookupPrincipalByName("nobody");
    Files.setOwner(root, nobody);
    assertThatThrownBy(() -> open(builder(root)))
        .hasMessageContaining(root.toString())
        .hasMessageContaining("owned by");
  }

  @Test
  void aSymlinkedRootOrProducerId_isRefused() throws Exception {
    Path real = dir.resolve("real");
    Files.createDirectory(
        real, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
    Path link = Files.createSymbolicLink(dir.resolve("link"), real);
    assertThatThrownBy(() -> open(builder(link))).hasMessageContaining("symbolic link");

    Path root = dir.resolve("q");
    open(builder(root)).close();
    Path other = dir.resolve("someone-elses-id");
    Files.writeString(other, "forged\n");
    Files.delete(root.resolve("producer.id"));
    Files.createSymbolicLink(root.resolve("producer.id"), other);
    assertThatThrownBy(() -> open(builder(root))).hasMessageContaining("symbolic link");
  }
}
