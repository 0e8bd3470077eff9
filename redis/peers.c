/* peers.c -- the watermarks of the other sensors (see peers.h).
 *
 * A small array, one entry per peer, in the order of the list: the last
 * value read, when it last changed, and what it says.
 */
#include "peers.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/csl.h"

typedef struct peer {
    char *name;
    size_t len;
    char *last; /* the last value read; NULL: none */
    size_t lastlen;
    int observed;     /* read at least once */
    int seen;         /* its value changed while this sensor watched */
    int done;         /* its last value said "done" */
    int lapsed;       /* silent past the timeout */
    uint64_t mark;    /* its last watermark */
    uint64_t changed; /* reader's clock: its last change, or the start */
} peer;

struct peers {
    peer *v;
    int n;
    uint64_t timeout_us;
    uint64_t lapses;
};

void peers_free(peers *p)
{
    if (p == NULL)
        return;
    for (int i = 0; i < p->n; i++) {
        free(p->v[i].name);
        free(p->v[i].last);
    }
    free(p->v);
    free(p);
}

static int peers_add(peers *p, const char *name, size_t len, char *err, size_t errlen)
{
    for (int i = 0; i < p->n; i++)
        if (p->v[i].len == len && memcmp(p->v[i].name, name, len) == 0) {
            snprintf(err, errlen, "[redis] peers: sensor '%.*s' is named twice", (int)len, name);
            return -1;
        }
    if (p->n == PEERS_MAX) {
        snprintf(err, errlen, "[redis] peers: more than %d sensors", PEERS_MAX);
        return -1;
    }
    peer *e = &p->v[p->n];
    if ((e->name = malloc(len + 1)) == NULL) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    memcpy(e->name, name, len);
    e->name[len] = '\0';
    e->len = len;
    p->n++;
    return 0;
}

int peers_parse(const char *list, const char *self, uint64_t timeout_us, uint64_t now_us,
                peers **out, char *err, size_t errlen)
{
    peers *p = calloc(1, sizeof(*p));
    const char *s = list ? list : "";
    int self_seen = 0;

    *out = NULL;
    if (p == NULL || (p->v = calloc(PEERS_MAX, sizeof(*p->v))) == NULL) {
        snprintf(err, errlen, "out of memory");
        peers_free(p);
        return -1;
    }
    p->timeout_us = timeout_us;
    /* a blank list is no list; otherwise every name between commas counts */
    for (int more = !csl_blank(s); more;) {
        const char *a;
        size_t len;
        int rc = 0;

        more = csl_next(&s, &a, &len);
        if (len == 0) {
            snprintf(err, errlen,
                     "[redis] peers: expected sensor names separated by commas, got an empty "
                     "name in '%s'",
                     list);
            rc = -1;
        } else if (self && strlen(self) == len && memcmp(self, a, len) == 0) {
            if (self_seen++) {
                snprintf(err, errlen, "[redis] peers: sensor '%s' is named twice", self);
                rc = -1;
            }
        } else {
            rc = peers_add(p, a, len, err, errlen);
        }
        if (rc < 0) {
            peers_free(p);
            return -1;
        }
    }
    for (int i = 0; i < p->n; i++)
        p->v[i].changed = now_us;
    if (p->n == 0) {
        peers_free(p);
        return 0;
    }
    *out = p;
    return 0;
}

int peers_count(const peers *p)
{
    return p ? p->n : 0;
}

const char *peers_name(const peers *p, int i, size_t *len)
{
    *len = p->v[i].len;
    return p->v[i].name;
}

/* A number of 1 to 19 decimal digits at *p (so below UINT64_MAX, which
 * stays "no bound"), followed by end or a blank. */
static int peers_number(const char **p, const char *end, uint64_t *out)
{
    const char *s = *p;
    uint64_t v = 0;

    while (s < end && s - *p < 19 && *s >= '0' && *s <= '9')
        v = v * 10 + (uint64_t)(*s++ - '0');
    if (s == *p || (s < end && *s != ' '))
        return -1;
    *p = s;
    *out = v;
    return 0;
}

