package dev.outlast.buffer;

import dev.outlast.core.internal.PrivateFiles;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileStore;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;
import java.util.stream.Stream;
import net.openhft.chronicle.bytes.Bytes;
import net.openhft.chronicle.queue.ChronicleQueue;
import net.openhft.chronicle.queue.ExcerptAppender;
import net.openhft.chronicle.queue.ExcerptTailer;
import net.openhft.chronicle.queue.RollCycle;
import net.openhft.chronicle.wire.DocumentContext;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The spill queue's journal on local disk: a chain of {@link Segment}s, the acknowledged position,
 * and the sequence lease.
 *
 * <p>Appends go to a segment this process created (one is started at every open, so a process never
 * appends to a file a crashed one was writing). A segment is rotated when it holds {@code
 * segmentBytes}. Before every append the journal checks its byte bound and the free space on the
 * file system, because Chronicle writes through memory-mapped files and a write into a page the
 * disk cannot back kills the JVM with SIGBUS instead of throwing.
 *
 * <p>Sequence numbers are reserved in blocks by the lease file before they are used, so that a
 * number is never issued twice, not even after a crash that lost the last segment.
 *
 * <p>Appends are serialised by the caller; the reader is used by one drainer thread; {@link
 * #acknowledge} by that thread too. Metrics may be read from any thread.
 */
final class Journal implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(Journal.class);
  private static final long LEASE_BLOCK = 4096;

  /**
   * The free space is read again after at most this many bytes are appended: a {@code statvfs} per
   * append would cost as much as the append. Another process can take up to this much space unseen,
   * which is what the free-space reserve is for.
   */
  private static final long FREE_SPACE_CHECK_BYTES = 1 << 20;

  /** Room a new segment's files need before their first record (headers, first index). */
  private static final long SEGMENT_START_BYTES = 1 << 20;

  /** What the journal found wrong, for the queue to report. */
  interface DamageListener {
    /** Records with these sequence numbers are lost (one range; some may have been delivered). */
    void lost(long from, long to, String reason, @Nullable Path quarantined);
  }

  /** The journal would exceed its bound or the disk's free space. */
  static final class FullException extends Exception {
    private static final long serialVersionUID = 1L;

    FullException(String message) {
      super(message, null, false, false);
    }
  }

  record Settings(
      RollCycle rollCycle,
      long blockSize,
      long segmentBytes,
      long maxBytes,
      long minFreeBytes,
      boolean powerLossDurable,
      boolean fallocate) {}

  private final Path root;
  private final Path segmentsDir;
  private final Path quarantineDir;
  private final Settings settings;
  private final Clock clock;
  private final DamageListener damage;
  private final DirectoryLock lock;
  private final CounterFile ackFile;
  private final CounterFile leaseFile;
  private final List<String> repairs;
  private final FileStore store;

  /** Segments not yet deleted, oldest first; the last one is the active one. */
  private final List<Segment> segments = new CopyOnWriteArrayList<>();

  private final AtomicLong bytesOfClosedSegments = new AtomicLong();
  private final AtomicLong activeBytes = new AtomicLong();
  private final AtomicLong backlogRecords = new AtomicLong();

  /** Segments synced since they stopped changing, and segments whose entry is on disk. */
  private final java.util.Set<Segment> sealedAndSynced =
      java.util.concurrent.ConcurrentHashMap.newKeySet();

  private final java.util.Set<Segment> directorySynced =
      java.util.concurrent.ConcurrentHashMap.newKeySet();

  /**
   * The active segment's files, kept open by the sync between syncs. Written by the thread that
   * syncs; closed by {@link #close}, after that thread stopped.
   */
  private final java.util.Map<Segment, ActiveSegmentSync> openForSync =
      new java.util.concurrent.ConcurrentHashMap<>();

  /** Why the reader waits at a segment it cannot read now; null if it does not. Reader writes. */
  private volatile @Nullable String waitingOn;

  /** A test's hook in {@link #syncToDisk}; null outside tests. */
  private volatile @Nullable Consumer<Segment> beforeSegmentSync;

  /** What each segment held when it was sealed: its record count and its last sequence number. */
  private final java.util.Map<Segment, Sealed> counts =
      new java.util.concurrent.ConcurrentHashMap<>();

  /** A sealed segment's record count and last sequence number (0 if it held none or is unknown). */
  record Sealed(long records, long lastSequence) {}

  /** Segments found at open whose records could not all be counted. */
  private final java.util.Set<Segment> uncounted =
      java.util.concurrent.ConcurrentHashMap.newKeySet();

  /** What segments found at open were counted with in {@link #bytesOfClosedSegments}. */
  private final java.util.Map<Segment, Long> bytesAtOpen =
      new java.util.concurrent.ConcurrentHashMap<>();

  /** Segments the reader finished, waiting for their last record to be acknowledged. */
  private final List<FinishedSegment> finished = new ArrayList<>();

  // Appender state, guarded by the caller's append lock; the reader looks at which segment is
  // active.
  private volatile Segment active;
  private final Preallocator preallocator;
  private ChronicleQueue activeQueue;
  private ExcerptAppender appender;
  private long nextSequence;
  private long lastJournaled;
  private long leasedUntil;
  private long freeBudget;
  private long activeRecords;
  private volatile long lastAppended;

  /** A write failed: Chronicle's appender is closed and the next append starts a new segment. */
  private boolean broken;

  /** Chronicle's index of the last record committed, to tell whether a failed close committed. */
  private long committedIndex = Long.MIN_VALUE;

  private Journal(
      Path root,
      Settings settings,
      Clock clock,
      DamageListener damage,
      DirectoryLock lock,
      Found ack,
      Found lease,
      List<AutoCloseable> opened)
      throws IOException {
    this.root = root;
    this.segmentsDir = root.resolve("journal");
    this.quarantineDir = root.resolve("quarantine");
    this.settings = settings;
    this.clock = clock;
    this.damage = damage;
    this.lock = lock;
    PrivateFiles.createPrivateDirectory(segmentsDir);
    this.store = Files.getFileStore(segmentsDir);

    try (Stream<Path> dirs = Files.list(segmentsDir)) {
      dirs.map(Segment::of)
          .filter(s -> s != null)
          .sorted((a, b) -> Long.compare(a.firstSequence, b.firstSequence))
          .forEach(segments::add);
    }
    for (Segment s : segments) {
      counts.put(s, sealedInfo(s));
    }
    // The chain of records goes on from the previous run's last record: as sealed, if known (so
    // that records lost from its end show as a gap), else the last one readable.
    long sealedLast = 0;
    for (Sealed info : counts.values()) {
      sealedLast = Math.max(sealedLast, info.lastSequence());
    }
    this.lastJournaled = sealedLast > 0 ? sealedLast : lastRecordSequence();
    List<String> repaired = new ArrayList<>();
    this.ackFile = settleAck(ack, opened, repaired);
    this.leaseFile = settleLease(lease, opened, repaired);
    this.repairs = List.copyOf(repaired);
    countAtOpen();
    // Direct delivery (spill-on-failure) resumes only once all that is journaled is acknowledged;
    // a segment the reader cannot read yet must keep newer events behind it too.
    this.lastAppended = segments.isEmpty() ? 0 : lastJournaled;
    // Everything below the lease may have been issued, as a journal record or a direct delivery.
    // The journal and the acknowledged position bound it from below too, should the lease file
    // have been deleted: numbers are never reused while the records that had them exist.
    long floor = Math.max(lastJournaled, ackFile.value()) + 1;
    if (!segments.isEmpty()) {
      floor = Math.max(floor, segments.get(segments.size() - 1).firstSequence);
    }
    if (leaseFile.value() < floor) {
      log.warn(
          "{} is behind the journal ({} < {}); numbering goes on from the journal",
          leaseFile.path(),
          leaseFile.value(),
          floor);
    }
    this.nextSequence = Math.max(floor, leaseFile.value());
    this.leasedUntil = nextSequence;
    this.freeBudget = 0;
    this.preallocator =
        new Preallocator(Math.min(1 << 20, settings.segmentBytes() / 4), settings.fallocate());
    this.active = startSegment(nextSequence);
    this.activeQueue = openActive(active);
    this.appender = newAppender(activeQueue);
  }

  /**
   * Opens (or creates) the journal under a directory, which it holds until closed against other
   * queues of this JVM and other processes (see {@link DirectoryLock}).
   *
   * @param format the format the queue reads with: checked against what the journal holds before
   *     anything is changed (see {@link KeyCheck})
   * @throws IOException if the directory cannot be used, or another queue or process holds it
   * @throws KeyCheck.WrongKeyException if the format's keys do not open the journal's records
   */
  static Journal open(
      Path root, Settings settings, Clock clock, DamageListener damage, RecordFormat format)
      throws IOException {
    PrivateFiles.createPrivateDirectory(root);
    DirectoryLock lock = DirectoryLock.acquire(root);
    try {
      KeyCheck.verify(root, format);
    } catch (IOException | RuntimeException e) {
      closeQuietly(lock);
      throw e;
    }
    // Counter files opened (or made) on the way, to close should the open fail.
    List<AutoCloseable> opened = new ArrayList<>();
    try {
      Found ack = Found.of(root.resolve("ack.position"), opened);
      Found lease = Found.of(root.resolve("sequence.lease"), opened);
      return new Journal(root, settings, clock, damage, lock, ack, lease, opened);
    } catch (IOException | RuntimeException e) {
      opened.forEach(Journal::closeQuietly);
      closeQuietly(lock);
      throw e;
    }
  }

  /**
   * Deletes the segments whose records were all acknowledged (a process killed between an
   * acknowledgement and the deletion it allowed leaves them), and counts the others into the
   * metrics, so that the backlog and the bytes are exact from the open on.
   */
  private void countAtOpen() {
    long done = ackFile.value();
    List<Segment> all = List.copyOf(segments);
    for (int i = 0; i < all.size(); i++) {
      Segment s = all.get(i);
      Sealed info = counts.getOrDefault(s, new Sealed(0, 0));
      // Every record of a segment is below the name of the next one (a segment is named by the
      // number of the record it was started for); the last one's records are known only if they
      // were counted whole.
      boolean allDone =
          i + 1 < all.size()
              ? all.get(i + 1).firstSequence - 1 <= done
              : !uncounted.contains(s) && info.lastSequence() <= done;
      if (allDone) {
        segments.remove(s);
        counts.remove(s);
        uncounted.remove(s);
        deleteTree(s.dir);
        log.info("{} was acknowledged whole before the last stop; deleted", s);
        continue;
      }
      long bytes = s.bytes();
      bytesAtOpen.put(s, bytes);
      bytesOfClosedSegments.addAndGet(bytes);
      backlogRecords.addAndGet(info.records());
    }
  }

  /**
   * The bytes a segment was counted with: as measured at open for one that was there then (reading
   * it may change its files' lengths since), else as it is now.
   */
  private long countedBytes(Segment s) {
    Long atOpen = bytesAtOpen.remove(s);
    return atOpen != null ? atOpen : s.bytes();
  }

  // ---- the counter files, rebuilt from the journal if they are damaged or missing ----

  /** A counter file as the open found it: its value if it holds a valid one, else what is wrong. */
  private record Found(Path path, @Nullable CounterFile file, String problem) {
    static Found of(Path path, List<AutoCloseable> opened) throws IOException {
      try {
        CounterFile f = CounterFile.openExisting(path);
        if (f != null) {
          opened.add(f);
          return new Found(path, f, "");
        }
        return new Found(path, null, Files.exists(path) ? "empty" : "missing");
      } catch (CounterFile.DamagedException e) {
        return new Found(path, null, "damaged (" + e.getMessage() + ")");
      }
    }

    /** Missing or empty, as in a directory no queue has used yet. */
    boolean neverWritten() {
      return file == null && (problem.equals("missing") || problem.equals("empty"));
    }
  }

  /**
   * The acknowledged position, rebuilt if needed from the oldest record on disk: everything on disk
   * is delivered again, which may repeat deliveries (at least once) but loses none.
   */
  private CounterFile settleAck(Found found, List<AutoCloseable> opened, List<String> repaired)
      throws IOException {
    CounterFile valid = found.file();
    if (valid != null) {
      return valid;
    }
    if (segments.isEmpty() && found.neverWritten()) {
      return made(CounterFile.create(found.path(), 0), opened);
    }
    long value = segments.isEmpty() ? 0 : oldestSequenceOnDisk() - 1;
    repair(
        repaired,
        found,
        value,
        "from the oldest journal record; what is on disk is delivered again, at least once");
    return made(CounterFile.create(found.path(), value), opened);
  }

  /**
   * The sequence lease, rebuilt if needed from the highest sequence number the directory shows.
   *
   * <p>Why a whole block past it: numbers are leased {@link #LEASE_BLOCK} at a time, and
   * spill-on-failure delivers straight to the sink under leased numbers it never journals. The
   * highest number on disk, {@code h}, was issued under a lease taken at some {@code n <= h}, which
   * reached {@code n + LEASE_BLOCK}; direct deliveries after {@code h} may have used any number up
   * to {@code h + LEASE_BLOCK - 1}. So numbering resumes at {@code h + LEASE_BLOCK}. Only direct
   * deliveries of more than a whole block after the last journaled record leave no trace on disk;
   * the repair note says so.
   */
  private CounterFile settleLease(Found found, List<AutoCloseable> opened, List<String> repaired)
      throws IOException {
    CounterFile valid = found.file();
    if (valid != null) {
      return valid;
    }
    long highest = Math.max(lastJournaled, ackFile.value());
    for (Segment s : segments) {
      // A segment is named by the number of the record it was started for, which may then have
      // been issued.
      highest = Math.max(highest, s.firstSequence);
    }
    if (highest == 0 && found.neverWritten()) {
      return made(CounterFile.create(found.path(), 1), opened);
    }
    long value = highest + LEASE_BLOCK;
    repair(
        repaired,
        found,
        value,
        "past the highest sequence number on disk ("
            + highest
            + ") and the whole lease block that could have been issued after it; numbers of"
            + " direct deliveries beyond that block, if any, cannot be seen on disk");
    return made(CounterFile.create(found.path(), value), opened);
  }

  private static CounterFile made(CounterFile f, List<AutoCloseable> opened) {
    opened.add(f);
    return f;
  }

  private static void repair(List<String> repaired, Found found, long value, String how) {
    String note =
        found.path().getFileName()
            + " was "
            + found.problem()
            + "; rebuilt as "
            + value
            + " "
            + how;
    log.warn("{}: {}", found.path().getParent(), note);
    repaired.add(note);
  }

  /**
   * The lowest sequence number on disk: the oldest segment's first record's, or the number the
   * segment is named after if that is lower or its first record cannot be read (the reader then
   * reports what the segment lost).
   */
  private long oldestSequenceOnDisk() {
    Segment oldest = segments.get(0);
    RecordFormat any = new RecordFormat();
    try {
      oldest.prepare(quarantineDir.resolve(oldest.dir.getFileName() + "-files-" + clock.millis()));
      try (ChronicleQueue q = oldest.open(settings.rollCycle(), settings.blockSize(), false);
          ExcerptTailer t = q.createTailer()) {
        for (int n = 0; n < 10_000; n++) {
          try (DocumentContext dc = t.readingDocument()) {
            if (!dc.isPresent()) {
              break;
            }
            long sequence = any.headerSequence(dc.wire().bytes().toByteArray());
            if (sequence > 0) {
              return Math.min(sequence, oldest.firstSequence);
            }
          }
        }
      }
    } catch (IOException | RuntimeException | AssertionError | InternalError e) {
      log.debug("cannot read the start of {}", oldest, e);
    }
    return oldest.firstSequence;
  }

  /**
   * Why the reader waits at a segment it cannot read now (which is kept and tried again), for the
   * queue's health; null if it does not wait.
   */
  @Nullable String waitingOn() {
    return waitingOn;
  }

  /**
   * Counter files rebuilt from the journal at open, each with what was wrong and what it holds now,
   * for the queue's health; empty if none.
   */
  List<String> repairs() {
    return repairs;
  }

  // ---- appending (serialised by the caller) ----

  /**
   * Appends one record made by {@code format}.
   *
   * @param presetSequence a number issued earlier for this event (a failed direct delivery), used
   *     if it keeps the journal in order; 0 to issue a new one
   * @return the record's sequence number
   * @throws FullException if the bound or the disk's free space would be passed, or the write
   *     failed (a fault writing through the mapping, or any error of Chronicle's): nothing is
   *     written, as far as readers can tell; the next append starts a new segment if Chronicle's
   *     state is in doubt
   */
  long append(RecordFormat format, byte[] encoded, long publishedAt, long presetSequence)
      throws FullException {
    return append(format, encoded, publishedAt, presetSequence, false);
  }

  /**
   * As {@link #append(RecordFormat, byte[], long, long)}; an event the sink has already been handed
   * ({@code seenBySink}) may pass the byte bound and use half of the free-space reserve. Such an
   * event must be journaled under the number the sink saw, or a sink that holds its line at that
   * number (the Pulsar sink after a failed send) waits for it for good; there are at most one batch
   * of them each time direct delivery fails, so the bound is passed by at most that much.
   */
  long append(
      RecordFormat format,
      byte[] encoded,
      long publishedAt,
      long presetSequence,
      boolean seenBySink)
      throws FullException {
    long recordBytes = RecordFormat.OVERHEAD + format.payloadLength(encoded.length) + 8L;
    // A new segment also when Chronicle's cycle (day) changes: it would otherwise create the new
    // day's roll file inside the next append, writing its header through the mapping on space
    // nothing allocated. And after a failed write, whose Chronicle state is not trusted again.
    if (broken
        || activeBytes.get() + recordBytes > settings.segmentBytes()
        || settings.rollCycle().current(activeQueue.time(), 0) != appender.cycle()) {
      ensureRoom(recordBytes + SEGMENT_START_BYTES, seenBySink);
      // Named by the number its first record gets: a preset one (a failed direct delivery) is below
      // nextSequence, and a segment named nextSequence would hold records below its name, and the
      // next one started in the same spill would take its name and replace it.
      rotate(presetSequence > lastJournaled ? presetSequence : nextSequence);
    }
    long shortfall = preallocator.shortfall(recordBytes);
    ensureRoom(recordBytes + shortfall, seenBySink);
    // Beyond the bound, nothing is allocated ahead: just what the record needs.
    long room =
        seenBySink
            ? 0
            : Math.max(
                0,
                Math.min(
                    settings.maxBytes() - usedBytes() - preallocator.allocatedAhead() - shortfall,
                    freeBudget - shortfall));
    long sequence = write(format, encoded, publishedAt, presetSequence, recordBytes, room);
    lastJournaled = sequence;
    lastAppended = sequence;
    // Only the appender writes it, under the queue's lock: a release store, not an atomic add.
    activeBytes.lazySet(activeBytes.get() + recordBytes);
    freeBudget -= recordBytes;
    backlogRecords.incrementAndGet();
    activeRecords++;
    return sequence;
  }

  /**
   * Writes one record as one Chronicle document: wholly, or not at all as far as readers go.
   *
   * <p>A write into a page the file system cannot back (another process took the space between the
   * free-space check and the write) raises SIGBUS, which the JVM turns into an {@code
   * InternalError}, and leaves Chronicle's appender in a state that fails every later append (a
   * null wire). So: the record's space is allocated inside its open document before a byte of it is
   * written; any failure rolls the document back (its bytes are zeroed, so no reader sees a partial
   * record, not even as damage); and after a failure Chronicle's appender is closed and never used
   * again: the next append starts a new segment (the failed one is sealed with the records it
   * holds, and readers end it at the last complete one).
   *
   * <p>The sequence number is issued once the record's space is there, so that a refusal for want
   * of space uses none. One issued for a write that then fails is not issued again, although
   * nothing with it was written (the document is rolled back, or, if that fails too, left
   * incomplete in a segment that is never appended to again, where readers stop before it).
   * Skipping it is harmless: the journal is chained by each record's previous number, which only a
   * written record moves, so no gap is reported; reusing it would need proof that no byte with it
   * reached the disk.
   *
   * @return the record's sequence number
   */
  private long write(
      RecordFormat format,
      byte[] encoded,
      long publishedAt,
      long presetSequence,
      long recordBytes,
      long room)
      throws FullException {
    DocumentContext dc;
    try {
      dc = appender.writingDocument();
    } catch (RuntimeException | InternalError | AssertionError e) {
      throw broken("opening a document", e);
    }
    Bytes<?> bytes;
    long end;
    long sequence;
    try {
      bytes = dc.wire().bytes();
      freeBudget -=
          preallocator.ensure(appender.currentFile(), bytes.writePosition(), recordBytes, room);
      sequence = presetSequence > lastJournaled ? presetSequence : issue();
      format.writeTo(bytes, sequence, lastJournaled, publishedAt, encoded);
      // The roll file's bytes are addressed by file offset: this is where the record ends.
      end = bytes.writePosition();
    } catch (FullException e) {
      // Nothing of the record was written: the document is rolled back and the appender goes on.
      if (!rollBack(dc)) {
        throw broken("rolling back a document", e);
      }
      throw e;
    } catch (RuntimeException | InternalError | AssertionError e) {
      rollBack(dc);
      throw broken("writing a record", e);
    }
    try {
      dc.close();
    } catch (RuntimeException | InternalError | AssertionError e) {
      // Committed if Chronicle moved its last index (the record's header is complete and the
      // record whole); what failed after that is Chronicle's index, which readers do without.
      if (!committedSince()) {
        throw broken("committing a record", e);
      }
      broken("indexing a record", e);
    }
    committedIndex = lastIndex();
    preallocator.written(appender.currentFile(), end);
    try {
      preallocator.prefault(bytes);
    } catch (RuntimeException e) {
      log.debug("prefaulting after record {}", sequence, e);
    }
    return sequence;
  }

  /** Rolls back an open document; false if that failed too (the appender is then broken). */
  private static boolean rollBack(DocumentContext dc) {
    try {
      dc.rollbackOnClose();
      dc.close();
      return true;
    } catch (RuntimeException | InternalError | AssertionError e) {
      log.debug("rolling back a journal document", e);
      return false;
    }
  }

  private boolean committedSince() {
    return lastIndex() != committedIndex;
  }

  private long lastIndex() {
    try {
      return appender.lastIndexAppended();
    } catch (RuntimeException e) {
      return Long.MIN_VALUE; // nothing appended yet
    }
  }

  /**
   * Notes that the appender failed, closes it, and says so as a full journal: the failures seen are
   * for want of space (a fault writing through the mapping), and the publisher is refused, not
   * handed Chronicle's error. The next append starts a new segment.
   */
  private FullException broken(String what, Throwable cause) {
    if (!broken) {
      log.warn(
          "journal {}: {} failed ({}); appending goes on in a new segment when there is room",
          active,
          what,
          cause.toString());
    }
    broken = true;
    try {
      appender.close();
    } catch (RuntimeException | InternalError | AssertionError e) {
      log.debug("closing a failed appender", e);
    }
    long free;
    try {
      free = store.getUsableSpace();
    } catch (IOException e) {
      free = -1;
    }
    return new FullException(
        "the journal could not write to "
            + active.dir
            + " ("
            + what
            + " failed: "
            + cause
            + "; the file system has "
            + free
            + " bytes free)");
  }

  /** A sequence number for an event delivered without the journal (spill-on-failure, direct). */
  long issueDirect() throws FullException {
    return issue();
  }

  private long issue() throws FullException {
    if (nextSequence >= leasedUntil) {
      long until = nextSequence + LEASE_BLOCK;
      try {
        leaseFile.write(until, settings.powerLossDurable());
      } catch (IOException e) {
        throw new FullException(
            "cannot extend the sequence lease in " + leaseFile.path() + ": " + e);
      }
      leasedUntil = until;
    }
    return nextSequence++;
  }

  /**
   * Forces every record appended so far to disk (power-loss durability): after it returns, each
   * record appended before it began, and what is needed to read it back, survives a power cut.
   * Needs no lock, so appends go on meanwhile.
   *
   * <p>Per segment, only what must be written (the reasoning is in {@link ActiveSegmentSync}):
   *
   * <ul>
   *   <li>The active segment (the one appended to when the sync began): its roll file from the
   *       start to the end of its last complete document, with {@code msync} on a mapping kept open
   *       (a ranged {@code fdatasync}); a file seen for the first time whole, then its directory
   *       entry; its metadata file not again until it is sealed.
   *   <li>A segment older than that one has stopped changing: every file of it is forced whole once
   *       more ({@code fsync}, for what was appended after its last sync and for the {@code sealed}
   *       file), and never again.
   *   <li>A segment newer than the active one is being made by the appender and holds no record
   *       yet: a record's waiter is queued only after its append, which comes after its segment
   *       became the active one, so a sync for it sees that segment as the active one.
   *   <li>A segment's directory entry in the journal's directory is synced once, after its files.
   * </ul>
   */
  void syncToDisk() throws IOException {
    Segment current = active;
    for (Segment s : segments) {
      if (s.firstSequence > current.firstSequence) {
        continue; // being made, nothing in it yet (see above)
      }
      boolean sealed = s.firstSequence < current.firstSequence;
      if (sealed && sealedAndSynced.contains(s)) {
        continue;
      }
      Consumer<Segment> hook = beforeSegmentSync;
      if (hook != null) {
        hook.accept(s);
      }
      boolean fileAppeared = false;
      try {
        if (sealed) {
          forceWhole(s);
        } else {
          int generation = s.generation.get();
          if ((generation & 1) != 0) {
            continue; // started again right now: no record in it yet (restartEmptyActive)
          }
          ActiveSegmentSync open = openForSync.get(s);
          if (open == null || open.generation != generation) {
            if (open != null) {
              open.close(); // the files of before it was started again, which held no record
            }
            open = new ActiveSegmentSync(s, generation);
            openForSync.put(s, open);
          }
          try {
            fileAppeared = open.sync();
          } catch (NoSuchFileException e) {
            if (s.generation.get() != generation) {
              continue; // started again during this sync: what it synced held no record
            }
            throw e;
          }
        }
      } catch (NoSuchFileException e) {
        // The drainer takes a segment out of the list before it deletes it (or moves it aside):
        // one gone from the list needs no sync, as its records were acknowledged (or are lost and
        // reported). A file missing from a segment still in the list is a real failure.
        if (segments.contains(s)) {
          throw e;
        }
        forget(s);
        continue;
      }
      boolean segmentIsNew = directorySynced.add(s);
      if (segmentIsNew || fileAppeared) {
        forceDirectory(s.dir);
      }
      if (segmentIsNew) {
        forceDirectory(segmentsDir);
      }
      if (sealed) {
        sealedAndSynced.add(s);
      }
      if (!segments.contains(s)) {
        forget(s); // deleted while it was synced: do not keep it in the sets
      }
    }
    // The files of segments no longer appended to are synced by the path above, not kept open.
    openForSync
        .values()
        .removeIf(
            open -> {
              Segment s = open.segment;
              if (s.firstSequence < current.firstSequence || !segments.contains(s)) {
                open.close();
                return true;
              }
              return false;
            });
  }

  /** Forces every file of a segment, data and metadata, opening and closing each. */
  private static void forceWhole(Segment s) throws IOException {
    try (Stream<Path> files = Files.list(s.dir)) {
      for (Path f : (Iterable<Path>) files::iterator) {
        if (Files.isRegularFile(f)) {
          try (FileChannel ch = FileChannel.open(f, StandardOpenOption.WRITE)) {
            ch.force(true);
          }
        }
      }
    }
  }

  /** Closes the files the sync kept open; after the sync's thread has stopped (or hangs). */
  private void closeSyncFiles() {
    for (ActiveSegmentSync open : openForSync.values()) {
      open.close();
    }
    openForSync.clear();
  }

  private void forget(Segment s) {
    sealedAndSynced.remove(s);
    directorySynced.remove(s);
  }

  /**
   * For tests: runs {@code hook} in {@link #syncToDisk} before each segment it syncs, so that a
   * test can delete the segment at exactly that moment.
   */
  void beforeSegmentSync(@Nullable Consumer<Segment> hook) {
    this.beforeSegmentSync = hook;
  }

  private static void forceDirectory(Path dir) {
    try (FileChannel d = FileChannel.open(dir, StandardOpenOption.READ)) {
      d.force(true);
    } catch (IOException e) {
      // Not every file system syncs directories; the files themselves are synced.
    }
  }

  /**
   * The sequence number of the last record appended; at open, the last record on disk if any
   * segment is left, else 0.
   */
  long lastAppended() {
    return lastAppended;
  }

  private void ensureRoom(long bytes, boolean seenBySink) throws FullException {
    long used = usedBytes() + preallocator.allocatedAhead();
    if (!seenBySink && used + bytes > settings.maxBytes()) {
      throw new FullException(
          "the journal holds "
              + used
              + " bytes; "
              + bytes
              + " more would pass its bound of "
              + settings.maxBytes());
    }
    if (freeBudget < bytes) {
      long usable;
      try {
        usable = store.getUsableSpace();
      } catch (IOException e) {
        throw new FullException("cannot read the free space of " + segmentsDir + ": " + e);
      }
      // Spent in chunks, so that space another process takes shows up within a chunk's writes.
      freeBudget = Math.min(usable - settings.minFreeBytes(), FREE_SPACE_CHECK_BYTES);
      long reserve = seenBySink ? settings.minFreeBytes() / 2 : settings.minFreeBytes();
      if (usable - reserve < bytes) {
        throw new FullException(
            "the file system of "
                + segmentsDir
                + " has "
                + usable
                + " bytes free; the queue keeps "
                + settings.minFreeBytes()
                + " free");
      }
    }
  }

  /**
   * Seals the active segment and starts the next. The next one is made whole (directory, queue,
   * appender) before anything of the old one changes, so that a failure (a full disk, no inodes)
   * leaves the journal appending to the old segment, and the reader never opens a segment whose
   * files are still being created.
   */
  private void rotate(long firstSequence) throws FullException {
    Segment old = active;
    if (firstSequence == old.firstSequence && activeRecords == 0) {
      restartEmptyActive(old);
      return;
    }
    Segment next;
    // After a failed restart the old one holds no record and whatever files were left: it is
    // deleted, not sealed, so that no reader opens half-made files.
    boolean unfinishedRestart = (old.generation.get() & 1) != 0;
    try {
      next = startSegment(firstSequence);
    } catch (UncheckedIOException e) {
      throw new FullException("cannot start a new journal segment: " + e.getCause());
    }
    ChronicleQueue nextQueue = null;
    ExcerptAppender nextAppender;
    try {
      nextQueue = openActive(next);
      nextAppender = newAppender(nextQueue);
    } catch (RuntimeException | InternalError | AssertionError e) {
      closeChronicle(null, nextQueue);
      segments.remove(next);
      try {
        deleteTree(next.dir);
      } catch (UncheckedIOException ignored) {
        // an empty segment directory; the next open starts one of the same name anyway
      }
      preallocator.reset();
      throw new FullException("cannot open a new journal segment in " + next.dir + ": " + e);
    }
    if (!unfinishedRestart) {
      Sealed sealed = new Sealed(activeRecords, activeRecords == 0 ? 0 : lastJournaled);
      writeSealed(old, sealed);
      counts.put(old, sealed);
      bytesOfClosedSegments.addAndGet(old.bytes());
    }
    activeRecords = 0;
    closeChronicle(appender, activeQueue);
    activeBytes.set(0);
    activeQueue = nextQueue;
    appender = nextAppender;
    committedIndex = Long.MIN_VALUE;
    active = next;
    broken = false;
    freeBudget -= SEGMENT_START_BYTES;
    if (unfinishedRestart) {
      segments.remove(old);
      counts.remove(old);
      forget(old);
      deleteTree(old.dir);
    }
  }

  /**
   * Starts the active segment again in place, with new files: it holds no record, and the record
   * about to be written is numbered at its name (a number issued before it was started, or the
   * first after a failed write left it empty, or the first after a day change with nothing appended
   * since the open). A new segment cannot take the place: its name would be the same, and a
   * segment's name is never above its first record. The segment object stays (the reader waits at
   * it as at any active segment); its generation tells the reader and the sync to open its files
   * again.
   */
  private void restartEmptyActive(Segment s) throws FullException {
    closeChronicle(appender, activeQueue);
    broken = true; // until the new files are open: a failure leaves the next append to try again
    preallocator.reset();
    activeBytes.set(0);
    if ((s.generation.get() & 1) == 0) {
      s.generation.incrementAndGet(); // odd: being made (still odd after a failed try)
    }
    try (Stream<Path> files = Files.list(s.dir)) {
      for (Path f : (Iterable<Path>) files::iterator) {
        deleteTree(f);
      }
    } catch (IOException | UncheckedIOException e) {
      throw new FullException("cannot start journal segment " + s.dir + " again: " + e);
    }
    ChronicleQueue q = null;
    try {
      q = openActive(s);
      appender = newAppender(q);
    } catch (RuntimeException | InternalError | AssertionError e) {
      closeChronicle(null, q);
      throw new FullException("cannot start journal segment " + s.dir + " again: " + e);
    }
    activeQueue = q;
    committedIndex = Long.MIN_VALUE;
    broken = false;
    s.generation.incrementAndGet(); // even: whole
  }

  /** Closes an appender and its queue; a failed one's Chronicle state may throw on the way. */
  private static void closeChronicle(@Nullable ExcerptAppender a, @Nullable ChronicleQueue q) {
    try {
      if (a != null) {
        a.close();
      }
    } catch (RuntimeException | InternalError | AssertionError e) {
      log.debug("closing a journal appender", e);
    }
    try {
      if (q != null) {
        q.close();
      }
    } catch (RuntimeException | InternalError | AssertionError e) {
      log.debug("closing a journal segment's queue", e);
    }
  }

  private Segment startSegment(long firstSequence) {
    Segment s = new Segment(firstSequence, segmentsDir.resolve(Segment.name(firstSequence)));
    // A segment of this name was left by a crash before its first record, or by a start that
    // failed before it. It holds no record: a record in it would have a number at or past its
    // name, and every number written so far is below it (or, at open, was never leased). The
    // active segment is never of this name: when empty, it is started again in place (rotate).
    // It must leave the list too, or the reader would take it for this one and finish it early.
    segments.removeIf(
        old -> {
          if (old.firstSequence != s.firstSequence) {
            return false;
          }
          counts.remove(old);
          bytesOfClosedSegments.addAndGet(-old.bytes());
          return true;
        });
    try {
      if (Files.exists(s.dir)) {
        if (holdsRollFile(s.dir)) {
          // Records in it cannot be, but files that look like them are kept for a look.
          PrivateFiles.createPrivateDirectory(quarantineDir);
          Files.move(s.dir, quarantineDir.resolve(s.dir.getFileName() + "-" + clock.millis()));
        } else {
          deleteTree(s.dir);
        }
      }
      Files.createDirectory(
          s.dir,
          PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
    } catch (IOException e) {
      throw new UncheckedIOException("cannot create journal segment " + s.dir, e);
    }
    segments.add(s);
    return s;
  }

  private static boolean holdsRollFile(Path dir) throws IOException {
    try (Stream<Path> files = Files.list(dir)) {
      return files.anyMatch(f -> f.getFileName().toString().endsWith(Segment.SUFFIX));
    }
  }

  /**
   * Opens the Chronicle queue of a new segment (which creates its metadata file). On a thread of
   * its own, see {@link #onOwnThread}; the metadata file is then checked with plain reads.
   *
   * @throws UncheckedIOException if it cannot be opened whole, most likely for want of space
   */
  private ChronicleQueue openActive(Segment s) {
    ChronicleQueue q =
        onOwnThread(
            "open " + s,
            () -> s.open(settings.rollCycle(), settings.blockSize(), settings.powerLossDurable()),
            ChronicleQueue::close);
    try (Stream<Path> files = Files.list(s.dir)) {
      for (Path f : (Iterable<Path>) files::iterator) {
        if (f.getFileName().toString().endsWith(".cq4t")) {
          if (!Segment.looksValid(f)) {
            throw new IOException(f + " was not written whole");
          }
          // Readers of the segment write into it too, through their own mapping.
          if (!Preallocator.allocateWhole(f.toFile())) {
            throw new IOException("no room to allocate " + f);
          }
        }
      }
    } catch (IOException e) {
      closeChronicle(null, q);
      throw new UncheckedIOException("cannot open journal " + s, e);
    }
    return q;
  }

  /**
   * What the thread that starts a segment hands back: the appender and its first header's place.
   */
  private record Started(ExcerptAppender appender, long headerPosition) {}

  /**
   * Makes the appender of a new segment and has Chronicle create its roll file (with a document
   * that is rolled back), on a thread of its own; then checks the file's start with plain reads and
   * allocates it up to the first document, before any record goes there.
   *
   * @throws UncheckedIOException if that fails, most likely for want of space
   */
  private ExcerptAppender newAppender(ChronicleQueue q) {
    Started started =
        onOwnThread(
            "start a roll file",
            () -> {
              ExcerptAppender a = q.createAppender();
              // Appends are serialised by the queue's lock, from whichever publisher thread holds
              // it.
              a.singleThreadedCheckDisabled(true);
              long header;
              try (DocumentContext dc = a.writingDocument()) {
                header = dc.wire().bytes().writePosition() - 4;
                dc.rollbackOnClose();
              }
              return new Started(a, header);
            },
            s -> s.appender().close());
    ExcerptAppender a = started.appender();
    try {
      java.io.File file = a.currentFile();
      if (file == null) {
        throw new IOException("Chronicle made no roll file");
      }
      if (!Segment.documentsReach(file.toPath(), started.headerPosition())) {
        throw new IOException(file + " was not written whole");
      }
      preallocator.begin(file, started.headerPosition() + 4);
    } catch (IOException | FullException e) {
      closeChronicle(a, null);
      throw new UncheckedIOException(
          "cannot start a journal roll file",
          e instanceof IOException io ? io : new IOException(e));
    }
    return a;
  }

  /**
   * Runs what creates a segment's files on a new thread and waits for it. Chronicle writes new
   * files through their mapping; a write into a page the file system cannot back (another process
   * took the space since the free-space check) does not throw where it happens: the JVM marks the
   * thread and throws an {@code InternalError} at some later point of that thread. Here that thread
   * ends with the work, so the error cannot reach a publisher; what the files hold is checked
   * afterwards with plain reads. Segments start rarely (once per segment's bytes), so a thread each
   * time costs nothing that matters.
   *
   * @param undo releases what was made, if the caller stopped waiting
   * @throws UncheckedIOException if the work failed, or took more than 30 s
   */
  private static <T> T onOwnThread(
      String what, java.util.concurrent.Callable<T> work, java.util.function.Consumer<T> undo) {
    java.util.concurrent.CompletableFuture<T> result =
        new java.util.concurrent.CompletableFuture<>();
    java.util.concurrent.atomic.AtomicBoolean abandoned =
        new java.util.concurrent.atomic.AtomicBoolean();
    Thread t =
        new Thread(
            () -> {
              try {
                T made = work.call();
                if (!result.complete(made) || abandoned.get()) {
                  undo.accept(made);
                }
              } catch (Exception | InternalError | AssertionError e) {
                result.completeExceptionally(e);
              }
            },
            "outlast-journal-files");
    t.setDaemon(true);
    // A fault's error can arrive after the work, as the thread ends: it is expected, not news.
    t.setUncaughtExceptionHandler((th, e) -> log.debug("{} after {}", th.getName(), what, e));
    t.start();
    try {
      return result.get(30, java.util.concurrent.TimeUnit.SECONDS);
    } catch (java.util.concurrent.ExecutionException e) {
      Throwable cause = e.getCause() == null ? e : e.getCause();
      throw new UncheckedIOException(new IOException("cannot " + what + ": " + cause, cause));
    } catch (java.util.concurrent.TimeoutException | InterruptedException e) {
      if (e instanceof InterruptedException) {
        Thread.currentThread().interrupt();
      }
      abandoned.set(true);
      if (result.isDone() && !result.isCompletedExceptionally()) {
        undo.accept(result.join());
      }
      throw new UncheckedIOException(new IOException("cannot " + what + ": " + e, e));
    }
  }

  // ---- acknowledging (drainer thread) ----

  /** The highest sequence number below which every journal record is done. */
  long acknowledged() {
    return ackFile.value();
  }

  /**
   * Records that every journal record up to {@code sequence} is done, and deletes the segments the
   * reader finished whose records are all done.
   *
   * @param records how many records this acknowledgement covers, for the backlog count
   */
  void acknowledge(long sequence, int records) throws IOException {
    if (sequence > ackFile.value()) {
      ackFile.write(sequence, false);
    }
    backlogRecords.addAndGet(-records);
    deleteFinished();
  }

  private void deleteFinished() {
    long done = ackFile.value();
    finished.removeIf(
        f -> {
          if (f.lastSequence() <= done) {
            delete(f.segment());
            return true;
          }
          return false;
        });
  }

  private void delete(Segment s) {
    if (s == active || !segments.remove(s)) {
      return;
    }
    sealedAndSynced.remove(s);
    directorySynced.remove(s);
    long bytes = countedBytes(s);
    deleteTree(s.dir);
    bytesOfClosedSegments.addAndGet(-bytes);
  }

  /** Moves a damaged segment aside; returns where it went. */
  @Nullable Path quarantine(Segment s, String why) {
    if (s == active || !segments.remove(s)) {
      return null;
    }
    long bytes = countedBytes(s);
    Path to = quarantineDir.resolve(s.dir.getFileName() + "-" + clock.millis());
    try {
      PrivateFiles.createPrivateDirectory(quarantineDir);
      Files.move(s.dir, to);
      bytesOfClosedSegments.addAndGet(-bytes);
      log.error("journal {} quarantined to {}: {}", s, to, why);
      return to;
    } catch (IOException e) {
      log.error(
          "journal {} is damaged ({}) and could not be moved aside: {}", s, why, e.toString());
      return null;
    }
  }

  // ---- reading (drainer thread) ----

  /** A segment the reader has moved past, and the last record it held. */
  record FinishedSegment(Segment segment, long lastSequence) {}

  /** One record for delivery. Internal and never compared, so an array component is harmless. */
  @SuppressWarnings("ArrayRecordComponent")
  record Entry(long sequence, long publishedAt, byte[] payload) {}

  /** Reads the journal in order from after the acknowledged position, checking every record. */
  Reader reader(RecordFormat format) {
    return new Reader(format);
  }

  final class Reader implements AutoCloseable {
    private final RecordFormat format;
    private @Nullable Segment segment;
    private @Nullable ChronicleQueue queue;
    private @Nullable ExcerptTailer tailer;

    /** The last journal record read (or acknowledged at open); -1 after a quarantine. */
    private long lastSeen;

    /** Damage found in the current segment, which is then quarantined when finished. */
    private @Nullable String damageInSegment;

    private boolean rotatedWhileReading;

    /** The current segment's generation whose files the tailer reads. */
    private int openedGeneration;

    /** Tries in a row of a segment that could not be read, and when to try next (nanoTime). */
    private int unreadableFailures;

    private long retryAt;

    /** What went wrong since the last good record, for the report of the range it cost. */
    private @Nullable String damageSinceGood;

    /** Documents read from the current segment, good or not. */
    private long readInSegment;

    Reader(RecordFormat format) {
      this.format = format;
      this.lastSeen = ackFile.value();
    }

    /**
     * The next record to deliver, or null if there is none now.
     *
     * @throws IOException only if the journal directory itself fails
     */
    @Nullable Entry next() throws IOException {
      while (true) {
        ExcerptTailer t = tailer;
        Segment current = segment;
        if (t != null && current != null && current.generation.get() != openedGeneration) {
          // The active segment was started again with new files (its old ones held no record):
          // open it again from its start, once they are whole.
          closeSegment();
          segment = before(current);
          t = null;
        }
        if (t == null) {
          if (!openNextSegment()) {
            return null;
          }
          t = java.util.Objects.requireNonNull(tailer);
        }
        byte[] bytes;
        try (DocumentContext dc = t.readingDocument()) {
          if (!dc.isPresent()) {
            if (segment == active) {
              rotatedWhileReading = false;
              return null; // caught up with the writer
            }
            if (!rotatedWhileReading) {
              // The writer moved on after this read began: it may have added records first.
              rotatedWhileReading = true;
              continue;
            }
            rotatedWhileReading = false;
            finishSegment();
            continue;
          }
          if (segment != null && segment.generation.get() != openedGeneration) {
            // Read through files of before a restart, or found by Chronicle in the new ones: the
            // segment is opened again from its start instead (at the top of the loop).
            continue;
          }
          bytes = dc.wire().bytes().toByteArray();
          readInSegment++;
        } catch (RuntimeException | AssertionError | InternalError e) {
          // Chronicle cannot read this segment any further (with -ea its own assertions fail on
          // damaged data; a file cut while mapped faults as an InternalError).
          damageInSegment = "unreadable: " + e;
          damageSinceGood = damageInSegment;
          finishSegment();
          continue;
        }
        RecordFormat.Decoded d;
        try {
          d = format.decode(bytes);
        } catch (RecordFormat.DamagedRecordException e) {
          damageInSegment = e.getMessage();
          damageSinceGood = damageInSegment;
          backlogRecords.decrementAndGet();
          continue; // the next good record's chain shows exactly what was lost
        }
        if (d.sequence() <= ackFile.value() || d.sequence() <= lastSeen) {
          backlogRecords.decrementAndGet();
          continue; // delivered before this open, or a repeat
        }
        if (lastSeen >= 0 && d.previous() > lastSeen) {
          String why =
              damageSinceGood != null
                  ? "damaged journal records (" + damageSinceGood + ")"
                  : "journal records missing (a deleted file, or damage)";
          damage.lost(lastSeen + 1, d.previous(), why, null);
        }
        damageSinceGood = null;
        lastSeen = d.sequence();
        return new Entry(d.sequence(), d.publishedAt(), d.payload());
      }
    }

    /** The last segment before this one, or null if there is none. */
    private @Nullable Segment before(Segment s) {
      Segment last = null;
      for (Segment x : segments) {
        if (x.firstSequence < s.firstSequence) {
          last = x;
        }
      }
      return last;
    }

    /** The first segment after the current one, oldest first. */
    private @Nullable Segment after(@Nullable Segment current) {
      for (Segment s : segments) {
        if (current == null || s.firstSequence > current.firstSequence) {
          return s;
        }
      }
      return null;
    }

    private boolean openNextSegment() throws IOException {
      while (true) {
        Segment previous = segment;
        Segment s = after(previous);
        if (s == null) {
          return false;
        }
        segment = s;
        damageInSegment = null;
        readInSegment = 0;
        Segment following = after(s);
        if (following != null && following.firstSequence - 1 <= ackFile.value()) {
          // All of it was acknowledged without the reader: it holds nothing to deliver.
          Sealed held = counts.remove(s);
          if (held != null) {
            backlogRecords.addAndGet(-held.records());
          }
          finished.add(new FinishedSegment(s, following.firstSequence - 1));
          continue;
        }
        if (!Files.isDirectory(s.dir)) {
          // Deleted by someone else (retention, an operator). Opening it would make Chronicle
          // create it again, empty; report the range it held instead.
          segments.remove(s);
          bytesOfClosedSegments.addAndGet(-countedBytes(s));
          Sealed held = counts.remove(s);
          long to =
              held != null && held.lastSequence() > 0
                  ? held.lastSequence()
                  : following == null ? -1 : following.firstSequence - 1;
          if (lastSeen >= 0 && (to < 0 || to > lastSeen)) {
            damage.lost(Math.max(lastSeen + 1, s.firstSequence), to, s + " was deleted", null);
          }
          if (held != null) {
            backlogRecords.addAndGet(-held.records());
          }
          if (to > 0) {
            lastSeen = Math.max(lastSeen, to);
          }
          continue;
        }
        if (s != active) {
          // A segment that cannot be read now (permissions, an I/O error) is not damaged: it
          // stays, the reader waits at it (nothing may overtake it) and tries it again later.
          // Only what Chronicle then finds wrong in its contents counts as damage.
          if (unreadableFailures > 0 && System.nanoTime() - retryAt < 0) {
            segment = previous;
            return false;
          }
          try {
            s.checkReadable();
            List<Path> removed =
                s.prepare(quarantineDir.resolve(s.dir.getFileName() + "-files-" + clock.millis()));
            if (!removed.isEmpty()) {
              damageInSegment = "roll files without a valid header moved aside: " + removed;
              damageSinceGood = damageInSegment;
            }
          } catch (IOException e) {
            segment = previous;
            waitToRetry(s, e);
            return false;
          }
          if (unreadableFailures > 0) {
            log.info("journal {} can be read again after {} tries", s, unreadableFailures);
            unreadableFailures = 0;
            waitingOn = null;
          }
        }
        int generation = s.generation.get();
        if ((generation & 1) != 0) {
          segment = previous; // the active segment, being started again: nothing in it yet
          return false;
        }
        try {
          // A queue instance of the reader's own: the writer closes its one when it rotates.
          ChronicleQueue q = s.open(settings.rollCycle(), settings.blockSize(), false);
          queue = q;
          ExcerptTailer t = q.createTailer();
          t.singleThreadedCheckDisabled(true);
          tailer = t;
          openedGeneration = generation;
          if (uncounted.contains(s)) {
            countLate(s);
          }
          return true;
        } catch (RuntimeException | AssertionError | InternalError e) {
          closeSegment();
          if (s.generation.get() != generation) {
            segment = previous; // started again while it was opened: try again later
            return false;
          }
          settleCount(s);
          Path to = quarantine(s, "cannot be opened: " + e);
          damage.lost(
              lastSeen + 1,
              following == null ? -1 : following.firstSequence - 1,
              "journal segment cannot be opened (" + e + ")",
              to);
          // The next record's chain is not comparable with what came before the quarantine.
          lastSeen = -1;
        }
      }
    }

    /**
     * Backs off before the next try of a segment that cannot be read now: 100 ms doubling to 10 s.
     */
    private void waitToRetry(Segment s, IOException e) {
      unreadableFailures++;
      long delayMillis = Math.min(10_000L, 100L << Math.min(unreadableFailures - 1, 7));
      retryAt = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(delayMillis);
      String why = s + " cannot be read now (" + e + "); kept, and tried again";
      waitingOn = why;
      if (unreadableFailures == 1 || delayMillis == 10_000L) {
        log.warn("journal {} in {} ms", why, delayMillis);
      } else {
        log.debug("journal {} in {} ms", why, delayMillis);
      }
    }

    /**
     * Counts a segment that could not be counted at open, now that it can be read: its records join
     * the backlog (those already acknowledged leave it as the reader passes them, as for any
     * segment), and its bytes are measured again.
     */
    private void countLate(Segment s) {
      uncounted.remove(s);
      Sealed info = sealedInfo(s);
      if (uncounted.contains(s)) {
        return; // still cannot be counted whole: it is read for damage as it is
      }
      counts.put(s, info);
      backlogRecords.addAndGet(info.records());
      long bytes = s.bytes();
      Long before = bytesAtOpen.put(s, bytes);
      bytesOfClosedSegments.addAndGet(bytes - (before == null ? 0 : before));
    }

    /** The current segment is read to its end: note it, quarantine it if it was damaged. */
    private void finishSegment() {
      Segment s = segment;
      closeSegment();
      if (s == null) {
        return;
      }
      settleCount(s);
      String why = damageInSegment;
      damageInSegment = null;
      if (why == null || quarantine(s, why) == null) {
        finished.add(new FinishedSegment(s, Math.max(lastSeen, 0)));
      }
    }

    /**
     * Squares a finished segment with what it held when sealed: records the reader never got leave
     * the backlog, and records missing from its end are reported (nothing after them shows the
     * gap).
     */
    private void settleCount(Segment s) {
      Sealed held = counts.remove(s);
      if (held == null) {
        return;
      }
      if (held.records() > readInSegment) {
        backlogRecords.addAndGet(readInSegment - held.records());
      }
      if (lastSeen >= 0 && held.lastSequence() > lastSeen) {
        String why =
            damageSinceGood != null
                ? "damaged journal records (" + damageSinceGood + ")"
                : "journal records missing from the end of " + s;
        damage.lost(lastSeen + 1, held.lastSequence(), why, null);
        damageInSegment = damageInSegment != null ? damageInSegment : why;
        damageSinceGood = null;
        lastSeen = held.lastSequence();
      }
    }

    private void closeSegment() {
      ExcerptTailer t = tailer;
      tailer = null;
      if (t != null) {
        t.close();
      }
      ChronicleQueue q = queue;
      queue = null;
      if (q != null) {
        q.close();
      }
    }

    @Override
    public void close() {
      closeSegment();
    }
  }

  /**
   * The sequence number of the newest readable record, read backwards from the end of the newest
   * segments, or 0 if there is none. Damage found here is left for the reader to report.
   */
  private long lastRecordSequence() {
    RecordFormat any = new RecordFormat();
    for (int i = segments.size() - 1; i >= 0; i--) {
      Segment s = segments.get(i);
      try {
        s.prepare(quarantineDir.resolve(s.dir.getFileName() + "-files-" + clock.millis()));
        try (ChronicleQueue q = s.open(settings.rollCycle(), settings.blockSize(), false);
            ExcerptTailer t = q.createTailer()) {
          t.direction(net.openhft.chronicle.queue.TailerDirection.BACKWARD).toEnd();
          for (int n = 0; n < 10_000; n++) {
            try (DocumentContext dc = t.readingDocument()) {
              if (!dc.isPresent()) {
                break;
              }
              byte[] bytes = dc.wire().bytes().toByteArray();
              long sequence = any.headerSequence(bytes);
              if (sequence > 0) {
                return sequence;
              }
            }
          }
        }
      } catch (IOException | RuntimeException | AssertionError | InternalError e) {
        log.debug("cannot read the end of {}", s, e);
      }
    }
    return 0;
  }

  // ---- record counts of segments, for the backlog metric ----

  private static final String SEALED_FILE = "sealed";

  private static void writeSealed(Segment s, Sealed info) {
    // Advisory (a missing or unreadable one is rebuilt by reading the segment), so it is written
    // once into the new file, private, without the syncs of an atomic write on the rotation path.
    try {
      Files.deleteIfExists(s.dir.resolve(SEALED_FILE)); // a bad one, found unreadable at open
    } catch (IOException e) {
      log.debug("cannot replace what {} holds", s, e);
      return;
    }
    try (var out =
        Files.newByteChannel(
            s.dir.resolve(SEALED_FILE),
            Set.of(StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE),
            PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")))) {
      out.write(
          ByteBuffer.wrap(
              (info.records() + " " + info.lastSequence() + "\n")
                  .getBytes(StandardCharsets.US_ASCII)));
    } catch (IOException | UnsupportedOperationException e) {
      log.debug("cannot write what {} holds", s, e);
    }
  }

  /**
   * What a segment held when it was sealed; a segment a crash left unsealed is read to find out
   * (its records survived the crash: they were in the page cache).
   */
  private Sealed sealedInfo(Segment s) {
    Path file = s.dir.resolve(SEALED_FILE);
    try {
      if (Files.exists(file)) {
        String[] parts = Files.readString(file).trim().split(" ", -1);
        return new Sealed(Long.parseLong(parts[0]), Long.parseLong(parts[1]));
      }
    } catch (IOException | RuntimeException e) {
      log.debug("bad seal in {}", s, e);
    }
    long n = 0;
    long last = 0;
    RecordFormat any = new RecordFormat();
    try {
      s.prepare(quarantineDir.resolve(s.dir.getFileName() + "-files-" + clock.millis()));
      try (ChronicleQueue q = s.open(settings.rollCycle(), settings.blockSize(), false);
          ExcerptTailer t = q.createTailer()) {
        while (true) {
          try (DocumentContext dc = t.readingDocument()) {
            if (!dc.isPresent()) {
              break;
            }
            n++;
            long sequence = any.headerSequence(dc.wire().bytes().toByteArray());
            last = Math.max(last, sequence);
          }
        }
      }
      Sealed info = new Sealed(n, last);
      writeSealed(s, info);
      return info;
    } catch (IOException | RuntimeException | AssertionError | InternalError e) {
      // Damaged: the reader will find out and report it.
      log.debug("cannot count the records of {}", s, e);
      uncounted.add(s);
      return new Sealed(n, last);
    }
  }

  // ---- metrics (any thread) ----

  long usedBytes() {
    return bytesOfClosedSegments.get() + activeBytes.get();
  }

  long backlogRecords() {
    return Math.max(0, backlogRecords.get());
  }

  /** Bytes that may still be appended: the smaller of the bound's room and the disk's room. */
  long bytesLeft() {
    long byBound = settings.maxBytes() - usedBytes();
    long byDisk;
    try {
      byDisk = store.getUsableSpace() - settings.minFreeBytes();
    } catch (IOException e) {
      byDisk = 0;
    }
    return Math.max(0, Math.min(byBound, byDisk));
  }

  Path root() {
    return root;
  }

  @Override
  public void close() {
    closeSyncFiles();
    try {
      appender.close();
      activeQueue.close();
      if (activeRecords == 0) {
        // Nothing was written to it: the next open starts a segment of the same name anyway.
        segments.remove(active);
        deleteTree(active.dir);
      } else {
        writeSealed(active, new Sealed(activeRecords, lastJournaled));
      }
    } finally {
      closeQuietly(ackFile);
      closeQuietly(leaseFile);
      try {
        lock.close();
      } catch (IOException e) {
        log.warn("releasing the lock of {}: {}", root, e.toString());
      }
    }
  }

  private static void closeQuietly(@Nullable AutoCloseable c) {
    if (c != null) {
      try {
        c.close();
      } catch (Exception e) {
        log.debug("close", e);
      }
    }
  }

  static void deleteTree(Path dir) {
    if (!Files.exists(dir)) {
      return;
    }
    try (Stream<Path> all = Files.walk(dir)) {
      List<Path> paths = all.sorted((a, b) -> b.getNameCount() - a.getNameCount()).toList();
      for (Path p : paths) {
        Files.deleteIfExists(p);
      }
    } catch (IOException e) {
      log.warn("could not delete {} completely: {}", dir, e.toString());
    }
  }
}
