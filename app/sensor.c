/* sensor.c -- wiring and lifetime of the sensor's parts (see sensor.h).
 *
 * Threads: the capture loop runs in a thread of its own; the calling
 * thread waits for it, printing counters every `stats_secs` seconds of wall
 * time, then joins the workers. Counters are read with relaxed loads while
 * the other threads write them (base/stats.h).
 */
#include "sensor.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "analyze/worker.h"
#include "capture/capture.h"
#include "geo/snapshot.h"
#include "app/eve.h"
#include "app/graph.h"
#include "app/metrics.h"
#include "app/progress.h"
#include "base/counters.h"
#include "base/stats.h"
#include "app/summary.h"
#include "base/wire_json.h"
#include "base/output.h"
#include "rules/event.h"
#include "redis/spawn.h"
#include "redis/writer.h"

/* What the rules sink of one worker needs. */
typedef struct sensor_rules {
    detect *d;
    event_queue *q;
} sensor_rules;

struct sensor {
    const config *cfg;
    detect_config rules;
    privs_target run_as;
    output *flows;
    output *alerts;
    /* Redis: the private server (NULL with --redis), the writer, one event
     * queue per worker plus the last one for the main thread's counters. */
    spawn *spawn;
    rurl url;
    char journal[4200];
    event_context ectx;
    event_queue **queues;
    writer *writer;
    ring **rings;
    worker **workers;
    sensor_rules *rules_of; /* per worker: its rules context and event queue */
    unsigned nworkers;
    capture *cap;
    pthread_t cap_thread;
    int cap_status;
    _Atomic int cap_done;
    _Atomic int stopping;   /* sensor_stop() was called */
    geo_holder *geo;        /* the workers read the current geo snapshot here */
    _Atomic int geo_reload; /* set by SIGHUP, cleared by the control loop */
    /* the default database and indicator directory the first load found
     * ("" = none): a reload reads these again, and fails loudly when it
     * cannot (a dropped user that cannot reach them), instead of finding
     * nothing and loading empty tables */
    char geo_default_db[4096];
    char geo_default_ind[4096];
    uint64_t geo_reloads, geo_reload_failures; /* main thread only */
    /* operator output: the progress line (replay on a terminal), the
     * --graph aggregator the workers feed, the stream position the
     * end-of-run summary starts after ("" = no summary). term_lock
     * orders the terminal: the progress line, lines an output writes to
     * a terminal, and messages, each drawn whole. */
    pthread_mutex_t term_lock;
    progress *_Atomic progress;
    graph *graph;
    FILE *graph_fp;   /* --graph, opened at start (before a privilege drop) */
    FILE *summary_fp; /* --summary, likewise; stdout for "-" */
    char summary_since[64];
    /* Alerts by rule, counted on the writer's thread: one per rule of
     * eve_rules(), then one for any other rule. */
    _Atomic uint64_t *rule_alerts;
    int alerts_eve;     /* --alerts-format eve: sensor_on_alert writes --alerts */
    int metrics_failed; /* the --metrics error was reported once */
    /* The workers' nDPI modules, built on a thread of their own while the
     * main thread starts the rest (sensor_dpi_main()); handed to the
     * workers by sensor_join_setup(). */
    pthread_t dpi_thread;
    int dpi_started;
    dpi **dpi_made;
    char dpi_err[256];
};

static void sensor_report(void *ctx, const char *msg);

/* writer_alert_fn, on the writer's thread: counts an alert line under its
 * rule and, with --alerts-format eve, writes it to --alerts as an EVE
 * event (the writer then writes nothing itself; Redis keeps the native
 * line either way). */
static void sensor_on_alert(void *ctx, const char *line, size_t len)
{
    sensor *s = ctx;
    size_t n, i, elen;
    const eve_rule *r = eve_rules(&n);
    json_t *a = json_loadb(line, len, 0, NULL);
    const char *rule = json_string_value(json_object_get(a, "rule"));
    char *eve;

    for (i = 0; rule && i < n && strcmp(r[i].rule, rule) != 0; i++)
        ;
    STAT_ADD(s->rule_alerts[rule ? i : n], 1);
    json_decref(a);
    if (!s->alerts_eve)
        return;
    if ((eve = eve_from_alert(line, len, &elen)) != NULL)
        output_write(s->alerts, eve, elen);
    else
        sensor_report(s, "an alert line from Redis is not a JSON object: not written as EVE");
    free(eve);
}

static json_t *sensor_alerts_by_rule(sensor *s)
{
    size_t n;
    const eve_rule *r = eve_rules(&n);
    json_t *o = json_object();

    for (size_t i = 0; i < n; i++)
        json_object_set_new(o, r[i].rule, json_integer((json_int_t)STAT_GET(s->rule_alerts[i])));
    if (STAT_GET(s->rule_alerts[n]))
        json_object_set_new(o, "other", json_integer((json_int_t)STAT_GET(s->rule_alerts[n])));
    return o;
}

#define SENSOR_GEO_CACHE     4096  /* answers cached per worker */
#define SENSOR_SPAWN_WAIT_MS 10000 /* for the private redis-server to answer at start */

/* Around a line for the terminal: the progress line is cleared first and
 * not redrawn until the line is out (it comes back at its next update). */
static void sensor_term_hold(void *ctx)
{
    sensor *s = ctx;

    pthread_mutex_lock(&s->term_lock);
    progress_interrupt(atomic_load(&s->progress));
}

