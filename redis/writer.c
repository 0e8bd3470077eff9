/* writer.c -- the Redis writer thread (see writer.h).
 *
 * The loop: take up to `batch` events from the queues (round robin, so one
 * busy worker cannot starve the others), then either pipeline them to Redis
 * or, while Redis is away or older events still wait in the journal,
 * append them to the journal (event by event: the events of a batched
 * call are journaled and replayed like any others). Between batches, and
 * whenever the queues are empty, the journal is replayed in batches of
 * the same size.
 *
 * Settling: the library answers a fact of an alert window with a settle
 * hint, which the writer keeps (redis/settle.h) instead of sending. When the
 * watermark the sensor sets (writer_set_watermark) has moved and every
 * queue was seen empty after it was read, every record the watermark
 * covers has been taken, so the lh_settle calls due go out behind them.
 * Not while Redis is away or events wait in the journal: the hints of the
 * facts there are not known yet, and the lines must come out in due order.
 * For the same reason a settle stops at a batch of calls that did not get
 * all its answers (cut off by a broken connection, those go to the journal
 * like any event): an answer may name an entity's next window, due before
 * the next due time, so the next calls wait until the journal's replay has
 * brought the answers, and the settle resumes from there. When the writer
 * stops, after the last record (and after the journal's last replay), every
 * pending window is settled; when Redis is away then, the hints of the
 * windows still pending go to the journal behind its events
 * (settle_hints()), and the run that replays it notes them instead of
 * sending them, and settles them.
 *
 * With peers (redis/peers.h), the watermark the writer settles up to is
 * the lowest of its own delivered one (every record below it acknowledged)
 * and those its peers published; it publishes its own beside theirs as it
 * reads them, every PEERS_POLL_US at most. At the end of a replay it
 * publishes "done" and settles what its peers' watermarks allow until each
 * one is done or silent, then every window left.
 *
 * Blocking hiredis with timeouts is enough here: only this thread talks to
 * Redis, and producers never wait for it (rules/event.h).
 */
#include "writer.h"

#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <xxhash.h>

#include "base/counters.h"
#include "base/stats.h"
#include "cluster.h"
#include "conn.h"
#include "journal.h"
#include "peers.h"
#include "reply.h"
#include "resp.h"
#include "settle.h"

#define WRITER_BACKOFF_MIN_MS 100
#define WRITER_BACKOFF_MAX_MS 5000
#define WRITER_REJECT_REPORTS 10 /* error replies reported one by one */
/* Calls of one slot gathered into one lh_batch: enough to spread the
 * call's fixed cost (measured: docs/performance.md, "Redis"), small
 * enough that one batch does not hold Redis for long. */
#define WRITER_BATCH_CALLS 64
/* Entities settled in one lh_settle call on one server (a cluster takes
 * one: one slot per call). Measured: docs/performance.md, "Facts and
 * settling"; the reply holds a hint for each, and at most 32 lines
 * (rules/lua/95_settle.lua), within reply.h's 64. */
#define WRITER_SETTLE_ENTITIES 16
_Static_assert(32 + WRITER_SETTLE_ENTITIES <= RREPLY_MAX_ALERTS,
               "a settle reply's lines and hints");
_Static_assert(9 + 4 * WRITER_SETTLE_ENTITIES <= EVENT_MAX_ARGS, "a settle call's arguments");

/* One event of a batch: a copy of its encoded bytes. */
typedef struct writer_item {
    void *buf;
    size_t len;
} writer_item;

struct writer {
    writer_config cfg;
    rurl url;
    journal *journal;
    redisContext *ctx; /* one server */
    cluster *cl;       /* or a cluster (redis+cluster://) */
    int cl_up;         /* the last cluster batch went through */
    pthread_t thread;
    int started;
    _Atomic int stop;
    writer_item *items;
    unsigned char *done;        /* per item of the batch being sent */
    unsigned char *replay_done; /* per journal item from the head: already acknowledged */
    writer_item *steps;         /* next steps of alerts the replies asked for (cluster) */
    int nsteps, capsteps;
    int nitems;
    int *open_group; /* per slot: the batched command gathering it, or -1 */
    unsigned next_queue;
    int backoff_ms;
    uint64_t next_try_ms;
    int down_reported;
    settle_set *settle;
    _Atomic uint64_t watermark_us; /* set by the sensor */
    uint64_t settled_us;           /* the watermark of the last settle */
    int nsettle;                   /* settle calls gathered in items */
    uint64_t delivered_us;         /* every record below it acknowledged */
    peers *peers;                  /* NULL: no peers (cfg.peers) */
    char *wm_key;                  /* <prefix>watermarks */
    int finished;                  /* "done" is what this sensor publishes */
    _Atomic int cut_wait;          /* writer_cut_wait() was called */
    uint64_t peers_read_us;        /* monotonic: the peers' values last read */
    uint64_t pub_us, pub_mark;     /* the last value published: when, which mark */
    int pub_done;
    int pub_refused; /* an error reply to the HSET was reported */
    bytes_buf out;   /* one pipeline's commands, formatted (resp.h) */
    writer_stats st;
};

static uint64_t writer_now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

static uint64_t writer_now_ms(void)
{
    return writer_now_us() / 1000;
}

