/* flow_table.h -- one worker's bounded table of live flows.
 *
 * The table owns the flows of one worker: it finds them by key, creates
 * them, and ends them. Every end goes through one callback, so a flow
 * record is written exactly once per record whatever ended it.
 *
 * Time is packet time. A flow ends at the earliest of its deadlines:
 *   closed (FIN both ways, or RST) + close linger   -> fin / rst
 *   last packet + idle timeout                      -> idle
 *   start of its record + active timeout            -> active (the record
 *       is written and the flow goes on in a fresh record, same direction)
 * Because the deadline and its reason depend only on the flow, it makes no
 * difference whether a deadline is noticed by the periodic sweep or by the
 * flow's next packet: the same records come out, whatever the number of
 * workers and however the sweeps fall.
 *
 * The table never holds more than `max_flows` flows. When a new flow meets
 * a full table, the oldest flow whose TCP connection has closed is evicted,
 * or else the flow idle the longest; its record ends with `evicted` and the
 * eviction is counted.
 *
 * Memory: flows come from slabs owned by the table and return to a free
 * list; the bucket array is sized once, so the packet path never rehashes.
 */
#ifndef LOOPHOLE_FLOW_TABLE_H
#define LOOPHOLE_FLOW_TABLE_H

#include <jansson.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "flow.h"

/* Called for every end of a record. `final` is 1 when the flow is about
 * to be freed (the callback releases what the flow owns), 0 for an active
 * timeout cut, after which the flow lives on. Records without packets
 * (a flow that was cut and then saw nothing) arrive with final 1 too; the
 * callback writes no record for them. */
typedef void (*flow_table_end_fn)(void *ctx, flow *f, int reason, int final);

/* The table's limits; the keys that set them are rows of
 * analyze/flow_table_config.c. */
typedef struct flow_table_config {
    uint32_t max_flows;
    uint64_t idle_us;
    uint64_t active_us;
    uint64_t linger_us; /* how long a closed TCP flow keeps its late packets */
} flow_table_config;

struct setting_key; /* base/setting.h */

/* The rows of the flow table's keys, with offsets into flow_table_config;
 * *n is set to their number. Static storage. */
const struct setting_key *flow_table_settings(size_t *n);

/* Sets what no key sets (linger_us) in the flow_table_config at cfg; the
 * rows' defaults come after. */
void flow_table_config_init(void *cfg);

typedef struct flow_table_stats {
    _Atomic uint64_t active;
    _Atomic uint64_t created;
    _Atomic uint64_t ended[FLOW_END_MAX]; /* records by end reason */
} flow_table_stats;

/* Describes the counters into o (base/counters.h): flows_active,
 * flows_total, flows_evicted, flow_records by end reason. */
void flow_table_stats_describe(const flow_table_stats *fs, json_t *o);

typedef struct flow_table flow_table;

flow_table *flow_table_new(const flow_table_config *cfg, flow_table_end_fn on_end, void *ctx);

/* Frees the table and its flows without calling the callback: flush first. */
void flow_table_free(flow_table *t);

flow *flow_table_find(flow_table *t, uint64_t hash, const flow_key *k);

/* Applies every deadline of f that passed before t_us. Returns f, or NULL
 * when f ended and was freed. */
flow *flow_table_check(flow_table *t, flow *f, uint64_t t_us);

/* Creates the flow of packet p (sent by key side `side`), evicting one if
 * the table is full. Never fails. */
flow *flow_table_create(flow_table *t, uint64_t hash, const flow_key *k, const packet *p, int side);

/* Tells the table that f has just counted a packet. */
void flow_table_touched(flow_table *t, flow *f);

/* Ends f now, for `reason`, and frees it. */
void flow_table_end(flow_table *t, flow *f, int reason);

/* Ends every flow with a deadline before now_us. Cheap when nothing is due. */
void flow_table_expire(flow_table *t, uint64_t now_us);

/* Ends every flow: closed TCP flows and those with a deadline before
 * now_us for their own reason, all others for `reason`. */
void flow_table_flush(flow_table *t, uint64_t now_us, int reason);

/* Calls fn(ctx, f) for every live flow, least recently active first. fn
 * may change the flow's analysis state, never end or create flows. */
void flow_table_each(flow_table *t, void (*fn)(void *ctx, flow *f), void *ctx);

const flow_table_stats *flow_table_get_stats(const flow_table *t);

#endif