static void sensor_term_release(void *ctx)
{
    sensor *s = ctx;

    pthread_mutex_unlock(&s->term_lock);
}

/* The flow-end sinks of the workers, in the order they are wired:
 * the flows file, the Redis flow stream, the graph, the rules. */
static void sensor_sink_flows(void *ctx, worker_end *e)
{
    size_t len;
    const char *line = worker_end_line(e, &len);

    if (line)
        output_write(ctx, line, len);
}

static void sensor_sink_stream(void *ctx, worker_end *e)
{
    size_t len;
    const char *line = worker_end_line(e, &len);

    if (line)
        event_flow(ctx, line, len);
}

static void sensor_sink_graph(void *ctx, worker_end *e)
{
    json_t *rec = worker_end_json(e);

    if (rec)
        graph_add_flow(ctx, rec);
}

static void sensor_sink_rules(void *ctx, worker_end *e)
{
    sensor_rules *r = ctx;

    detect_record(r->d, r->q, e->f, e->reason, e->src, e->dst, e->geo);
}

/* The sinks of worker i. */
static void sensor_sinks(sensor *s, unsigned i, worker_config *wc)
{
    worker_sink *k = wc->sinks;

    if (s->flows)
        *k++ = (worker_sink){sensor_sink_flows, s->flows};
    if (s->cfg->redis.flows)
        *k++ = (worker_sink){sensor_sink_stream, s->queues[i]};
    if (s->graph)
        *k++ = (worker_sink){sensor_sink_graph, s->graph};
    *k++ = (worker_sink){sensor_sink_rules, &s->rules_of[i]};
    wc->nsinks = (unsigned)(k - wc->sinks);
}

static void sensor_report(void *ctx, const char *msg)
{
    sensor *s = ctx;

    if (s)
        sensor_term_hold(s);
    fprintf(stderr, "loophole: %s\n", msg);
    if (s)
        sensor_term_release(s);
}

/* --flows and --alerts: one sink per file, shared when both name the same
 * one (standard output, say), so that one owner writes whole lines. */
static int sensor_new_outputs(sensor *s, char *err, size_t errlen)
{
    const config *cfg = s->cfg;

    if (cfg->flows_path && (s->flows = output_open(cfg->flows_path, err, errlen)) == NULL)
        return -1;
    if (s->flows && output_same(s->flows, cfg->alerts_path))
        s->alerts = output_ref(s->flows);
    else if ((s->alerts = output_open(cfg->alerts_path, err, errlen)) == NULL)
        return -1;
    output *outs[] = {s->flows, s->alerts};
    for (int i = 0; i < 2; i++)
        if (outs[i] && output_isatty(outs[i]))
            output_set_guard(outs[i], sensor_term_hold, sensor_term_release, s);
    return 0;
}

void sensor_detect_config(const config *c, detect_config *out)
{
    *out = c->rules;
}

static int sensor_new_workers(sensor *s, char *err, size_t errlen)
{
    const config *cfg = s->cfg;
    uint32_t per = cfg->flows.max_flows / s->nworkers; /* the key is for all workers */

    s->rings = calloc(s->nworkers, sizeof(*s->rings));
    s->workers = calloc(s->nworkers, sizeof(*s->workers));
    s->rules_of = calloc(s->nworkers, sizeof(*s->rules_of));
    if (s->rings == NULL || s->workers == NULL || s->rules_of == NULL) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    for (unsigned i = 0; i < s->nworkers; i++) {
        worker_config wc = {
            .id = i,
            .table = cfg->flows,
            .sensor = cfg->sensor,
            .geo = s->geo,
            .geo_cache_entries = SENSOR_GEO_CACHE,
            .dpi_later = 1, /* sensor_join_setup() */
        };
        s->rules_of[i].q = s->queues[i];
        if ((s->rules_of[i].d = detect_new(&s->rules, cfg->sensor)) == NULL) {
            snprintf(err, errlen, "out of memory");
            return -1;
        }
        wc.table.max_flows = per > 0 ? per : 1;
        sensor_sinks(s, i, &wc);
        s->rings[i] = ring_new(cfg->queue_bytes);
        if (s->rings[i] == NULL) {
            snprintf(err, errlen, "out of memory for a %llu-byte queue",
                     (unsigned long long)cfg->queue_bytes);
            return -1;
        }
        wc.in = s->rings[i];
        if ((s->workers[i] = worker_new(&wc, err, errlen)) == NULL)
            return -1;
    }
    return 0;
}

static int sensor_new_capture(sensor *s, char *err, size_t errlen)
{
    capture_config cc = s->cfg->capture;

    cc.files = (const char **)s->cfg->files;
    cc.nfiles = s->cfg->nfiles;
    s->cap = capture_new(&cc, s->rings, s->nworkers, err, errlen);
    return s->cap ? 0 : -1;
}

/* The journal's default: beside the private server, or a fixed path per
 * user and sensor so that the next run against the same Redis replays it. */
static void sensor_journal_path(sensor *s)
{
    const config *cfg = s->cfg;
    char name[128];
    size_t i;

    if (cfg->redis.journal_path) {
        snprintf(s->journal, sizeof(s->journal), "%s", cfg->redis.journal_path);
    } else if (s->spawn) {
        snprintf(s->journal, sizeof(s->journal), "%s/journal", spawn_dir(s->spawn));
    } else {
        snprintf(name, sizeof(name), "%s", cfg->sensor);
        for (i = 0; name[i]; i++)
            if (name[i] == '/' || name[i] == '.')
                name[i] = '_';
        snprintf(s->journal, sizeof(s->journal), "/var/tmp/loophole-%u-%s.journal",
                 (unsigned)s->run_as.uid, name);
    }
}