static void writer_report(writer *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void writer_report(writer *w, const char *fmt, ...)
{
    char msg[1200];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (w->cfg.report)
        w->cfg.report(w->cfg.report_ctx, msg);
}

static void writer_sync_journal_stats(writer *w)
{
    STAT_SET(w->st.journal_bytes, journal_bytes(w->journal));
    STAT_SET(w->st.journal_pending, journal_pending(w->journal));
}

static void writer_disconnect(writer *w, const char *why)
{
    char msg[256];

    snprintf(msg, sizeof(msg), "%s", why && *why ? why : "connection lost");
    why = msg; /* it may point into the context freed here */
    redisFree(w->ctx);
    w->ctx = NULL;
    w->cl_up = 0; /* the cluster keeps its map and its live connections */
    STAT_SET(w->st.connected, 0);
    w->backoff_ms = WRITER_BACKOFF_MIN_MS;
    w->next_try_ms = writer_now_ms() + (uint64_t)w->backoff_ms;
    if (!w->down_reported) {
        writer_report(w, "Redis unavailable (%s): events go to the journal until it is back", why);
        w->down_reported = 1;
    }
}

/* Connects when not connected and the backoff allows it. */
static int writer_connected(writer *w, int force)
{
    char err[512];

    if (w->ctx || w->cl_up)
        return 1;
    if (!force && writer_now_ms() < w->next_try_ms)
        return 0;
    if (w->cl ? cluster_refresh(w->cl, err, sizeof(err)) != 0
              : rconn_open(&w->url, w->cfg.timeout_ms, &w->ctx, err, sizeof(err)) != 0) {
        w->backoff_ms =
            w->backoff_ms * 2 > WRITER_BACKOFF_MAX_MS ? WRITER_BACKOFF_MAX_MS : w->backoff_ms * 2;
        w->next_try_ms = writer_now_ms() + (uint64_t)w->backoff_ms;
        if (!w->down_reported) {
            writer_report(w, "%s: events go to the journal until Redis is back", err);
            w->down_reported = 1;
        }
        return 0;
    }
    STAT_ADD(w->st.reconnects, 1);
    STAT_SET(w->st.connected, 1);
    w->cl_up = w->cl != NULL;
    w->backoff_ms = WRITER_BACKOFF_MIN_MS;
    if (w->down_reported) {
        writer_report(w, "Redis is back; replaying %llu journaled events",
                      (unsigned long long)journal_pending(w->journal));
        w->down_reported = 0;
    }
    return 1;
}

static void writer_on_alert(void *ctx, const char *line, size_t len)
{
    writer *w = ctx;

    if (w->cfg.alerts)
        output_write(w->cfg.alerts, line, len);
    if (w->cfg.on_alert)
        w->cfg.on_alert(w->cfg.alert_ctx, line, len);
    STAT_ADD(w->st.alerts, 1);
}

/* A next step of an alert (reply.h): encoded like an event, so that it can
 * go to the journal like one. */
static void writer_on_call(void *ctx, int argc, const char *const *argv, const size_t *lens)
{
    writer *w = ctx;
    writer_item it;

    if (settle_is_hint(argc, argv, lens)) {
        if (settle_note(w->settle, argc, argv, lens) < 0)
            STAT_ADD(w->st.dropped, 1);
        return;
    }
    if (w->nsteps == w->capsteps) {
        int cap = w->capsteps ? 2 * w->capsteps : 64;
        writer_item *grown = realloc(w->steps, sizeof(*grown) * (size_t)cap);
        if (grown == NULL) {
            STAT_ADD(w->st.dropped, 1);
            return;
        }
        w->steps = grown;
        w->capsteps = cap;
    }
    if ((it.buf = event_encode(EVENT_CALL, argc, argv, lens, &it.len)) == NULL) {
        STAT_ADD(w->st.dropped, 1);
        return;
    }
    w->steps[w->nsteps++] = it;
}

/* Handles one reply. Returns 0 when the event is done (acknowledged or
 * refused for good), -1 when it must be sent again later. */
static int writer_reply(writer *w, const event_view *v, redisReply *r)
{
    char err[512];

    if (r->type == REDIS_REPLY_ERROR && rreply_transient(r->str))
        return -1;
    if (r->type == REDIS_REPLY_ERROR || v->kind == EVENT_CALL) {
        long long next = 0;
        if (r->type != REDIS_REPLY_ERROR &&
            rreply_alerts(r, &next, writer_on_alert, w, err, sizeof(err)) >= 0) {
            /* the answer first: the hints of a call of several entities
             * then set the next due time of those still pending */
            if (settle_is_hint(v->argc, v->argv, v->lens))
                settle_answered(w->settle, v->argc, v->argv, v->lens,
                                next > 0 ? (uint64_t)next : 0);
            rreply_calls(r, writer_on_call, w);
            return 0;
        }
        if (r->type == REDIS_REPLY_ERROR)
            snprintf(err, sizeof(err), "Redis refused %.*s: %s", (int)v->lens[0], v->argv[0],
                     r->str);
        if (STAT_GET(w->st.rejected) < WRITER_REJECT_REPORTS)
            writer_report(w, "%s (event lost; counted in rejected)", err);
        STAT_ADD(w->st.rejected, 1);
    }
    return 0;
}

/* One command on the wire: an event alone, or the calls of several
 * events of one slot in one FCALL lh_batch (rules/lua/97_batch.lua). */
typedef struct writer_cmd {
    int argc;
    const char **argv;
    size_t *lens;
    int *members; /* the events it carries, in batch order */
    int nmembers;
    int batch; /* an lh_batch (argv and lens its own), else the event itself */
} writer_cmd;

/* The calls a batch may hold (BATCHED in rules/lua/97_batch.lua). */
static int writer_batchable(const event_view *v)
{
    static const char *const fns[] = {"lh_observe", "lh_sum",    "lh_gate",   "lh_leg",  "lh_hours",
                                      "lh_raise",   "lh_follow", "lh_absent", "lh_knock"};
    long nkeys;

    if (v->kind != EVENT_CALL || v->argc < 4 || v->lens[0] != 5 ||
        strncasecmp(v->argv[0], "FCALL", 5) != 0 || v->lens[2] == 0 || v->lens[2] > 3)
        return 0;
    nkeys = strtol(v->argv[2], NULL, 10);
    if (nkeys < 1 || nkeys > v->argc - 3)
        return 0;
    for (size_t i = 0; i < sizeof(fns) / sizeof(fns[0]); i++)
        if (v->lens[1] == strlen(fns[i]) && memcmp(v->argv[1], fns[i], v->lens[1]) == 0)
            return 1;
    return 0;
}

/* The slot that orders an event among the others: its first key's in a
 * cluster, -1 for none; one server orders everything as one slot. */
static int writer_slot(const writer *w, const event_view *v)
{
    cluster_cmd c = {v->argc, v->argv, v->lens};

    return w->cl ? cluster_cmd_slot(&c) : 0;
}

/* A count-only exact observation: event_observe() without threshold,
 * evidence or need (rules/event.c), most of a sensor's observations (a
 * host's GPU behaviour on every flow). In an lh_batch the writer sends it
 * in the short form `obs` (rules/lua/97_batch.lua: the entity key, then
 * kind, value, ts_us, window_us, cap, ttl_s; what lh_observe does with
 * threshold 0), and one of the same window key and value as an earlier
 * one of the same lh_batch merges into that one, which then carries the
 * earlier of their packet times. The result is the state the two calls
 * leave: the earlier one decides whether the value gets in (the cap) and
 * the set keeps the earliest time (ZADD LT); the TTL is set when the set
 * is created, and the merged calls share ttl_s. The merged call's own
 * reply, the count, is read by no one (writer_reply reads a count only in
 * a settle call's reply); it is done when the call it merged into is, and
 * journaled with the batch's undone events otherwise. */
enum { OBS_KEY, OBS_KIND, OBS_VALUE, OBS_TS, OBS_WINDOW, OBS_CAP, OBS_TTL, OBS_NARGS };

typedef struct writer_obs {
    int plain;   /* a count-only observation with plain decimal numbers */
    int merged;  /* -1, or the event it merged into */
    int ts_from; /* the event whose ts_us the call sends: the earliest */
    uint64_t ts, bucket, hash;
    int arg[OBS_NARGS]; /* argv index of each field */
} writer_obs;

/* Parses s[0..len) as decimal digits without a leading zero (as Redis and
 * the library read it, and rules/event.c writes it), below 2^53. */
static int writer_plain_u64(const char *s, size_t len, uint64_t *out)
{
    uint64_t v = 0;

    if (len == 0 || len > 16 || (s[0] == '0' && len > 1))
        return -1;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (uint64_t)(s[i] - '0');
    }
    if (v >= (1ull << 53))
        return -1;
    *out = v;
    return 0;
}

