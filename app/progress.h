/* progress.h -- the one-line progress indicator of a replay.
 *
 * While capture files are replayed and standard error is a terminal, the
 * sensor's main thread calls progress_update() a few times a second with
 * the counters it already reads for --stats; the line shows packets, the
 * share of the input's bytes read so far, the packet rate, flows and
 * alerts, and is rewritten in place with a carriage return. progress_free()
 * clears it, so the next message starts on a clean line.
 *
 * The share of the input comes from the sizes of the -r files (stat at
 * progress_new, while the sensor may still read them all) and the offset
 * the capture thread reports in its counters for the file being read
 * (progress_sample.file_offset). Standard input and pipes have no size, so
 * the line then shows no percentage.
 *
 * Threads: everything from the main thread, except progress_interrupt(),
 * which another thread may call before printing its own line; the caller
 * keeps drawing and clearing from overlapping (the sensor's terminal
 * lock).
 */
#ifndef LOOPHOLE_PROGRESS_H
#define LOOPHOLE_PROGRESS_H

#include <stdint.h>
#include <stdio.h>

typedef struct progress progress;

/* The counters shown; the caller reads them from the running sensor. */
typedef struct progress_sample {
    uint64_t packets;
    uint64_t files_done;  /* -r files read to their end */
    uint64_t file_offset; /* bytes read so far of the file being read */
    uint64_t flows;       /* flows created so far */
    uint64_t alerts;      /* alert lines written so far */
} progress_sample;

/* Whether a progress line belongs on fd: the setting allows it
 * ([output] progress), the input is files, and fd is a terminal. */
int progress_wanted(int setting, int nfiles, int fd);

/* A progress line on out for the -r files (borrowed; "-" is standard
 * input). NULL when out of memory. Prints nothing yet. */
progress *progress_new(FILE *out, const char *const *files, int nfiles);

/* Redraws the line when at least 250 ms passed since the last drawing.
 * now_us is a monotonic clock. */
void progress_update(progress *p, const progress_sample *s, uint64_t now_us);

/* Clears the line if one is shown, so another line can be printed. */
void progress_interrupt(progress *p);

/* Share of the input read, 0..1, or -1 when unknown (standard input, a
 * pipe). Exported for tests. */
double progress_fraction(progress *p, uint64_t files_done, uint64_t file_offset);

/* The line for s (without carriage return), into buf; rate < 0 (not yet
 * measured) leaves the rate out. Exported for tests. */
void progress_format(progress *p, const progress_sample *s, double rate, char *buf, size_t len);

/* Clears the line and frees. NULL is fine. */
void progress_free(progress *p);

#endif
