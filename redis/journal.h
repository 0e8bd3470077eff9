/* journal.h -- bounded append-only file of events that wait for Redis.
 *
 * The writer thread appends an encoded event (rules/event.h) when Redis is
 * away or slow, or while older events still wait here (so order is kept),
 * and replays the records in order once Redis is back. The file survives
 * the process: a journal left by a run that ended during an outage is
 * replayed by the next run that opens the same path, before any new event.
 *
 * Layout: a 16-byte header ("LHJOURN1", then the little-endian offset of
 * the first record not yet delivered), then records {u32 length, u32
 * XXH32 of the bytes, the bytes}. Delivery moves the offset in the header
 * (one pwrite); when every record has been delivered the file is cut back to
 * its header, which is what bounds it in the steady state. A record torn by
 * a crash (short, or checksum wrong) ends the journal: journal_open() cuts it
 * off and reports how many bytes it dropped.
 *
 * Bounded: an append that would make the file larger than max_bytes is
 * refused; the caller counts and reports the event as dropped.
 *
 * One thread (the writer) uses a journal; an exclusive flock() keeps two
 * processes from sharing one file.
 */
#ifndef LOOPHOLE_REDIS_JOURNAL_H
#define LOOPHOLE_REDIS_JOURNAL_H

#include <stddef.h>
#include <stdint.h>

#define JOURNAL_HEADER 16

typedef struct journal journal;

/* Opens or creates path. Returns NULL with a message naming the file.
 * *torn_bytes gets the size of a damaged tail that was cut off (0 when
 * the file was sound). */
journal *journal_open(const char *path, uint64_t max_bytes, uint64_t *torn_bytes, char *err,
                      size_t errlen);

/* Appends one record. Returns 0; 1 when the bound would be passed (nothing
 * written); -1 on an I/O error with a message in err. */
int journal_append(journal *j, const void *p, size_t len, char *err, size_t errlen);

/* Reading: journal_next() returns the record at the cursor as a malloc'ed
 * copy the caller frees, and moves the cursor past it; NULL at the end (or
 * on an I/O error, with err set and *failed = 1). The cursor starts at the
 * first undelivered record; journal_rewind() puts it back there. */
void *journal_next(journal *j, size_t *len, int *failed, char *err, size_t errlen);
void journal_rewind(journal *j);

/* Marks the first n records after the delivered offset as delivered.
 * Cuts the file back to its header when nothing is left. */
int journal_consume(journal *j, uint64_t n, char *err, size_t errlen);

/* Undelivered records and bytes (file size minus delivered part). */
uint64_t journal_pending(const journal *j);
uint64_t journal_bytes(const journal *j);

/* fdatasync(). */
int journal_sync(journal *j);

/* Closes; removes the file when it holds nothing and remove_empty is set.
 * NULL is a no-op. */
void journal_close(journal *j, int remove_empty);

#endif