/* The Redis side: the private server when no URL is given, the event
 * queues and the writer (whose first connection must succeed). */
static int sensor_new_redis(sensor *s, char *err, size_t errlen)
{
    const config *cfg = s->cfg;
    struct timeval tv;
    int rc;

    if (cfg->redis.url == NULL) {
        /* not waited for here: it starts while the workers load nDPI
         * (sensor_new_writer() waits) */
        if ((s->spawn = spawn_start(0, s->run_as.drop ? s->run_as.uid : (uid_t)-1, s->run_as.gid,
                                    err, errlen)) == NULL)
            return -1;
        rc = rurl_unix(&s->url, spawn_socket(s->spawn), err, errlen);
    } else {
        rc = rurl_parse(&s->url, cfg->redis.url, getenv(RURL_PASSWORD_ENV), err, errlen);
    }
    if (rc < 0)
        return -1;
    sensor_journal_path(s);
    gettimeofday(&tv, NULL);
    s->ectx = (event_context){.prefix = cfg->redis.prefix,
                              .sensor = cfg->sensor,
                              .run_id = (uint64_t)tv.tv_sec * 1000000u + (uint64_t)tv.tv_usec,
                              .stream_maxlen = cfg->redis.stream_maxlen,
                              .alert_keep_s = cfg->redis.alert_retention_us / 1000000u,
                              .cluster = s->url.cluster};
    if ((s->queues = calloc(s->nworkers + 1, sizeof(*s->queues))) == NULL)
        goto oom;
    for (unsigned i = 0; i <= s->nworkers; i++)
        if ((s->queues[i] = event_queue_new(&s->ectx, i, cfg->redis.queue_bytes,
                                            cfg->capture.interface == NULL)) == NULL)
            goto oom;
    return 0;
oom:
    snprintf(err, errlen, "out of memory for the Redis event queues");
    return -1;
}

/* The writer, once the private server (if any) answers. */
static int sensor_new_writer(sensor *s, char *err, size_t errlen)
{
    const config *cfg = s->cfg;

    if (s->spawn && spawn_wait(s->spawn, SENSOR_SPAWN_WAIT_MS, err, errlen) != 0)
        return -1;
    writer_config wc = {.url = &s->url,
                        .journal_path = s->journal,
                        .journal_max_bytes = cfg->redis.journal_max_bytes,
                        .alerts = s->alerts_eve ? NULL : s->alerts,
                        .queues = s->queues,
                        .nqueues = s->nworkers + 1,
                        .report = sensor_report,
                        .report_ctx = s,
                        .on_alert = sensor_on_alert,
                        .alert_ctx = s,
                        .sensor = cfg->sensor,
                        .prefix = cfg->redis.prefix,
                        .peers = cfg->redis.peers,
                        .peer_timeout_us = cfg->redis.peer_timeout_us,
                        .wait_peers = cfg->capture.interface == NULL};
    s->writer = writer_new(&wc, err, errlen);
    if (s->writer == NULL)
        return -1;
    /* The journal is opened now, as root; once the sensor runs as another
     * user it still writes through the open descriptor, and owning the
     * file lets it remove the file when it has been replayed. */
    if (s->run_as.drop && chown(s->journal, s->run_as.uid, s->run_as.gid) != 0) {
        snprintf(err, errlen, "%s: cannot give the journal to user %s: %s", s->journal,
                 s->run_as.name, strerror(errno));
        return -1;
    }
    return 0;
}

/* The --graph aggregator; its file is opened (not emptied) now, so a bad
 * path fails before any packet is read. */
static int sensor_new_graph(sensor *s, char *err, size_t errlen)
{
    const config *cfg = s->cfg;
    graph_config gc = {.china = cfg->rules.china,
                       .nchina = cfg->rules.nchina,
                       .relay = cfg->rules.relay,
                       .nrelay = cfg->rules.nrelay};
    FILE *f;

    if (cfg->graph_path == NULL)
        return 0;
    /* Opened now and kept: the sensor may run as another user by the end. */
    if ((f = fopen(cfg->graph_path, "w")) == NULL) {
        snprintf(err, errlen, "--graph %s: %s", cfg->graph_path, strerror(errno));
        return -1;
    }
    s->graph_fp = f;
    if ((s->graph = graph_new(&gc)) == NULL) {
        snprintf(err, errlen, "out of memory for the graph");
        return -1;
    }
    return 0;
}

/* The --summary file, opened now for the same reason as the graph's. */
static int sensor_new_summary(sensor *s, char *err, size_t errlen)
{
    const char *path = s->cfg->summary_path;

    if (path == NULL)
        return 0;
    s->summary_fp = strcmp(path, "-") == 0 ? stdout : fopen(path, "w");
    if (s->summary_fp == NULL) {
        snprintf(err, errlen, "--summary %s: %s", path, strerror(errno));
        return -1;
    }
    return 0;
}

/* Builds the workers' nDPI modules, one after the other (nDPI's
 * initialisation is not safe on two threads at once, analyze/dpi.h): a
 * module takes about 10 ms, which the main thread spends meanwhile
 * starting Redis, the outputs and the workers and loading the geo data
 * (docs/performance.md, "Eleventh round"). A module that cannot be built
 * leaves its slot NULL and dpi_err says why. */
