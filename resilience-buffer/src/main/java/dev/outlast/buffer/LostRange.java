package dev.outlast.buffer;

import java.nio.file.Path;
import java.time.Instant;
import org.jspecify.annotations.Nullable;

/**
 * Journal records the queue could not deliver because their files were damaged or deleted: every
 * record with a sequence number in {@code [from, to]} that was journaled (some numbers in the range
 * may have belonged to events delivered directly, which are not lost).
 *
 * @param from the first sequence number of the range
 * @param to the last, or -1 when it is not known (the damage was in the newest segment)
 * @param reason what was wrong
 * @param quarantined where the damaged files were moved, or null if they were deleted or could not
 *     be moved
 * @param detectedAt when the queue noticed
 */
public record LostRange(
    long from, long to, String reason, @Nullable Path quarantined, Instant detectedAt) {}
