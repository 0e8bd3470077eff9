/* reply.h -- checking what the functions library answers.
 *
 * lh_observe and lh_raise answer { count, { alert_json, ... } }. The writer
 * writes every alert line it gets to the alerts output, so a reply is
 * treated as hostile (a compromised or impostor Redis): rreply_alerts()
 * accepts only that exact shape, at most RREPLY_MAX_ALERTS lines, each a JSON
 * object of at most RREPLY_MAX_LINE bytes without a raw CR or LF (so one
 * reply cannot forge several output lines), and reports anything else as an
 * error instead of writing it.
 *
 * In a Redis Cluster a raising call answers, in place of an alert line, the
 * next step of the alert: an array of arguments of an FCALL to lh_risk,
 * lh_emit or lh_host with one key (rules/lua/, "Redis Cluster").
 * It is checked as strictly (those three functions only, at most
 * RREPLY_MAX_ARGS arguments of RREPLY_MAX_LINE bytes), so a reply cannot
 * make the writer send any other command; rreply_calls() passes them on.
 *
 * I/O free: it reads a redisReply the caller owns; the fuzz harness
 * (tests/fuzz/fuzz_redis_reply.c) feeds it replies parsed from raw bytes.
 */
#ifndef LOOPHOLE_REDIS_REPLY_H
#define LOOPHOLE_REDIS_REPLY_H

#include <hiredis/hiredis.h>
#include <stddef.h>

#define RREPLY_MAX_ALERTS 64
#define RREPLY_MAX_LINE   (1u << 20)
#define RREPLY_MAX_ARGS   64

/* Called once per valid alert line; line points into the reply. */
typedef void reply_alert_fn(void *ctx, const char *line, size_t len);

/* Returns the number of alert lines (each passed to fn, when fn is set), or -1
 * with a message in err. An error reply from Redis returns -1 with its
 * text. Lines are checked before any is passed on, so a bad reply passes
 * nothing. */
int rreply_alerts(const redisReply *r, long long *count, reply_alert_fn *fn, void *ctx, char *err,
                  size_t errlen);

/* Called once per next-step call; argv and lens point into the reply. */
typedef void reply_call_fn(void *ctx, int argc, const char *const *argv, const size_t *lens);

/* Passes the next-step calls of a reply that rreply_alerts() accepted. */
void rreply_calls(const redisReply *r, reply_call_fn *fn, void *ctx);

/* Whether an error reply is worth retrying later (LOADING, BUSY, TRYAGAIN,
 * MASTERDOWN, READONLY, OOM, CLUSTERDOWN...) rather than a refusal of
 * this one call. */
int rreply_transient(const char *errstr);

#endif
