/* event.c -- encoding of writer events and their queues (see event.h).
 *
 * A producer lays out the arguments of one command as (pointer, length)
 * pairs on its stack, sizes the record, reserves it in the ring and copies
 * the bytes once. Numbers are formatted in decimal, as Redis reads them.
 */
#include "event.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#define XXH_STATIC_LINKING_ONLY /* XXH3_state_t on the stack: no allocation per event */
#include <xxhash.h>

#include "base/bytes.h"
#include "base/counters.h"
#include "base/json_text.h"
#include "base/ring.h"
#include "base/stats.h"
#include "base/wire_json.h"

struct event_queue {
    const event_context *ctx;
    ring *ring;
    unsigned id;
    int wait;
    uint64_t seq;
    _Atomic uint64_t enqueued, dropped;
};

/* Arguments of a command under construction. Formatted arguments (keys,
 * numbers, the event id) live in buf; the rest are borrowed. */
typedef struct event_args {
    int argc;
    const char *argv[EVENT_MAX_ARGS];
    size_t lens[EVENT_MAX_ARGS];
    char buf[4096];
    size_t used;
} event_args;

event_queue *event_queue_new(const event_context *ctx, unsigned id, size_t bytes, int wait)
{
    event_queue *q = calloc(1, sizeof(*q));

    if (q == NULL)
        return NULL;
    q->ctx = ctx;
    q->id = id;
    q->wait = wait;
    if ((q->ring = ring_new(bytes)) == NULL) {
        free(q);
        return NULL;
    }
    return q;
}

void event_queue_free(event_queue *q)
{
    if (q == NULL)
        return;
    ring_free(q->ring);
    free(q);
}

static void event_arg(event_args *a, const char *s, size_t len)
{
    if (a->argc < EVENT_MAX_ARGS) {
        a->argv[a->argc] = s ? s : "";
        a->lens[a->argc] = s ? len : 0;
    }
    a->argc++; /* past the limit: event_push refuses the event */
}

static void event_str(event_args *a, const char *s)
{
    event_arg(a, s, s ? strlen(s) : 0);
}

/* A formatted argument, kept in a->buf; cut to fit when a->buf runs out
 * (only the sensor's own names are formatted, never wire data). */
__attribute__((format(printf, 2, 3))) static void event_fmt(event_args *a, const char *fmt, ...)
{
    size_t room = sizeof(a->buf) - a->used;
    char *p = a->buf + a->used;
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(p, room, fmt, ap);
    va_end(ap);
    if (n < 0)
        n = 0;
    if ((size_t)n >= room)
        n = room > 0 ? (int)room - 1 : 0;
    a->used += (size_t)n + (room > 0 ? 1 : 0);
    event_arg(a, p, (size_t)n);
}

/* The texts given, up to a NULL, one after the other: an argument kept in
 * a->buf and cut to fit as event_fmt()'s are. The keys and names of every
 * event are made here rather than by event_fmt(): its vsnprintf, for
 * strings copied end to end, was 1.4% of the worker's instructions on
 * gpu-fleet (docs/performance.md, "Tenth round"). Every text is the
 * sensor's own and never NULL (a NULL ends the list). */
static void event_cat(event_args *a, ...)
{
    size_t room = sizeof(a->buf) - a->used, n = 0;
    char *p = a->buf + a->used;
    const char *s;
    va_list ap;

    va_start(ap, a);
    while ((s = va_arg(ap, const char *)) != NULL && room > 0) {
        size_t len = strlen(s);
        if (len > room - 1 - n)
            len = room - 1 - n;
        memcpy(p + n, s, len);
        n += len;
    }
    va_end(ap);
    if (room > 0) {
        p[n] = '\0';
        a->used += n + 1;
    }
    event_arg(a, p, n);
}

/* Numbers are written by bytes_digits(), not vsnprintf: every number of
 * every event is written here, and on dpi-dense the "%llu" calls (the
 * start times of the AI-relay follow events, up to 64 a call) were the
 * worker's largest cost outside nDPI after the flow path itself
 * (docs/performance.md). */
