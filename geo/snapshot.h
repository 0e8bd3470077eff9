/* snapshot.h -- everything geo/ knows, as one immutable, swappable unit.
 *
 * A geo_snapshot bundles the MaxMind databases, the indicator tables and
 * the GPU inventory that were loaded together, and answers the one
 * question a flow record asks of each party: who is this address
 * (country, AS, organisation, category) and is it a GPU host (by the
 * inventory, or by a provider range or provider AS)?
 *
 * Reload (SIGHUP) builds a whole new snapshot outside the packet path and
 * publishes it in the geo_holder. Workers keep using the snapshot they
 * hold, and at their next record notice the holder's generation moved
 * and take the new one: one relaxed atomic load per record, a mutex only
 * when a swap actually happens. A snapshot is freed when its last holder
 * lets go, so a worker never sees tables disappear under a lookup, and
 * no flow is touched by a reload. A failed load leaves the old snapshot
 * published.
 *
 * Ownership: snapshots are reference counted. geo_snapshot_load() returns
 * one reference; geo_holder_publish() takes it over; geo_holder_refresh()
 * gives the worker its own reference and drops the one it had. Strings in
 * a geo_party point into the snapshot and live as long as the reference.
 */
#ifndef LOOPHOLE_SNAPSHOT_H
#define LOOPHOLE_SNAPSHOT_H

#include <stddef.h>
#include <stdint.h>

#include "geo.h"
#include "indicators.h"
#include "inventory.h"

enum geo_gpu_source {
    GEO_GPU_NONE = 0,
    GEO_GPU_INVENTORY, /* listed in the operator's inventory */
    GEO_GPU_PROVIDER,  /* in a network or AS whose category is gpu_cloud */
};

typedef struct geo_party {
    geo_info info;
    const char *category; /* special-range label, network or AS category; NULL unknown */
    int gpu;              /* enum geo_gpu_source */
    const char *provider, *region, *sku, *tenant; /* GPU host details; NULL unknown */
} geo_party;

/* The tables of a snapshot; the [geo] keys that name them are rows of
 * geo/snapshot_config.c. */
typedef struct geo_snapshot_config {
    const char *const *dbs; /* .mmdb files in order; may be empty */
    int ndbs;
    const char *indicators_dir; /* NULL = no indicator tables */
    const char *inventory;      /* NULL = no inventory */
} geo_snapshot_config;

struct setting_key; /* base/setting.h */

/* The rows of the [geo] keys, with offsets into geo_snapshot_config; *n
 * is set to their number. Static storage. */
const struct setting_key *geo_snapshot_settings(size_t *n);

typedef struct geo_snapshot geo_snapshot;

/* Loads every file the config names. Returns a snapshot holding one
 * reference, or NULL with the file (and line) at fault in err. */
geo_snapshot *geo_snapshot_load(const geo_snapshot_config *c, char *err, size_t errlen);

void geo_snapshot_ref(geo_snapshot *s);
void geo_snapshot_unref(geo_snapshot *s); /* NULL is a no-op */

/* Set when the snapshot is published; 0 before. Caches key on it. */
uint64_t geo_snapshot_generation(const geo_snapshot *s);

/* The uncached answer for one address (see geo_cache for the cached one).
 * Special ranges are not looked up in the databases, but the inventory is
 * still asked: a fleet often sits on private addresses. */
void geo_snapshot_describe(const geo_snapshot *s, const pkt_addr *a, geo_party *out);

const indicators *geo_snapshot_indicators(const geo_snapshot *s); /* may be NULL */
const inventory *geo_snapshot_inventory(const geo_snapshot *s);   /* may be NULL */

/* The shared slot workers read the current snapshot from. */
typedef struct geo_holder geo_holder;

geo_holder *geo_holder_new(void);

/* Drops the holder's reference; workers must have let go of theirs. */
void geo_holder_free(geo_holder *h);

/* Makes s current (taking over the caller's reference) and releases the
 * previous one. Call from one thread (the sensor's control thread). */
void geo_holder_publish(geo_holder *h, geo_snapshot *s);

/* Brings *mine up to date: when the holder has published a newer
 * snapshot, *mine gets a reference to it and the old one is released.
 * *mine may be NULL (nothing held yet) and stays NULL while nothing was
 * published. Lock-free unless a swap is needed. */
void geo_holder_refresh(geo_holder *h, geo_snapshot **mine);

#endif
