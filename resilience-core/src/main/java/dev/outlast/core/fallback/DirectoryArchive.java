package dev.outlast.core.fallback;

import static java.nio.file.LinkOption.NOFOLLOW_LINKS;

import dev.outlast.core.internal.PrivateFiles;
import dev.outlast.core.spi.EventSource;
import dev.outlast.core.spi.StreamEvent;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import java.util.zip.CRC32C;
import org.jspecify.annotations.Nullable;

/**
 * The history of event streams as files in a directory: what an object store (S3, GCS) holds for a
 * service, stood in for by a local or mounted directory. Each stream has a folder; each file in it
 * holds a contiguous range of the stream's events, named by that range ({@code
 * 000000000001-000000001000.events}) and checked by a CRC32C over its content.
 *
 * <p>Files are written through {@link PrivateFiles#writeAtomically}: a temporary file forced to
 * disk, renamed into place, and the folder forced, so a reader never sees half a file and a crash
 * loses no file whose write returned. Folders are 0700 and files 0600 from their creation. The
 * archive's directory and each stream's folder are checked at every read and write, and refused
 * (with the fix in the message) if they are symbolic links, owned by another user, or writable by
 * their group or others; so is a file that is a link, another user's, or writable by others:
 * whoever could change them could change the history a store is rebuilt from.
 *
 * <p>Folder names: a stream name of 1 to 100 letters, digits, '.', '_' or '-' that does not start
 * with '.' or with {@code x-} (in either case) is its own folder name; every other name is {@code
 * x-} and the hex of its UTF-8 bytes ({@code "a b"} is {@code x-612062}). No plain name starts with
 * {@code x-}, so no two streams share a folder on a case-sensitive file system. (On a
 * case-insensitive one, such as the macOS and Windows defaults, names that differ only in case do:
 * keep an archive on a case-sensitive file system.) Versions before this one kept names starting
 * with {@code x-} plain too, so {@code "x-612062"} and {@code "a b"} shared a folder; such a stream
 * now has an escaped folder, and a read or write of it while its old folder is still there fails
 * with the command that moves it, unless the old folder name is itself the escape of another
 * stream's name (then it is taken to be that stream's, and cannot be told apart). Every other
 * existing folder keeps its name.
 *
 * <p>Read through it as an {@link EventSource}, typically first in a chain before the ledger: the
 * archive answers the history, the ledger the recent part. A damaged or refused file fails the read
 * with an {@link IOException} naming it.
 *
 * <p>Threadsafe.
 */
public final class DirectoryArchive implements EventSource {
  private static final Pattern FILE = Pattern.compile("(\\d{12,19})-(\\d{12,19})\\.events");
  private static final Pattern PLAIN = Pattern.compile("[A-Za-z0-9._-]{1,100}");
  private static final String ESCAPED = "x-";
  private static final Pattern HEX = Pattern.compile("(?:[0-9a-f]{2})*");

  private final Path root;

  private DirectoryArchive(Path root) {
    this.root = root;
  }

  /**
   * {@return an archive in this directory} Nothing is created or checked now: the directory is
   * created, 0700, when the first file is written, and checked at every read and write (see the
   * class comment).
   *
   * @param directory the archive's directory; it need not exist yet
   */
  public static DirectoryArchive in(Path directory) {
    return new DirectoryArchive(Objects.requireNonNull(directory, "directory"));
  }