static void event_u64(event_args *a, uint64_t v)
{
    char *p = a->buf + a->used;

    if (sizeof(a->buf) - a->used < 21) {
        event_fmt(a, "%llu", (unsigned long long)v); /* cut to fit, as any argument */
        return;
    }
    size_t n = bytes_digits(p, v);
    p[n] = '\0';
    a->used += n + 1;
    event_arg(a, p, n);
}

/* The encoded size of a command, and its encoding into p (see event.h). */
static size_t event_size(int argc, const size_t *lens)
{
    size_t total = 8 + 4 * (size_t)argc;

    for (int i = 0; i < argc; i++)
        total += lens[i];
    return total;
}

static void event_write(uint8_t *p, int kind, int argc, const char *const *argv, const size_t *lens)
{
    uint32_t hdr[2] = {(uint32_t)kind, (uint32_t)argc};

    memcpy(p, hdr, 8);
    p += 8;
    for (int i = 0; i < argc; i++, p += 4) {
        uint32_t l = (uint32_t)lens[i];
        memcpy(p, &l, 4);
    }
    for (int i = 0; i < argc; i++) {
        memcpy(p, argv[i], lens[i]);
        p += lens[i];
    }
}

void *event_encode(int kind, int argc, const char *const *argv, const size_t *lens, size_t *len)
{
    uint8_t *p;

    if (argc < 1 || argc > EVENT_MAX_ARGS || (*len = event_size(argc, lens)) > EVENT_MAX_BYTES ||
        (p = malloc(*len)) == NULL)
        return NULL;
    event_write(p, kind, argc, argv, lens);
    return p;
}

/* Named arguments of a library call: the name, then the value. The names
 * are those rules/lua/ declares for the call (its ARGS rows); a name one
 * side has and the other lacks fails the call, and test_redis_functions
 * compares every builder with the library's table. */
static void event_kstr(event_args *a, const char *name, const char *s)
{
    event_str(a, name);
    event_str(a, s);
}

static void event_karg(event_args *a, const char *name, const char *s, size_t len)
{
    event_str(a, name);
    event_arg(a, s, len);
}

static void event_ku64(event_args *a, const char *name, uint64_t v)
{
    event_str(a, name);
    event_u64(a, v);
}

/* Copies the command into the ring. */
static int event_push(event_queue *q, event_args *a, int kind)
{
    size_t total;
    uint8_t *p;

    if (a->argc > EVENT_MAX_ARGS)
        goto drop;
    total = event_size(a->argc, a->lens);
    if (total > EVENT_MAX_BYTES || total > ring_max_record(q->ring) ||
        (p = ring_reserve(q->ring, total, q->wait)) == NULL)
        goto drop;
    event_write(p, kind, a->argc, a->argv, a->lens);
    ring_commit(q->ring);
    ring_flush(q->ring); /* events are rare next to packets: no batching */
    STAT_ADD(q->enqueued, 1);
    return 0;
drop:
    STAT_ADD(q->dropped, 1);
    return -1;
}

static void event_begin(event_queue *q, event_args *a, int fcall, const char *fn)
{
    a->argc = 0;
    a->used = 0;
    if (fcall) {
        event_str(a, "FCALL");
        event_str(a, fn);
    }
}

/* The event id: unique per sensor, run, queue and event. It names one
 * delivery, so a call sent again after a broken connection is known as
 * the same; what a call counts is named by its fact (event_fact()). */
static void event_id(event_queue *q, event_args *a)
{
    char run[21], queue[21], seq[21];

    run[bytes_digits(run, q->ctx->run_id)] = '\0';
    queue[bytes_digits(queue, q->id)] = '\0';
    seq[bytes_digits(seq, ++q->seq)] = '\0';
    event_cat(a, q->ctx->sensor, "/", run, "/", queue, "/", seq, NULL);
}