static void *sensor_dpi_main(void *arg)
{
    sensor *s = arg;

    pthread_setname_np(pthread_self(), "lh-dpi-init");
    for (unsigned i = 0; i < s->nworkers; i++)
        if ((s->dpi_made[i] = dpi_new(s->dpi_err, sizeof(s->dpi_err))) == NULL)
            break;
    return NULL;
}

static int sensor_dpi_start(sensor *s, char *err, size_t errlen)
{
    if ((s->dpi_made = calloc(s->nworkers, sizeof(*s->dpi_made))) == NULL) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    if (pthread_create(&s->dpi_thread, NULL, sensor_dpi_main, s) != 0) {
        snprintf(err, errlen, "cannot start a thread");
        return -1;
    }
    s->dpi_started = 1;
    return 0;
}

/* Waits for the thread that builds the modules. */
static void sensor_dpi_join(sensor *s)
{
    if (s->dpi_started) {
        pthread_join(s->dpi_thread, NULL);
        s->dpi_started = 0;
    }
}

int sensor_join_setup(sensor *s, char *err, size_t errlen)
{
    sensor_dpi_join(s);
    for (unsigned i = 0; s->dpi_made && i < s->nworkers; i++) {
        if (s->dpi_made[i] == NULL) {
            snprintf(err, errlen, "%s", s->dpi_err[0] ? s->dpi_err : "cannot initialise nDPI");
            return -1;
        }
        worker_set_dpi(s->workers[i], s->dpi_made[i]);
        s->dpi_made[i] = NULL;
    }
    free(s->dpi_made); /* all handed over: a second call finds nothing to do */
    s->dpi_made = NULL;
    return 0;
}

sensor *sensor_new(const config *cfg, const privs_target *run_as, char *err, size_t errlen)
{
    sensor *s = calloc(1, sizeof(*s));

    if (s == NULL) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    s->cfg = cfg;
    s->run_as = *run_as;
    s->nworkers = cfg->threads > 0 ? (unsigned)cfg->threads : 1;
    size_t nrules;
    eve_rules(&nrules);
    if ((s->rule_alerts = calloc(nrules + 1, sizeof(*s->rule_alerts))) == NULL) {
        snprintf(err, errlen, "out of memory");
        free(s);
        return NULL;
    }
    s->alerts_eve = strcmp(cfg->alerts_format, "eve") == 0;
    pthread_mutex_init(&s->term_lock, NULL);
    sensor_detect_config(cfg, &s->rules);
    if (sensor_dpi_start(s, err, errlen) != 0 || sensor_new_outputs(s, err, errlen) != 0 ||
        sensor_new_redis(s, err, errlen) != 0) {
        sensor_free(s);
        return NULL;
    }
    if ((s->geo = geo_holder_new()) == NULL) {
        snprintf(err, errlen, "out of memory");
        sensor_free(s);
        return NULL;
    }
    /* The progress line sizes the -r files now, while it may still read
     * them all (the sensor may drop its privileges before it runs). */
    if (progress_wanted(cfg->progress, cfg->nfiles, STDERR_FILENO))
        atomic_store(&s->progress,
                     progress_new(stderr, (const char *const *)cfg->files, cfg->nfiles));
    if (sensor_new_graph(s, err, errlen) != 0 || sensor_new_summary(s, err, errlen) != 0 ||
        sensor_new_workers(s, err, errlen) != 0 || sensor_new_capture(s, err, errlen) != 0 ||
        sensor_new_writer(s, err, errlen) != 0) {
        sensor_free(s);
        return NULL;
    }
    return s;
}

void sensor_stop(sensor *s)
{
    if (s && s->cap) {
        atomic_store(&s->stopping, 1);
        capture_stop(s->cap);
        if (s->writer) /* a stopped replay does not wait for its peers */
            writer_cut_wait(s->writer);
    }
}

/* SIGUSR1 interrupts a capture thread blocked reading a pipe that has
 * gone quiet (a FIFO or standard input mid-stream): installed without
 * SA_RESTART, so the read fails with EINTR and the capture loop sees the
 * stop request. The handler itself has nothing to do. */
static void sensor_on_wake(int sig)
{
    (void)sig;
}

static void sensor_wake_handler(void)
{
    struct sigaction sa;

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = sensor_on_wake;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGUSR1, &sa, NULL);
}

static void *sensor_capture_main(void *arg)
{
    sensor *s = arg;
    pthread_setname_np(pthread_self(), "lh-capture");
    s->cap_status = capture_run(s->cap, sensor_report, s);
    atomic_store(&s->cap_done, 1);
    return NULL;
}

/* The counters as one JSON object, each module describing its own
 * (base/counters.h); the caller owns it. */
static json_t *sensor_stats_json(sensor *s)
{
    json_t *o = json_object();

    json_object_set_new(o, "event_type", json_string("stats"));
    json_object_set_new(o, "sensor", wjson_cstring(s->cfg->sensor));
    capture_stats_describe(capture_get_stats(s->cap), o);
    for (unsigned i = 0; i < s->nworkers; i++)
        worker_stats_describe(s->workers[i], o);
    if (s->flows)
        counters_add(o, "flow_records_lost", output_lost(s->flows));
    counters_add(o, "geo_reloads", s->geo_reloads);
    counters_add(o, "geo_reload_failures", s->geo_reload_failures);
    writer_stats_describe(s->writer, o);
    json_object_set_new(o, "alerts_by_rule", sensor_alerts_by_rule(s));
    for (unsigned i = 0; i <= s->nworkers; i++)
        event_queue_stats_describe(s->queues[i], o);
    return o;
}

