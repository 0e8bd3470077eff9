/* graph.h -- the picture of a run: who reached which GPU host through whom,
 * and where the GPU hosts sent data, as a Graphviz DOT file (--graph).
 *
 * Data enters as finished flow records (the JSON objects of interface.md
 * section 3, built by the workers): graph_add_flow() keeps the flows that
 * touch a GPU host (roles gpu_src / gpu_dst) or that carry a control or
 * relay-leg role, and aggregates them into nodes (one per address, with
 * country, AS and category) and edges (one per opener, responder and
 * protocol, with sessions and bytes). graph_write_dot() writes the whole at
 * the end of the run, nodes in columns: end users, intermediaries and
 * relays, GPU hosts, egress destinations.
 *
 * What a node is (graph_node_kind) is decided at writing time from what
 * the node did over the whole run, so the output does not depend on the
 * order in which workers finish flows, nor on the number of workers.
 *
 * Memory is bounded: at most max_nodes nodes and max_edges edges. A flow
 * that would need one more is not drawn; such flows and their bytes are
 * counted, the DOT file says so in its label, and graph_get_stats() lets
 * the sensor warn. Which flows are left out past the cap depends on
 * arrival order.
 *
 * Threads: graph_add_flow() from any worker (one mutex, taken once per
 * flow record); graph_write_dot() and graph_free() from the main thread
 * after the workers are joined.
 */
#ifndef LOOPHOLE_GRAPH_H
#define LOOPHOLE_GRAPH_H

#include <jansson.h>
#include <stddef.h>
#include <stdio.h>
#include <stdint.h>

#define GRAPH_DEFAULT_MAX_NODES 10000
#define GRAPH_DEFAULT_MAX_EDGES 50000

typedef struct graph_config {
    unsigned max_nodes, max_edges; /* 0 = the defaults above */
    /* relay countries ([countries] relay) and China ([countries] china),
     * for the fill colours; borrowed, two-letter codes */
    const char (*china)[3];
    int nchina;
    const char (*relay)[3];
    int nrelay;
} graph_config;

typedef struct graph_stats {
    uint64_t flows;         /* flow records drawn */
    uint64_t flows_skipped; /* past the cap: not drawn */
    uint64_t bytes_skipped;
    unsigned nodes, edges;
} graph_stats;

/* What a node is in the picture; the columns, left to right. */
typedef enum graph_kind {
    GRAPH_END_USER = 0,
    GRAPH_RELAY,    /* an intermediary or relay in front of GPU hosts */
    GRAPH_GPU_HOST, /* a GPU host (inventory, provider range or behaviour) */
    GRAPH_EGRESS,   /* a destination GPU hosts sent data to */
    GRAPH_NKINDS
} graph_kind;

typedef struct graph graph;

/* NULL when out of memory. The country lists must outlive the graph. */
graph *graph_new(const graph_config *cfg);

/* Adds one flow record (borrowed). Thread-safe. Records that touch no GPU
 * host and carry no control or relay-leg role are ignored. */
void graph_add_flow(graph *g, const json_t *record);

/* Writes the DOT file. Returns 0, or -1 with a message naming path. */
int graph_write_dot(graph *g, const char *path, char *err, size_t errlen);

/* The same into f, opened by the caller (before a privilege drop, say);
 * f is closed in every case. path names the file in messages. */
int graph_write_dot_file(graph *g, FILE *f, const char *path, char *err, size_t errlen);

graph_stats graph_get_stats(graph *g);

/* "end_user", "relay", "gpu_host", "egress". */
const char *graph_kind_name(graph_kind k);

void graph_free(graph *g);

#endif
