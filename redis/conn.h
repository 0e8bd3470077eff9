/* conn.h -- one ready-to-use connection to the sensor's Redis.
 *
 * rconn_open() connects (TCP or Unix socket) with a connect and a
 * command timeout, authenticates (AUTH user password, or AUTH password),
 * selects the database, loads the loophole functions library with
 * FUNCTION LOAD REPLACE and checks that lh_version answers with the version
 * compiled into this binary. The writer calls it on every (re)connection,
 * so a Redis that restarted empty gets the library back before the first
 * FCALL. Used by one thread at a time (the writer, or setup code).
 *
 * Errors go to the caller's buffer and name the server and the step; an
 * authentication failure says so plainly (RCONN_AUTH), because
 * retrying with the same credentials cannot succeed.
 */
#ifndef LOOPHOLE_REDIS_CONN_H
#define LOOPHOLE_REDIS_CONN_H

#include <hiredis/hiredis.h>
#include <stddef.h>

#include "url.h"

#define RCONN_OK   0
#define RCONN_ERR  -1 /* network, timeout, server error: may be retried */
#define RCONN_AUTH -2 /* wrong user or password, or no permission */

/* The library's version string, as lh_version returns it. */
extern const char rconn_version[];

/* Connects; on success *out is a context the caller frees with redisFree().
 * timeout_ms bounds the connect and every later command on the context. */
int rconn_open(const rurl *u, int timeout_ms, redisContext **out, char *err, size_t errlen);

/* The same without loading the library: for reading a cluster's slot map
 * from a node that may be a replica, and for a reader of one server
 * (redis/reader.h), which reads keys only. */
int rconn_connect(const rurl *u, int timeout_ms, redisContext **out, char *err, size_t errlen);

/* The embedded functions library (rules/lua/) and its length. */
const char *rconn_library(size_t *len);

#endif