/* Publishes the counters to <prefix>stats:<sensor> (interface.md section 6)
 * through the main thread's event queue. */
static void sensor_publish_stats(sensor *s, json_t *o)
{
    static const char *const names[] = {"packets", "bytes", "drops", "flows_active", "flows_total",
                                        "events_queued", "journal_bytes", "events_sent",
                                        "events_journaled", "events_replayed", "events_dropped",
                                        "alerts", "clock", "geo_reloads", "geo_reload_failures",
                                        /* a Redis Cluster only */
                                        "cluster_primaries", "cluster_moved", "cluster_ask",
                                        "cluster_tryagain", "cluster_refreshes",
                                        /* [redis] peers only */
                                        "peers_waiting", "peers_lapsed"};
    enum { N = sizeof(names) / sizeof(names[0]) };
    const char *kv[2 * (N + 1)];
    char vals[N + 1][40];
    int n = 0;

    for (int i = 0; i < N; i++) {
        json_t *v = json_object_get(o, names[i]);
        if (json_is_integer(v))
            snprintf(vals[n], sizeof(vals[n]), "%lld", (long long)json_integer_value(v));
        else if (json_is_string(v))
            snprintf(vals[n], sizeof(vals[n]), "%s", json_string_value(v));
        else
            continue;
        kv[2 * n] = names[i];
        kv[2 * n + 1] = vals[n];
        n++;
    }
    /* wall time: when the sensor last reported, for dashboards' liveness */
    wjson_format_time((uint64_t)time(NULL) * 1000000u, vals[n], sizeof(vals[n]));
    kv[2 * n] = "updated";
    kv[2 * n + 1] = vals[n];
    n++;
    event_stats(s->queues[s->nworkers], kv, n);
}

/* Prints the counters (when --stats asks for them), publishes them, and
 * rewrites the --metrics file. A failing metrics file is reported once and
 * does not stop the sensor: monitoring must not cost detection. */
static void sensor_print_stats(sensor *s, int print)
{
    json_t *o = sensor_stats_json(s);
    char *line = print ? json_dumps(o, JSON_PRESERVE_ORDER | JSON_COMPACT) : NULL;
    char err[512];

    sensor_publish_stats(s, o);
    if (s->cfg->metrics_path &&
        metrics_write_textfile(s->cfg->metrics_path, o, err, sizeof(err)) != 0 &&
        !s->metrics_failed++)
        fprintf(stderr, "loophole: warning: --metrics: %s\n", err);
    if (line)
        fprintf(stderr, "%s\n", line);
    free(line);
    json_decref(o);
}

/* The counters once the writer has drained every event, so the alerts
 * that the last replies carried are counted: the last --stats line and the
 * last --metrics file. */
static void sensor_final_stats(sensor *s)
{
    json_t *o = sensor_stats_json(s);
    char err[512];

    if (s->cfg->metrics_path && metrics_write_textfile(s->cfg->metrics_path, o, err, sizeof(err)))
        fprintf(stderr, "loophole: warning: --metrics: %s\n", err);
    if (s->cfg->stats_secs > 0) {
        char *line = json_dumps(o, JSON_PRESERVE_ORDER | JSON_COMPACT);
        if (line)
            fprintf(stderr, "%s\n", line);
        free(line);
    }
    json_decref(o);
}

/* Warns about anything dropped, whether or not --stats was given: nothing
 * is lost silently. Read from the counters the modules describe. */
static void sensor_warn_drops(sensor *s)
{
    json_t *o = sensor_stats_json(s);
    uint64_t drops = (uint64_t)json_integer_value(json_object_get(o, "drops"));
    uint64_t evicted = (uint64_t)json_integer_value(json_object_get(o, "flows_evicted"));

    if (drops) {
        char *r =
            json_dumps(json_object_get(o, "drop_reasons"), JSON_PRESERVE_ORDER | JSON_COMPACT);
        fprintf(stderr, "loophole: warning: %llu of %llu packets dropped: %s\n",
                (unsigned long long)drops,
                (unsigned long long)json_integer_value(json_object_get(o, "packets")), r ? r : "");
        free(r);
    }
    if (evicted)
        fprintf(stderr, "loophole: warning: flow table full, %llu flows evicted early\n",
                (unsigned long long)evicted);
    json_decref(o);
}

/* The source tree of a developer build, where the default data lives
 * before installation; NULL in a packaged build (LOOPHOLE_PACKAGE). */
static const char *sensor_srcdir(void)
{
    static const char dir[] = LOOPHOLE_SRCDIR;
    return dir[0] ? dir : NULL;
}

/* The geo tables the configuration names, as one snapshot. `warn` says
 * whether to print the one-time warnings about defaults not found. The
 * defaults (installed data, else the source tree) are looked for until
 * found once; from then on they are the files to read. */
