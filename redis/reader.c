/* reader.c -- one server or a cluster behind one read call (see reader.h).
 *
 * A pipeline on one server is hiredis's own: commands appended to the
 * context's output buffer, replies read from its input in order. On a
 * cluster the commands of a pipeline may go to different primaries, so
 * each is sent when queued and its reply kept in a FIFO (kept[first ..
 * first + queued)); nothing is faster there, but the caller's code is the
 * same for both. */
#include "reader.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cluster.h"
#include "conn.h"

/* A cluster's reply kept for rreader_next(), with the error of a NULL one. */
typedef struct rreader_kept {
    redisReply *reply;
    char *err;
} rreader_kept;

struct rreader {
    redisContext *ctx;  /* a single server, or NULL */
    cluster *cl;        /* a cluster, or NULL */
    size_t queued;      /* replies rreader_next() has yet to return */
    rreader_kept *kept; /* cluster: the queued replies, from kept[first] */
    size_t first, cap;
    char err[512];
};

rreader *rreader_open(const rurl *u, int timeout_ms, char *err, size_t errlen)
{
    rreader *r = calloc(1, sizeof(*r));

    if (r == NULL) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    /* A reader only reads keys: on one server it connects without the
     * functions library's FUNCTION LOAD, which the writer's connection
     * does (it costs the server about 2 ms, and a replay opens a reader
     * at its start and at its end). A cluster's connections load it, as
     * the writer's do. */
    if (u->cluster)
        r->cl = cluster_open(u, timeout_ms, err, errlen);
    else if (rconn_connect(u, timeout_ms, &r->ctx, err, errlen) != RCONN_OK)
        r->ctx = NULL;
    if (r->cl == NULL && r->ctx == NULL) {
        free(r);
        return NULL;
    }
    return r;
}

static void rreader_ctx_error(rreader *r)
{
    snprintf(r->err, sizeof(r->err), "Redis: %s", r->ctx->errstr[0] ? r->ctx->errstr : "no reply");
}

redisReply *rreader_command(rreader *r, const char *fmt, ...)
{
    redisReply *reply;
    va_list ap;

    if (r->queued) {
        snprintf(r->err, sizeof(r->err), "%zu queued replies not read", r->queued);
        return NULL;
    }
    va_start(ap, fmt);
    if (r->cl) {
        reply = cluster_vcommand(r->cl, r->err, sizeof(r->err), fmt, ap);
    } else {
        reply = redisvCommand(r->ctx, fmt, ap);
        if (reply == NULL)
            rreader_ctx_error(r);
    }
    va_end(ap);
    return reply;
}

/* Cluster: sends the command now and keeps its reply (and the error of a
 * NULL one) at the end of the queue. */
static int rreader_keep(rreader *r, const char *fmt, va_list ap)
{
    if (r->first + r->queued == r->cap) {
        if (r->first > 0) { /* slide the queue to the front */
            memmove(r->kept, r->kept + r->first, r->queued * sizeof(*r->kept));
            r->first = 0;
        }
        if (r->queued == r->cap) {
            size_t cap = r->cap ? r->cap * 2 : 64;
            rreader_kept *k = realloc(r->kept, cap * sizeof(*k));
            if (k == NULL) {
                snprintf(r->err, sizeof(r->err), "out of memory");
                return -1;
            }
            r->kept = k;
            r->cap = cap;
        }
    }
    rreader_kept *k = &r->kept[r->first + r->queued];
    k->reply = cluster_vcommand(r->cl, r->err, sizeof(r->err), fmt, ap);
    k->err = k->reply ? NULL : strdup(r->err);
    r->queued++;
    return 0;
}

int rreader_append(rreader *r, const char *fmt, ...)
{
    va_list ap;
    int rc = 0;

    va_start(ap, fmt);
    if (r->cl) {
        rc = rreader_keep(r, fmt, ap);
    } else if (redisvAppendCommand(r->ctx, fmt, ap) != REDIS_OK) {
        rreader_ctx_error(r);
        rc = -1;
    } else {
        r->queued++;
    }
    va_end(ap);
    return rc;
}

redisReply *rreader_next(rreader *r)
{
    redisReply *reply = NULL;

    if (r->queued == 0) {
        snprintf(r->err, sizeof(r->err), "no queued command");
        return NULL;
    }
    r->queued--;
    if (r->cl) {
        rreader_kept *k = &r->kept[r->first++];
        reply = k->reply;
        if (reply == NULL)
            snprintf(r->err, sizeof(r->err), "%s", k->err ? k->err : "out of memory");
        free(k->err);
        if (r->queued == 0)
            r->first = 0;
    } else if (redisGetReply(r->ctx, (void **)&reply) != REDIS_OK) {
        reply = NULL;
        rreader_ctx_error(r);
    }
    return reply;
}

const char *rreader_error(const rreader *r)
{
    return r->err;
}

void rreader_free(rreader *r)
{
    if (r == NULL)
        return;
    for (size_t i = 0; r->cl && i < r->queued; i++) {
        freeReplyObject(r->kept[r->first + i].reply);
        free(r->kept[r->first + i].err);
    }
    free(r->kept);
    if (r->ctx)
        redisFree(r->ctx);
    if (r->cl)
        cluster_free(r->cl);
    free(r);
}
