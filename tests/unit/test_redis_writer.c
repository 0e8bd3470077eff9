/* test_redis_writer.c -- the writer thread against real redis-server
 * processes: AUTH with an ACL user over loopback TCP, a wrong password, an
 * outage in the middle of a stream of alerts (every alert exactly once, in
 * order, in Redis and in the alerts output), a journal left by one run and
 * replayed by the next, and the journal's bound.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "base/output.h"
#include "redis/conn.h"
#include "redis/writer.h"
#include "redis_test_rig.h"
#include "redis_test_server.h"

#define W_US (3600ull * 1000000)
#define T0   (472222ull * W_US)

static const char *const acl_args[] = {"--user",  "default", "off", "--user", "sensor", "on",
                                       ">s3cret", "~*",      "&*",  "+@all",  NULL};

static void test_auth(void **state)
{
    tserver t;
    rurl u;
    redisContext *c = NULL;
    char url[200], err[512];

    (void)state;
    tserver_start(&t, (const char *const *)acl_args);
    /* user and password in the URL, database 3 over TCP */
    snprintf(url, sizeof(url), "redis://sensor:s3cret@127.0.0.1:%d/3", t.port);
    assert_int_equal(rurl_parse(&u, url, NULL, err, sizeof(err)), 0);
    assert_int_equal(rconn_open(&u, 2000, &c, err, sizeof(err)), RCONN_OK);
    redisReply *r = redisCommand(c, "SET k v");
    freeReplyObject(r);
    r = redisCommand(c, "CLIENT INFO");
    assert_non_null(strstr(r->str, "db=3"));
    assert_non_null(strstr(r->str, "user=sensor"));
    freeReplyObject(r);
    redisFree(c);
    rurl_free(&u);
    /* the password from LOOPHOLE_REDIS_PASSWORD */
    snprintf(url, sizeof(url), "redis://sensor@127.0.0.1:%d", t.port);
    assert_int_equal(rurl_parse(&u, url, "s3cret", err, sizeof(err)), 0);
    assert_int_equal(rconn_open(&u, 2000, &c, err, sizeof(err)), RCONN_OK);
    redisFree(c);
    rurl_free(&u);
    /* a wrong password: a clear error that does not repeat it */
    snprintf(url, sizeof(url), "redis://sensor:wrongpw@127.0.0.1:%d", t.port);
    rurl_parse(&u, url, NULL, err, sizeof(err));
    assert_int_equal(rconn_open(&u, 2000, &c, err, sizeof(err)), RCONN_AUTH);
    assert_null(c);
    assert_non_null(strstr(err, "authentication failed for user 'sensor'"));
    assert_null(strstr(err, "wrongpw"));
    rurl_free(&u);
    /* no password at all where one is needed */
    snprintf(url, sizeof(url), "redis://127.0.0.1:%d", t.port);
    rurl_parse(&u, url, NULL, err, sizeof(err));
    assert_int_equal(rconn_open(&u, 2000, &c, err, sizeof(err)), RCONN_AUTH);
    rurl_free(&u);
    tserver_free(&t);
}

/* The writer, its queue and an alerts file. */
static void raise_n(trig *g, int i)
{
    char ip[32];
    event_alert a = {.rule = "cn_direct_control",
                     .severity = "high",
                     .role = "gpu_host",
                     .ip = ip,
                     .summary = "s",
                     .score = 1,
                     .ts_us = T0 + (uint64_t)i,
                     .window_us = W_US};
    snprintf(ip, sizeof(ip), "10.1.%d.%d", i / 256, i % 256);
    assert_int_equal(event_raise(g->q, &a), 0);
}

/* Checks that the stream and the alerts file hold alerts 0..n-1 once each,
 * in order. */
