/* cache.c -- the per-worker geo answer cache (see cache.h).
 *
 * Sets of two ways; a hit in the second way swaps it to the front, so the
 * older of the two is the one replaced (LRU within the set). The set index
 * is a hash of the 16-byte address: IPv4 addresses differ only in their
 * last four bytes, so the bytes are mixed rather than taken as they are.
 */
#include "cache.h"

#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#include "base/counters.h"
#include "base/stats.h"

typedef struct geo_cache_entry {
    pkt_addr addr;
    uint64_t generation; /* 0 = empty */
    geo_party party;
} geo_cache_entry;

struct geo_cache {
    geo_cache_entry *entries; /* nsets * 2 */
    uint32_t mask;            /* nsets - 1 */
    geo_cache_stats stats;
};

geo_cache *geo_cache_new(unsigned entries)
{
    geo_cache *c = calloc(1, sizeof(*c));
    uint32_t sets = 1;

    if (c == NULL || entries == 0)
        return c;
    while (sets * 2 < entries && sets < (1u << 24))
        sets <<= 1;
    if ((c->entries = calloc((size_t)sets * 2, sizeof(*c->entries))) == NULL) {
        free(c);
        return NULL;
    }
    c->mask = sets - 1;
    return c;
}

void geo_cache_free(geo_cache *c)
{
    if (c == NULL)
        return;
    free(c->entries);
    free(c);
}

void geo_cache_lookup(geo_cache *c, const geo_snapshot *s, const pkt_addr *a, geo_party *out)
{
    uint64_t gen = geo_snapshot_generation(s);

    if (c->entries == NULL) {
        STAT_ADD(c->stats.misses, 1);
        geo_snapshot_describe(s, a, out);
        return;
    }
    geo_cache_entry *set = &c->entries[(XXH3_64bits(a->b, 16) & c->mask) * 2];
    for (int way = 0; way < 2; way++) {
        if (set[way].generation == gen && memcmp(&set[way].addr, a, sizeof(*a)) == 0) {
            STAT_ADD(c->stats.hits, 1);
            *out = set[way].party;
            if (way == 1) {
                geo_cache_entry t = set[0];
                set[0] = set[1];
                set[1] = t;
            }
            return;
        }
    }
    STAT_ADD(c->stats.misses, 1);
    geo_snapshot_describe(s, a, out);
    set[1] = set[0];
    set[0].addr = *a;
    set[0].generation = gen;
    set[0].party = *out;
}

const geo_cache_stats *geo_cache_get_stats(const geo_cache *c)
{
    return &c->stats;
}

void geo_cache_stats_describe(const geo_cache_stats *gs, json_t *o)
{
    counters_add(o, "geo_cache_hits", STAT_GET(gs->hits));
    counters_add(o, "geo_cache_misses", STAT_GET(gs->misses));
}
