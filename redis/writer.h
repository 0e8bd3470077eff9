/* writer.h -- the Redis writer thread: event queues in, pipelined commands
 * out, alert lines to the alerts output, a journal for outages.
 *
 * One writer per sensor. It takes events from every producer's queue
 * (rules/event.h), sends them in pipelined batches (formatted by resp.c
 * and handed to hiredis at once, then one redisGetReply per command),
 * writes the alerts that FCALL replies carry to the alerts output, and
 * counts everything. Within a
 * batch, the library calls of one hash slot (every call, with one
 * server) go as one FCALL lh_batch (rules/lua/97_batch.lua), which runs
 * each as if it came alone and answers each one's reply; every slot's
 * commands keep their order. A count-only observation goes in a short
 * form, or merges into an earlier one of its window key and value in the
 * same lh_batch (writer.c, writer_obs).
 *
 * Outages: when a connect, a send or a reply fails or times out, the
 * unacknowledged rest of the batch and every later event go to the journal
 * (redis/journal.h) in order, and the writer reconnects with exponential
 * backoff (100 ms doubling to 5 s). After a reconnect it replays the
 * journal before any new event, so Redis sees events in queue order. A call
 * that ran but whose reply was lost is sent again; the functions library
 * answers it from its dedup record, so every alert is written once. Events
 * past the journal's bound are dropped, counted and reported.
 *
 * A Redis Cluster (a redis+cluster:// URL) is the same writer over
 * redis/cluster.h: each batch goes to the primaries that serve its keys, one
 * pipeline each; what a primary did not acknowledge (it died, the slot is
 * still moving) goes to the journal in order, and the map is read again
 * before the journal is replayed.
 *
 * Several sensors (cfg->peers): the writer publishes its delivered
 * watermark in `<prefix>watermarks`, reads its peers' there, and settles
 * only up to the lowest; at the end of a replay it publishes "done" and
 * waits for its peers, each until it is done or silent for
 * peer_timeout_us, before settling every window left (redis/peers.h).
 *
 * Threads: writer_new/start/stop/free from the main thread; the counters
 * from any thread; the queues' producers from their own threads.
 */
#ifndef LOOPHOLE_REDIS_WRITER_H
#define LOOPHOLE_REDIS_WRITER_H

#include <jansson.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "base/output.h"
#include "rules/event.h"
#include "url.h"

typedef void writer_report_fn(void *ctx, const char *msg);

/* Sees every alert line Redis returned, after it was written; called on
 * the writer's thread. */
typedef void writer_alert_fn(void *ctx, const char *line, size_t len);

typedef struct writer_config {
    const rurl *url;            /* borrowed */
    int timeout_ms;             /* connect and per-command timeout; 0 = 2000 */
    int batch;                  /* commands per pipeline; 0 = 256 */
    const char *journal_path;   /* borrowed */
    uint64_t journal_max_bytes; /* bound of the journal file */
    output *alerts;             /* borrowed; NULL = alerts are not written */
    event_queue **queues;       /* borrowed; the writer consumes them */
    unsigned nqueues;
    writer_report_fn *report; /* warnings and errors, one line each */
    void *report_ctx;
    writer_alert_fn *on_alert; /* NULL = none */
    void *alert_ctx;
    /* Sensors feeding the same windows (redis/peers.h); peers NULL or
     * blank: this sensor settles on its own watermark. */
    const char *sensor;       /* borrowed: this sensor's name */
    const char *prefix;       /* borrowed: the key prefix */
    const char *peers;        /* borrowed: [redis] peers */
    uint64_t peer_timeout_us; /* [redis] peer_timeout */
    int wait_peers;           /* a replay: its end waits for the peers */
} writer_config;

typedef struct writer_stats {
    _Atomic uint64_t taken;      /* events taken from the queues */
    _Atomic uint64_t sent;       /* commands Redis acknowledged, replays included */
    _Atomic uint64_t journaled;  /* events written to the journal */
    _Atomic uint64_t replayed;   /* journaled events later acknowledged */
    _Atomic uint64_t dropped;    /* journal full: lost, and reported */
    _Atomic uint64_t rejected;   /* refused by Redis (error reply), reported */
    _Atomic uint64_t alerts;     /* alert lines written */
    _Atomic uint64_t merged;     /* of sent: count-only observations merged into an earlier
                                  * call of their lh_batch (writer.c, writer_obs) */
    _Atomic uint64_t reconnects; /* successful connections after the first */
    /* Redis latency: pipelines sent and answered in full, and the time
     * from sending each to its last reply, summed. */
    _Atomic uint64_t round_trips, round_trip_us;
    _Atomic uint64_t journal_bytes, journal_pending;
    /* with peers: those holding settling back now, and lapses so far */
    _Atomic uint64_t peers_waiting, peers_lapsed;
    _Atomic int connected;
} writer_stats;

typedef struct writer writer;

/* Opens the journal and makes the first connection, which must succeed:
 * a wrong address or password is reported here, before any packet is read.
 * A journal left by an earlier run is replayed first once the thread runs.
 * Returns NULL with a message in err. */
writer *writer_new(const writer_config *cfg, char *err, size_t errlen);

int writer_start(writer *w);

/* Drains every queue (the producers must have stopped), delivers what it
 * can, replays the journal when Redis is reachable, settles every alert
 * window still pending (after the last record; with peers and
 * cfg->wait_peers, once they are done or silent), and joins the thread.
 * What could not be delivered stays in the journal; the return value is the
 * number of such events (reported through cfg->report too). */
uint64_t writer_stop(writer *w);

/* The end of the run does not wait for the peers (cfg->wait_peers): the
 * operator stopped it. Async-signal-safe (an atomic store); any thread. */
void writer_cut_wait(writer *w);

/* The sensor's watermark: the packet time (us) before which no record can
 * still reach a queue (app/sensor.c). Alert windows due before it are
 * settled once every record queued before the call has been taken
 * (redis/settle.h). Only grows; any thread. */
void writer_set_watermark(writer *w, uint64_t us);

const writer_stats *writer_get_stats(const writer *w);

/* Describes the counters into o (base/counters.h): events_queued,
 * events_sent, events_journaled, events_replayed, events_dropped,
 * events_rejected, journal_bytes, alerts; with a Redis Cluster also
 * cluster_primaries, cluster_moved, cluster_ask, cluster_tryagain,
 * cluster_refreshes; with peers also peers_waiting, peers_lapsed. */
void writer_stats_describe(const writer *w, json_t *o);

/* Events waiting in the queues (approximate). */
uint64_t writer_queued(const writer *w);

/* Frees; stops first when running. Removes the journal file when empty
 * and remove_empty_journal is set. */
void writer_free(writer *w, int remove_empty_journal);

#endif
