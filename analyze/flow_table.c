/* flow_table.c -- bounded flow table with packet-time deadlines (see
 * flow_table.h).
 *
 * Three intrusive lists keep the sweeps cheap: `lru` in order of last
 * packet (idle deadlines, eviction), `age` in order of record start
 * (active deadlines) and `closing` in order of close (linger deadlines).
 * A flow is on `lru` and on exactly one of `age` and `closing`, which share
 * the age links. Captures can carry timestamps slightly out of order, so
 * the lists are only nearly sorted: a sweep that stops at the first flow
 * not yet due may leave a due one behind for a moment, which changes
 * nothing in the output (see the header) and costs a little memory.
 */
#include "flow_table.h"

#include <stdlib.h>
#include <string.h>

#include "base/counters.h"
#include "base/stats.h"

typedef struct flow_list {
    flow *head, *tail;
} flow_list;

/* Flows come in slabs of just under 256 KiB, as many as fit: an
 * allocation that size is usually a mapping of its own (glibc's mmap
 * threshold starts at 128 KiB), rounded up to whole pages, so a slab of a
 * fixed count of flows wasted most of its last page; this size leaves
 * room for malloc's own header and no more. */
#define FLOW_SLAB_BYTES (256 * 1024 - 64)
#define FLOW_SLAB       ((FLOW_SLAB_BYTES - sizeof(void *)) / sizeof(flow))

typedef struct flow_slab {
    struct flow_slab *next;
    flow flows[FLOW_SLAB];
} flow_slab;

struct flow_table {
    flow_table_config cfg;
    flow **buckets;
    uint64_t mask;
    uint32_t count;
    flow_list lru, age, closing;
    flow *free_list;
    flow_slab *slabs;
    flow_table_end_fn on_end;
    void *ctx;
    flow_table_stats stats;
};

/* List helpers. `age` and `closing` use the age links. */
#define LIST_UNLINK(l, f, prev, next)                                                              \
    do {                                                                                           \
        if ((f)->prev)                                                                             \
            (f)->prev->next = (f)->next;                                                           \
        else                                                                                       \
            (l)->head = (f)->next;                                                                 \
        if ((f)->next)                                                                             \
            (f)->next->prev = (f)->prev;                                                           \
        else                                                                                       \
            (l)->tail = (f)->prev;                                                                 \
        (f)->prev = (f)->next = NULL;                                                              \
    } while (0)

#define LIST_APPEND(l, f, prev, next)                                                              \
    do {                                                                                           \
        (f)->next = NULL;                                                                          \
        (f)->prev = (l)->tail;                                                                     \
        if ((l)->tail)                                                                             \
            (l)->tail->next = (f);                                                                 \
        else                                                                                       \
            (l)->head = (f);                                                                       \
        (l)->tail = (f);                                                                           \
    } while (0)

flow_table *flow_table_new(const flow_table_config *cfg, flow_table_end_fn on_end, void *ctx)
{
    flow_table *t = calloc(1, sizeof(*t));
    uint64_t nb = 1024;

    if (t == NULL)
        return NULL;
    t->cfg = *cfg;
    if (t->cfg.max_flows == 0)
        t->cfg.max_flows = 1;
    while (nb < t->cfg.max_flows)
        nb <<= 1;
    t->buckets = calloc(nb, sizeof(*t->buckets));
    if (t->buckets == NULL) {
        free(t);
        return NULL;
    }
    t->mask = nb - 1;
    t->on_end = on_end;
    t->ctx = ctx;
    return t;
}

void flow_table_free(flow_table *t)
{
    if (t == NULL)
        return;
    while (t->slabs) {
        flow_slab *next = t->slabs->next;
        free(t->slabs);
        t->slabs = next;
    }
    free(t->buckets);
    free(t);
}

void flow_table_each(flow_table *t, void (*fn)(void *ctx, flow *f), void *ctx)
{
    for (flow *f = t->lru.head; f != NULL; f = f->lru_next)
        fn(ctx, f);
}

const flow_table_stats *flow_table_get_stats(const flow_table *t)
{
    return &t->stats;
}

flow *flow_table_find(flow_table *t, uint64_t hash, const flow_key *k)
{
    for (flow *f = t->buckets[hash & t->mask]; f; f = f->hnext)
        if (f->hash == (uint32_t)hash && flow_key_equal(&f->key, k))
            return f;
    return NULL;
}

static flow *flow_table_alloc(flow_table *t)
{
    if (t->free_list == NULL) {
        flow_slab *s = malloc(sizeof(*s));
        if (s == NULL)
            abort(); /* a slab is 256 KiB; failing here means the host is out */
        s->next = t->slabs;
        t->slabs = s;
        for (size_t i = FLOW_SLAB; i-- > 0;) {
            s->flows[i].hnext = t->free_list;
            t->free_list = &s->flows[i];
        }
    }
    flow *f = t->free_list;
    t->free_list = f->hnext;
    return f;
}