static geo_snapshot *sensor_geo_snapshot(sensor *s, int warn, char *err, size_t errlen)
{
    const config *cfg = s->cfg;
    char *db = s->geo_default_db, *ind = s->geo_default_ind;
    const char *dflt = NULL;
    geo_snapshot_config gc = cfg->geo;

    if (cfg->geo.ndbs == 0 && db[0] == '\0' &&
        geo_default_db(LOOPHOLE_DATADIR, sensor_srcdir(), db, sizeof(s->geo_default_db)) == NULL)
        db[0] = '\0';
    if (cfg->geo.ndbs == 0 && db[0] != '\0')
        dflt = db, gc.dbs = &dflt, gc.ndbs = 1;
    else if (cfg->geo.ndbs == 0 && warn)
        fprintf(stderr, "loophole: warning: no geo database: country and AS stay null "
                        "(run scripts/geo-db.sh or give --geo FILE)\n");
    if (gc.indicators_dir == NULL && ind[0] != '\0') {
        gc.indicators_dir = ind; /* found before: read again, or fail */
    } else if (gc.indicators_dir == NULL) {
        size_t len = sizeof(s->geo_default_ind);
        snprintf(ind, len, "%s/indicators/asn.csv", LOOPHOLE_DATADIR);
        /* a packaged build (LOOPHOLE_PACKAGE) has no source tree to fall back on */
        if (access(ind, R_OK) != 0 && sensor_srcdir() != NULL)
            snprintf(ind, len, "%s/data/indicators/asn.csv", sensor_srcdir());
        if (access(ind, R_OK) == 0) {
            *strrchr(ind, '/') = '\0';
            gc.indicators_dir = ind;
        } else {
            ind[0] = '\0';
        }
        if (gc.indicators_dir == NULL && warn) {
            fprintf(stderr, "loophole: warning: no indicator tables found: categories stay "
                            "null (give --indicators DIR)\n");
        }
    }
    return geo_snapshot_load(&gc, err, errlen);
}

int sensor_load_geo(sensor *s, char *err, size_t errlen)
{
    geo_snapshot *snap = sensor_geo_snapshot(s, 1, err, errlen);

    if (snap == NULL)
        return -1;
    geo_holder_publish(s->geo, snap);
    return 0;
}

void sensor_request_reload(sensor *s)
{
    if (s)
        atomic_store(&s->geo_reload, 1);
}

/* Builds the new tables outside the packet path; workers switch to them
 * at their next record. A failure (a file that cannot be read or parsed)
 * keeps the old tables, says so on standard error and is counted
 * (geo_reload_failures in the counters). */
static void sensor_reload_geo(sensor *s)
{
    char err[1024];
    geo_snapshot *snap = sensor_geo_snapshot(s, 0, err, sizeof(err));

    sensor_term_hold(s);
    if (snap == NULL) {
        s->geo_reload_failures++;
        fprintf(stderr, "loophole: reload failed, keeping the previous geo tables: %s\n", err);
    } else {
        geo_holder_publish(s->geo, snap);
        s->geo_reloads++;
        fprintf(stderr, "loophole: geo tables reloaded\n");
    }
    sensor_term_release(s);
}

/* Redraws the progress line, when there is one. */
static void sensor_progress(sensor *s, const struct timespec *now)
{
    progress *p = atomic_load(&s->progress);
    const capture_stats *cs = capture_get_stats(s->cap);
    progress_sample ps = {.packets = STAT_GET(cs->packets),
                          .files_done = STAT_GET(cs->files_done),
                          .file_offset = STAT_GET(cs->file_offset)};

    if (p == NULL)
        return;
    for (unsigned i = 0; i < s->nworkers; i++)
        ps.flows += STAT_GET(worker_flow_stats(s->workers[i])->created);
    ps.alerts = STAT_GET(writer_get_stats(s->writer)->alerts);
    pthread_mutex_lock(&s->term_lock);
    progress_update(p, &ps, (uint64_t)now->tv_sec * 1000000u + (uint64_t)now->tv_nsec / 1000u);
    pthread_mutex_unlock(&s->term_lock);
}

/* The watermark for settling alert windows (redis/settle.h): the slowest
 * worker's packet clock, less the active timeout, since a record still to
 * come may reach back that far (analyze/flow_table.h: a record is cut at
 * the latest active_timeout after its start). In live capture this is the
 * delay settling adds to an alert, beyond its window's end for the rules
 * that wait for it (docs/rules-correlation.md, "Settling"). */
static void sensor_watermark(sensor *s)
{
    uint64_t low = UINT64_MAX, lag = s->cfg->flows.active_us;

    for (unsigned i = 0; i < s->nworkers; i++) {
        uint64_t c = worker_clock_us(s->workers[i]);
        if (c < low)
            low = c;
    }
    if (low != UINT64_MAX && low > lag)
        writer_set_watermark(s->writer, low - lag);
}

static void sensor_flush_outputs(sensor *s)
{
    if (s->flows)
        output_flush(s->flows);
    output_flush(s->alerts);
}

/* Without --stats, the --metrics file is rewritten this often: within the
 * 15 s that Prometheus scrapes at by default. */
#define SENSOR_METRICS_SECS 10