/* Fills o for event v: plain when v is a count-only exact observation
 * whose numbers are plain (else it goes as it is). */
static void writer_count_only(const event_view *v, writer_obs *o)
{
    static const char *const names[] = {"ev",   "ts_us", "kind",  "value",    "window_us",
                                        "mode", "cap",   "ttl_s", "threshold"};
    int at[9], nk;
    uint64_t w, cap, ttl;

    memset(o, 0, sizeof(*o));
    o->merged = -1;
    if (v->kind != EVENT_CALL || v->argc < 4 || v->lens[1] != 10 ||
        memcmp(v->argv[1], "lh_observe", 10) != 0 || v->lens[2] != 1 || v->argv[2][0] < '1' ||
        v->argv[2][0] > '9')
        return;
    nk = v->argv[2][0] - '0';
    if (v->argc != 3 + nk + 18)
        return;
    for (int k = 0; k < 9; k++)
        at[k] = -1;
    for (int i = 3 + nk; i < v->argc; i += 2) {
        int k = 0;
        while (k < 9 &&
               !(v->lens[i] == strlen(names[k]) && memcmp(v->argv[i], names[k], v->lens[i]) == 0))
            k++;
        if (k == 9 || at[k] >= 0)
            return;
        at[k] = i + 1;
    }
    if (v->lens[at[5]] != 5 || memcmp(v->argv[at[5]], "exact", 5) != 0 || v->lens[at[8]] != 1 ||
        v->argv[at[8]][0] != '0' || writer_plain_u64(v->argv[at[1]], v->lens[at[1]], &o->ts) < 0 ||
        writer_plain_u64(v->argv[at[4]], v->lens[at[4]], &w) < 0 || w == 0 ||
        writer_plain_u64(v->argv[at[6]], v->lens[at[6]], &cap) < 0 ||
        writer_plain_u64(v->argv[at[7]], v->lens[at[7]], &ttl) < 0 || ttl == 0)
        return;
    o->arg[OBS_KEY] = 3;
    o->arg[OBS_KIND] = at[2];
    o->arg[OBS_VALUE] = at[3];
    o->arg[OBS_TS] = at[1];
    o->arg[OBS_WINDOW] = at[4];
    o->arg[OBS_CAP] = at[6];
    o->arg[OBS_TTL] = at[7];
    o->bucket = o->ts / w;
    /* a filter only: writer_same_obs() compares the fields themselves */
    o->hash = XXH3_64bits(&o->bucket, sizeof(o->bucket));
    for (int f = 0; f < OBS_NARGS; f++)
        if (f != OBS_TS)
            o->hash = XXH3_64bits_withSeed(v->argv[o->arg[f]], v->lens[o->arg[f]], o->hash);
    o->plain = 1;
}

/* Whether count-only observations a and b have the same window key (entity
 * key, kind, window, bucket), value, cap and ttl_s. */
static int writer_same_obs(const event_view *va, const writer_obs *a, const event_view *vb,
                           const writer_obs *b)
{
    if (a->hash != b->hash || a->bucket != b->bucket)
        return 0;
    for (int f = 0; f < OBS_NARGS; f++)
        if (f != OBS_TS &&
            (va->lens[a->arg[f]] != vb->lens[b->arg[f]] ||
             memcmp(va->argv[a->arg[f]], vb->argv[b->arg[f]], va->lens[a->arg[f]]) != 0))
            return 0;
    return 1;
}

/* Builds the arguments of the FCALL lh_batch of cmd's members, count-only
 * observations in the short form `obs`. Numbers are formatted into nums
 * (room for 3 per member and 2 more). */
static int writer_batch_args(writer_cmd *cmd, const event_view *views, const writer_obs *obs,
                             char *nums)
{
    int nkeys = 0, argc = 4, used = 0;

    for (int j = 0; j < cmd->nmembers; j++) /* the short form is shorter */
        argc += 3 + (views[cmd->members[j]].argc - 3);
    if ((cmd->argv = malloc(sizeof(*cmd->argv) * (size_t)argc)) == NULL ||
        (cmd->lens = malloc(sizeof(*cmd->lens) * (size_t)argc)) == NULL)
        return -1;
#define WRITER_ARG(s, l)                                                                           \
    do {                                                                                           \
        cmd->argv[cmd->argc] = (s);                                                                \
        cmd->lens[cmd->argc++] = (l);                                                              \
    } while (0)
#define WRITER_NUM(x)                                                                              \
    do {                                                                                           \
        int l_ = sprintf(nums + used, "%d", (int)(x));                                             \
        WRITER_ARG(nums + used, (size_t)l_);                                                       \
        used += l_ + 1;                                                                            \
    } while (0)
    cmd->argc = 0;
    WRITER_ARG("FCALL", 5);
    WRITER_ARG("lh_batch", 8);
    for (int j = 0; j < cmd->nmembers; j++) {
        const event_view *v = &views[cmd->members[j]];
        nkeys += obs[cmd->members[j]].plain ? 1 : atoi(v->argv[2]);
    }
    WRITER_NUM(nkeys);
    for (int j = 0; j < cmd->nmembers; j++) {
        const event_view *v = &views[cmd->members[j]];
        int nk = obs[cmd->members[j]].plain ? 1 : atoi(v->argv[2]);
        for (int k = 0; k < nk; k++)
            WRITER_ARG(v->argv[3 + k], v->lens[3 + k]);
    }
    WRITER_NUM(cmd->nmembers);
    for (int j = 0; j < cmd->nmembers; j++) {
        const event_view *v = &views[cmd->members[j]];
        const writer_obs *o = &obs[cmd->members[j]];
        if (o->plain) {
            const event_view *tv = &views[o->ts_from];
            WRITER_ARG("obs", 3);
            WRITER_ARG("1", 1);
            WRITER_ARG("6", 1);
            for (int f = OBS_KIND; f < OBS_NARGS; f++)
                if (f == OBS_TS)
                    WRITER_ARG(tv->argv[obs[o->ts_from].arg[f]], tv->lens[obs[o->ts_from].arg[f]]);
                else
                    WRITER_ARG(v->argv[o->arg[f]], v->lens[o->arg[f]]);
            continue;
        }
        int nk = atoi(v->argv[2]), na = v->argc - 3 - nk;
        WRITER_ARG(v->argv[1], v->lens[1]);
        WRITER_NUM(nk);
        WRITER_NUM(na);
        for (int k = 0; k < na; k++)
            WRITER_ARG(v->argv[3 + nk + k], v->lens[3 + nk + k]);
    }
#undef WRITER_NUM
#undef WRITER_ARG
    return 0;
}

