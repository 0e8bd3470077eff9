/* worker.h -- one analysis thread: its ring in, flow records out.
 *
 * A worker owns a shard of the flows (all flows whose key hashes to it),
 * a flow table, and an nDPI context. It takes records from its ring in
 * capture order: packets update their flow and go through inspection while
 * it runs; ticks move its clock and expire idle flows; the end record
 * flushes every flow. Each record that ends is written as a JSON line to
 * the flow output, when there is one.
 *
 * Records are enriched with geo answers when the worker has a geo holder:
 * the worker keeps a reference to the current geo snapshot and a private
 * cache, and picks up a reloaded snapshot at its next record or tick.
 *
 * Nothing in a worker is shared with another worker; the flow output is
 * the one shared object, and it locks per line.
 */
#ifndef LOOPHOLE_WORKER_H
#define LOOPHOLE_WORKER_H

#include <stddef.h>

#include "base/ring.h"
#include "app/graph.h"
#include "base/output.h"
#include "dpi.h"
#include "flow_table.h"
#include "geo/cache.h"
#include "rules/detect.h"
#include "rules/event.h"

typedef struct worker_config {
    unsigned id;
    ring *in; /* borrowed */
    flow_table_config table;
    const char *sensor;         /* borrowed */
    output *flows;              /* borrowed; NULL when flow records are off */
    geo_holder *geo;            /* borrowed; NULL = no enrichment */
    unsigned geo_cache_entries; /* per-worker geo cache size; 0 = no cache */
    event_queue *events;        /* borrowed; this worker's queue to the Redis writer */
    int redis_flows;            /* flow records also go to Redis as events */
    const detect_config *rules; /* borrowed; thresholds and countries of the
                                   detection rules; NULL = no detection */
    graph *graph;               /* borrowed; NULL = no --graph; shared by every worker */
} worker_config;

typedef struct worker worker;

/* Creates a worker and its nDPI context. Call from one thread at a time.
 * Returns NULL with a message in err. */
worker *worker_new(const worker_config *cfg, char *err, size_t errlen);

/* Handles one ring record (packet, tick or end) on the calling thread:
 * the thread's loop body, exported so that the fuzz harness drives the
 * real packet path of a worker that was never started. */
struct capture_rec;
void worker_process(worker *w, struct capture_rec *rec);

/* Starts the thread. Returns 0, or -1 when it could not be created. */
int worker_start(worker *w);

/* Waits for the thread to drain its ring and finish. */
void worker_join(worker *w);
void worker_free(worker *w);

const flow_table_stats *worker_flow_stats(const worker *w);
const dpi_stats *worker_dpi_stats(const worker *w);
const geo_cache_stats *worker_geo_stats(const worker *w);

#endif