static void sensor_wait_capture(sensor *s)
{
    int print = s->cfg->stats_secs > 0;
    int secs = print ? s->cfg->stats_secs : s->cfg->metrics_path ? SENSOR_METRICS_SECS : 0;
    struct timespec last, now, until;

    clock_gettime(CLOCK_MONOTONIC, &last);
    for (;;) {
        /* a nap that ends as soon as the capture thread does, so a replay
         * does not wait out the rest of a nap at its end */
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_nsec += 50 * 1000 * 1000;
        if (until.tv_nsec >= 1000000000L)
            until.tv_sec++, until.tv_nsec -= 1000000000L;
        int done = pthread_timedjoin_np(s->cap_thread, NULL, &until) == 0;
        if (!done && atomic_load(&s->stopping) && !atomic_load(&s->cap_done))
            pthread_kill(s->cap_thread, SIGUSR1); /* again until it ends */
        if (atomic_exchange(&s->geo_reload, 0))
            sensor_reload_geo(s);
        clock_gettime(CLOCK_MONOTONIC, &now);
        sensor_flush_outputs(s); /* lines reach a reader within a nap */
        sensor_watermark(s);
        sensor_progress(s, &now);
        if (secs > 0 && now.tv_sec - last.tv_sec >= secs) {
            if (print)
                sensor_term_hold(s);
            sensor_print_stats(s, print);
            if (print)
                sensor_term_release(s);
            last = now;
        }
        if (done)
            break;
    }
    pthread_mutex_lock(&s->term_lock);
    progress_free(atomic_exchange(&s->progress, NULL));
    pthread_mutex_unlock(&s->term_lock);
}

/* Delivers every queued event (the producers have stopped): to Redis, or
 * to the journal when Redis is away. Returns -1 when events were lost. */
static int sensor_stop_redis(sensor *s)
{
    const writer_stats *ws = writer_get_stats(s->writer);
    uint64_t qdrop = 0;

    for (unsigned i = 0; i <= s->nworkers; i++) {
        event_queue_close(s->queues[i]);
        qdrop += event_queue_dropped(s->queues[i]);
    }
    writer_stop(s->writer);
    if (qdrop)
        fprintf(stderr, "loophole: warning: %llu events dropped: the Redis event queue was full\n",
                (unsigned long long)qdrop);
    return qdrop || STAT_GET(ws->dropped) ? -1 : 0;
}

/* Stops the workers without an end record (nothing was captured yet). */
static void sensor_abort_workers(sensor *s)
{
    for (unsigned i = 0; i < s->nworkers; i++)
        ring_close(s->rings[i]);
    for (unsigned i = 0; i < s->nworkers; i++)
        worker_join(s->workers[i]);
}

/* Redis, for the summary: a short-lived reader of the main thread (a
 * single server or the primaries of a cluster). */
static rreader *sensor_summary_conn(sensor *s, char *err, size_t errlen)
{
    return rreader_open(&s->url, 5000, err, errlen);
}

/* Before the capture starts: the progress line, and where the run's
 * alerts will start in the stream (the summary is for replays, and for
 * live runs that asked for --summary). */
static void sensor_operator_start(sensor *s)
{
    const config *cfg = s->cfg;
    char err[512];
    rreader *c;

    if (cfg->nfiles == 0 && cfg->summary_path == NULL)
        return;
    if ((c = sensor_summary_conn(s, err, sizeof(err))) == NULL ||
        summary_mark(c, cfg->redis.prefix, s->summary_since, sizeof(s->summary_since), err,
                     sizeof(err)) != 0) {
        fprintf(stderr, "loophole: warning: no end-of-run summary: %s\n", err);
        s->summary_since[0] = '\0';
    }
    rreader_free(c);
}

/* The summary: a table on standard error after a replay that raised
 * alerts, and the JSON file when --summary asks for it. */
static int sensor_summary(sensor *s)
{
    const config *cfg = s->cfg;
    char err[512];
    rreader *c = NULL;
    json_t *sum = NULL;
    int rc = 0;

    if (s->summary_since[0] == '\0')
        return cfg->summary_path ? -1 : 0;
    if ((c = sensor_summary_conn(s, err, sizeof(err))) == NULL ||
        (sum = summary_collect(c, cfg->redis.prefix, cfg->sensor, s->summary_since, err,
                               sizeof(err))) == NULL) {
        /* only a --summary file that cannot be written fails the run; the
         * table alone is not worth status 1 (Redis may just be away, and
         * the events wait in the journal) */
        fprintf(stderr, "loophole: %sno end-of-run summary: %s\n",
                cfg->summary_path ? "" : "warning: ", err);
        rc = cfg->summary_path ? -1 : 0;
    } else {
        if (cfg->nfiles > 0 && json_integer_value(json_object_get(sum, "alerts")) > 0)
            summary_print_table(stderr, sum);
        else if (cfg->nfiles > 0 && isatty(STDERR_FILENO))
            fprintf(stderr, "loophole: no alerts\n");
        FILE *f = s->summary_fp;
        s->summary_fp = NULL; /* closed by the writer */
        if (f && summary_write_json_file(sum, f, cfg->summary_path, err, sizeof(err))) {
            fprintf(stderr, "loophole: %s\n", err);
            rc = -1;
        }
    }
    json_decref(sum);
    rreader_free(c);
    return rc;
}

/* After the workers and the writer are done: the summary and the graph.
 * Returns -1 when a file asked for could not be written. */
static int sensor_operator_end(sensor *s)
{
    char err[512];
    int rc = sensor_summary(s);

    if (s->graph) {
        graph_stats gs = graph_get_stats(s->graph);
        if (gs.flows_skipped)
            fprintf(stderr,
                    "loophole: warning: --graph: %llu flows not drawn: the graph is full "
                    "(%u nodes, %u edges)\n",
                    (unsigned long long)gs.flows_skipped, gs.nodes, gs.edges);
        int bad =
            graph_write_dot_file(s->graph, s->graph_fp, s->cfg->graph_path, err, sizeof(err)) != 0;
        s->graph_fp = NULL;
        if (bad) {
            fprintf(stderr, "loophole: %s\n", err);
            rc = -1;
        }
    }
    return rc;
}

