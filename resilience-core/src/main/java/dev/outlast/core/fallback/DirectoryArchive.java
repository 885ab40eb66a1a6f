package dev.outlast.core.fallback;

import dev.outlast.core.spi.EventSource;
import dev.outlast.core.spi.StreamEvent;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Objects;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import java.util.zip.CRC32C;

/**
 * The history of event streams as files in a directory: what an object store (S3, GCS) holds for a
 * service, stood in for by a local or mounted directory. Each stream has a folder; each file in it
 * holds a contiguous range of the stream's events, named by that range ({@code
 * 000000000001-000000001000.events}) and checked by a CRC32C over its content. Files are written
 * whole (to a temporary name, then moved), so a reader never sees half a file.
 *
 * <p>Read through it as an {@link EventSource}, typically first in a chain before the ledger: the
 * archive answers the history, the ledger the recent part. A damaged file fails the read with an
 * {@link IOException} naming it.
 *
 * <p>Threadsafe.
 */
public final class DirectoryArchive implements EventSource {
  private static final Pattern FILE = Pattern.compile("(\\d{12,19})-(\\d{12,19})\\.events");
  private static final Pattern PLAIN = Pattern.compile("[A-Za-z0-9._-]{1,100}");

  private final Path root;

  private DirectoryArchive(Path root) {
    this.root = root;
  }

  /** An archive in this directory (created when the first file is written). */
  public static DirectoryArchive in(Path directory) {
    return new DirectoryArchive(Objects.requireNonNull(directory, "directory"));
  }

  /**
   * Writes a contiguous range of one stream's events as one file.
   *
   * @throws IllegalArgumentException if the events are empty, of several streams, or not contiguous
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
    Path dir = root.resolve(folder(stream));
    Files.createDirectories(dir);
    long last = first + events.size() - 1;
    Path target = dir.resolve(String.format("%012d-%012d.events", first, last));
    Path tmp = dir.resolve(target.getFileName() + ".tmp");
    Files.write(tmp, b.array());
    try {
      Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    } catch (AtomicMoveNotSupportedException e) {
      Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING);
    }
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
    Path dir = root.resolve(folder(stream));
    if (!Files.isDirectory(dir)) {
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

  /** A stream's folder name: the name itself if plain, else its UTF-8 bytes in hex. */
  private static String folder(String stream) {
    return PLAIN.matcher(stream).matches() && !stream.startsWith(".")
        ? stream
        : "x-" + HexFormat.of().formatHex(stream.getBytes(StandardCharsets.UTF_8));
  }

  @Override
  public String toString() {
    return "DirectoryArchive[" + root + "]";
  }
}
