/* reader.c -- one server or a cluster behind one read call (see reader.h). */
#include "reader.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "cluster.h"
#include "conn.h"

struct rreader {
    redisContext *ctx; /* a single server, or NULL */
    cluster *cl;       /* a cluster, or NULL */
    char err[512];
};

rreader *rreader_open(const rurl *u, int timeout_ms, char *err, size_t errlen)
{
    rreader *r = calloc(1, sizeof(*r));

    if (r == NULL) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    if (u->cluster)
        r->cl = cluster_open(u, timeout_ms, err, errlen);
    else if (rconn_open(u, timeout_ms, &r->ctx, err, errlen) != RCONN_OK)
        r->ctx = NULL;
    if (r->cl == NULL && r->ctx == NULL) {
        free(r);
        return NULL;
    }
    return r;
}

redisReply *rreader_command(rreader *r, const char *fmt, ...)
{
    redisReply *reply;
    va_list ap;

    va_start(ap, fmt);
    if (r->cl) {
        reply = cluster_vcommand(r->cl, r->err, sizeof(r->err), fmt, ap);
    } else {
        reply = redisvCommand(r->ctx, fmt, ap);
        if (reply == NULL)
            snprintf(r->err, sizeof(r->err), "Redis: %s",
                     r->ctx->errstr[0] ? r->ctx->errstr : "no reply");
    }
    va_end(ap);
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
    if (r->ctx)
        redisFree(r->ctx);
    if (r->cl)
        cluster_free(r->cl);
    free(r);
}