int sensor_run(sensor *s)
{
    char err[1024];
    int status = 0;

    /* The metrics file is first written here, as the user the sensor runs
     * as, so a directory it cannot write to is an error now rather than a
     * warning once packets flow. */
    if (s->cfg->metrics_path) {
        json_t *o = sensor_stats_json(s);
        int rc = metrics_write_textfile(s->cfg->metrics_path, o, err, sizeof(err));
        json_decref(o);
        if (rc != 0) {
            fprintf(stderr, "loophole: --metrics: %s (the directory must be writable by %s)\n", err,
                    s->run_as.drop ? s->run_as.name : "the user running loophole");
            return 1;
        }
    }
    if (writer_start(s->writer) != 0) {
        fprintf(stderr, "loophole: cannot start the Redis writer thread\n");
        return 1;
    }
    for (unsigned i = 0; i < s->nworkers; i++) {
        if (worker_start(s->workers[i]) != 0) {
            fprintf(stderr, "loophole: cannot start worker thread %u\n", i);
            sensor_abort_workers(s);
            return 1;
        }
    }
    if (s->cfg->capture.interface)
        fprintf(stderr, "loophole: capturing on %s with %u worker%s\n", s->cfg->capture.interface,
                s->nworkers, s->nworkers == 1 ? "" : "s");
    sensor_operator_start(s);
    sensor_wake_handler();
    if (pthread_create(&s->cap_thread, NULL, sensor_capture_main, s) != 0) {
        fprintf(stderr, "loophole: cannot start the capture thread\n");
        sensor_abort_workers(s);
        return 1;
    }
    sensor_wait_capture(s);
    for (unsigned i = 0; i < s->nworkers; i++)
        worker_join(s->workers[i]);
    if (s->cap_status != 0)
        status = 1;
    sensor_print_stats(s, 0); /* published while the writer still runs */
    sensor_warn_drops(s);
    if (sensor_stop_redis(s) != 0)
        status = 1;
    sensor_final_stats(s);
    sensor_flush_outputs(s); /* every alert before the summary */
    if (sensor_operator_end(s) != 0)
        status = 1;
    /* nothing talks to the private server any more: it exits while the
     * outputs close and sensor_free() frees the rest (spawn_stop() there) */
    spawn_stop_begin(s->spawn, s->cfg->redis.keep);
    output **outs[] = {&s->flows, &s->alerts};
    for (int i = 0; i < 2; i++) {
        if (*outs[i] && output_close(*outs[i], err, sizeof(err)) != 0) {
            fprintf(stderr, "loophole: %s\n", err);
            status = 1;
        }
        *outs[i] = NULL;
    }
    return status;
}

/* Frees the writer and the queues and stops the private server: on every
 * path out of a run, the normal end, a signal and a setup failure. */
static void sensor_free_redis(sensor *s)
{
    char err[512], dir[4096];
    int keep = s->cfg->redis.keep;

    writer_free(s->writer, 1);
    s->writer = NULL;
    for (unsigned i = 0; s->queues && i <= s->nworkers; i++)
        event_queue_free(s->queues[i]);
    free(s->queues);
    s->queues = NULL;
    if (s->spawn) {
        snprintf(dir, sizeof(dir), "%s", spawn_dir(s->spawn));
        if (spawn_stop(s->spawn, keep, err, sizeof(err)) != 0)
            fprintf(stderr, "loophole: %s\n", err);
        else if (keep)
            fprintf(stderr,
                    "loophole: Redis data set kept in %s/dump.rdb; to read it: redis-server "
                    "--port 0 --unixsocket %s/redis.sock --dir %s\n",
                    dir, dir, dir);
        s->spawn = NULL;
    }
    rurl_free(&s->url);
}

void sensor_free(sensor *s)
{
    char err[256];

    if (s == NULL)
        return;
    sensor_dpi_join(s);
    for (unsigned i = 0; s->dpi_made && i < s->nworkers; i++)
        dpi_free(s->dpi_made[i]);
    free(s->dpi_made);
    capture_free(s->cap);
    for (unsigned i = 0; s->workers && i < s->nworkers; i++)
        worker_free(s->workers[i]);
    for (unsigned i = 0; s->rings && i < s->nworkers; i++)
        ring_free(s->rings[i]);
    for (unsigned i = 0; s->rules_of && i < s->nworkers; i++)
        detect_free(s->rules_of[i].d);
    free(s->rules_of);
    free(s->workers);
    free(s->rings);
    sensor_free_redis(s);
    if (s->flows)
        output_close(s->flows, err, sizeof(err));
    geo_holder_free(s->geo);
    graph_free(s->graph);
    if (s->graph_fp)
        fclose(s->graph_fp);
    if (s->summary_fp && s->summary_fp != stdout)
        fclose(s->summary_fp);
    progress_free(atomic_exchange(&s->progress, NULL));
    if (s->alerts)
        output_close(s->alerts, err, sizeof(err));
    free(s->rule_alerts);
    pthread_mutex_destroy(&s->term_lock);
    free(s);
}