/* The argument `fact`: what the event describes, prefixed by the sensor
 * that saw it, the same in every run over the same capture. The library
 * counts a fact once, so a second replay into the same Redis adds nothing;
 * a different sensor name is another observer and counts again
 * (docs/rules-correlation.md). */
static int event_fact(event_queue *q, event_args *a, const char *fact)
{
    if (fact == NULL || *fact == '\0')
        return -1;
    event_str(a, "fact");
    event_cat(a, q->ctx->sensor, "/", fact, NULL);
    return 0;
}

/* The four KEYS of lh_observe and lh_raise: the entity's hash-tagged base,
 * its host hash, the risk set, the alerts stream. In a Redis Cluster, the
 * entity's key alone: a call touches one slot, and the library answers
 * the global part of an alert as next steps (rules/lua/). */
static void event_keys(event_queue *q, event_args *a, const char *entity, const char *ip)
{
    const char *p = q->ctx->prefix;

    if (q->ctx->cluster) {
        event_str(a, "1");
        event_cat(a, p, "{e:", entity, "}", NULL);
        return;
    }
    event_str(a, "4");
    event_cat(a, p, "{e:", entity, "}", NULL);
    event_cat(a, p, "host:", ip, NULL);
    event_cat(a, p, "risk", NULL);
    event_cat(a, p, "alerts", NULL);
}

/* GC lifetime of correlation keys, in wall-clock seconds: two windows and
 * an hour, so a window stays readable while a slow replay still feeds it. */
static uint64_t event_ttl_s(uint64_t window_us)
{
    return window_us / 1000000u * 2 + 3600;
}

/* The members of the alert line only the sensor knows, each one JSON
 * value (the line:<member> arguments; rules/lua/05_line.lua builds the
 * line from them), freed by event_finish(). */
typedef struct event_line {
    char *text[6];
    int n;
} event_line;

/* Adds the member `name` of the line: v serialised (a new reference,
 * released here), or nothing when v is NULL. */
static int event_line_arg(event_args *a, event_line *l, const char *name, json_t *v)
{
    char *text;
    size_t len;

    if (v == NULL)
        return 0;
    text = jtext_dump(v, 0, &len);
    json_decref(v);
    if (text == NULL)
        return -1;
    l->text[l->n++] = text;
    event_karg(a, name, text, len);
    return 0;
}

/* The argument `fid`, the identity of the fact a call records: the first
 * 96 bits of XXH3-128 over every argument after the keys but the event id
 * `ev` (which names one delivery), each preceded by its length. So the
 * same event gives the same fid in every run, thread and replay, and in a
 * cluster as on one server; the library uses it as the fact's id instead
 * of hashing the fact's line itself (rules/lua/10_alert.lua, fact()).
 * Last of the arguments: it covers all the others. */
static void event_fact_id(event_args *a)
{
    XXH3_state_t st;
    XXH128_canonical_t c;
    static const char hex[] = "0123456789abcdef";
    char id[24];
    int first;

    if (a->argc > EVENT_MAX_ARGS || a->argc < 3 || a->lens[2] != 1)
        return; /* past the limit: event_push refuses the event anyway */
    first = 3 + (a->argv[2][0] - '0');
    if (XXH3_128bits_reset(&st) == XXH_ERROR)
        return;
    for (int i = first; i < a->argc; i++) {
        if ((i - first) % 2 == 0 && i + 1 < a->argc && a->lens[i] == 2 &&
            memcmp(a->argv[i], "ev", 2) == 0) {
            i++;
            continue;
        }
        uint64_t len = a->lens[i];
        XXH3_128bits_update(&st, &len, sizeof(len));
        XXH3_128bits_update(&st, a->argv[i], a->lens[i]);
    }
    XXH128_canonicalFromHash(&c, XXH3_128bits_digest(&st));
    for (int i = 0; i < 12; i++) {
        id[2 * i] = hex[c.digest[i] >> 4];
        id[2 * i + 1] = hex[c.digest[i] & 15];
    }
    if (sizeof(a->buf) - a->used < sizeof(id))
        return; /* no room: the library names the fact itself */
    memcpy(a->buf + a->used, id, sizeof(id));
    event_str(a, "fid");
    event_arg(a, a->buf + a->used, sizeof(id));
    a->used += sizeof(id);
}