static void writer_commands_free(writer_cmd *cmds, int ncmds)
{
    for (int c = 0; c < ncmds; c++)
        if (cmds[c].batch) {
            free(cmds[c].argv);
            free(cmds[c].lens);
        }
}

/* Turns the events of a batch into commands: the library calls of one
 * slot gather, up to WRITER_BATCH_CALLS, into one lh_batch placed where
 * the first of them was; any other command of that slot (or, without a
 * slot, of every slot) closes the gathering first, so every slot's
 * commands keep their order, and so does every entity's. A count-only
 * observation of the window key and value of an earlier one of the same
 * gathering merges into it (writer_obs; obs[i].merged). A gathering of one
 * call that nothing merged into is sent as the event itself. Returns the
 * number of commands, or -1 when memory is short. */
static int writer_commands(writer *w, const event_view *views, int n, writer_cmd *cmds,
                           int *members, writer_obs *obs, char **nums)
{
    size_t sz = sizeof(int) * (size_t)(n > 0 ? n : 1);
    int ncmds = 0, ntouched = 0, *touched = malloc(sz);
    int *group = malloc(sz);     /* command of each event */
    int *count = calloc(sz, 1);  /* calls of each command */
    int *merges = calloc(sz, 1); /* events merged into each command */

    *nums = NULL;
    if (touched == NULL || group == NULL || count == NULL || merges == NULL) {
        free(touched);
        free(group);
        free(count);
        free(merges);
        return -1;
    }
    for (int i = 0; i < n; i++) {
        int slot = views[i].argc > 0 ? writer_slot(w, &views[i]) : -1;
        writer_count_only(&views[i], &obs[i]);
        obs[i].ts_from = i;
        if (views[i].argc > 0 && slot >= 0 && writer_batchable(&views[i])) {
            int c = w->open_group[slot];
            for (int j = i - 1; c >= 0 && obs[i].plain && j >= 0; j--)
                if (group[j] == c && obs[j].plain && obs[j].merged < 0 &&
                    writer_same_obs(&views[i], &obs[i], &views[j], &obs[j])) {
                    obs[i].merged = j;
                    if (obs[i].ts < obs[obs[j].ts_from].ts)
                        obs[j].ts_from = i;
                    break;
                }
            if (obs[i].merged >= 0) {
                group[i] = c;
                merges[c]++;
                continue;
            }
            if (c >= 0 && count[c] < WRITER_BATCH_CALLS) {
                group[i] = c;
                count[c]++;
                continue;
            }
            w->open_group[slot] = ncmds;
            touched[ntouched++] = slot;
        } else if (slot >= 0) {
            w->open_group[slot] = -1;
        } else {
            for (int t = 0; t < ntouched; t++)
                w->open_group[touched[t]] = -1;
        }
        group[i] = ncmds;
        count[ncmds++] = 1;
    }
    for (int t = 0; t < ntouched; t++)
        w->open_group[touched[t]] = -1;
    for (int c = 0, at = 0; c < ncmds; c++) {
        cmds[c] = (writer_cmd){.members = members + at};
        at += count[c];
    }
    for (int i = 0; i < n; i++)
        if (obs[i].merged < 0)
            cmds[group[i]].members[cmds[group[i]].nmembers++] = i;
    free(touched);
    free(group);
    free(count);
    /* at most 3 numbers per event and 2 per command, 12 bytes each */
    if ((*nums = malloc((size_t)(5 * n + 2) * 12)) == NULL) {
        free(merges);
        return -1;
    }
    for (int c = 0, used = 0; c < ncmds; c++) {
        const event_view *v = &views[cmds[c].members[0]];
        if (cmds[c].nmembers == 1 && merges[c] == 0) {
            cmds[c].argc = v->argc;
            cmds[c].argv = (const char **)v->argv;
            cmds[c].lens = (size_t *)v->lens;
        } else if ((cmds[c].batch = 1) &&
                   writer_batch_args(&cmds[c], views, obs, *nums + used) == 0) {
            used += (3 * cmds[c].nmembers + 2) * 12;
        } else {
            writer_commands_free(cmds, c + 1);
            free(merges);
            return -1;
        }
    }
    free(merges);
    return ncmds;
}

/* Handles the reply of one command: each member's own reply (an
 * lh_batch answers one per call, in order). Sets done[] of the members
 * done, in order, and returns 0 when all are, -1 when one must be sent
 * again later (it and the members after it are left undone: Redis ran
 * them, and every library call answers a resend as it answered the
 * first). */
static int writer_cmd_reply(writer *w, const writer_cmd *cmd, const event_view *views,
                            redisReply *r, unsigned char *done)
{
    int whole = !cmd->batch || r->type == REDIS_REPLY_ERROR;

    if (!whole && (r->type != REDIS_REPLY_ARRAY || r->elements != (size_t)cmd->nmembers)) {
        if (STAT_GET(w->st.rejected) < WRITER_REJECT_REPORTS)
            writer_report(w,
                          "Redis reply: lh_batch answered other than one reply for each of "
                          "its %d calls (events lost; counted in rejected)",
                          cmd->nmembers);
        STAT_ADD(w->st.rejected, (uint64_t)cmd->nmembers);
        for (int j = 0; j < cmd->nmembers; j++)
            done[cmd->members[j]] = 1;
        return 0;
    }
    for (int j = 0; j < cmd->nmembers; j++) {
        int i = cmd->members[j];
        if (writer_reply(w, &views[i], whole ? r : r->element[j]) < 0)
            return -1;
        STAT_ADD(w->st.sent, 1);
        done[i] = 1;
    }
    return 0;
}

/* One server: pipelines every command, then reads the replies in order.
 * On a shortfall the connection has been dropped. */