  /**
   * Writes a contiguous range of one stream's events as one file, durably (see the class comment).
   * A file of the same range is replaced. Ranges that overlap other files are not refused: a read
   * takes each event from the file that starts first.
   *
   * @param events one stream's events, in sequence order, without gaps
   * @throws IllegalArgumentException if the events are empty, of several streams, or not
   *     contiguous, or the stream's name is not valid Unicode
   * @throws IOException if the archive's directory or the stream's folder is refused (a link,
   *     another user's, or writable by others: the message says how to fix it), or the file cannot
   *     be written
   */
  public void write(List<StreamEvent> events) throws IOException {
    if (events.isEmpty()) {
      throw new IllegalArgumentException("no events to archive");
    }
    String stream = events.get(0).stream();
    long first = events.get(0).sequence();
    int size = 8;
    for (int i = 0; i < events.size(); i++) {
      StreamEvent e = events.get(i);
      if (!e.stream().equals(stream) || e.sequence() != first + i) {
        throw new IllegalArgumentException(
            "an archive file holds one stream's contiguous events; event "
                + i
                + " is "
                + e
                + ", expected "
                + stream
                + "#"
                + (first + i));
      }
      size += 12 + e.payload().length;
    }
    ByteBuffer b = ByteBuffer.allocate(size + 4);
    b.putLong(events.size());
    for (StreamEvent e : events) {
      byte[] p = e.payload();
      b.putLong(e.sequence()).putInt(p.length).put(p);
    }
    CRC32C crc = new CRC32C();
    crc.update(b.array(), 0, size);
    b.putInt((int) crc.getValue());
    Path dir = Objects.requireNonNull(folderOf(stream, true));
    long last = first + events.size() - 1;
    // Locale.ROOT: some locales format digits in their own script, which FILE (ASCII \d) would
    // not match, and the archive would not see its own files.
    Path target = dir.resolve(String.format(Locale.ROOT, "%012d-%012d.events", first, last));
    PrivateFiles.writeAtomically(target, out -> out.write(b.array()));
  }

  @Override
  public List<StreamEvent> read(String stream, long fromSequence, int limit) throws IOException {
    List<StreamEvent> out = new ArrayList<>(Math.min(limit, 1024));
    for (Range r : ranges(stream)) {
      if (r.last < fromSequence) {
        continue;
      }
      if (out.size() >= limit) {
        break;
      }
      for (StreamEvent e : readFile(stream, r.file)) {
        if (e.sequence() >= fromSequence && out.size() < limit) {
          if (!out.isEmpty() && e.sequence() <= out.get(out.size() - 1).sequence()) {
            continue; // files that overlap: the first one read wins
          }
          out.add(e);
        }
      }
    }
    return out;
  }

  @Override
  public long highWaterMark(String stream) throws IOException {
    long mark = 0;
    for (Range r : ranges(stream)) {
      mark = Math.max(mark, r.last);
    }
    return mark;
  }

  private record Range(long first, long last, Path file) {}

  private List<Range> ranges(String stream) throws IOException {
    Path dir = folderOf(stream, false);
    if (dir == null) {
      return List.of();
    }
    List<Range> ranges = new ArrayList<>();
    try (Stream<Path> files = Files.list(dir)) {
      for (Path f : (Iterable<Path>) files::iterator) {
        Matcher m = FILE.matcher(f.getFileName().toString());
        if (m.matches()) {
          ranges.add(new Range(Long.parseLong(m.group(1)), Long.parseLong(m.group(2)), f));
        }
      }
    }
    ranges.sort((a, b) -> Long.compare(a.first, b.first));
    return ranges;
  }

  private static List<StreamEvent> readFile(String stream, Path file) throws IOException {
    PrivateFiles.checkFile(file);
    byte[] bytes = Files.readAllBytes(file);
    if (bytes.length < 12) {
      throw new IOException("archive file " + file + " is truncated (" + bytes.length + " bytes)");
    }
    CRC32C crc = new CRC32C();
    crc.update(bytes, 0, bytes.length - 4);
    ByteBuffer b = ByteBuffer.wrap(bytes);
    if (b.getInt(bytes.length - 4) != (int) crc.getValue()) {
      throw new IOException("archive file " + file + " is damaged: its CRC32C does not match");
    }
    long count = b.getLong();
    List<StreamEvent> events = new ArrayList<>((int) Math.min(count, 1 << 16));
    try {
      for (long i = 0; i < count; i++) {
        long seq = b.getLong();
        byte[] p = new byte[b.getInt()];
        b.get(p);
        events.add(new StreamEvent(stream, seq, p));
      }
    } catch (RuntimeException e) {
      throw new IOException("archive file " + file + " does not parse: " + e, e);
    }
    return events;
  }

