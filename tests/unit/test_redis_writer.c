/* test_redis_writer.c -- the writer thread against real redis-server
 * processes: AUTH with an ACL user over loopback TCP, a wrong password, an
 * outage in the middle of a stream of alerts (every alert exactly once, in
 * order, in Redis and in the alerts output), an outage while the writer
 * settles (the lines still in due order), a journal left by one run and
 * replayed by the next (with the hints of windows still pending), and the
 * journal's bound.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "base/output.h"
#include "base/stats.h"
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

/* An alert of entity ip at packet time ts (its window's hour). */
static void raise_at(trig *g, const char *ip, uint64_t ts)
{
    event_alert a = {.rule = "cn_direct_control",
                     .severity = "high",
                     .role = "gpu_host",
                     .ip = ip,
                     .summary = "s",
                     .score = 1,
                     .ts_us = ts,
                     .window_us = W_US};
    assert_int_equal(event_raise(g->q, &a), 0);
}

/* Alert i of a stream: entity 10.1.<i/256>.<i%256>, at T0 + i us. */
static void raise_n(trig *g, int i)
{
    char ip[32];

    snprintf(ip, sizeof(ip), "10.1.%d.%d", i / 256, i % 256);
    raise_at(g, ip, T0 + (uint64_t)i);
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

/* The events of test_batch: count-only observations of four entities,
 * each value twice in a row at different times (the set keeps the
 * earliest) and a cap of 3 (so which values get in depends on the
 * order), some approximate ones, observations with a threshold and
 * evidence that raise an alert, a byte sum and a raise, interleaved. */
static void batch_events(trig *g)
{
    static const char *const ents[] = {"10.9.0.1", "10.9.0.2", "10.9.0.3", "10.9.0.4"};
    event_alert a = {.rule = "reseller_fanout",
                     .severity = "high",
                     .role = "controller",
                     .summary = "s",
                     .score = 30};

    for (int i = 0; i < 600; i++) {
        char value[32], host[32], item[96], fact[32];
        const char *ent = ents[i % 4];
        snprintf(value, sizeof(value), "v%d", (i / 8) % 5);
        event_observation o = {.entity = ent,
                               .kind = "beh",
                               .value = value,
                               .value_len = strlen(value),
                               .ts_us = T0 + (uint64_t)(1000 - i % 17) * 1000,
                               .window_us = W_US,
                               .cap = 3,
                               .approx = i % 29 == 0};
        assert_int_equal(event_observe(g->q, &o), 0);
        if (i % 40 == 3) {
            a.ip = ent;
            snprintf(item, sizeof(item), "{\"n\":%d}", i);
            snprintf(host, sizeof(host), "h%d", (i / 40) % 6);
            event_observation t = {.entity = ent,
                                   .kind = "hosts",
                                   .value = host,
                                   .value_len = strlen(host),
                                   .ts_us = T0 + (uint64_t)i * 1000,
                                   .window_us = W_US,
                                   .threshold = 3,
                                   .alert = &a,
                                   .evidence = item,
                                   .evidence_len = strlen(item)};
            assert_int_equal(event_observe(g->q, &t), 0);
        }
        if (i % 50 == 7) {
            snprintf(fact, sizeof(fact), "flow%d", i);
            event_sum sm = {.entity = ent,
                            .kind = "egress",
                            .member = "203.0.113.0/24",
                            .fact = fact,
                            .bytes = 1000 + (uint64_t)i,
                            .ts_us = T0 + (uint64_t)i,
                            .window_us = W_US};
            assert_int_equal(event_sum_add(g->q, &sm), 0);
        }
        if (i == 301) {
            event_alert r = a;
            r.ip = ent;
            r.rule = "cn_direct_control";
            r.ts_us = T0 + 5;
            r.window_us = W_US;
            assert_int_equal(event_raise(g->q, &r), 0);
        }
    }
}

/* Every key with its value (DUMP, which leaves TTLs out; a stream by its
 * fields, whose entry ids are the server's clock), but the writers' own
 * settle marks (named by the writer's process and start), sorted. */
static char *redis_state(const tserver *t, size_t *len)
{
    redisContext *c = tserver_connect(t);
    redisReply *keys = redisCommand(c, "KEYS *");
    size_t cap = 1 << 20, used = 0;
    char *out = malloc(cap);

    assert_non_null(out);
    /* keys in name order */
    for (size_t i = 0; i < keys->elements; i++)
        for (size_t j = i + 1; j < keys->elements; j++)
            if (strcmp(keys->element[j]->str, keys->element[i]->str) < 0) {
                redisReply *x = keys->element[i];
                keys->element[i] = keys->element[j];
                keys->element[j] = x;
            }
    for (size_t i = 0; i < keys->elements; i++) {
        const char *k = keys->element[i]->str;
        redisReply *v;
        if (strstr(k, ":settle:settle/"))
            continue;
        v = strcmp(k, "lh:alerts") == 0 ? redisCommand(c, "XRANGE %s - +", k)
                                        : redisCommand(c, "DUMP %s", k);
        while (used + strlen(k) + 2 + 65536 > cap)
            assert_non_null(out = realloc(out, cap *= 2));
        used += (size_t)sprintf(out + used, "%s=", k);
        if (v->type == REDIS_REPLY_STRING) {
            memcpy(out + used, v->str, v->len);
            used += v->len;
        } else {
            for (size_t e = 0; e < v->elements; e++) /* stream entries' fields */
                for (size_t f = 0; f < v->element[e]->element[1]->elements; f++) {
                    redisReply *x = v->element[e]->element[1]->element[f];
                    memcpy(out + used, x->str, x->len);
                    used += x->len;
                }
        }
        out[used++] = '\n';
        freeReplyObject(v);
    }
    *len = used;
    freeReplyObject(keys);
    redisFree(c);
    return out;
}

static char *read_file(const char *path)
{
    FILE *f = fopen(path, "r");
    char *buf = calloc(1, 1 << 20);

    assert_non_null(f);
    assert_non_null(buf);
    assert_true(fread(buf, 1, (1 << 20) - 1, f) < (1 << 20) - 1);
    fclose(f);
    return buf;
}

/* Library calls the server ran inside lh_batch (its slow log records
 * every command: the server runs with slowlog-log-slower-than 0). */
static long long batched_calls(const tserver *t)
{
    redisContext *c = tserver_connect(t);
    redisReply *r = redisCommand(c, "SLOWLOG GET -1");
    long long calls = 0;

    for (size_t i = 0; i < r->elements; i++) {
        redisReply *args = r->element[i]->element[3];
        if (args->elements > 1 && strcmp(args->element[1]->str, "lh_batch") == 0)
            calls++;
    }
    freeReplyObject(r);
    freeReplyObject(redisCommand(c, "SLOWLOG RESET"));
    redisFree(c);
    return calls;
}

/* The window sets (K:obs:...) of the server, and how many of them have
 * no TTL: each one must have one, set when it is created. */
static long long obs_keys(const tserver *t, long long *no_ttl)
{
    redisContext *c = tserver_connect(t);
    redisReply *keys = redisCommand(c, "KEYS *:obs:*");
    long long n = (long long)keys->elements;

    *no_ttl = 0;
    for (size_t i = 0; i < keys->elements; i++) {
        redisReply *r = redisCommand(c, "TTL %s", keys->element[i]->str);
        *no_ttl += r->integer <= 0;
        freeReplyObject(r);
    }
    freeReplyObject(keys);
    redisFree(c);
    return n;
}

/* The same events sent one call each (a writer batch of one event) and
 * gathered into lh_batch calls (the default batch), where count-only
 * observations go in the short form and those of a window key and value
 * already in the batch merge into the earlier call: the same Redis state,
 * key by key, the same alert lines, and a TTL on every window set. */
static void test_batch(void **state)
{
    static const char *const slowlog[] = {"--slowlog-log-slower-than", "0", "--slowlog-max-len",
                                          "100000", NULL};
    tserver t;
    trig g;
    char *one, *many, *lines_one, *lines_many;
    size_t len_one, len_many;
    long long no_ttl;
    redisContext *c;

    (void)state;
    tserver_start(&t, slowlog);
    trig_open_server(&g, &t, "b1", 7, 1 << 30, 1, 0);
    batch_events(&g);
    assert_int_equal(writer_start(g.w), 0);
    event_queue_close(g.q);
    assert_int_equal(writer_stop(g.w), 0);
    assert_int_equal(STAT_GET(writer_get_stats(g.w)->merged), 0);
    assert_int_equal(trig_stop(&g), 0);
    assert_int_equal(batched_calls(&t), 0);
    assert_true(obs_keys(&t, &no_ttl) >= 4);
    assert_int_equal(no_ttl, 0);
    one = redis_state(&t, &len_one);
    lines_one = read_file(g.alerts);
    assert_non_null(c = tserver_connect(&t));
    freeReplyObject(redisCommand(c, "FLUSHALL"));
    redisFree(c);

    /* the queue holds every event before the writer starts, so it takes
     * them a whole batch (256) at a time */
    trig_open_server(&g, &t, "b1", 7, 1 << 30, 0, 0);
    batch_events(&g);
    assert_int_equal(writer_start(g.w), 0);
    event_queue_close(g.q);
    assert_int_equal(writer_stop(g.w), 0);
    /* v<k> comes twice in a row for each entity: every second one merges,
     * but where a batch or an lh_batch ends between them */
    assert_true(STAT_GET(writer_get_stats(g.w)->merged) > 200);
    assert_int_equal(trig_stop(&g), 0);
    assert_true(batched_calls(&t) > 0);
    assert_true(obs_keys(&t, &no_ttl) >= 4);
    assert_int_equal(no_ttl, 0);
    many = redis_state(&t, &len_many);
    lines_many = read_file(g.alerts);

    assert_true(len_one > 1000);
    assert_non_null(strstr(lines_one, "reseller_fanout"));
    assert_int_equal(len_one, len_many);
    assert_memory_equal(one, many, len_one);
    assert_string_equal(lines_one, lines_many);
    free(one);
    free(many);
    free(lines_one);
    free(lines_many);
    tserver_free(&t);
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

static void server_command(const tserver *t, const char *cmd)
{
    redisContext *c = tserver_connect(t);
    redisReply *r = redisCommand(c, cmd);

    assert_non_null(r);
    if (r->type == REDIS_REPLY_ERROR)
        fail_msg("%s: %s", cmd, r->str);
    freeReplyObject(r);
    redisFree(c);
}

/* Redis goes away while the writer settles. Entity A has windows due at
 * T0 and T0+W, B one due at T0+1.5W; only the answer to A's first settle
 * tells the writer of A's second window (a fact's hint names an entity's
 * earliest due time). So the writer must not settle B before that answer
 * is in: the lines come out A, A, B whenever the server was away. The
 * server is made a replica of nothing (REPLICAOF an unused port), which
 * answers every library call READONLY, as a server that is failing over. */
static void test_outage_while_settling(void **state)
{
    static const char *const ips[] = {"10.2.0.1", "10.2.0.1", "10.2.0.2"};
    tserver t;
    trig g;
    char cmd[64], line[4096];
    const writer_stats *ws;
    FILE *f;
    int i = 0;

    (void)state;
    tserver_start(&t, NULL);
    trig_start_server(&g, &t, "t", 7, 64 << 20, 16, 500);
    ws = writer_get_stats(g.w);
    raise_at(&g, "10.2.0.1", T0 + 1);
    raise_at(&g, "10.2.0.1", T0 + W_US + 1);
    raise_at(&g, "10.2.0.2", T0 + W_US + W_US / 2);
    for (int k = 0; k < 500 && atomic_load(&ws->sent) < 3; k++)
        nap_ms(10);
    assert_int_equal(atomic_load(&ws->sent), 3);
    assert_int_equal(atomic_load(&ws->alerts), 0); /* nothing settled yet */

    snprintf(cmd, sizeof(cmd), "REPLICAOF 127.0.0.1 %d", tserver_free_port());
    server_command(&t, cmd);
    writer_set_watermark(g.w, T0 + 3 * W_US);
    for (int k = 0; k < 500 && atomic_load(&ws->journaled) == 0; k++)
        nap_ms(10);
    assert_true(atomic_load(&ws->journaled) > 0);
    nap_ms(300); /* what the writer does next while the server refuses */
    server_command(&t, "REPLICAOF NO ONE");
    for (int k = 0; k < 500 && atomic_load(&ws->alerts) < 3; k++)
        nap_ms(10);
    assert_true(atomic_load(&ws->replayed) > 0);
    assert_int_equal(trig_stop(&g), 0);

    assert_non_null(f = fopen(g.alerts, "r"));
    while (fgets(line, sizeof(line), f)) {
        char want[64];
        assert_true(i < 3);
        snprintf(want, sizeof(want), "\"ip\":\"%s\"", ips[i]);
        if (strstr(line, want) == NULL)
            fail_msg("alert %d: want %s first: %s", i, ips[i], line);
        i++;
    }
    fclose(f);
    assert_int_equal(i, 3);
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

/* A run ends with Redis away and A's window pending, which nothing in its
 * journal names (A's fact was delivered before the outage, B's was not):
 * the journal keeps A's hint behind B, and the next run settles both, in
 * due order. */
static void test_journal_pending_window(void **state)
{
    static const char *const aof[] = {"--appendonly", "yes", "--appendfsync", "always", NULL};
    tserver t;
    trig g;
    const writer_stats *ws;
    char *lines;

    (void)state;
    memset(&g, 0, sizeof(g));
    tserver_start(&t, aof);
    trig_start_server(&g, &t, "t", 7, 64 << 20, 16, 500);
    ws = writer_get_stats(g.w);
    raise_at(&g, "10.3.0.1", T0 + 1);
    for (int k = 0; k < 500 && atomic_load(&ws->sent) < 1; k++)
        nap_ms(10);
    assert_int_equal(atomic_load(&ws->sent), 1);
    tserver_kill(&t);
    /* the writer finds Redis away: B goes to the journal */
    raise_at(&g, "10.3.0.2", T0 + 2);
    for (int k = 0; k < 500 && atomic_load(&ws->journaled) < 1; k++)
        nap_ms(10);
    assert_int_equal(trig_stop(&g), 2); /* B, and the hint of A */
    assert_int_equal(tserver_restart(&t), 0);
    unlink(g.alerts);
    memset(&g, 0, sizeof(g));
    trig_start_server(&g, &t, "t", 7, 64 << 20, 16, 500);
    assert_int_equal(trig_stop(&g), 0);
    lines = read_file(g.alerts);
    const char *a = strstr(lines, "\"ip\":\"10.3.0.1\""), *b = strstr(lines, "\"ip\":\"10.3.0.2\"");
    assert_non_null(a);
    assert_non_null(b);
    /* two lines, A's first (by due time) */
    assert_true(a < b);
    assert_null(strchr(strchr(strchr(lines, '\n') + 1, '\n') + 1, '\n'));
    free(lines);
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
        cmocka_unit_test(test_batch),
        cmocka_unit_test(test_outage),
        cmocka_unit_test(test_outage_while_settling),
        cmocka_unit_test(test_journal_next_run),
        cmocka_unit_test(test_journal_pending_window),
        cmocka_unit_test(test_journal_bound),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