/* The alert part of the arguments (ALERT, ALERT_OPT and alert_args in
 * rules/lua/00_args.lua). */
static int event_alert_args(event_queue *q, event_args *a, const event_alert *al, event_line *l)
{
    char ts[40];
    int rc = 0;

    event_kstr(a, "rule", al->rule);
    event_kstr(a, "severity", al->severity);
    event_ku64(a, "score", al->score > 0 ? (uint64_t)al->score : 0);
    event_kstr(a, "ip", al->ip);
    event_kstr(a, "role", al->role);
    event_str(a, "ts");
    event_cat(a, wjson_format_time(al->ts_us, ts, sizeof(ts)), NULL);
    event_ku64(a, "maxlen", q->ctx->stream_maxlen);
    event_ku64(a, "keep_s", q->ctx->alert_keep_s);
    event_str(a, "channel");
    event_cat(a, q->ctx->prefix, "alerts:live", NULL);
    rc |= event_line_arg(a, l, "line:sensor", wjson_cstring(q->ctx->sensor));
    rc |= event_line_arg(a, l, "line:gpu_host", json_incref(al->gpu_host));
    rc |= event_line_arg(a, l, "line:peer", json_incref(al->peer));
    rc |= event_line_arg(a, l, "line:intermediary", json_incref(al->intermediary));
    rc |= event_line_arg(a, l, "line:evidence",
                         al->evidence ? json_incref(al->evidence) : json_array());
    rc |= event_line_arg(a, l, "line:summary", wjson_cstring(al->summary));
    for (int i = 0; al->host && al->host[i] && al->host[i + 1]; i += 2) {
        event_cat(a, "host:", al->host[i], NULL);
        event_str(a, al->host[i + 1]);
    }
    /* lh_leg names its facts by the pair of legs it matches, not the call */
    if (rc == 0 && strcmp(a->argv[1], "lh_leg") != 0)
        event_fact_id(a);
    return rc;
}

/* The optional evidence item of lh_observe, lh_sum and lh_hours. */
static void event_evidence(event_args *a, const char *item, size_t len)
{
    if (item == NULL || len == 0)
        return;
    event_karg(a, "evidence", item, len);
}

/* The alert part at the end of a call, with its ts and window. */
static int event_tail(event_queue *q, event_args *a, const event_alert *alert, uint64_t ts_us,
                      uint64_t window_us, event_line *l)
{
    event_alert al = *alert;

    al.ts_us = ts_us;
    al.window_us = window_us;
    return event_alert_args(q, a, &al, l);
}

/* Pushes a call; frees the line's members (l may be NULL). */
static int event_finish(event_queue *q, event_args *a, int rc, event_line *l)
{
    if (rc == 0)
        rc = event_push(q, a, EVENT_CALL);
    else
        STAT_ADD(q->dropped, 1);
    for (int i = 0; l && i < l->n; i++)
        free(l->text[i]);
    return rc < 0 ? -1 : 0;
}

static const char *event_alert_ip(const event_alert *al, const char *entity)
{
    return al && al->ip ? al->ip : entity;
}

/* The common head of a library call about one entity: function, keys
 * (with the alert's entity for the dashboard keys), event id, packet time. */
static void event_call(event_queue *q, event_args *a, const char *fn, const char *entity,
                       const event_alert *alert, uint64_t ts_us)
{
    event_begin(q, a, 1, fn);
    event_keys(q, a, entity, event_alert_ip(alert, entity));
    event_str(a, "ev");
    event_id(q, a);
    event_ku64(a, "ts_us", ts_us);
}

