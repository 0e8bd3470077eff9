/* event.h -- what workers hand to the Redis writer: observations, alerts,
 * flow records, counters.
 *
 * An event is a finished Redis command (FCALL lh_observe / lh_raise, XADD,
 * HSET) encoded as binary-safe arguments: {u32 kind, u32 argc, argc x u32
 * length, the bytes}. Wire strings travel only as such arguments, never
 * inside a command or script text. The same bytes go through the queue, into
 * the journal and onto the connection, so a replayed event is the event.
 *
 * Each producer thread (every worker, and the main thread for counters) owns
 * one event_queue: a bounded SPSC ring (base/ring.h) to the writer thread.
 * Producers never wait on Redis. When the writer falls behind by a whole
 * queue, an offline replay waits for it (the file can wait, and dropping
 * would change the results); live capture drops the event and counts it in
 * `dropped`, which the sensor reports on stderr and in lh:stats.
 *
 * Every event carries an id unique to the sensor and the run
 * ("sensor/run/queue/seq"), which the functions library uses to make a
 * resent call idempotent (rules/lua/, "Exactly once").
 *
 * Thread rules: event_* producers from the queue's one producer thread;
 * event_queue_peek/release from the writer thread only.
 */
#ifndef LOOPHOLE_REDIS_EVENT_H
#define LOOPHOLE_REDIS_EVENT_H

#include <jansson.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#define EVENT_MAX_ARGS  128
#define EVENT_MAX_BYTES (4u << 20) /* one event, all arguments */

enum event_kind {
    EVENT_CALL = 1, /* FCALL into the functions library: the reply carries alerts */
    EVENT_PLAIN = 2 /* XADD, HSET: the reply is checked for errors only */
};

/* What every producer of one sensor shares; the strings are borrowed and
 * must outlive the queues. */
typedef struct event_context {
    const char *prefix;     /* "lh:" */
    const char *sensor;     /* sensor name, in event ids and lh:stats:<sensor> */
    uint64_t run_id;        /* distinguishes runs: wall-clock start in us */
    uint64_t stream_maxlen; /* MAXLEN ~ of every XADD; 0 = no cap */
    uint64_t alert_keep_s;  /* wall-clock life of an alert's dedup key, at
                               least its window's (event_ttl_s) */
    int cluster;            /* Redis Cluster: calls name one key (event.c) */
} event_context;

typedef struct event_queue event_queue;

/* A queue of `bytes` (at least 64 KiB; rounded up to a power of two).
 * wait = 1: producers wait when it is full; 0: they drop and count. */
event_queue *event_queue_new(const event_context *ctx, unsigned id, size_t bytes, int wait);
void event_queue_free(event_queue *q);

/* An alert a rule decided on. Strings are borrowed; evidence (a JSON
 * array of the sensor's own items) and the parties gpu_host, peer and
 * intermediary (JSON objects) are borrowed and may be NULL (no item, no
 * such party). The library builds the alert line from them
 * (rules/lua/05_line.lua). host is NULL or a NULL-terminated list of
 * name, value, name, value... for lh:host:<ip> (gpu_source, provider,
 * tenant, country, asn, as_org). */
typedef struct event_alert {
    const char *rule, *severity, *role, *ip, *summary;
    int score;          /* added to the entity's risk, capped at 100 */
    uint64_t ts_us;     /* packet time of the alert */
    uint64_t window_us; /* raised once per (rule, entity, window) */
    json_t *evidence;
    json_t *gpu_host, *peer, *intermediary;
    const char *const *host;
} event_alert;

/* An observation: entity saw value (any bytes) of kind at packet time ts_us.
 * approx = 0 counts exactly (sorted set), 1 approximately (HyperLogLog).
 * When threshold > 0 and the window's distinct count reaches it, alert is
 * raised (alert->ts_us and alert->window_us are taken from here). */
