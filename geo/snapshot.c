/* snapshot.c -- loading, describing and swapping geo snapshots (see
 * snapshot.h).
 *
 * Why a mutex at all: taking a reference to the published pointer must be
 * atomic with reading it, or the publisher could free it in between. The
 * mutex is taken only when the generation moved, which is once per worker
 * per reload.
 */
#include "snapshot.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct geo_snapshot {
    _Atomic long refs;
    uint64_t generation;
    geo_db *db;
    indicators *ind;
    inventory *inv;
};

struct geo_holder {
    pthread_mutex_t lock;
    geo_snapshot *cur;
    _Atomic uint64_t generation;
};

geo_snapshot *geo_snapshot_load(const geo_snapshot_config *c, char *err, size_t errlen)
{
    geo_snapshot *s = calloc(1, sizeof(*s));

    if (s == NULL) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    atomic_init(&s->refs, 1);
    if ((s->db = geo_db_open(c->dbs, c->ndbs, err, errlen)) == NULL ||
        (c->indicators_dir &&
         (s->ind = indicators_load_dir(c->indicators_dir, err, errlen)) == NULL) ||
        (c->inventory && (s->inv = inventory_load(c->inventory, err, errlen)) == NULL)) {
        geo_snapshot_unref(s);
        return NULL;
    }
    return s;
}

void geo_snapshot_ref(geo_snapshot *s)
{
    atomic_fetch_add_explicit(&s->refs, 1, memory_order_relaxed);
}

void geo_snapshot_unref(geo_snapshot *s)
{
    if (s == NULL || atomic_fetch_sub_explicit(&s->refs, 1, memory_order_acq_rel) != 1)
        return;
    geo_db_free(s->db);
    indicators_free(s->ind);
    inventory_free(s->inv);
    free(s);
}

uint64_t geo_snapshot_generation(const geo_snapshot *s)
{
    return s->generation;
}

const indicators *geo_snapshot_indicators(const geo_snapshot *s)
{
    return s->ind;
}

const inventory *geo_snapshot_inventory(const geo_snapshot *s)
{
    return s->inv;
}

static void geo_snapshot_gpu(const geo_snapshot *s, const pkt_addr *a, const indicator *net,
                             geo_party *out)
{
    const inventory_entry *e = s->inv ? inventory_lookup(s->inv, a) : NULL;

    if (e) {
        out->gpu = GEO_GPU_INVENTORY;
        out->provider = e->provider;
        out->region = e->region;
        out->sku = e->sku;
        out->tenant = e->tenant;
    } else if (net && strcmp(net->category, INDICATOR_GPU_CLOUD) == 0) {
        out->gpu = GEO_GPU_PROVIDER;
        out->provider = net->name;
    }
}

void geo_snapshot_describe(const geo_snapshot *s, const pkt_addr *a, geo_party *out)
{
    const char *special = geo_special(a);
    const indicator *row = NULL;

    memset(out, 0, sizeof(*out));
    if (special) {
        out->category = special;
    } else {
        geo_db_lookup(s->db, a, &out->info);
        if (s->ind && (row = indicators_network(s->ind, a)) == NULL && out->info.asn)
            row = indicators_asn(s->ind, out->info.asn);
        out->category = row ? row->category : NULL;
    }
    geo_snapshot_gpu(s, a, row, out);
}

geo_holder *geo_holder_new(void)
{
    geo_holder *h = calloc(1, sizeof(*h));

    if (h && pthread_mutex_init(&h->lock, NULL) != 0) {
        free(h);
        return NULL;
    }
    return h;
}

void geo_holder_free(geo_holder *h)
{
    if (h == NULL)
        return;
    geo_snapshot_unref(h->cur);
    pthread_mutex_destroy(&h->lock);
    free(h);
}

void geo_holder_publish(geo_holder *h, geo_snapshot *s)
{
    geo_snapshot *old;

    pthread_mutex_lock(&h->lock);
    old = h->cur;
    s->generation = atomic_load_explicit(&h->generation, memory_order_relaxed) + 1;
    h->cur = s;
    atomic_store_explicit(&h->generation, s->generation, memory_order_release);
    pthread_mutex_unlock(&h->lock);
    geo_snapshot_unref(old);
}

void geo_holder_refresh(geo_holder *h, geo_snapshot **mine)
{
    uint64_t gen = atomic_load_explicit(&h->generation, memory_order_acquire);
    geo_snapshot *old = *mine;

    if (gen == 0 || (old && old->generation == gen))
        return;
    pthread_mutex_lock(&h->lock);
    *mine = h->cur;
    geo_snapshot_ref(*mine);
    pthread_mutex_unlock(&h->lock);
    geo_snapshot_unref(old);
}
