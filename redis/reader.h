/* reader.h -- synchronous reads of keys on one server or on a cluster.
 *
 * The end-of-run summary reads many keys of many hash slots after the
 * writer is done. A single server answers every key on one connection; a
 * Redis Cluster needs each command sent to the primary serving its key.
 * An rreader hides the difference: rreader_command() formats like
 * redisCommand() and, on a cluster, routes by the command's first key
 * (cluster_vcommand()). Only commands whose first argument is their key
 * go through it.
 *
 * Ownership: the reader owns its connections and the replies it keeps
 * for rreader_next(); every reply it returns is the caller's to free. One
 * thread at a time.
 */
#ifndef LOOPHOLE_REDIS_READER_H
#define LOOPHOLE_REDIS_READER_H

#include <hiredis/hiredis.h>
#include <stddef.h>

#include "url.h"

typedef struct rreader rreader;

/* Connects to u (a server or a redis+cluster:// URL). Returns NULL with a
 * message in err. */
rreader *rreader_open(const rurl *u, int timeout_ms, char *err, size_t errlen);

/* One command, formatted as redisCommand() does. Returns the reply (an
 * error reply of the command itself included), or NULL when no server
 * answered; rreader_error() then says why. */
redisReply *rreader_command(rreader *r, const char *fmt, ...);

/* Pipelining: rreader_append() queues a command, formatted as
 * rreader_command() formats it, and rreader_next() returns the replies of
 * the queued commands in the order they were queued (NULL when no server
 * answered, or nothing is queued; rreader_error() says which). On one
 * server the queued commands go out together and their replies come back
 * in one stream: the summary reads hundreds of keys, and one round trip
 * each was most of its time (docs/performance.md, "Ninth round"). On a
 * cluster each command is sent, routed by its key, when it is queued, and
 * its reply kept until asked for. Every queued reply is read before the
 * next rreader_command(), which refuses to run otherwise. Returns 0, or
 * -1 when the command could not be queued (out of memory). */
int rreader_append(rreader *r, const char *fmt, ...);
redisReply *rreader_next(rreader *r);

/* Why the last rreader_command() or rreader_next() returned NULL, or
 * rreader_append() -1. */
const char *rreader_error(const rreader *r);

void rreader_free(rreader *r);

#endif
