/* cache.h -- a worker's cache of geo answers, in front of the snapshot.
 *
 * Traffic repeats its addresses: a flow record asks about both ends, and
 * most ends recur (the GPU hosts, the resolvers, the clients). The cache
 * keeps whole answers (geo_party: databases, indicators and inventory
 * together) in a 2-way set-associative table keyed by address and
 * snapshot generation, so a reload invalidates every entry without a
 * sweep: entries of an older generation simply never match.
 *
 * Ownership: the worker owns its cache; it is never shared, so it has no
 * locks. Answers copied out of it point into the snapshot they came from;
 * the caller must hold that snapshot.
 */
#ifndef LOOPHOLE_GEO_CACHE_H
#define LOOPHOLE_GEO_CACHE_H

#include <jansson.h>
#include <stdatomic.h>
#include <stdint.h>

#include "snapshot.h"

/* Written by the owning worker only; other threads read them with
 * STAT_GET (base/stats.h). */
typedef struct geo_cache_stats {
    _Atomic uint64_t hits, misses;
} geo_cache_stats;

/* Describes the counters into o (base/counters.h): geo_cache_hits,
 * geo_cache_misses. */
void geo_cache_stats_describe(const geo_cache_stats *gs, json_t *o);

typedef struct geo_cache geo_cache;

/* A cache of about `entries` answers (rounded up to a power of two, at
 * least 2); 0 gives a cache that never hits, for measurements. NULL when
 * out of memory. */
geo_cache *geo_cache_new(unsigned entries);
void geo_cache_free(geo_cache *c);

/* The answer for a from snapshot s, from the cache or computed and
 * stored. */
void geo_cache_lookup(geo_cache *c, const geo_snapshot *s, const pkt_addr *a, geo_party *out);

const geo_cache_stats *geo_cache_get_stats(const geo_cache *c);

#endif