static void writer_pipeline_one(writer *w, const writer_cmd *cmds, int ncmds,
                                const event_view *views, unsigned char *done)
{
    uint64_t t0 = writer_now_us();
    int c;

    /* the whole pipeline formatted by resp.c and handed to hiredis at once */
    w->out.len = 0;
    for (c = 0; c < ncmds; c++)
        if (resp_append(&w->out, cmds[c].argc, cmds[c].argv, cmds[c].lens) != 0) {
            writer_disconnect(w, "out of memory for a pipeline");
            return;
        }
    if (w->out.len > 0 && redisAppendFormattedCommand(w->ctx, w->out.p, w->out.len) != REDIS_OK) {
        writer_disconnect(w, "out of memory for a pipeline");
        return;
    }
    for (c = 0; c < ncmds; c++) {
        redisReply *r = NULL;
        if (redisGetReply(w->ctx, (void **)&r) != REDIS_OK || r == NULL) {
            writer_disconnect(w, w->ctx->errstr[0] ? w->ctx->errstr : "no reply");
            break;
        }
        int rc = writer_cmd_reply(w, &cmds[c], views, r, done);
        freeReplyObject(r);
        if (rc < 0) {
            writer_disconnect(w, "Redis answered with a temporary error");
            break;
        }
    }
    if (c == ncmds) {
        STAT_ADD(w->st.round_trips, 1);
        STAT_ADD(w->st.round_trip_us, writer_now_us() - t0);
    }
}

typedef struct writer_cluster_batch {
    writer *w;
    const event_view *views;
    const writer_cmd *cmds;
    unsigned char *done; /* per event */
} writer_cluster_batch;

static int writer_cluster_reply(void *ctx, int i, redisReply *r)
{
    writer_cluster_batch *b = ctx;

    return writer_cmd_reply(b->w, &b->cmds[i], b->views, r, b->done);
}

/* A cluster: every primary gets its part of the batch, in batch order
 * (redis/cluster.h). Any set of commands may come back undone; then the
 * cluster is marked down, and the writer journals their events and
 * refreshes the map after the backoff. */
static void writer_pipeline_cluster(writer *w, const writer_cmd *wcmds, int ncmds,
                                    const event_view *views, unsigned char *done)
{
    cluster_cmd *cmds = malloc(sizeof(*cmds) * (size_t)ncmds);
    unsigned char *cdone = malloc((size_t)ncmds);
    writer_cluster_batch b = {w, views, wcmds, done};
    char err[512] = "";

    if (cmds != NULL && cdone != NULL) {
        for (int c = 0; c < ncmds; c++)
            cmds[c] = (cluster_cmd){wcmds[c].argc, wcmds[c].argv, wcmds[c].lens};
        if (cluster_exec(w->cl, cmds, ncmds, cdone, writer_cluster_reply, &b, err, sizeof(err)) <
            ncmds)
            writer_disconnect(w, err);
    }
    free(cmds);
    free(cdone);
}

/* Sends items[0..n) and sets done[i] for each one Redis acknowledged (or
 * refused for good). Returns the number done. */
static int writer_send(writer *w, writer_item *items, int n, unsigned char *done)
{
    event_view *views = malloc(sizeof(*views) * (size_t)n);
    writer_cmd *cmds = malloc(sizeof(*cmds) * (size_t)n);
    int *index = malloc(sizeof(int) * (size_t)n);   /* decoded event -> item */
    int *members = malloc(sizeof(int) * (size_t)n); /* of the commands */
    unsigned char *ldone = calloc((size_t)n, 1);    /* per decoded event */
    writer_obs *obs = malloc(sizeof(*obs) * (size_t)n);
    char *nums = NULL;
    int ndone = 0, ncmds = -1, live = 0;

    memset(done, 0, (size_t)n);
    if (views == NULL || cmds == NULL || index == NULL || members == NULL || ldone == NULL ||
        obs == NULL)
        goto out;
    for (int i = 0; i < n; i++)
        if (event_decode(items[i].buf, items[i].len, &views[live]) < 0) {
            done[i] = 1; /* damaged: skipped, counted */
            STAT_ADD(w->st.rejected, 1);
        } else if (settle_is_plain_hint(views[live].argc, views[live].argv, views[live].lens)) {
            /* a hint an earlier run journaled (writer_stop): kept, not sent */
            done[i] = 1;
            if (settle_note(w->settle, views[live].argc, views[live].argv, views[live].lens) < 0)
                STAT_ADD(w->st.dropped, 1);
        } else {
            index[live++] = i;
        }
    if ((ncmds = writer_commands(w, views, live, cmds, members, obs, &nums)) > 0) {
        if (w->cl)
            writer_pipeline_cluster(w, cmds, ncmds, views, ldone);
        else
            writer_pipeline_one(w, cmds, ncmds, views, ldone);
        writer_commands_free(cmds, ncmds);
        for (int i = 0; i < live; i++) /* merged events: done with their call */
            if (obs[i].merged >= 0 && (ldone[i] = ldone[obs[i].merged])) {
                STAT_ADD(w->st.sent, 1);
                STAT_ADD(w->st.merged, 1);
            }
    }
    for (int i = 0; i < live; i++)
        if (ldone[i])
            done[index[i]] = 1;
out:
    for (int i = 0; i < n; i++)
        ndone += done[i];
    free(views);
    free(cmds);
    free(index);
    free(members);
    free(ldone);
    free(obs);
    free(nums);
    return ndone;
}

/* Journals the items of items[0..n) that are not done (done may be NULL). */
static void writer_journal(writer *w, writer_item *items, int n, const unsigned char *done);

/* Runs the next steps the replies asked for, and theirs (three at most:
 * lh_risk, then lh_emit and lh_host); what is not acknowledged goes to the
 * journal, from where it is sent again like any event. */
static void writer_steps(writer *w)
{
    for (int depth = 0; w->nsteps > 0; depth++) {
        writer_item *steps = w->steps;
        int n = w->nsteps;
        unsigned char *done = calloc((size_t)n, 1);

        w->steps = NULL;
        w->nsteps = w->capsteps = 0;
        if (done && depth < 3 && writer_connected(w, 0))
            writer_send(w, steps, n, done);
        writer_journal(w, steps, n, done);
        for (int i = 0; i < n; i++)
            free(steps[i].buf);
        free(steps);
        free(done);
    }
}

/* writer_send, then the next steps of the alerts it raised. */
static int writer_pipeline(writer *w, writer_item *items, int n, unsigned char *done)
{
    int ndone = writer_send(w, items, n, done);

    writer_steps(w);
    return ndone;
}