typedef struct event_observation {
    const char *entity, *kind;
    const char *value;
    size_t value_len;
    uint64_t ts_us, window_us;
    int approx;
    uint32_t cap;       /* exact sets stop growing here; 0 = 10000 */
    uint32_t threshold; /* 0 = count only */
    const event_alert *alert;
    /* Optional evidence item (a JSON object, e.g. detect_evidence()),
     * kept by the library per (entity, kind, window): the evidence of the
     * alert it raises (send the alert's own evidence empty then). NULL =
     * none. */
    const char *evidence;
    size_t evidence_len;
    /* Optional second condition of the alert: the window must also hold a
     * value that qualifies (e.g. a controller in China among the
     * networks). need = 1: this value qualifies; -1: it does not; 0: no
     * such condition. Both parts only grow, so whichever value arrives
     * last raises, in any order. */
    int need;
} event_observation;

/* Bytes toward member (a destination network) in the window of ts_us,
 * added once (lh_sum). flag = 1: the destination counts by itself;
 * otherwise only when member is in the entity's gate set gate_kind
 * (recorded with event_gate) of the gate window. Raised once per (rule,
 * entity, member, window) when the sum reaches threshold; the kept
 * evidence (the largest items by bytes) is its evidence. `fact` names what
 * the bytes are (the flow record: both ends, the flow's and the record's
 * first packet); with the sensor name it is the identity the library adds
 * once, so a replay of the same capture adds nothing. */
typedef struct event_sum {
    const char *entity, *kind, *member;
    const char *fact;
    uint64_t bytes;
    int flag;
    uint64_t ts_us, window_us;
    uint64_t threshold;    /* 0 = sum only */
    const char *gate_kind; /* NULL or "" = flag only */
    uint64_t gate_window_us;
    const char *evidence; /* optional item, as in event_observation */
    size_t evidence_len;
    const event_alert *alert;
} event_sum;

/* Records member in the entity's exact set kind (lh_gate) and raises the
 * sums of sum_kind for member that reached threshold in the sum windows
 * starting inside this window. */
typedef struct event_gate {
    const char *entity, *kind, *member;
    uint64_t ts_us, window_us;
    const char *sum_kind;
    uint64_t sum_window_us, threshold; /* 0 = record only */
    const event_alert *alert;
} event_gate;

/* One leg of a possible stepping stone through entity (lh_leg): dir "in"
 * or "out", leg a unique id of the flow, starts "t:pkts,..." ascending.
 * part is this leg's party, a JSON object (the peer of an "in" leg, the
 * GPU host of an "out" leg), lent to the alert of a pair when the inbound
 * leg's alert lacks it; item its evidence item. */
typedef struct event_leg {
    const char *entity, *dir, *leg, *starts, *part, *item;
    uint64_t ts_us, window_us, delta_us;
    uint32_t min_ratio_pct, min_run, min_match;
    const event_alert *alert;
} event_leg;

/* A session start of entity for a time-of-day profile (lh_hours): local
 * time is UTC + offset_s; hours_mask (24 chars) and days_mask (7,
 * Sunday first) mark the profile with '1'. Raised when min_in sessions
 * inside it fell on min_days distinct local days and, when fit_shift_h > 0,
 * the profile explains fit_margin_pct % more sessions than the same
 * profile moved by up to fit_shift_h whole hours either way. */
typedef struct event_hours {
    const char *entity, *session;
    uint64_t ts_us, window_us;
    int64_t offset_s;
    const char *hours_mask, *days_mask;
    uint32_t min_in, min_days;
    const char *evidence; /* optional item, kept when inside the profile */
    size_t evidence_len;
    uint32_t fit_margin_pct, fit_shift_h;
    const event_alert *alert;
} event_hours;

/* Producers. Return 0, or -1 when the event was dropped (queue full in
 * live mode, or larger than EVENT_MAX_BYTES): the queue counts it. */
