/* worker.h -- one analysis thread: its ring in, flow records out.
 *
 * A worker owns a shard of the flows (all flows whose key hashes to it),
 * a flow table, and an nDPI context. It takes records from its ring in
 * capture order: packets update their flow and go through inspection while
 * it runs; ticks move its clock and expire idle flows; the end record
 * flushes every flow. Each record that ends goes, with the geo answers of
 * both ends, to the worker's sinks in their order (app/sensor.c wires
 * them: the flows file, the Redis stream, the graph, the rules); the
 * worker does not know what they do.
 *
 * Records are enriched with geo answers when the worker has a geo holder:
 * the worker keeps a reference to the current geo snapshot and a private
 * cache, and picks up a reloaded snapshot at its next record or tick.
 * The control-session rules (controls.csv) come with the snapshot: the
 * worker copies them when it takes one, and without a geo holder it has
 * none (no flow is a control session).
 *
 * Nothing in a worker is shared with another worker; what a sink shares
 * between workers (an output file, the graph) locks on its own.
 */
#ifndef LOOPHOLE_WORKER_H
#define LOOPHOLE_WORKER_H

#include <jansson.h>
#include <stddef.h>

#include "base/ring.h"
#include "dpi.h"
#include "flow_table.h"
#include "geo/cache.h"

/* A record that ended, as a sink sees it. The record's JSON is built at
 * most once, by the first sink that asks (worker_end_json/_line). */
typedef struct worker_end {
    const flow *f;
    int reason;                 /* FLOW_END_* */
    const geo_party *src, *dst; /* client and server; NULL without geo data */
    const geo_snapshot *geo;    /* the worker's snapshot, or NULL */
    const char *sensor;         /* for the record */
    json_t *rec;                /* private: built on demand */
    char *line;
    size_t len;
} worker_end;

/* The flow record (docs/flow-records.md) as JSON, borrowed until the sink
 * returns; NULL when out of memory. */
json_t *worker_end_json(worker_end *e);

/* The same record as one compact line without the newline, borrowed;
 * NULL when out of memory. */
const char *worker_end_line(worker_end *e, size_t *len);

/* A consumer of ended records, called on the worker's thread. */
typedef struct worker_sink {
    void (*fn)(void *ctx, worker_end *e);
    void *ctx;
} worker_sink;

#define WORKER_MAX_SINKS 8

typedef struct worker_config {
    unsigned id;
    ring *in; /* borrowed */
    flow_table_config table;
    const char *sensor;                  /* borrowed */
    geo_holder *geo;                     /* borrowed; NULL = no enrichment */
    unsigned geo_cache_entries;          /* per-worker geo cache size; 0 = no cache */
    worker_sink sinks[WORKER_MAX_SINKS]; /* called in this order */
    unsigned nsinks;
    int dpi_later; /* worker_set_dpi() gives the nDPI context, not worker_new() */
} worker_config;

typedef struct worker worker;

/* Creates a worker and its nDPI context (none with cfg->dpi_later). Call
 * from one thread at a time. Returns NULL with a message in err. */
worker *worker_new(const worker_config *cfg, char *err, size_t errlen);

/* Gives a worker made with dpi_later its nDPI context (owned from now),
 * before worker_start(): the sensor builds the modules on a thread of its
 * own while it starts the rest (app/sensor.c). */
void worker_set_dpi(worker *w, dpi *d);

/* Handles one ring record (packet, tick or end) on the calling thread:
 * the thread's loop body, exported so that the fuzz harness drives the
 * real packet path of a worker that was never started. */
struct capture_rec;
void worker_process(worker *w, struct capture_rec *rec);

/* Starts the thread. Returns 0, or -1 when it could not be created (or
 * the worker has no nDPI context yet). The thread releases the nDPI
 * module once its last flow has ended (dpi_drop_module()). */
int worker_start(worker *w);

/* Waits for the thread to drain its ring and finish. */
void worker_join(worker *w);
void worker_free(worker *w);

/* Describes the counters of the worker's flow table, inspection and geo
 * cache into o (base/counters.h); every worker's add up. */
void worker_stats_describe(const worker *w, json_t *o);

/* The worker's packet clock (us), published once everything the ring
 * records up to it caused has reached the sinks: a flow record ended later
 * has packets from no earlier than this minus the active timeout
 * (analyze/flow_table.h). 0 before the first record. Any thread. */
uint64_t worker_clock_us(const worker *w);

const flow_table_stats *worker_flow_stats(const worker *w);
const dpi_stats *worker_dpi_stats(const worker *w);
const geo_cache_stats *worker_geo_stats(const worker *w);

#endif
