package dev.outlast.buffer;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.SecureRandom;
import java.util.HexFormat;

/**
 * The queue's own directory before the journal opens in it: created private, and the producer id
 * kept in it. The journal takes the directory's lock.
 *
 * <p>Static helpers, called once while a queue is built, on the building thread.
 */
final class QueueDirectory {
  private QueueDirectory() {}

  /** Creates the directory (mode 0700) if missing; refuses one that is not a writable directory. */
  static void createPrivate(Path root) throws IOException {
    if (!Files.exists(root)) {
      Files.createDirectories(
          root, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
    } else if (!Files.isDirectory(root) || !Files.isWritable(root)) {
      throw new IOException(root + " is not a writable directory");
    }
  }

  /** The directory's producer id: made once, at random, and kept in {@code producer.id}. */
  static String producerId(Path root) throws IOException {
    Path file = root.resolve("producer.id");
    if (Files.exists(file)) {
      String id = Files.readString(file, StandardCharsets.UTF_8).trim();
      if (!id.matches("[A-Za-z0-9_.-]{1,64}")) {
        throw new IOException(file + " holds no valid producer id: '" + id + "'");
      }
      return id;
    }
    byte[] random = new byte[6];
    new SecureRandom().nextBytes(random);
    String id = "outlast-" + HexFormat.of().formatHex(random);
    Path temp = root.resolve("producer.id.tmp");
    Files.writeString(temp, id + "\n", StandardCharsets.UTF_8);
    try (FileChannel ch = FileChannel.open(temp, StandardOpenOption.WRITE)) {
      ch.force(true);
    }
    Files.move(temp, file, StandardCopyOption.ATOMIC_MOVE);
    return id;
  }
}
