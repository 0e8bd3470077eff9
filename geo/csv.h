/* csv.h -- lines and fields of the small text tables geo/ loads.
 *
 * The inventory (interface.md section 4) and the indicator tables are CSV
 * files written by people: `#` starts a comment (outside quotes), blank
 * lines are skipped, fields are trimmed, and a field may be double-quoted
 * (RFC 4180: `""` inside quotes is one quote) so names can hold commas.
 * The reader works on bytes in memory, never on a FILE, so unit tests and
 * the libFuzzer harnesses feed it directly.
 *
 * Ownership: the reader borrows the buffer; csv_next() writes the fields
 * of one line into the caller's scratch buffer, valid until the next call.
 * Single-threaded: one reader per file being parsed.
 */
#ifndef LOOPHOLE_CSV_H
#define LOOPHOLE_CSV_H

#include <stddef.h>

#define CSV_MAX_LINE 4096 /* longer lines are errors, not truncated */

typedef struct csv_reader {
    const char *p, *end;
    unsigned line; /* number of the line csv_next() returned last, from 1 */
} csv_reader;

void csv_init(csv_reader *r, const char *buf, size_t len);

/* Splits the next line that holds data into fields. Up to `max` pointers
 * go into fields[], each a NUL-terminated string inside scratch (which
 * holds at least CSV_MAX_LINE + 1 bytes). Returns the number of fields on
 * the line (which may exceed max: the extra ones are not stored), 0 at the
 * end of the buffer, or -1 with a static reason in *why for an unclosed
 * quote, a NUL byte or an over-long line. */
int csv_next(csv_reader *r, char *scratch, char **fields, int max, const char **why);

/* Loads a whole file into a malloc'ed buffer (NUL-terminated; *len
 * excludes the NUL). Returns NULL with "PATH: reason" in err. The caller
 * frees the buffer. Files over 256 MiB are refused. */
char *csv_slurp(const char *path, size_t *len, char *err, size_t errlen);

#endif
