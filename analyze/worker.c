/* worker.c -- the analysis thread's loop (see worker.h).
 *
 * Per packet: find or create the flow (ending it first if a deadline has
 * passed or a closed TCP connection is being reopened), count the packet,
 * give it to inspection while inspection runs, and to the per-flow
 * analysis: request paths for the control session rules (roles.c) on the
 * first client payloads, the fully-encrypted test (fep.c) on the first,
 * timing (timing.c) on TCP data while the flow keeps a timing state, the
 * request starts (turns.c) of the client payloads of connections to AI
 * APIs, and the session evidence (session.c) of every packet with data. A bulk flow
 * past its first packets costs a few compares and additions here.
 */
#include "worker.h"

#include <stdatomic.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/stats.h"
#include "capture/capture.h"
#include "fep.h"
#include "record.h"
#include "roles.h"
#include "session.h"
#include "timing.h"
#include "turns.h"
#include "udpctl.h"

struct worker {
    worker_config cfg;
    flow_table *table;
    dpi *dpi;
    roles_table roles;  /* control session rules: this worker's copy of geo's */
    roles_kinds *kinds; /* the kind strings flows point at; outlive reloads */
    uint64_t roles_gen; /* generation of the snapshot `roles` was copied from */
    pthread_t thread;
    int started;
    uint64_t now_us;
    _Atomic uint64_t done_us; /* now_us once the record of that time is handled */
    geo_snapshot *geo;        /* this worker's reference; NULL before the first publish */
    geo_cache *cache;
    flow *last; /* the flow of the last packet while it lives (worker_packet) */
};

/* A request path remembered by rule index means nothing in a new table:
 * the flow reads its next request lines again. */
static void worker_forget_path(void *ctx, flow *f)
{
    (void)ctx;
    if (f->an && f->an->ctl_path != 0)
        f->an->ctl_path = 0, f->an->ctl_reqs = 0;
}

/* Takes the current geo snapshot and, when it changed, the control rules
 * it carries (controls.csv). Flows keep the kinds they have: those strings
 * live in w->kinds. */
static void worker_geo_refresh(worker *w)
{
    const indicators *in;
    const roles_rule *rules = NULL;
    size_t n = 0;

    if (w->cfg.geo == NULL)
        return;
    geo_holder_refresh(w->cfg.geo, &w->geo);
    if (w->geo == NULL || geo_snapshot_generation(w->geo) == w->roles_gen)
        return;
    w->roles_gen = geo_snapshot_generation(w->geo);
    if ((in = geo_snapshot_indicators(w->geo)) != NULL)
        rules = controls_rules(indicators_controls(in), &n);
    if (roles_table_set(&w->roles, w->kinds, rules, n) != 0)
        fprintf(stderr, "loophole: out of memory for the control-session rules\n");
    flow_table_each(w->table, worker_forget_path, NULL);
}

/* Marks a TCP connection to an AI API (its SNI or Host under an indicator
 * of category ai_api) for request starts (turns.h): the upstream leg of
 * an API relay that pools connections (ai_api_relay, docs/rules.md). */
static void worker_turns_check(worker *w, flow *f)
{
    const indicators *in = w->geo ? geo_snapshot_indicators(w->geo) : NULL;
    const char *name = dpi_fact(f->facts, DPI_SNI);
    const indicator *i;

    if (in == NULL || f->key.proto != 6 || turns_marked(f))
        return;
    if (name == NULL)
        name = dpi_fact(f->facts, DPI_HOST);
    if (name && (i = indicators_domain(in, name, strcspn(name, ":"))) &&
        strcmp(i->category, "ai_api") == 0)
        turns_start(f);
}

/* Geo answers for the flow's client and server; 0 without geo data. */
static int worker_parties(worker *w, const flow *f, geo_party *src, geo_party *dst)
{
    worker_geo_refresh(w);
    if (w->geo == NULL)
        return 0;
    geo_cache_lookup(w->cache, w->geo, &f->key.addr[f->client], src);
    geo_cache_lookup(w->cache, w->geo, &f->key.addr[!f->client], dst);
    return 1;
}