int event_observe(event_queue *q, const event_observation *o)
{
    event_args a;
    event_line line = {0};
    int rc = 0, alert = o->alert && o->threshold > 0;

    event_call(q, &a, "lh_observe", o->entity, o->alert, o->ts_us);
    event_kstr(&a, "kind", o->kind);
    event_karg(&a, "value", o->value, o->value_len);
    event_ku64(&a, "window_us", o->window_us ? o->window_us : 1);
    event_kstr(&a, "mode", o->approx ? "approx" : "exact");
    event_ku64(&a, "cap", o->cap ? o->cap : 10000);
    event_ku64(&a, "ttl_s", event_ttl_s(o->window_us));
    event_ku64(&a, "threshold", o->alert ? o->threshold : 0);
    event_evidence(&a, o->evidence, o->evidence_len);
    if (o->need)
        event_kstr(&a, "need", o->need > 0 ? "1" : "0");
    if (alert)
        rc = event_tail(q, &a, o->alert, o->ts_us, o->window_us, &line);
    return event_finish(q, &a, rc, &line);
}

int event_sum_add(event_queue *q, const event_sum *s)
{
    event_args a;
    event_line line = {0};
    int rc = 0, alert = s->alert && s->threshold > 0;

    event_call(q, &a, "lh_sum", s->entity, s->alert, s->ts_us);
    rc = event_fact(q, &a, s->fact);
    event_kstr(&a, "kind", s->kind);
    event_kstr(&a, "member", s->member);
    event_ku64(&a, "bytes", s->bytes);
    event_kstr(&a, "flag", s->flag ? "1" : "0");
    event_ku64(&a, "window_us", s->window_us ? s->window_us : 1);
    event_ku64(&a, "ttl_s", event_ttl_s(s->window_us));
    event_ku64(&a, "threshold", alert ? s->threshold : 0);
    event_kstr(&a, "gate_kind", s->gate_kind ? s->gate_kind : "");
    event_ku64(&a, "gate_window_us", s->gate_window_us ? s->gate_window_us : 1);
    event_evidence(&a, s->evidence, s->evidence_len);
    if (alert && rc == 0)
        rc = event_tail(q, &a, s->alert, s->ts_us, s->window_us, &line);
    return event_finish(q, &a, rc, &line);
}

int event_gate_add(event_queue *q, const event_gate *g)
{
    event_args a;
    event_line line = {0};
    int rc = 0, alert = g->alert && g->threshold > 0;

    event_call(q, &a, "lh_gate", g->entity, g->alert, g->ts_us);
    event_kstr(&a, "kind", g->kind);
    event_kstr(&a, "member", g->member);
    event_ku64(&a, "window_us", g->window_us ? g->window_us : 1);
    /* The sums it checks live as long as the gate window. */
    event_ku64(&a, "ttl_s",
               event_ttl_s(g->window_us > g->sum_window_us ? g->window_us : g->sum_window_us));
    event_kstr(&a, "sum_kind", g->sum_kind);
    event_ku64(&a, "sum_window_us", g->sum_window_us ? g->sum_window_us : 1);
    event_ku64(&a, "threshold", alert ? g->threshold : 0);
    if (alert)
        rc = event_tail(q, &a, g->alert, g->ts_us, g->sum_window_us, &line);
    return event_finish(q, &a, rc, &line);
}

int event_leg_add(event_queue *q, const event_leg *l)
{
    event_args a;
    event_line line = {0};

    event_call(q, &a, "lh_leg", l->entity, l->alert, l->ts_us);
    event_kstr(&a, "dir", l->dir);
    event_kstr(&a, "leg", l->leg);
    event_kstr(&a, "starts", l->starts);
    event_kstr(&a, "part", l->part);
    event_kstr(&a, "item", l->item);
    event_ku64(&a, "window_us", l->window_us ? l->window_us : 1);
    event_ku64(&a, "ttl_s", event_ttl_s(l->window_us));
    event_ku64(&a, "delta_us", l->delta_us);
    event_ku64(&a, "min_ratio_pct", l->min_ratio_pct);
    event_ku64(&a, "min_run", l->min_run);
    event_ku64(&a, "min_match", l->min_match);
    int rc = event_tail(q, &a, l->alert, l->ts_us, l->window_us, &line);
    return event_finish(q, &a, rc, &line);
}