/* "run|done <watermark_us> <wall_ms>" exactly; anything else says nothing
 * (the value comes from Redis, where anything may have been written). */
static int peers_read(const char *v, size_t len, int *done, uint64_t *mark)
{
    const char *p = v, *end = v + len;
    uint64_t wall;

    if (len > 5 && memcmp(v, "done ", 5) == 0)
        *done = 1, p += 5;
    else if (len > 4 && memcmp(v, "run ", 4) == 0)
        *done = 0, p += 4;
    else
        return -1;
    if (peers_number(&p, end, mark) < 0 || p == end || *p++ != ' ' ||
        peers_number(&p, end, &wall) < 0 || p != end)
        return -1;
    return 0;
}

void peers_observe(peers *p, int i, const char *value, size_t len, uint64_t now_us)
{
    peer *e = &p->v[i];
    int same = value == NULL
                   ? e->last == NULL
                   : e->last != NULL && e->lastlen == len && memcmp(e->last, value, len) == 0;

    if (e->observed && same)
        return;
    free(e->last);
    e->last = NULL;
    e->lastlen = 0;
    if (value != NULL && (e->last = malloc(len ? len : 1)) != NULL) {
        memcpy(e->last, value, len);
        e->lastlen = len;
    }
    if (!e->observed) {
        /* what was there before this sensor watched: maybe an earlier run's */
        e->observed = 1;
        return;
    }
    e->changed = now_us;
    int done = 0;
    uint64_t mark = 0;
    if (value != NULL && peers_read(value, len, &done, &mark) == 0) {
        e->seen = 1;
        e->done = done;
        e->mark = mark;
    }
}

void peers_tick(peers *p, uint64_t now_us, peers_report_fn *report, void *ctx)
{
    char msg[300];

    for (int i = 0; i < p->n; i++) {
        peer *e = &p->v[i];
        int silent = !(e->seen && e->done) && now_us - e->changed > p->timeout_us;
        if (silent && !e->lapsed) {
            e->lapsed = 1;
            p->lapses++;
            snprintf(msg, sizeof(msg),
                     "peer sensor '%s' %s for %llu s: settling no longer waits for it "
                     "(counted in peers_lapsed)",
                     e->name, e->seen ? "silent" : "not heard from",
                     (unsigned long long)(p->timeout_us / 1000000));
            if (report)
                report(ctx, msg);
        } else if (!silent && e->lapsed) {
            e->lapsed = 0;
            snprintf(msg, sizeof(msg), "peer sensor '%s' is back: settling waits for it again",
                     e->name);
            if (report)
                report(ctx, msg);
        }
    }
}

/* Whether peer e holds settling back, and at which watermark. */
static int peers_holds(const peer *e, uint64_t *mark)
{
    if (e->lapsed || (e->seen && e->done))
        return 0;
    *mark = e->seen ? e->mark : 0;
    return 1;
}

uint64_t peers_bound(const peers *p)
{
    uint64_t low = UINT64_MAX, m;

    for (int i = 0; i < p->n; i++)
        if (peers_holds(&p->v[i], &m) && m < low)
            low = m;
    return low;
}

int peers_waiting(const peers *p)
{
    int n = 0;
    uint64_t m;

    for (int i = 0; i < p->n; i++)
        n += peers_holds(&p->v[i], &m);
    return n;
}

uint64_t peers_lapses(const peers *p)
{
    return p ? p->lapses : 0;
}

size_t peers_value(char *buf, size_t len, int done, uint64_t watermark_us, uint64_t wall_ms)
{
    int n = snprintf(buf, len, "%s %llu %llu", done ? "done" : "run",
                     (unsigned long long)watermark_us, (unsigned long long)wall_ms);

    return n > 0 && (size_t)n < len ? (size_t)n : 0;
}