static void writer_journal(writer *w, writer_item *items, int n, const unsigned char *done)
{
    char err[512];

    for (int i = 0; i < n; i++) {
        if (done && done[i])
            continue;
        int rc = journal_append(w->journal, items[i].buf, items[i].len, err, sizeof(err));
        if (rc == 0) {
            STAT_ADD(w->st.journaled, 1);
            continue;
        }
        if (STAT_GET(w->st.dropped) == 0 || rc < 0)
            writer_report(w, "%s: event dropped (counted in dropped)",
                          rc < 0 ? err : "journal full (journal_max reached)");
        STAT_ADD(w->st.dropped, 1);
    }
    writer_sync_journal_stats(w);
}

/* Replays up to one batch from the journal. Returns the number delivered,
 * or -1 when the connection failed. */
static int writer_replay(writer *w)
{
    char err[512];
    int n = 0, failed = 0, done;
    writer_item *items = w->items + w->cfg.batch; /* second half: replay */

    journal_rewind(w->journal);
    while (n < w->cfg.batch &&
           (items[n].buf = journal_next(w->journal, &items[n].len, &failed, err, sizeof(err))))
        n++;
    if (failed)
        writer_report(w, "%s", err);
    if (n == 0)
        return 0;
    /* The journal gives up a prefix only. What a cluster acknowledged
     * after the first command it left undone stays in the journal, marked
     * in replay_done, and is not sent again. */
    int m = 0;
    for (int i = 0; i < n; i++)
        if (!w->replay_done[i])
            w->items[m++] = items[i]; /* first half: free while replaying */
    if (m > 0)
        writer_pipeline(w, w->items, m, w->done);
    for (int i = 0, k = 0; i < n; i++)
        if (!w->replay_done[i])
            w->replay_done[i] = w->done[k++];
    for (done = 0; done < n && w->replay_done[done]; done++)
        ;
    if (done > 0 && journal_consume(w->journal, (uint64_t)done, err, sizeof(err)) < 0)
        writer_report(w, "%s", err);
    memmove(w->replay_done, w->replay_done + done, (size_t)(n - done));
    memset(w->replay_done + (n - done), 0, (size_t)done);
    STAT_ADD(w->st.replayed, (uint64_t)done);
    for (int i = 0; i < n; i++)
        free(items[i].buf);
    writer_sync_journal_stats(w);
    return done < n ? -1 : done;
}

/* Copies up to batch events from the queues into w->items. */
static int writer_take(writer *w)
{
    int n = 0, idle = 0;

    while (n < w->cfg.batch && idle < (int)w->cfg.nqueues) {
        event_queue *q = w->cfg.queues[w->next_queue];
        size_t len;
        const void *p = event_queue_peek(q, &len);
        if (p == NULL) {
            idle++;
            w->next_queue = (w->next_queue + 1) % w->cfg.nqueues;
            continue;
        }
        idle = 0;
        if ((w->items[n].buf = malloc(len)) != NULL) {
            memcpy(w->items[n].buf, p, len);
            w->items[n++].len = len;
        } else {
            STAT_ADD(w->st.dropped, 1);
        }
        event_queue_release(q);
    }
    STAT_ADD(w->st.taken, (uint64_t)n);
    return n;
}

/* Sends a batch, or journals it when Redis is away or older events wait. */
static void writer_deliver(writer *w, int n)
{
    if (journal_pending(w->journal) == 0 && writer_connected(w, 0)) {
        if (writer_pipeline(w, w->items, n, w->done) < n)
            writer_journal(w, w->items, n, w->done);
    } else {
        writer_journal(w, w->items, n, NULL);
    }
    for (int i = 0; i < n; i++)
        free(w->items[i].buf);
}

/* Gathers one settle call into the batch; a full batch goes out. */
static void writer_settle_call(void *ctx, void *buf, size_t len)
{
    writer *w = ctx;

    w->items[w->nsettle].buf = buf;
    w->items[w->nsettle++].len = len;
    if (w->nsettle == w->cfg.batch) {
        writer_deliver(w, w->nsettle);
        w->nsettle = 0;
    }
}

/* Sends the settle calls due at upto_us (SETTLE_ALL: every pending one),
 * the earliest due first (settle_due), each step once the answers of the
 * one before are in. Returns 0 when every window due is settled, -1 when
 * Redis is away or a call went to the journal: the rest waits for the
 * journal's replay (the header comment). Only between batches: w->items
 * is free. */
static int writer_settle(writer *w, uint64_t upto_us)
{
    for (;;) {
        if (journal_pending(w->journal) > 0 || !writer_connected(w, 0))
            return -1;
        w->nsettle = 0;
        int calls = settle_due(w->settle, upto_us, w->cl ? 1 : WRITER_SETTLE_ENTITIES,
                               writer_settle_call, w);
        if (w->nsettle > 0)
            writer_deliver(w, w->nsettle);
        w->nsettle = 0;
        if (calls == 0)
            return journal_pending(w->journal) > 0 ? -1 : 0;
    }
}

/* One plain command, on the server or routed by its key in the cluster.
 * Returns the reply, or NULL with a message in err. */
static redisReply *writer_command(writer *w, char *err, size_t errlen, const char *fmt, ...)
{
    redisReply *r;
    va_list ap;

    va_start(ap, fmt);
    if (w->cl) {
        r = cluster_vcommand(w->cl, err, errlen, fmt, ap);
    } else {
        r = redisvCommand(w->ctx, fmt, ap);
        if (r == NULL)
            snprintf(err, errlen, "%s", w->ctx->errstr[0] ? w->ctx->errstr : "no reply");
    }
    va_end(ap);
    return r;
}

static void writer_peers_report(void *ctx, const char *msg)
{
    writer_report(ctx, "%s", msg);
}

/* Publishes this sensor's watermark (when it changed, and at least every
 * PEERS_BEAT_US) and reads its peers' (every PEERS_POLL_US; force: now).
 * A failed command drops the connection like a failed batch. */
