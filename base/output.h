/* output.h -- a JSON-lines sink shared by threads.
 *
 * Workers write whole lines; the sink takes a lock per line, so lines from
 * different threads never interleave. Output goes through a large stdio
 * buffer. A write error (disk full, closed pipe) is remembered and
 * reported when the sink is closed, so the caller can exit non-zero
 * instead of silently losing records.
 */
#ifndef LOOPHOLE_OUTPUT_H
#define LOOPHOLE_OUTPUT_H

#include <stddef.h>
#include <stdint.h>

typedef struct output output;

/* Opens path for writing ("-" is standard output). NULL with a message in
 * err naming the file. */
output *output_open(const char *path, char *err, size_t errlen);

/* Rewrites one line before it is written: returns a malloc'ed line (its
 * length in *outlen) that the sink frees, or NULL when the line cannot be
 * rewritten (it is then lost and counted, like a failed write). */
typedef char *(*output_transform)(const char *line, size_t len, size_t *outlen);

/* Every line written from now on goes through fn (NULL = as given). Set it
 * before any thread writes. */
void output_set_transform(output *o, output_transform fn);

/* Writes line[0..len) and a newline. Thread-safe. Returns 0, or -1 after
 * a write error (the line is lost and counted). */
int output_write(output *o, const char *line, size_t len);

/* Pushes buffered lines to the file. Thread-safe. Returns 0, or -1 after
 * a write error (remembered for output_close). */
int output_flush(output *o);

/* Lines written and lines lost to write errors. */
uint64_t output_lines(output *o);
uint64_t output_lost(output *o);

/* Flushes and closes. Returns 0, or -1 with a message in err when any
 * write failed. Frees o in both cases. */
int output_close(output *o, char *err, size_t errlen);

#endif