json_t *worker_end_json(worker_end *e)
{
    if (e->rec == NULL)
        e->rec = record_flow_geo(e->f, e->reason, e->sensor, e->src, e->dst);
    return e->rec;
}

const char *worker_end_line(worker_end *e, size_t *len)
{
    if (e->line == NULL && worker_end_json(e) != NULL)
        e->line = record_line(e->rec, &e->len);
    *len = e->len;
    return e->line;
}

static void worker_on_end(void *ctx, flow *f, int reason, int final)
{
    worker *w = ctx;

    if (f->pkts[0] + f->pkts[1] > 0) {
        dpi_finish(w->dpi, f);
        worker_geo_refresh(w); /* a reload's control rules apply from this record on */
        roles_update(&w->roles, f);
        session_update(f);
        geo_party src, dst;
        int geo = worker_parties(w, f, &src, &dst);
        worker_end e = {.f = f,
                        .reason = reason,
                        .src = geo ? &src : NULL,
                        .dst = geo ? &dst : NULL,
                        .geo = w->geo,
                        .sensor = w->cfg.sensor};
        for (unsigned i = 0; i < w->cfg.nsinks; i++)
            w->cfg.sinks[i].fn(w->cfg.sinks[i].ctx, &e);
        free(e.line);
        json_decref(e.rec);
        turns_record_done(f);
    }
    if (final) {
        if (f == w->last)
            w->last = NULL;
        dpi_release(f);
        timing_release(f);
        turns_release(f);
        flow_release(f);
    }
}

worker *worker_new(const worker_config *cfg, char *err, size_t errlen)
{
    worker *w = calloc(1, sizeof(*w));

    if (w == NULL) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    w->cfg = *cfg;
    if (!cfg->dpi_later && (w->dpi = dpi_new(err, errlen)) == NULL) {
        free(w);
        return NULL;
    }
    w->kinds = roles_kinds_new();
    w->table = flow_table_new(&cfg->table, worker_on_end, w);
    w->cache = geo_cache_new(cfg->geo_cache_entries);
    if (w->table == NULL || w->cache == NULL || w->kinds == NULL) {
        if (w->table == NULL)
            snprintf(err, errlen, "out of memory for a flow table of %u flows",
                     cfg->table.max_flows);
        worker_free(w);
        return NULL;
    }
    return w;
}

static void worker_packet(worker *w, const capture_rec *rec)
{
    packet pkt, *p = &pkt;
    flow_key k;

    capture_rec_packet(rec, p);
    if (w->geo == NULL) /* the control rules come with the first snapshot */
        worker_geo_refresh(w);
    /* A packet of the last packet's flow (a third of gpu-fleet's: the
     * segments of a transfer come in trains) is found without building
     * its key, hashing it and walking a bucket; with the check every
     * packet pays, 4% of the worker's instructions there
     * (docs/performance.md, "Seventh round"). w->last is cleared when its
     * flow ends (worker_on_end). */
    int side = w->last ? flow_key_side(&w->last->key, p) : -1;
    int keyed = side < 0;
    uint64_t hash = 0;
    flow *f = w->last;
    if (keyed) {
        side = flow_key_make(&k, p);
        hash = flow_key_hash(&k);
        f = flow_table_find(w->table, hash, &k);
    }
    if (f)
        f = flow_table_check(w->table, f, p->ts_us);
    if (f && flow_is_reopened(f, p)) {
        flow_table_end(w->table, f, (f->tcp & FLOW_TCP_RST) ? FLOW_END_RST : FLOW_END_FIN);
        f = NULL;
    }
    if (f == NULL) {
        if (!keyed) {
            side = flow_key_make(&k, p);
            hash = flow_key_hash(&k);
        }
        f = flow_table_create(w->table, hash, &k, p, side);
    }
    w->last = f;
    flow_update(f, p, side);
    flow_table_touched(w->table, f);
    int dir = flow_dir(f, side);
    if (p->payload_len > 0) {
        session_packet(f, p, dir);
        udpctl_packet(f, p, dir);
    }
    if (roles_wants(f, p, dir))
        roles_packet(&w->roles, f, p, dir);
    if (fep_wants(f, p, dir))
        fep_packet(f, p, dir);
    /* The control kind is settled as soon as inspection has its facts, so
     * that timing can drop bulk flows that are not control sessions. */
    if (dpi_wants(f, p) && dpi_packet(w->dpi, f, p)) {
        roles_update(&w->roles, f);
        worker_turns_check(w, f);
    }
    if (turns_wants(f, p, dir))
        turns_packet(f, p);
    if (timing_wants(f, p))
        timing_packet(f, p, dir);
}