int event_hours_add(event_queue *q, const event_hours *h)
{
    event_args a;
    event_line line = {0};
    int rc = 0, alert = h->alert && h->min_in > 0;

    event_call(q, &a, "lh_hours", h->entity, h->alert, h->ts_us);
    event_kstr(&a, "session", h->session);
    event_ku64(&a, "window_us", h->window_us ? h->window_us : 1);
    event_ku64(&a, "ttl_s", event_ttl_s(h->window_us));
    event_str(&a, "offset_s");
    event_fmt(&a, "%lld", (long long)h->offset_s);
    event_kstr(&a, "hours_mask", h->hours_mask);
    event_kstr(&a, "days_mask", h->days_mask);
    event_ku64(&a, "min_in", alert ? h->min_in : 0);
    event_ku64(&a, "min_days", h->min_days);
    event_evidence(&a, h->evidence, h->evidence_len);
    if (h->fit_shift_h > 0) {
        event_ku64(&a, "fit_margin_pct", h->fit_margin_pct);
        event_ku64(&a, "fit_shift_h", h->fit_shift_h);
    }
    if (alert)
        rc = event_tail(q, &a, h->alert, h->ts_us, h->window_us, &line);
    return event_finish(q, &a, rc, &line);
}

int event_raise(event_queue *q, const event_alert *al)
{
    event_args a;
    event_line line = {0};

    event_call(q, &a, "lh_raise", al->ip, al, al->ts_us);
    event_ku64(&a, "window_us", al->window_us ? al->window_us : 1);
    event_ku64(&a, "ttl_s", event_ttl_s(al->window_us));
    int rc = event_tail(q, &a, al, al->ts_us, al->window_us, &line);
    return event_finish(q, &a, rc, &line);
}

/* XADD <prefix>flows [MAXLEN ~ N] * json LINE */
int event_flow(event_queue *q, const char *line, size_t len)
{
    event_args a;

    event_begin(q, &a, 0, NULL);
    event_str(&a, "XADD");
    event_cat(&a, q->ctx->prefix, "flows", NULL);
    if (q->ctx->stream_maxlen > 0) {
        event_str(&a, "MAXLEN");
        event_str(&a, "~");
        event_u64(&a, q->ctx->stream_maxlen);
    }
    event_str(&a, "*");
    event_str(&a, "json");
    event_arg(&a, line, len);
    return event_push(q, &a, EVENT_PLAIN);
}

int event_stats(event_queue *q, const char *const *kv, int n)
{
    event_args a;

    event_begin(q, &a, 0, NULL);
    event_str(&a, "HSET");
    event_cat(&a, q->ctx->prefix, "stats:", q->ctx->sensor, NULL);
    for (int i = 0; i < 2 * n; i++)
        event_str(&a, kv[i]);
    return event_push(q, &a, EVENT_PLAIN);
}

void event_queue_flush(event_queue *q)
{
    ring_flush(q->ring);
}

void event_queue_close(event_queue *q)
{
    ring_close(q->ring);
}

uint64_t event_queue_enqueued(const event_queue *q)
{
    return STAT_GET(q->enqueued);
}

uint64_t event_queue_dropped(const event_queue *q)
{
    return STAT_GET(q->dropped);
}

const void *event_queue_peek(event_queue *q, size_t *len)
{
    return ring_peek(q->ring, len, 0);
}

void event_queue_release(event_queue *q)
{
    ring_release(q->ring);
}