  /**
   * A stream's folder, checked (and the archive's directory with it); made if {@code create}, else
   * null if there is none.
   */
  private @Nullable Path folderOf(String stream, boolean create) throws IOException {
    String name = folder(stream);
    if (create) {
      PrivateFiles.createPrivateDirectory(root);
    } else if (Files.notExists(root, NOFOLLOW_LINKS)) {
      return null;
    } else {
      PrivateFiles.checkDirectory(root);
    }
    refuseOldFolder(stream, name);
    Path dir = root.resolve(name);
    if (create) {
      PrivateFiles.createPrivateDirectory(dir);
    } else if (Files.notExists(dir, NOFOLLOW_LINKS)) {
      return null;
    } else {
      PrivateFiles.checkDirectory(dir);
    }
    return dir;
  }

  /**
   * A stream's folder name: the name itself if plain, else {@code x-} and the hex of its UTF-8
   * bytes. One to one (see the class comment): plain names never start with {@code x-}, and UTF-8
   * is one to one on valid Unicode (a lone surrogate, which the JDK's encoder would turn into '?',
   * is refused).
   */
  static String folder(String stream) {
    if (PLAIN.matcher(stream).matches()
        && !stream.startsWith(".")
        && !stream.regionMatches(true, 0, ESCAPED, 0, ESCAPED.length())) {
      return stream;
    }
    try {
      ByteBuffer utf8 =
          StandardCharsets.UTF_8
              .newEncoder()
              .onMalformedInput(CodingErrorAction.REPORT)
              .onUnmappableCharacter(CodingErrorAction.REPORT)
              .encode(CharBuffer.wrap(stream));
      byte[] bytes = new byte[utf8.remaining()];
      utf8.get(bytes);
      return ESCAPED + HexFormat.of().formatHex(bytes);
    } catch (CharacterCodingException e) {
      throw new IllegalArgumentException(
          "stream name is not valid Unicode (a lone surrogate?): " + e.getMessage(), e);
    }
  }

  /**
   * Fails if the stream still has a folder under the name that versions before injective names gave
   * it (plain names starting with {@code x-}), which reads would otherwise skip.
   */
  private void refuseOldFolder(String stream, String folder) throws IOException {
    boolean wasPlain = PLAIN.matcher(stream).matches() && !stream.startsWith(".");
    if (!wasPlain || stream.equals(folder) || isEscapeOfAnotherName(stream)) {
      return;
    }
    Path old = root.resolve(stream);
    if (Files.exists(old, NOFOLLOW_LINKS)) {
      Path now = root.resolve(folder);
      throw new IOException(
          old
              + ": holds stream '"
              + stream
              + "' under the folder name of an earlier Outlast version, which could be taken for"
              + " the escaped name of another stream; its folder is now "
              + now
              + "; fix: mv "
              + old
              + " "
              + now
              + " (or, if that exists already, move the files into it) while nothing writes the"
              + " archive");
    }
  }

  /** Whether a folder name is the escaped form of some name, so its folder is that name's. */
  private static boolean isEscapeOfAnotherName(String folderName) {
    if (!folderName.startsWith(ESCAPED)) {
      return false;
    }
    String hex = folderName.substring(ESCAPED.length());
    if (!HEX.matcher(hex).matches()) {
      return false;
    }
    try {
      String decoded =
          StandardCharsets.UTF_8
              .newDecoder()
              .onMalformedInput(CodingErrorAction.REPORT)
              .onUnmappableCharacter(CodingErrorAction.REPORT)
              .decode(ByteBuffer.wrap(HexFormat.of().parseHex(hex)))
              .toString();
      return folder(decoded).equals(folderName);
    } catch (CharacterCodingException | IllegalArgumentException e) {
      return false;
    }
  }

  @Override
  public String toString() {
    return "DirectoryArchive[" + root + "]";
  }
}
