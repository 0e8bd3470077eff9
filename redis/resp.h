/* resp.h -- commands in the Redis protocol, formatted by the sensor.
 *
 * resp_append() writes a command as RESP sends it (an array of bulk
 * strings: "*<argc>\r\n" then "$<len>\r\n<bytes>\r\n" per argument), the
 * same bytes as hiredis's redisFormatCommandArgv(), onto the end of a
 * growing buffer (base/bytes.h) that the writer hands to redisAppendFormattedCommand()
 * once per pipeline. hiredis formats each argument with sdscatfmt() into
 * a new string per command, which was nearly half of the writer thread's
 * instructions on gpu-fleet (docs/performance.md, "The writer's own
 * command formatting").
 */
#ifndef LOOPHOLE_REDIS_RESP_H
#define LOOPHOLE_REDIS_RESP_H

#include "base/bytes.h"

/* Appends the command argv[0..argc) (lens[i] bytes each) to b. Returns 0,
 * or -1 out of memory (the buffer then holds what it held before). */
int resp_append(bytes_buf *b, int argc, const char *const *argv, const size_t *lens);

#endif
