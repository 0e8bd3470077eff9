/* output.h -- a JSON-lines sink shared by threads: the one owner of an
 * output file or stream.
 *
 * Workers and the Redis writer write whole lines; the sink takes a lock
 * per line and keeps its own buffer, which it hands to the kernel only in
 * whole lines (write(2), never stdio), so lines from different threads
 * never interleave and a line never shares its file-descriptor write with
 * half of another. Two outputs that name the same file (--flows - and
 * --alerts -, or one path twice) must be one sink: output_same() tells the
 * caller, which then shares the sink with output_ref() instead of opening a
 * second one. A terminal gets each line at once; files and pipes get full
 * buffers. A write error (disk full, closed pipe) is remembered and
 * reported when the sink is closed, so the caller can exit non-zero instead
 * of silently losing records.
 *
 * On a terminal something else may own the current line (the progress
 * line): output_set_guard() installs calls made around each line written
 * to a terminal, with the sink's lock held, so that owner can clear its
 * line first and keep from redrawing until the line is out.
 */
#ifndef LOOPHOLE_OUTPUT_H
#define LOOPHOLE_OUTPUT_H

#include <stddef.h>
#include <stdint.h>

typedef struct output output;

/* Opens path for writing ("-" is standard output). NULL with a message in
 * err naming the file. */
output *output_open(const char *path, char *err, size_t errlen);

/* Whether path ("-" = standard output) is the file o writes to: the same
 * device and inode (a terminal, a pipe, a file named twice). */
int output_same(const output *o, const char *path);

/* Another owner of o: output_close() of the last one closes it. */
output *output_ref(output *o);

/* Whether o writes to a terminal. */
int output_isatty(const output *o);

/* before(arg) and after(arg) around every line written to a terminal,
 * with o's lock held; NULL removes them. Set before any thread writes. */
void output_set_guard(output *o, void (*before)(void *), void (*after)(void *), void *arg);

/* Writes line[0..len) and a newline. Thread-safe. Returns 0, or -1 after
 * a write error (the line is lost and counted). */
int output_write(output *o, const char *line, size_t len);

/* Pushes buffered lines to the file. Thread-safe. Returns 0, or -1 after
 * a write error (remembered for output_close). */
int output_flush(output *o);

/* Lines written and lines lost to write errors. */
uint64_t output_lines(output *o);
uint64_t output_lost(output *o);

/* Drops one owner. The last flushes and closes: returns 0, or -1 with a
 * message in err when any write failed, and frees o in both cases. */
int output_close(output *o, char *err, size_t errlen);

#endif
