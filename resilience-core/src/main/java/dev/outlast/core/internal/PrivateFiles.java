package dev.outlast.core.internal;

import static java.nio.file.LinkOption.NOFOLLOW_LINKS;
import static java.nio.file.attribute.PosixFilePermission.GROUP_WRITE;
import static java.nio.file.attribute.PosixFilePermission.OTHERS_WRITE;
import static java.nio.file.attribute.PosixFilePermission.OWNER_WRITE;

import java.io.FilterOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.DirectoryStream;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileSystemException;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.OpenOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.PosixFileAttributes;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.nio.file.attribute.UserPrincipal;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.HexFormat;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.ThreadLocalRandom;
import java.util.regex.Pattern;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The one way Outlast keeps files: directories private to the user the process runs as (0700),
 * files private too (0600), both from the moment they are created; a directory or file that another
 * user could change is refused, with a message that names it, says what is wrong and how to fix it;
 * and one durability rule for every write ({@link #writeAtomically}).
 *
 * <p>What is refused, and why: whoever can write a directory can replace what Outlast reads back
 * from it (a journal, a snapshot served during an outage, an archive a store is rebuilt from). So a
 * directory is refused if it is a symbolic link, not a directory, owned by another user, or
 * writable by its group or by others; a file read back is refused if it is a symbolic link, not a
 * regular file, owned by another user, or writable by its group or by others. Only the path given
 * is checked: its parents are followed if they are links (such as {@code /tmp} or {@code /var} on
 * some systems) and their modes are not checked, so keep them writable only by their owners (or
 * sticky, like {@code /tmp}); a user who can write a parent can rename the directory away.
 *
 * <p>The user the process runs as is the owner of a file it creates (a probe in {@code
 * java.io.tmpdir}, made and deleted once); if none can be made, the user named by {@code
 * user.name}; if neither is known, owners are not checked (logged once).
 *
 * <p>On a file system without POSIX permissions (Windows), directories and files get what the
 * platform's inheritance gives them and owners and modes are not checked; links and things that are
 * not directories or files are still refused, and writes are still atomic.
 *
 * <p>Not API (see the package): for Outlast's own modules. Static and stateless; threadsafe.
 */
public final class PrivateFiles {
  private static final Logger log = LoggerFactory.getLogger(PrivateFiles.class);

  private static final Set<PosixFilePermission> DIRECTORY =
      PosixFilePermissions.fromString("rwx------");
  private static final Set<PosixFilePermission> FILE = PosixFilePermissions.fromString("rw-------");

  /** A temporary file is the target's name, a dot, 16 hex digits and this. */
  private static final String TEMP_SUFFIX = ".tmp";

  private static final Pattern TEMP_TAG = Pattern.compile("[0-9a-f]{16}");
  private static final Pattern SHELL_SAFE = Pattern.compile("[A-Za-z0-9_./:@%+=,-]+");

  private PrivateFiles() {}

  /**
   * Writes a file's content. The stream is the temporary file's; closing it is allowed and does
   * nothing, the file is closed and forced by {@link #writeAtomically}.
   */
  @FunctionalInterface
  public interface Body {
    /**
     * Writes the whole content; throwing anything leaves the target as it was.
     *
     * @param out the temporary file's stream; unbuffered, so wrap it for many small writes
     * @throws IOException if the content cannot be written; the temporary file is deleted
     */
    void writeTo(OutputStream out) throws IOException;
  }

  /**
   * Why a path is refused: its message is the path, what is wrong, and the fix (a command where
   * there is one), such as {@code /var/lib/app: can be written by its group (rwxrwx---), who could
   * replace what Outlast keeps there; fix: chmod 700 /var/lib/app}.
   */
  public static final class NotPrivateException extends FileSystemException {
    private static final long serialVersionUID = 1L;

    NotPrivateException(Path path, String problem, String fix) {
      super(path.toString(), null, problem + "; fix: " + fix);
    }

    /** The path, what is wrong, and the fix; never null. */
    @Override
    public String getMessage() {
      // FileSystemException's message is never null when a file is named, as here.
      return Objects.requireNonNull(super.getMessage());
    }
  }

  /**
   * Creates a directory and its missing parents, each 0700 from its creation (and set to exactly
   * 0700 if the umask took bits away), then checks the directory as {@link #checkDirectory} does.
   * Directories that exist already are not changed: an existing one must pass the check as it is.
   *
   * @param dir the directory; relative to the working directory if not absolute
   * @throws NotPrivateException if the directory is refused
   * @throws IOException if it cannot be created
   */
  public static void createPrivateDirectory(Path dir) throws IOException {
    Path target = dir.toAbsolutePath();
    Deque<Path> missing = new ArrayDeque<>();
    for (Path p = target; p != null && Files.notExists(p, NOFOLLOW_LINKS); p = p.getParent()) {
      missing.push(p); // the topmost missing one ends up first
    }
    boolean posix = isPosix(target);
    for (Path p : missing) {
      try {
        if (posix) {
          Files.createDirectory(p, PosixFilePermissions.asFileAttribute(DIRECTORY));
          enforce(p, DIRECTORY);
        } else {
          Files.createDirectory(p);
        }
      } catch (FileAlreadyExistsException raced) {
        // Made by someone else meanwhile: not ours to change; the target is checked below.
      }
    }
    checkDirectory(target);
  }

  /**
   * Checks that Outlast may keep files in a directory: it must be a directory, not a symbolic link
   * to one, owned by the user the process runs as, writable by that user and by no one else (its
   * group and others may read and enter it).
   *
   * @param dir the directory; relative to the working directory if not absolute
   * @throws NotPrivateException if it is refused; the message says how to fix it
   * @throws java.nio.file.NoSuchFileException if it does not exist
   * @throws IOException if its attributes cannot be read
   */
  public static void checkDirectory(Path dir) throws IOException {
    Path path = dir.toAbsolutePath();
    BasicFileAttributes a = attributes(path);
    if (a.isSymbolicLink()) {
      throw new NotPrivateException(
          path,
          "is a symbolic link (to " + linkTarget(path) + "), which could be pointed elsewhere",
          "use the real directory" + realPath(path) + ", not a link to it");
    }
    if (!a.isDirectory()) {
      throw new NotPrivateException(
          path, "is not a directory", "use a directory, or a path where Outlast may create one");
    }
    Set<PosixFilePermission> mode = null;
    if (a instanceof PosixFileAttributes p) {
      checkOwner(path, p.owner(), "a directory");
      mode = p.permissions();
      if (mode.contains(GROUP_WRITE) || mode.contains(OTHERS_WRITE)) {
        throw new NotPrivateException(
            path,
            "can be written by "
                + writers(mode)
                + " ("
                + PosixFilePermissions.toString(mode)
                + "), who could replace what Outlast keeps there",
            "chmod 700 " + quote(path) + ", or use a directory of its own that Outlast creates");
      }
    }
    if ((mode != null && !mode.contains(OWNER_WRITE)) || !Files.isWritable(path)) {
      throw new NotPrivateException(
          path,
          "is not writable by this process"
              + (mode == null ? "" : " (" + PosixFilePermissions.toString(mode) + ")"),
          "chmod 700 " + quote(path) + " (or mount it read-write)");
    }
  }

  /**
   * Checks a file that Outlast reads back and must trust: it must be a regular file, not a symbolic
   * link, owned by the user the process runs as, and writable by no one else. The check means
   * something only in a directory that passes {@link #checkDirectory}: in any other, the file could
   * be swapped after it.
   *
   * @param file the file; relative to the working directory if not absolute
   * @throws NotPrivateException if it is refused; the message says how to fix it
   * @throws java.nio.file.NoSuchFileException if it does not exist
   * @throws IOException if its attributes cannot be read
   */
  public static void checkFile(Path file) throws IOException {
    Path path = file.toAbsolutePath();
    BasicFileAttributes a = attributes(path);
    if (a.isSymbolicLink()) {
      throw new NotPrivateException(
          path,
          "is a symbolic link (to " + linkTarget(path) + "); Outlast writes its files itself",
          "remove the link");
    }
    if (!a.isRegularFile()) {
      throw new NotPrivateException(path, "is not a regular file", "remove it");
    }
    if (a instanceof PosixFileAttributes p) {
      checkOwner(path, p.owner(), "a file");
      Set<PosixFilePermission> mode = p.permissions();
      if (mode.contains(GROUP_WRITE) || mode.contains(OTHERS_WRITE)) {
        throw new NotPrivateException(
            path,
            "can be written by "
                + writers(mode)
                + " ("
                + PosixFilePermissions.toString(mode)
                + "), who could change what Outlast reads back",
            "chmod 600 " + quote(path));
      }
    }
  }

  /**
   * Creates an empty file, 0600 from its creation (and set to exactly 0600 if the umask took bits
   * away). Never opens or follows what is there already. The directory is the caller's to check.
   *
   * @param file the file to create; its directory must exist
   * @throws FileAlreadyExistsException if something (a file, a link) is there already
   * @throws IOException if it cannot be created
   */
  public static void createPrivateFile(Path file) throws IOException {
    if (isPosix(file)) {
      Files.createFile(file, PosixFilePermissions.asFileAttribute(FILE));
      enforce(file, FILE);
    } else {
      Files.createFile(file);
    }
  }

  /**
   * Makes private what another library created for Outlast (such as Chronicle Queue's {@code .cq4}
   * files): a directory becomes 0700, a regular file 0600. Does nothing on a file system without
   * POSIX permissions. The directory it is in is the caller's to check first: in one that others
   * can write, it could be swapped between the check and the change.
   *
   * @param path the directory or file
   * @throws NotPrivateException if it is a symbolic link, neither a directory nor a regular file,
   *     or owned by another user
   * @throws IOException if its mode cannot be changed
   */
  public static void makePrivate(Path path) throws IOException {
    Path p = path.toAbsolutePath();
    BasicFileAttributes a = attributes(p);
    if (a.isSymbolicLink()) {
      throw new NotPrivateException(
          p, "is a symbolic link (to " + linkTarget(p) + ")", "remove the link");
    }
    if (!a.isDirectory() && !a.isRegularFile()) {
      throw new NotPrivateException(p, "is neither a directory nor a regular file", "remove it");
    }
    if (a instanceof PosixFileAttributes posix) {
      checkOwner(p, posix.owner(), a.isDirectory() ? "a directory" : "a file");
      enforce(p, a.isDirectory() ? DIRECTORY : FILE);
    }
  }

  /**
   * Writes a file atomically, with one durability rule: a temporary file 0600 beside the target
   * (created new, never through a link), the content written, forced to disk, renamed over the
   * target atomically, and then the directory forced, so that the rename itself survives a crash. A
   * crash leaves the old file or the new one, never part of one; a failed write leaves the old file
   * and no temporary one. Writes to one target may run at once (each has its own temporary file;
   * the last rename wins).
   *
   * <p>The directory must exist (see {@link #createPrivateDirectory}) and is checked first, as
   * {@link #checkDirectory} does.
   *
   * @param file the target; it need not exist yet
   * @param body writes the content; called once, on the calling thread
   * @throws NotPrivateException if the directory is refused
   * @throws IOException if the write fails, or the file system cannot rename atomically
   */
  public static void writeAtomically(Path file, Body body) throws IOException {
    Objects.requireNonNull(body, "body");
    Path target = file.toAbsolutePath();
    Path dir = Objects.requireNonNull(target.getParent(), "the directory of " + target);
    checkDirectory(dir);
    String tag = HexFormat.of().toHexDigits(ThreadLocalRandom.current().nextLong());
    Path temp = dir.resolve(target.getFileName() + "." + tag + TEMP_SUFFIX);
    Set<OpenOption> options = Set.of(StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE);
    boolean posix = isPosix(target);
    boolean renamed = false;
    try {
      try (FileChannel ch =
          posix
              ? FileChannel.open(temp, options, PosixFilePermissions.asFileAttribute(FILE))
              : FileChannel.open(temp, options)) {
        if (posix) {
          enforce(temp, FILE);
        }
        body.writeTo(new KeepOpen(Channels.newOutputStream(ch)));
        ch.force(true);
      }
      try {
        Files.move(
            temp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
      } catch (AtomicMoveNotSupportedException e) {
        throw new IOException(
            target
                + ": its file system cannot rename atomically, so a crash could leave half a"
                + " file; keep it on a local file system",
            e);
      }
      renamed = true;
      forceDirectory(dir);
    } catch (IOException | RuntimeException | Error e) {
      if (!renamed) {
        try {
          Files.deleteIfExists(temp);
        } catch (IOException cleanup) {
          e.addSuppressed(cleanup);
        }
      }
      throw e;
    }
  }

  /**
   * Deletes the temporary files that writes of this target left when the process died during them.
   * Call it only when no write of the target can be running (at start, before the first). Does
   * nothing if the target's directory does not exist.
   *
   * @param file the target whose temporary files are deleted; other files are left alone
   * @throws IOException if the directory cannot be listed or a file cannot be deleted
   */
  public static void deleteTemporaries(Path file) throws IOException {
    Path target = file.toAbsolutePath();
    Path dir = Objects.requireNonNull(target.getParent(), "the directory of " + target);
    if (!Files.isDirectory(dir, NOFOLLOW_LINKS)) {
      return;
    }
    String prefix = target.getFileName() + ".";
    try (DirectoryStream<Path> all = Files.newDirectoryStream(dir)) {
      for (Path p : all) {
        String name = p.getFileName().toString();
        if (name.startsWith(prefix)
            && name.endsWith(TEMP_SUFFIX)
            && TEMP_TAG
                .matcher(name.substring(prefix.length(), name.length() - TEMP_SUFFIX.length()))
                .matches()) {
          Files.deleteIfExists(p);
        }
      }
    }
  }

  private static boolean isPosix(Path p) {
    return p.getFileSystem().supportedFileAttributeViews().contains("posix");
  }

  private static BasicFileAttributes attributes(Path p) throws IOException {
    return isPosix(p)
        ? Files.readAttributes(p, PosixFileAttributes.class, NOFOLLOW_LINKS)
        : Files.readAttributes(p, BasicFileAttributes.class, NOFOLLOW_LINKS);
  }

  /** Sets a mode exactly; only on what was just created or checked not to be a link. */
  private static void enforce(Path p, Set<PosixFilePermission> mode) throws IOException {
    if (!Files.getPosixFilePermissions(p, NOFOLLOW_LINKS).equals(mode)) {
      Files.setPosixFilePermissions(p, mode);
    }
  }

  private static void checkOwner(Path path, UserPrincipal owner, String what)
      throws NotPrivateException {
    // Owners of another file system (an in-memory one in a test) are not comparable with ours.
    UserPrincipal me = path.getFileSystem() == FileSystems.getDefault() ? Me.OWNER : null;
    if (me != null && !owner.equals(me)) {
      throw new NotPrivateException(
          path,
          "is owned by "
              + owner.getName()
              + ", not by "
              + me.getName()
              + " (the user this process runs as), who could replace what Outlast keeps there",
          "chown " + me.getName() + " " + quote(path) + ", or use " + what + " of that user's own");
    }
  }

  private static String writers(Set<PosixFilePermission> mode) {
    boolean group = mode.contains(GROUP_WRITE);
    boolean others = mode.contains(OTHERS_WRITE);
    return group && others ? "its group and every other user" : group ? "its group" : "every user";
  }

  private static String linkTarget(Path link) {
    try {
      return Files.readSymbolicLink(link).toString();
    } catch (IOException | RuntimeException e) {
      return "an unreadable target";
    }
  }

  private static String realPath(Path link) {
    try {
      return " (" + quote(link.toRealPath()) + ")";
    } catch (IOException | RuntimeException e) {
      return ""; // a link to nothing
    }
  }

  /** A path as a POSIX shell reads it, so that a fix can be pasted. */
  static String quote(Path path) {
    String s = path.toString();
    return SHELL_SAFE.matcher(s).matches() ? s : "'" + s.replace("'", "'\\''") + "'";
  }

  private static void forceDirectory(Path dir) {
    try (FileChannel d = FileChannel.open(dir, StandardOpenOption.READ)) {
      d.force(true);
    } catch (IOException e) {
      // Windows cannot open a directory and some file systems cannot force one. The rename has
      // happened and is atomic; only whether it survives a power cut is then the file system's.
      log.debug("cannot force directory {} after a rename: {}", dir, e.toString());
    }
  }

  /** The user this process runs as, found once. */
  private static final class Me {
    static final @Nullable UserPrincipal OWNER = find();

    private static @Nullable UserPrincipal find() {
      try {
        // The owner of a file this process creates is who it runs as, whatever user.name says
        // (a container's user may have no name at all).
        Path probe =
            Files.createTempFile(
                "outlast-owner-", ".probe", PosixFilePermissions.asFileAttribute(FILE));
        try {
          return Files.getOwner(probe);
        } finally {
          Files.deleteIfExists(probe);
        }
      } catch (IOException | RuntimeException probeFailed) {
        String name = System.getProperty("user.name", "");
        try {
          return FileSystems.getDefault()
              .getUserPrincipalLookupService()
              .lookupPrincipalByName(name);
        } catch (IOException | RuntimeException lookupFailed) {
          log.warn(
              "cannot tell which user this process runs as (no temporary file: {}; user.name '{}':"
                  + " {}): the owners of directories and files are not checked",
              probeFailed.toString(),
              name,
              lookupFailed.toString());
          return null;
        }
      }
    }
  }

  /** The temporary file's stream, which a body may close without closing the channel. */
  private static final class KeepOpen extends FilterOutputStream {
    KeepOpen(OutputStream out) {
      super(out);
    }

    @Override
    public void write(byte[] b, int off, int len) throws IOException {
      out.write(b, off, len);
    }

    @Override
    public void close() throws IOException {
      flush();
    }
  }
}