void worker_process(worker *w, capture_rec *rec)
{
    if (rec->now_us > w->now_us)
        w->now_us = rec->now_us;
    switch (rec->kind) {
    case CAPTURE_REC_PACKET:
        worker_packet(w, rec);
        break;
    case CAPTURE_REC_TICK:
        worker_geo_refresh(w); /* lets go of a replaced snapshot even when idle */
        flow_table_expire(w->table, w->now_us);
        break;
    case CAPTURE_REC_END:
        flow_table_flush(w->table, rec->now_us, FLOW_END_EOF);
        break;
    }
    /* after the records this one ended went to the sinks (worker_clock_us) */
    atomic_store_explicit(&w->done_us, w->now_us, memory_order_release);
}

uint64_t worker_clock_us(const worker *w)
{
    return atomic_load_explicit(&w->done_us, memory_order_acquire);
}

static void *worker_main(void *arg)
{
    worker *w = arg;
    size_t len;
    capture_rec *rec;
    char name[16];

    snprintf(name, sizeof(name), "lh-worker%u", w->cfg.id);
    pthread_setname_np(pthread_self(), name);
    while ((rec = ring_peek(w->cfg.in, &len, 1)) != NULL) {
        worker_process(w, rec);
        ring_release(w->cfg.in);
    }
    /* after the end record every flow has ended: nDPI's module goes now,
     * while the sensor waits for Redis, not at its exit */
    if (STAT_GET(flow_table_get_stats(w->table)->active) == 0)
        dpi_drop_module(w->dpi);
    return NULL;
}

void worker_set_dpi(worker *w, dpi *d)
{
    dpi_free(w->dpi);
    w->dpi = d;
}

int worker_start(worker *w)
{
    if (w->dpi == NULL || pthread_create(&w->thread, NULL, worker_main, w) != 0)
        return -1;
    w->started = 1;
    return 0;
}

void worker_join(worker *w)
{
    if (w->started) {
        pthread_join(w->thread, NULL);
        w->started = 0;
    }
}

void worker_free(worker *w)
{
    if (w == NULL)
        return;
    worker_join(w);
    flow_table_free(w->table);
    dpi_free(w->dpi);
    roles_table_clear(&w->roles);
    roles_kinds_free(w->kinds);
    geo_snapshot_unref(w->geo);
    geo_cache_free(w->cache);
    free(w);
}

const flow_table_stats *worker_flow_stats(const worker *w)
{
    return flow_table_get_stats(w->table);
}

const dpi_stats *worker_dpi_stats(const worker *w)
{
    return dpi_get_stats(w->dpi);
}

const geo_cache_stats *worker_geo_stats(const worker *w)
{
    return geo_cache_get_stats(w->cache);
}

void worker_stats_describe(const worker *w, json_t *o)
{
    flow_table_stats_describe(flow_table_get_stats(w->table), o);
    dpi_stats_describe(dpi_get_stats(w->dpi), o);
    geo_cache_stats_describe(geo_cache_get_stats(w->cache), o);
}