static void writer_peers_poll(writer *w, int force)
{
    uint64_t now = writer_now_us();
    char err[512], value[96];
    redisReply *r;

    if (!force && now - w->peers_read_us < PEERS_POLL_US)
        return;
    w->peers_read_us = now;
    if (writer_connected(w, 0) &&
        (force || w->pub_us == 0 || w->pub_mark != w->delivered_us || w->pub_done != w->finished ||
         now - w->pub_us >= PEERS_BEAT_US)) {
        struct timespec wall;
        clock_gettime(CLOCK_REALTIME, &wall);
        size_t n = peers_value(value, sizeof(value), w->finished, w->delivered_us,
                               (uint64_t)wall.tv_sec * 1000 + (uint64_t)wall.tv_nsec / 1000000);
        if ((r = writer_command(w, err, sizeof(err), "HSET %s %s %b", w->wm_key, w->cfg.sensor,
                                value, n)) == NULL) {
            writer_disconnect(w, err);
        } else {
            if (r->type == REDIS_REPLY_ERROR && !w->pub_refused++)
                writer_report(w, "Redis refused HSET %s: %s (the peers cannot see this sensor)",
                              w->wm_key, r->str);
            w->pub_us = now;
            w->pub_mark = w->delivered_us;
            w->pub_done = w->finished;
            freeReplyObject(r);
        }
    }
    if (writer_connected(w, 0)) {
        if ((r = writer_command(w, err, sizeof(err), "HGETALL %s", w->wm_key)) == NULL) {
            writer_disconnect(w, err);
        } else {
            for (int i = 0; r->type == REDIS_REPLY_ARRAY && i < peers_count(w->peers); i++) {
                size_t len;
                const char *name = peers_name(w->peers, i, &len);
                const redisReply *v = NULL;
                for (size_t k = 0; k + 1 < r->elements && v == NULL; k += 2)
                    if (r->element[k]->type == REDIS_REPLY_STRING &&
                        (size_t)r->element[k]->len == len &&
                        memcmp(r->element[k]->str, name, len) == 0 &&
                        r->element[k + 1]->type == REDIS_REPLY_STRING)
                        v = r->element[k + 1];
                peers_observe(w->peers, i, v ? v->str : NULL, v ? (size_t)v->len : 0, now);
            }
            freeReplyObject(r);
        }
    }
    peers_tick(w->peers, now, writer_peers_report, w);
    STAT_SET(w->st.peers_waiting, (uint64_t)peers_waiting(w->peers));
    STAT_SET(w->st.peers_lapsed, peers_lapses(w->peers));
}

/* How far windows may be settled: the delivered watermark, and no further
 * than any peer that holds settling back. */
static uint64_t writer_bound(writer *w)
{
    uint64_t b;

    if (w->peers == NULL)
        return w->delivered_us;
    writer_peers_poll(w, 0);
    b = peers_bound(w->peers);
    return b < w->delivered_us ? b : w->delivered_us;
}

/* After the last record: every window left. With peers, this sensor
 * publishes "done" first; a replay then settles what its peers'
 * watermarks allow until each is done or silent (bounded by the peer
 * timeout: a peer that stops publishing lapses). */
static void writer_settle_last(writer *w)
{
    struct timespec nap = {0, PEERS_POLL_US * 1000};

    if (w->peers) {
        w->finished = 1;
        writer_peers_poll(w, 1);
        if (w->cfg.wait_peers && !atomic_load(&w->cut_wait) && peers_waiting(w->peers) > 0)
            writer_report(w,
                          "end of input: waiting for %d peer sensor%s before settling the last "
                          "windows (each until it is done, or silent for %llu s)",
                          peers_waiting(w->peers), peers_waiting(w->peers) == 1 ? "" : "s",
                          (unsigned long long)(w->cfg.peer_timeout_us / 1000000));
        while (w->cfg.wait_peers && !atomic_load(&w->cut_wait) && peers_waiting(w->peers) > 0) {
            uint64_t b = peers_bound(w->peers);
            if (b > w->settled_us && journal_pending(w->journal) == 0 && writer_connected(w, 0) &&
                writer_settle(w, b) == 0)
                w->settled_us = b;
            nanosleep(&nap, NULL);
            writer_peers_poll(w, 0);
        }
    }
    writer_settle(w, SETTLE_ALL);
}

/* settle_hints()'s callback in writer_stop: journals the hint of an
 * entity still pending, for the run that replays the journal. */
static void writer_settle_call_journal(void *ctx, void *buf, size_t len)
{
    writer *w = ctx;
    writer_item it = {buf, len};

    writer_journal(w, &it, 1, NULL);
    free(buf);
}

void writer_cut_wait(writer *w)
{
    atomic_store(&w->cut_wait, 1);
}

void writer_set_watermark(writer *w, uint64_t us)
{
    if (us > atomic_load(&w->watermark_us))
        atomic_store(&w->watermark_us, us);
}

static void *writer_main(void *arg)
{
    writer *w = arg;
    struct timespec nap = {0, 2 * 1000 * 1000};

    sigset_t pipe;

    /* A write to a Redis that died must fail with EPIPE, not kill the
     * process, whatever the program does with SIGPIPE elsewhere. */
    sigemptyset(&pipe);
    sigaddset(&pipe, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe, NULL);
    pthread_setname_np(pthread_self(), "lh-redis");
    for (;;) {
        int stopping = atomic_load(&w->stop);
        uint64_t mark = atomic_load(&w->watermark_us);
        int n = writer_take(w);
        if (n > 0)
            writer_deliver(w, n);
        /* a short take saw every queue empty after the watermark was read:
         * every record below it is delivered; and no fact waits in the
         * journal, whose hints are not known yet (settling the others first
         * would put the lines out of order) */
        if (n < w->cfg.batch && (w->peers || mark > w->settled_us) &&
            journal_pending(w->journal) == 0 && writer_connected(w, 0)) {
            if (mark > w->delivered_us)
                w->delivered_us = mark;
            uint64_t bound = writer_bound(w);
            if (bound > w->settled_us && writer_settle(w, bound) == 0)
                w->settled_us = bound;
        } else if (w->peers && writer_connected(w, 0)) {
            writer_peers_poll(w, 0); /* still heard while busy or replaying */
        }
        if (journal_pending(w->journal) > 0 && writer_connected(w, 0) && writer_replay(w) > 0)
            continue;
        if (n == 0 && stopping) {
            /* after the last record; with facts still in the journal, after
             * its last replay (writer_stop), or in the next run */
            if (journal_pending(w->journal) == 0 && writer_connected(w, 0))
                writer_settle_last(w);
            break;
        }
        if (n == 0)
            nanosleep(&nap, NULL);
    }
    return NULL;
}