int event_observe(event_queue *q, const event_observation *o);
int event_raise(event_queue *q, const event_alert *a);
int event_sum_add(event_queue *q, const event_sum *s);
int event_gate_add(event_queue *q, const event_gate *g);
int event_leg_add(event_queue *q, const event_leg *l);
int event_hours_add(event_queue *q, const event_hours *h);
/* A flow record line (record_flow_line) onto <prefix>flows. */
int event_flow(event_queue *q, const char *line, size_t len);
/* HSET <prefix>stats:<sensor> with n name/value pairs (kv[2n]). */
int event_stats(event_queue *q, const char *const *kv, int n);

/* Makes queued events visible to the writer now (end of input). */
void event_queue_flush(event_queue *q);
/* No more events from this producer. */
void event_queue_close(event_queue *q);

/* Counters (relaxed reads from any thread). */
uint64_t event_queue_enqueued(const event_queue *q);
uint64_t event_queue_dropped(const event_queue *q);

/* Describes the queue's drops into o as events_dropped (base/counters.h). */
void event_queue_stats_describe(const event_queue *q, json_t *o);

/* Writer side: the oldest event or NULL when none is queued (never
 * waits); release it after use. */
const void *event_queue_peek(event_queue *q, size_t *len);
void event_queue_release(event_queue *q);

/* A decoded event: pointers into the encoded bytes. */
typedef struct event_view {
    int kind, argc;
    const char *argv[EVENT_MAX_ARGS];
    size_t lens[EVENT_MAX_ARGS];
} event_view;

/* Encodes a command the writer makes itself (the next step of an alert
 * in a Redis Cluster) like a queued event, for the journal. Returns a
 * malloc'ed buffer, or NULL when it is too large or memory is short. */
void *event_encode(int kind, int argc, const char *const *argv, const size_t *lens, size_t *len);

/* Decodes (and bounds-checks: the bytes may come from a damaged journal)
 * an encoded event. Returns 0 or -1. */
int event_decode(const void *buf, size_t len, event_view *v);

/* One leg for the follow matcher (lh_follow, rules/lua/): dir
 * "in" with who = the inbound client, or "out" (who unused); starts are
 * the leg's request start times, up to 64, the first of an "out" leg its
 * connection's first packet. Raised when the window's clients whose
 * request an outbound start followed within lag_us, with no outbound
 * connection started in the lag before it, reach threshold
 * (alert->ts_us and window_us are taken from here). */
typedef struct event_follow {
    const char *entity, *dir, *who;
    const uint64_t *starts;
    int nstarts;
    uint64_t ts_us, window_us, lag_us;
    uint32_t cap;       /* start sets stop growing here; 0 = 10000 */
    uint32_t threshold; /* 0 = match only */
    const event_alert *alert;
} event_follow;

int event_follow_add(event_queue *q, const event_follow *fo);

/* A session of kind during [lo_us, hi_us] (lh_absent): alert NULL marks
 * the entity's windows that span touches; with an alert, raises it in the
 * window of ts_us unless one of those windows is marked. */
typedef struct event_absent {
    const char *entity, *kind;
    uint64_t ts_us, lo_us, hi_us, window_us;
    const event_alert *alert;
} event_absent;

int event_absent_add(event_queue *q, const event_absent *ab);

/* A flow toward a control service of GPU host `gpu` that never became a
 * session (lh_knock): its source address `src` and the source's network
 * `net` ("a.b.c.0/24", "x:y:z::/48") count one knock of `level`
 * ("probe" or "attempt"). */
typedef struct event_knock {
    const char *src, *net, *gpu, *level;
    uint64_t ts_us;
    const char *fact; /* the flow record knocking, counted once (as event_sum) */
} event_knock;

/* How long knock counts live without a new knock: the TTL of a day's
 * window, as the windowed keys of the library have. */
#define EVENT_KNOCK_KEEP_US (24ULL * 3600ULL * 1000000ULL)

int event_knock_add(event_queue *q, const event_knock *k);

#endif
