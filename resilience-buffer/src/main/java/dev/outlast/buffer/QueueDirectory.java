package dev.outlast.buffer;

import dev.outlast.core.internal.PrivateFiles;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
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

  /**
   * Creates the directory (mode 0700) if missing; refuses one that other users could change (see
   * {@link PrivateFiles#checkDirectory}), as they could replace the journal or the producer id.
   */
  static void createPrivate(Path root) throws IOException {
    PrivateFiles.createPrivateDirectory(root);
  }

  /** The directory's producer id: made once, at random, and kept in {@code producer.id}. */
  static String producerId(Path root) throws IOException {
    Path file = root.resolve("producer.id");
    if (Files.exists(file, LinkOption.NOFOLLOW_LINKS)) {
      PrivateFiles.checkFile(file);
      String id = Files.readString(file, StandardCharsets.UTF_8).trim();
      if (!id.matches("[A-Za-z0-9_.-]{1,64}")) {
        throw new IOException(file + " holds no valid producer id: '" + id + "'");
      }
      return id;
    }
    byte[] random = new byte[6];
    new SecureRandom().nextBytes(random);
    String id = "outlast-" + HexFormat.of().formatHex(random);
    PrivateFiles.writeAtomically(
        file, out -> out.write((id + "\n").getBytes(StandardCharsets.UTF_8)));
    return id;
  }
}