static void check_alerts(const tserver *t, const char *alerts, int n)
{
    redisContext *c = tserver_connect(t);
    redisReply *r = redisCommand(c, "XRANGE lh:alerts - +");
    char ip[32], line[4096];
    FILE *f = fopen(alerts, "r");
    int i = 0;

    assert_int_equal(r->elements, (size_t)n);
    for (size_t k = 0; k < r->elements; k++) {
        snprintf(ip, sizeof(ip), "10.1.%d.%d", (int)k / 256, (int)k % 256);
        assert_string_equal(r->element[k]->element[1]->element[7]->str, ip);
    }
    freeReplyObject(r);
    redisFree(c);
    assert_non_null(f);
    while (fgets(line, sizeof(line), f)) {
        snprintf(ip, sizeof(ip), "\"ip\":\"10.1.%d.%d\"", i / 256, i % 256);
        if (strstr(line, ip) == NULL)
            fail_msg("alert %d out of order or repeated: %s", i, line);
        i++;
    }
    fclose(f);
    assert_int_equal(i, n);
}

static void nap_ms(int ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* Redis killed in the middle of a stream of alerts, then restarted. */
static void test_outage(void **state)
{
    static const char *const aof[] = {"--appendonly", "yes", "--appendfsync", "always", NULL};
    tserver t;
    trig g;
    const int n = 600;

    (void)state;
    memset(&g, 0, sizeof(g));
    tserver_start(&t, aof);
    trig_start_server(&g, &t, "t", 7, 64 << 20, 16, 500);
    for (int i = 0; i < n; i++) {
        raise_n(&g, i);
        if (i == 200)
            tserver_kill(&t);
        if (i == 400)
            assert_int_equal(tserver_restart(&t), 0);
        if (i % 10 == 0)
            nap_ms(2);
    }
    const writer_stats *ws = writer_get_stats(g.w);
    /* give the writer time to reconnect and replay before stopping */
    for (int k = 0; k < 500 && atomic_load(&ws->sent) < (uint64_t)n; k++)
        nap_ms(10);
    assert_true(atomic_load(&ws->journaled) > 0);
    assert_true(atomic_load(&ws->replayed) > 0);
    assert_int_equal(atomic_load(&ws->dropped), 0);
    assert_int_equal(trig_stop(&g), 0);
    check_alerts(&t, g.alerts, n);
    tserver_free(&t);
}

/* A run ends during an outage: its events stay in the journal, and the next
 * run with the same journal delivers them before anything new. */
static void test_journal_next_run(void **state)
{
    tserver t;
    trig g;

    (void)state;
    memset(&g, 0, sizeof(g));
    tserver_start(&t, NULL);
    trig_start_server(&g, &t, "t", 7, 64 << 20, 16, 500);
    tserver_kill(&t);
    for (int i = 0; i < 50; i++)
        raise_n(&g, i);
    assert_int_equal(trig_stop(&g), 50);
    assert_int_equal(tserver_restart(&t), 0);
    unlink(g.alerts);
    memset(&g, 0, sizeof(g));
    trig_start_server(&g, &t, "t", 7, 64 << 20, 16, 500);
    for (int i = 50; i < 60; i++)
        raise_n(&g, i);
    assert_int_equal(trig_stop(&g), 0);
    check_alerts(&t, g.alerts, 60);
    tserver_free(&t);
}

/* Past the journal's bound events are dropped and counted, never blocked on. */
static void test_journal_bound(void **state)
{
    tserver t;
    trig g;
    uint64_t dropped, journaled;

    (void)state;
    memset(&g, 0, sizeof(g));
    tserver_start(&t, NULL);
    trig_start_server(&g, &t, "t", 7, 8192, 16, 500);
    tserver_kill(&t);
    for (int i = 0; i < 100; i++)
        raise_n(&g, i);
    event_queue_close(g.q);
    writer_stop(g.w);
    dropped = atomic_load(&writer_get_stats(g.w)->dropped);
    journaled = atomic_load(&writer_get_stats(g.w)->journaled);
    assert_true(dropped > 0);
    assert_true(journaled > 0);
    assert_int_equal(dropped + journaled, 100);
    assert_true(atomic_load(&writer_get_stats(g.w)->journal_bytes) <= 8192);
    trig_stop(&g);
    tserver_free(&t);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN); /* as the sensor does: a dead server is an error, not a death */
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_auth),
        cmocka_unit_test(test_outage),
        cmocka_unit_test(test_journal_next_run),
        cmocka_unit_test(test_journal_bound),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