static void flow_table_unlink(flow_table *t, flow *f)
{
    flow **pp = &t->buckets[f->hash & t->mask];
    while (*pp != f)
        pp = &(*pp)->hnext;
    *pp = f->hnext;
    LIST_UNLINK(&t->lru, f, lru_prev, lru_next);
    if (f->closing)
        LIST_UNLINK(&t->closing, f, age_prev, age_next);
    else
        LIST_UNLINK(&t->age, f, age_prev, age_next);
}

void flow_table_end(flow_table *t, flow *f, int reason)
{
    if (f->pkts[0] + f->pkts[1] > 0)
        STAT_ADD(t->stats.ended[reason], 1);
    t->on_end(t->ctx, f, reason, 1);
    flow_table_unlink(t, f);
    f->hnext = t->free_list;
    t->free_list = f;
    t->count--;
    STAT_SET(t->stats.active, t->count);
}

/* The earliest deadline of f and its reason. */
static int flow_table_deadline(const flow_table *t, const flow *f, uint64_t *when)
{
    if (f->close_us) {
        *when = f->close_us + t->cfg.linger_us;
        return (f->tcp & FLOW_TCP_RST) ? FLOW_END_RST : FLOW_END_FIN;
    }
    uint64_t idle = f->last_us + t->cfg.idle_us;
    if (f->pkts[0] + f->pkts[1] > 0 && f->rec_first_us + t->cfg.active_us < idle) {
        *when = f->rec_first_us + t->cfg.active_us;
        return FLOW_END_ACTIVE;
    }
    *when = idle;
    return FLOW_END_IDLE;
}

flow *flow_table_check(flow_table *t, flow *f, uint64_t t_us)
{
    for (;;) {
        uint64_t when;
        int reason = flow_table_deadline(t, f, &when);
        if (t_us <= when)
            return f;
        if (reason != FLOW_END_ACTIVE) {
            flow_table_end(t, f, reason);
            return NULL;
        }
        STAT_ADD(t->stats.ended[FLOW_END_ACTIVE], 1);
        t->on_end(t->ctx, f, FLOW_END_ACTIVE, 0);
        flow_reset_record(f);
        LIST_UNLINK(&t->age, f, age_prev, age_next);
        LIST_APPEND(&t->age, f, age_prev, age_next);
    }
}

/* Makes room for one flow: the oldest closed flow, else the flow idle the
 * longest. A victim already past its deadline ends for that reason. */
static void flow_table_evict(flow_table *t, uint64_t now_us)
{
    flow *victim = t->closing.head ? t->closing.head : t->lru.head;

    if (flow_table_check(t, victim, now_us) != NULL)
        flow_table_end(t, victim, FLOW_END_EVICTED);
}

flow *flow_table_create(flow_table *t, uint64_t hash, const flow_key *k, const packet *p, int side)
{
    if (t->count >= t->cfg.max_flows)
        flow_table_evict(t, p->ts_us);
    flow *f = flow_table_alloc(t);
    flow_init(f, k, hash, p, side);
    flow **bucket = &t->buckets[hash & t->mask];
    f->hnext = *bucket;
    *bucket = f;
    LIST_APPEND(&t->lru, f, lru_prev, lru_next);
    LIST_APPEND(&t->age, f, age_prev, age_next);
    t->count++;
    STAT_SET(t->stats.active, t->count);
    STAT_ADD(t->stats.created, 1);
    return f;
}

void flow_table_touched(flow_table *t, flow *f)
{
    if (t->lru.tail != f) {
        LIST_UNLINK(&t->lru, f, lru_prev, lru_next);
        LIST_APPEND(&t->lru, f, lru_prev, lru_next);
    }
    if (f->close_us && !f->closing) {
        LIST_UNLINK(&t->age, f, age_prev, age_next);
        LIST_APPEND(&t->closing, f, age_prev, age_next);
        f->closing = 1;
    }
}

/* Ends the due flows at the head of one list. */
static void flow_table_expire_list(flow_table *t, flow_list *l, uint64_t now_us)
{
    while (l->head) {
        flow *f = l->head;
        if (flow_table_check(t, f, now_us) == f && l->head == f)
            return;
    }
}

void flow_table_expire(flow_table *t, uint64_t now_us)
{
    flow_table_expire_list(t, &t->closing, now_us);
    flow_table_expire_list(t, &t->age, now_us);
    flow_table_expire_list(t, &t->lru, now_us);
}

void flow_table_flush(flow_table *t, uint64_t now_us, int reason)
{
    while (t->lru.head) {
        uint64_t when;
        flow *f = flow_table_check(t, t->lru.head, now_us);
        if (f)
            flow_table_end(t, f, f->close_us ? flow_table_deadline(t, f, &when) : reason);
    }
}

void flow_table_stats_describe(const flow_table_stats *fs, json_t *o)
{
    counters_add(o, "flows_active", STAT_GET(fs->active));
    counters_add(o, "flows_total", STAT_GET(fs->created));
    counters_add(o, "flows_evicted", STAT_GET(fs->ended[FLOW_END_EVICTED]));
    json_t *records = counters_group(o, "flow_records");
    for (int e = 1; e < FLOW_END_MAX; e++)
        counters_add(records, flow_end_name(e), STAT_GET(fs->ended[e]));
}