int event_decode(const void *buf, size_t len, event_view *v)
{
    const uint8_t *p = buf;
    uint32_t hdr[2];
    size_t off;

    if (len < 8)
        return -1;
    memcpy(hdr, p, 8);
    if ((hdr[0] != EVENT_CALL && hdr[0] != EVENT_PLAIN) || hdr[1] == 0 || hdr[1] > EVENT_MAX_ARGS ||
        len < 8 + 4 * (size_t)hdr[1])
        return -1;
    v->kind = (int)hdr[0];
    v->argc = (int)hdr[1];
    off = 8 + 4 * (size_t)hdr[1];
    for (int i = 0; i < v->argc; i++) {
        uint32_t l;
        memcpy(&l, p + 8 + 4 * (size_t)i, 4);
        if (l > len - off)
            return -1;
        v->argv[i] = (const char *)p + off;
        v->lens[i] = l;
        off += l;
    }
    return off == len ? 0 : -1;
}

int event_follow_add(event_queue *q, const event_follow *fo)
{
    event_args a;
    char starts[64 * 21];
    event_line line = {0};
    size_t used = 0;
    int rc = 0, n = fo->nstarts < 64 ? fo->nstarts : 64;

    for (int i = 0; i < n; i++) {
        if (i > 0)
            starts[used++] = ',';
        used += bytes_digits(starts + used, fo->starts[i]);
    }
    event_call(q, &a, "lh_follow", fo->entity, fo->alert, fo->ts_us);
    event_kstr(&a, "dir", fo->dir);
    event_kstr(&a, "who", fo->who ? fo->who : "");
    event_karg(&a, "starts", starts, used);
    event_ku64(&a, "window_us", fo->window_us ? fo->window_us : 1);
    event_ku64(&a, "lag_us", fo->lag_us);
    event_ku64(&a, "cap", fo->cap ? fo->cap : 10000);
    event_ku64(&a, "ttl_s", event_ttl_s(fo->window_us));
    event_ku64(&a, "threshold", fo->alert ? fo->threshold : 0);
    if (fo->alert && fo->threshold > 0)
        rc = event_tail(q, &a, fo->alert, fo->ts_us, fo->window_us, &line);
    return event_finish(q, &a, rc, &line);
}

int event_absent_add(event_queue *q, const event_absent *ab)
{
    event_args a;
    event_line line = {0};
    int rc = 0;

    event_call(q, &a, "lh_absent", ab->entity, ab->alert, ab->ts_us);
    event_kstr(&a, "op", ab->alert ? "raise" : "mark");
    event_kstr(&a, "kind", ab->kind);
    event_ku64(&a, "lo_us", ab->lo_us);
    event_ku64(&a, "hi_us", ab->hi_us);
    event_ku64(&a, "window_us", ab->window_us ? ab->window_us : 1);
    event_ku64(&a, "ttl_s", event_ttl_s(ab->window_us));
    if (ab->alert)
        rc = event_tail(q, &a, ab->alert, ab->ts_us, ab->window_us, &line);
    return event_finish(q, &a, rc, &line);
}

void event_queue_stats_describe(const event_queue *q, json_t *o)
{
    counters_add(o, "events_dropped", event_queue_dropped(q));
}

int event_knock_add(event_queue *q, const event_knock *k)
{
    event_args a;
    const char *p = q->ctx->prefix;

    event_begin(q, &a, 1, "lh_knock");
    event_str(&a, "2");
    event_cat(&a, p, "{k:", k->net, "}:src:", k->src, NULL);
    event_cat(&a, p, "{k:", k->net, "}:net", NULL);
    event_str(&a, "ev");
    event_id(q, &a);
    event_ku64(&a, "ts_us", k->ts_us);
    event_ku64(&a, "ttl_s", event_ttl_s(EVENT_KNOCK_KEEP_US));
    event_kstr(&a, "level", k->level);
    event_kstr(&a, "gpu", k->gpu);
    return event_finish(q, &a, event_fact(q, &a, k->fact), NULL);
}