writer *writer_new(const writer_config *cfg, char *err, size_t errlen)
{
    writer *w = calloc(1, sizeof(*w));
    uint64_t torn;

    if (w == NULL) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    w->cfg = *cfg;
    w->cfg.timeout_ms = cfg->timeout_ms > 0 ? cfg->timeout_ms : 2000;
    w->cfg.batch = cfg->batch > 0 ? cfg->batch : 256;
    w->url = *cfg->url; /* shallow: cfg->url outlives the writer */
    w->backoff_ms = WRITER_BACKOFF_MIN_MS;
    w->items = calloc(2 * (size_t)w->cfg.batch, sizeof(*w->items));
    w->done = malloc((size_t)w->cfg.batch);
    w->replay_done = calloc((size_t)w->cfg.batch, 1);
    if ((w->open_group = malloc(sizeof(int) * CLUSTER_NSLOTS)) != NULL)
        for (int i = 0; i < CLUSTER_NSLOTS; i++)
            w->open_group[i] = -1;
    {
        char token[96];
        struct timespec now;
        clock_gettime(CLOCK_REALTIME, &now);
        /* names this writer's settle calls: unique per process and start */
        snprintf(token, sizeof(token), "settle/%ld/%lld.%09ld", (long)getpid(),
                 (long long)now.tv_sec, now.tv_nsec);
        w->settle = settle_new(token);
    }
    if (peers_parse(cfg->peers, cfg->sensor, cfg->peer_timeout_us, writer_now_us(), &w->peers, err,
                    errlen) < 0) {
        writer_free(w, 0);
        return NULL;
    }
    if (w->peers) {
        size_t klen = strlen(cfg->prefix ? cfg->prefix : "") + sizeof("watermarks");
        if ((w->wm_key = malloc(klen)) == NULL) {
            snprintf(err, errlen, "out of memory");
            writer_free(w, 0);
            return NULL;
        }
        snprintf(w->wm_key, klen, "%swatermarks", cfg->prefix ? cfg->prefix : "");
    }
    if (w->items == NULL || w->done == NULL || w->replay_done == NULL || w->settle == NULL ||
        w->open_group == NULL ||
        (w->journal =
             journal_open(cfg->journal_path, cfg->journal_max_bytes, &torn, err, errlen)) == NULL) {
        if (w->items == NULL || w->done == NULL || w->replay_done == NULL || w->settle == NULL ||
            w->open_group == NULL)
            snprintf(err, errlen, "out of memory");
        writer_free(w, 0);
        return NULL;
    }
    if (torn)
        writer_report(w, "journal %s: cut a damaged tail of %llu bytes", cfg->journal_path,
                      (unsigned long long)torn);
    if (journal_pending(w->journal))
        writer_report(w, "journal %s: %llu events from an earlier run will be replayed first",
                      cfg->journal_path, (unsigned long long)journal_pending(w->journal));
    writer_sync_journal_stats(w);
    if (w->url.cluster ? (w->cl = cluster_open(&w->url, w->cfg.timeout_ms, err, errlen)) == NULL
                       : rconn_open(&w->url, w->cfg.timeout_ms, &w->ctx, err, errlen) != 0) {
        writer_free(w, 0);
        return NULL;
    }
    w->cl_up = w->cl != NULL;
    STAT_SET(w->st.connected, 1);
    return w;
}

int writer_start(writer *w)
{
    if (pthread_create(&w->thread, NULL, writer_main, w) != 0)
        return -1;
    w->started = 1;
    return 0;
}

uint64_t writer_stop(writer *w)
{
    uint64_t left;

    if (!w->started)
        return journal_pending(w->journal);
    atomic_store(&w->stop, 1);
    pthread_join(w->thread, NULL);
    w->started = 0;
    /* one last attempt for what waits in the journal */
    while (journal_pending(w->journal) > 0 && writer_connected(w, 1) && writer_replay(w) > 0)
        ;
    /* the windows of what that replay delivered */
    if (journal_pending(w->journal) == 0 && writer_connected(w, 1))
        writer_settle_last(w);
    /* what could not be settled: known to the next run from the journal */
    if (settle_pending(w->settle) > 0 && settle_hints(w->settle, writer_settle_call_journal, w) < 0)
        writer_report(w, "out of memory: the settle hints of pending windows are lost");
    journal_sync(w->journal);
    left = journal_pending(w->journal);
    writer_sync_journal_stats(w);
    if (left)
        writer_report(w,
                      "%llu events could not reach Redis and stay in the journal %s; the next "
                      "run with this journal replays them",
                      (unsigned long long)left, w->cfg.journal_path);
    if (STAT_GET(w->st.dropped))
        writer_report(w, "warning: %llu events dropped: the journal was full (journal_max)",
                      (unsigned long long)STAT_GET(w->st.dropped));
    return left;
}

const writer_stats *writer_get_stats(const writer *w)
{
    return &w->st;
}

uint64_t writer_queued(const writer *w)
{
    uint64_t in = 0, taken = STAT_GET(w->st.taken);

    for (unsigned i = 0; i < w->cfg.nqueues; i++)
        in += event_queue_enqueued(w->cfg.queues[i]);
    return in > taken ? in - taken : 0;
}

void writer_free(writer *w, int remove_empty_journal)
{
    if (w == NULL)
        return;
    if (w->started)
        writer_stop(w);
    redisFree(w->ctx);
    cluster_free(w->cl);
    journal_close(w->journal, remove_empty_journal);
    free(w->items);
    free(w->done);
    free(w->replay_done);
    free(w->open_group);
    free(w->steps);
    settle_free(w->settle);
    peers_free(w->peers);
    free(w->wm_key);
    bytes_free(&w->out);
    free(w);
}

void writer_stats_describe(const writer *w, json_t *o)
{
    const writer_stats *ws = writer_get_stats(w);

    counters_add(o, "events_queued", writer_queued(w));
    counters_add(o, "events_sent", STAT_GET(ws->sent));
    counters_add(o, "events_journaled", STAT_GET(ws->journaled));
    counters_add(o, "events_replayed", STAT_GET(ws->replayed));
    counters_add(o, "events_dropped", STAT_GET(ws->dropped));
    counters_add(o, "events_rejected", STAT_GET(ws->rejected));
    counters_add(o, "journal_bytes", STAT_GET(ws->journal_bytes));
    counters_add(o, "redis_round_trips", STAT_GET(ws->round_trips));
    counters_add(o, "redis_round_trip_us", STAT_GET(ws->round_trip_us));
    counters_add(o, "alerts", STAT_GET(ws->alerts));
    if (w->cl) { /* a Redis Cluster only (docs/redis.md) */
        const cluster_stats *cs = cluster_get_stats(w->cl);
        counters_add(o, "cluster_primaries", STAT_GET(cs->primaries));
        counters_add(o, "cluster_moved", STAT_GET(cs->moved));
        counters_add(o, "cluster_ask", STAT_GET(cs->ask));
        counters_add(o, "cluster_tryagain", STAT_GET(cs->tryagain));
        counters_add(o, "cluster_refreshes", STAT_GET(cs->refreshes));
    }
    if (w->peers) { /* [redis] peers only */
        counters_add(o, "peers_waiting", STAT_GET(ws->peers_waiting));
        counters_add(o, "peers_lapsed", STAT_GET(ws->peers_lapsed));
    }
}
