/* cluster.h -- commands routed over a Redis Cluster on plain hiredis.
 *
 * hiredis 0.14 (Debian 12) has no cluster support and Debian packages no C
 * cluster client, so the routing is written here, small: key slots (CRC16
 * with hash tags, the cluster specification), the slot map read with
 * CLUSTER SLOTS, one connection per primary made by rconn_open() (so every
 * primary gets the functions library and its version check, at start and
 * whenever a node appears or is promoted), and the redirections.
 *
 * cluster_exec() takes a batch of commands, pipelines them to their
 * primaries (one pipeline per primary, in batch order, so the commands of
 * one slot reach Redis in order), and follows what the cluster answers:
 *   MOVED       the map is stale: read it again, send the command again;
 *   ASK         the slot is migrating: a plain command goes to the target
 *               after ASKING; a library call (FCALL) waits for the slot to
 *               finish moving instead, because it reads and writes keys it
 *               does not declare, which may still sit on the source;
 *   TRYAGAIN, CLUSTERDOWN   sent again after a pause, a bounded number of
 *               times.
 * Every other reply is final. It goes to the caller's callback only after
 * the primary answered WAIT for one replica (bounded, skipped for a
 * primary without replicas, as its ROLE lists them): a reply alone says the primary ran the
 * command, and a failover before it reached a replica would lose it, while
 * the caller already took it as done; a batch no replica took within the
 * bound is left undone (and the map read again). A command
 * whose primary cannot be reached, or that is still redirected when the
 * rounds run out, is left undone; the caller journals it and calls
 * cluster_refresh() before trying again (a failover shows up so).
 *
 * Used by one thread at a time (the writer). The counters are atomics that
 * any thread may read.
 */
#ifndef LOOPHOLE_REDIS_CLUSTER_H
#define LOOPHOLE_REDIS_CLUSTER_H

#include <hiredis/hiredis.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "url.h"

#define CLUSTER_NSLOTS 16384

/* CRC16-XMODEM (polynomial 0x1021, initial value 0) of buf. */
uint16_t cluster_crc16(const void *buf, size_t len);

/* The slot of a key: of the first non-empty {hash tag}, else of the key. */
unsigned cluster_keyslot(const char *key, size_t len);

typedef struct cluster_stats {
    _Atomic uint64_t moved;     /* MOVED answers */
    _Atomic uint64_t ask;       /* ASK answers */
    _Atomic uint64_t tryagain;  /* TRYAGAIN and CLUSTERDOWN answers */
    _Atomic uint64_t refreshes; /* slot maps read */
    _Atomic uint64_t connects;  /* primary connections made (library loaded) */
    _Atomic uint64_t primaries; /* in the current map */
} cluster_stats;

typedef struct cluster cluster;

/* One command of a batch: argc binary-safe arguments (borrowed). */
typedef struct cluster_cmd {
    int argc;
    const char *const *argv;
    const size_t *lens;
} cluster_cmd;

/* Called once per command with its final reply (owned by the cluster;
 * valid during the call). Returns 0 when the command is done, -1 when it
 * must be left undone (the caller's transient errors). */
typedef int cluster_reply_fn(void *ctx, int i, redisReply *r);

/* Reads the map from the first seed of u (a redis+cluster:// URL) that
 * answers and connects every primary. Returns NULL with a message. */
cluster *cluster_open(const rurl *u, int timeout_ms, char *err, size_t errlen);

/* Reads the map again from a primary or a seed, keeps the connections of
 * primaries that stay, connects new ones. Returns 0, or -1 with a message. */
int cluster_refresh(cluster *c, char *err, size_t errlen);

/* A plain connection (no library) to the primary serving key, for readers
 * of one key such as `loophole alerts` on the alerts stream. Returns 0, or
 * -1 with a message. */
int cluster_connect_key(const rurl *u, const char *key, size_t len, int timeout_ms,
                        redisContext **out, char *err, size_t errlen);

/* Runs cmds[0..n). done[i] is set to 1 for every command the callback
 * accepted, 0 for the others. Returns the number done; when it is below n,
 * err says why (the first failure). */
int cluster_exec(cluster *c, const cluster_cmd *cmds, int n, unsigned char *done,
                 cluster_reply_fn *fn, void *ctx, char *err, size_t errlen);

/* One read command, formatted as redisCommand() formats it and routed by
 * its first argument after the command name (its key), synchronously:
 * MOVED reads the map again, ASK goes to the target after ASKING,
 * TRYAGAIN and CLUSTERDOWN wait, all within the rounds of cluster_exec().
 * For readers of many keys (the end-of-run summary), not for the writer's
 * calls: no WAIT, no batch. Returns the reply (the caller frees it; a
 * Redis error reply other than a redirection is returned as it is), or
 * NULL with a message in err. */
redisReply *cluster_vcommand(cluster *c, char *err, size_t errlen, const char *fmt, va_list ap);

/* The slot a command is routed by (its first key), or -1 for none. */
int cluster_cmd_slot(const cluster_cmd *cmd);

const cluster_stats *cluster_get_stats(const cluster *c);

void cluster_free(cluster *c);

#endif
