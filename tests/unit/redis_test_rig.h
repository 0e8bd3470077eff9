/* redis_test_rig.h -- one event queue and a running writer, for the tests
 * that feed events to a real Redis (a server or a cluster) and read back
 * the alerts file: trig_start() opens it on a --redis URL, trig_stop()
 * drains the queue, stops the writer and returns what stayed journaled.
 */
#ifndef LOOPHOLE_REDIS_TEST_RIG_H
#define LOOPHOLE_REDIS_TEST_RIG_H

#include <stdio.h>
#include <string.h>

#include "base/output.h"
#include "redis/url.h"
#include "redis/writer.h"
#include "redis_test_server.h"

typedef struct trig {
    event_context ectx;
    event_queue *q;
    rurl url;
    output *out;
    writer *w;
    char alerts[400], journal[400];
} trig;

static inline void trig_report(void *ctx, const char *msg)
{
    (void)ctx;
    fprintf(stderr, "  writer: %s\n", msg);
}

/* The alerts file and the journal are <dir>/<sensor>.alerts and .journal.
 * batch and timeout_ms 0 are the writer's defaults. The writer is made
 * but not started (writer_start). */
static inline void trig_open(trig *g, const char *url, const char *dir, const char *sensor,
                             uint64_t run_id, uint64_t journal_max, int batch, int timeout_ms)
{
    char err[512];

    memset(g, 0, sizeof(*g));
    if (rurl_parse(&g->url, url, NULL, err, sizeof(err)) < 0)
        fail_msg("%s", err);
    g->ectx = (event_context){
        .prefix = "lh:", .sensor = sensor, .run_id = run_id, .cluster = g->url.cluster};
    g->q = event_queue_new(&g->ectx, 0, 1 << 20, 1);
    snprintf(g->alerts, sizeof(g->alerts), "%s/%s.alerts", dir, sensor);
    snprintf(g->journal, sizeof(g->journal), "%s/%s.journal", dir, sensor);
    g->out = output_open(g->alerts, err, sizeof(err));
    writer_config wc = {.url = &g->url,
                        .timeout_ms = timeout_ms,
                        .batch = batch,
                        .journal_path = g->journal,
                        .journal_max_bytes = journal_max,
                        .alerts = g->out,
                        .queues = &g->q,
                        .nqueues = 1,
                        .report = trig_report};
    if ((g->w = writer_new(&wc, err, sizeof(err))) == NULL)
        fail_msg("%s", err);
}

/* trig_open, then the writer runs. */
static inline void trig_start(trig *g, const char *url, const char *dir, const char *sensor,
                              uint64_t run_id, uint64_t journal_max, int batch, int timeout_ms)
{
    trig_open(g, url, dir, sensor, run_id, journal_max, batch, timeout_ms);
    assert_int_equal(writer_start(g->w), 0);
}

/* The same on a test server's Unix socket, files in its directory. */
static inline void trig_open_server(trig *g, const tserver *t, const char *sensor, uint64_t run_id,
                                    uint64_t journal_max, int batch, int timeout_ms)
{
    char url[400];

    snprintf(url, sizeof(url), "unix://%s", t->sock);
    trig_open(g, url, t->dir, sensor, run_id, journal_max, batch, timeout_ms);
}

static inline void trig_start_server(trig *g, const tserver *t, const char *sensor, uint64_t run_id,
                                     uint64_t journal_max, int batch, int timeout_ms)
{
    trig_open_server(g, t, sensor, run_id, journal_max, batch, timeout_ms);
    assert_int_equal(writer_start(g->w), 0);
}

static inline uint64_t trig_stop(trig *g)
{
    char err[512];
    uint64_t left;

    event_queue_close(g->q);
    left = writer_stop(g->w);
    writer_free(g->w, 1);
    output_close(g->out, err, sizeof(err));
    event_queue_free(g->q);
    rurl_free(&g->url);
    return left;
}

#endif
