/* reply.c -- strict checks of FCALL replies (see reply.h). */
#include "reply.h"

#include <jansson.h>
#include <stdio.h>
#include <string.h>

static int rreply_line_ok(const redisReply *e, char *err, size_t errlen)
{
    json_t *j;
    json_error_t je;

    if (e->type != REDIS_REPLY_STRING || e->len < 2 || (size_t)e->len > RREPLY_MAX_LINE) {
        snprintf(err, errlen, "Redis reply: an alert is not a string of 2 to %u bytes",
                 RREPLY_MAX_LINE);
        return -1;
    }
    if (memchr(e->str, '\n', e->len) || memchr(e->str, '\r', e->len)) {
        snprintf(err, errlen, "Redis reply: an alert line holds a raw line break");
        return -1;
    }
    /* The line is copied to the alert output as it is: JSON would accept
     * blanks around the object, and a raw NUL would cut it for C readers. */
    if (e->str[0] != '{' || e->str[e->len - 1] != '}' || memchr(e->str, '\0', e->len)) {
        snprintf(err, errlen,
                 "Redis reply: an alert line does not start with '{' and end with '}'");
        return -1;
    }
    j = json_loadb(e->str, e->len, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, &je);
    if (j == NULL || !json_is_object(j)) {
        snprintf(err, errlen, "Redis reply: an alert is not a JSON object");
        json_decref(j);
        return -1;
    }
    json_decref(j);
    return 0;
}

static const char *const rreply_steps[] = {"lh_risk",     "lh_emit",   "lh_host",
                                           "lh_knockers", "lh_settle", NULL};

static int rreply_is(const redisReply *e, const char *s)
{
    return e->type == REDIS_REPLY_STRING && e->len == strlen(s) && memcmp(e->str, s, e->len) == 0;
}

/* A next step: FCALL <lh_risk|lh_emit|lh_host|lh_knockers> 1 key args...,
 * or a settle hint FCALL lh_settle <1|4> keys... (redis/settle.h), all
 * strings. */
static int rreply_call_ok(const redisReply *e, char *err, size_t errlen)
{
    int known = 0;

    if (e->elements < 4 || e->elements > RREPLY_MAX_ARGS) {
        snprintf(err, errlen, "Redis reply: a next step has %zu arguments (4 to %d)", e->elements,
                 RREPLY_MAX_ARGS);
        return -1;
    }
    for (size_t i = 0; i < e->elements; i++)
        if (e->element[i]->type != REDIS_REPLY_STRING ||
            (size_t)e->element[i]->len > RREPLY_MAX_LINE) {
            snprintf(err, errlen, "Redis reply: a next step's argument is not a string");
            return -1;
        }
    for (int i = 0; rreply_steps[i]; i++)
        known |= rreply_is(e->element[1], rreply_steps[i]);
    if (!rreply_is(e->element[0], "FCALL") || !known ||
        !(rreply_is(e->element[2], "1") ||
          (rreply_is(e->element[1], "lh_settle") && rreply_is(e->element[2], "4")))) {
        snprintf(err, errlen,
                 "Redis reply: a next step is not FCALL lh_risk, lh_emit, lh_host, "
                 "lh_knockers or lh_settle");
        return -1;
    }
    return 0;
}

void rreply_calls(const redisReply *r, reply_call_fn *fn, void *ctx)
{
    const redisReply *list = r->element[1];

    for (size_t i = 0; i < list->elements; i++) {
        const redisReply *e = list->element[i];
        const char *argv[RREPLY_MAX_ARGS];
        size_t lens[RREPLY_MAX_ARGS];
        if (e->type != REDIS_REPLY_ARRAY)
            continue;
        for (size_t k = 0; k < e->elements; k++) {
            argv[k] = e->element[k]->str;
            lens[k] = e->element[k]->len;
        }
        fn(ctx, (int)e->elements, argv, lens);
    }
}

int rreply_alerts(const redisReply *r, long long *count, reply_alert_fn *fn, void *ctx, char *err,
                  size_t errlen)
{
    const redisReply *list;

    if (r == NULL) {
        snprintf(err, errlen, "Redis reply: none");
        return -1;
    }
    if (r->type == REDIS_REPLY_ERROR) {
        snprintf(err, errlen, "Redis: %.*s", (int)(r->len > 400 ? 400 : r->len), r->str);
        return -1;
    }
    if (r->type != REDIS_REPLY_ARRAY || r->elements != 2 ||
        r->element[0]->type != REDIS_REPLY_INTEGER || r->element[1]->type != REDIS_REPLY_ARRAY) {
        snprintf(err, errlen, "Redis reply: expected {count, {alerts}}");
        return -1;
    }
    list = r->element[1];
    if (list->elements > RREPLY_MAX_ALERTS) {
        snprintf(err, errlen, "Redis reply: %zu alerts in one reply (at most %d)", list->elements,
                 RREPLY_MAX_ALERTS);
        return -1;
    }
    for (size_t i = 0; i < list->elements; i++) {
        const redisReply *e = list->element[i];
        if (e->type == REDIS_REPLY_ARRAY ? rreply_call_ok(e, err, errlen) < 0
                                         : rreply_line_ok(e, err, errlen) < 0)
            return -1;
    }
    if (count)
        *count = r->element[0]->integer;
    int lines = 0;
    for (size_t i = 0; i < list->elements; i++) {
        if (list->element[i]->type == REDIS_REPLY_ARRAY)
            continue;
        lines++;
        if (fn)
            fn(ctx, list->element[i]->str, list->element[i]->len);
    }
    return lines;
}

int rreply_transient(const char *e)
{
    static const char *const codes[] = {"LOADING",  "BUSY",     "TRYAGAIN",    "MASTERDOWN",
                                        "READONLY", "OOM",      "CLUSTERDOWN", "NOREPLICAS",
                                        "MISCONF",  "NOSCRIPT", NULL};

    for (int i = 0; codes[i]; i++) {
        size_t n = strlen(codes[i]);
        if (strncmp(e, codes[i], n) == 0 && (e[n] == ' ' || e[n] == '\0'))
            return 1;
    }
    return strncmp(e, "ERR Function not found", 22) == 0;
}
