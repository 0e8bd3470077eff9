/* test_redis_cluster.c -- redis/cluster.c against a real local Redis Cluster
 * (three primaries, three replicas, tests/unit/redis_test_cluster.h): key
 * slots compared with the server's CLUSTER KEYSLOT, the functions library
 * on every primary, routing, a stale map (MOVED), a migrating slot (ASK:
 * ASKING for a plain command, a library call waiting for the move), the
 * reader's pipeline across primaries, and a primary killed and its replica
 * promoted.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "redis/cluster.h"
#include "base/output.h"
#include "base/stats.h"
#include "redis/conn.h"
#include "redis/reader.h"
#include "redis/writer.h"
#include "redis_test_cluster.h"
#include "redis_test_pipeline.h"
#include "redis_test_rig.h"

static tcluster tc;

static int setup(void **state)
{
    (void)state;
    return tcluster_start(&tc);
}

static int teardown(void **state)
{
    (void)state;
    tcluster_free(&tc);
    return 0;
}

/* u must outlive the cluster, which borrows it. */
static cluster *open_cluster(rurl *u)
{
    char url[200], err[512];
    cluster *c;

    /* a dead seed first: the next one is used */
    snprintf(url, sizeof(url), "redis+cluster://127.0.0.1:1,127.0.0.1:%d", tc.node[3].port);
    assert_int_equal(rurl_parse(u, url, NULL, err, sizeof(err)), 0);
    c = cluster_open(u, 2000, err, sizeof(err));
    if (c == NULL)
        fail_msg("%s", err);
    return c;
}

static int accept_reply(void *ctx, int i, redisReply *r)
{
    (void)ctx;
    (void)i;
    return r->type == REDIS_REPLY_ERROR ? -1 : 0;
}

/* Runs one command through the cluster; returns whether it was done. */
static int exec1(cluster *c, int argc, const char **argv)
{
    size_t lens[16];
    unsigned char done;
    char err[512];
    cluster_cmd cmd = {argc, argv, lens};

    for (int i = 0; i < argc; i++)
        lens[i] = strlen(argv[i]);
    if (cluster_exec(c, &cmd, 1, &done, accept_reply, NULL, err, sizeof(err)) < 1)
        fprintf(stderr, "  %s: not done: %s\n", argv[0], err);
    return done;
}

/* The node (index into tc.node) that holds key, by asking every node. */
static int holder(const char *key)
{
    for (int i = 0; i < TCLUSTER_NODES; i++) {
        redisContext *c = tc.node[i].pid > 0 ? tserver_connect(&tc.node[i]) : NULL;
        redisReply *r = c ? redisCommand(c, "ROLE") : NULL;
        int primary =
            r && r->type == REDIS_REPLY_ARRAY && strcmp(r->element[0]->str, "master") == 0;
        if (r)
            freeReplyObject(r);
        if (c && primary) /* ASKING: the key may sit in a slot being imported */
            freeReplyObject(redisCommand(c, "ASKING"));
        r = c && primary ? redisCommand(c, "EXISTS %s", key) : NULL;
        int has = r && r->type == REDIS_REPLY_INTEGER && r->integer == 1;
        if (r)
            freeReplyObject(r);
        redisFree(c);
        if (has)
            return i;
    }
    return -1;
}

static void test_crc16(void **state)
{
    (void)state;
    /* the check value of CRC16-XMODEM (CRC catalogue) */
    assert_int_equal(cluster_crc16("123456789", 9), 0x31C3);
    assert_int_equal(cluster_crc16("", 0), 0);
}

static void test_keyslot(void **state)
{
    const char *keys[] = {"foo",
                          "bar",
                          "{user1000}.following",
                          "{user1000}.followers",
                          "foo{}{bar}",
                          "foo{{bar}}zap",
                          "foo{bar}{zap}",
                          "{}",
                          "}{",
                          "lh:{e:198.51.100.7}",
                          "lh:{e:198.51.100.7}:obs:fanout:3600000000:1",
                          "lh:alerts",
                          "{lh:alerts}:ids",
                          "lh:risk",
                          "lh:host:198.51.100.7",
                          "a{b",
                          "a}b{c}"};
    redisContext *c = tserver_connect(&tc.node[0]);
    char bin[3] = {'\0', '{', '\xff'};

    (void)state;
    assert_non_null(c);
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
        redisReply *r = redisCommand(c, "CLUSTER KEYSLOT %s", keys[i]);
        assert_int_equal(r->type, REDIS_REPLY_INTEGER);
        assert_int_equal(cluster_keyslot(keys[i], strlen(keys[i])), (unsigned)r->integer);
        freeReplyObject(r);
    }
    for (int i = 0; i < 200; i++) { /* binary keys */
        char key[24];
        size_t len = (size_t)snprintf(key, sizeof(key), "k%d", i * 7919);
        memcpy(key + len, bin, sizeof(bin));
        len += (size_t)(i % 4);
        redisReply *r = redisCommand(c, "CLUSTER KEYSLOT %b", key, len);
        assert_int_equal(cluster_keyslot(key, len), (unsigned)r->integer);
        freeReplyObject(r);
    }
    assert_int_equal(cluster_keyslot("{lh:alerts}:ids", 15), cluster_keyslot("lh:alerts", 9));
    redisFree(c);
}

static void test_route_and_library(void **state)
{
    rurl u;
    cluster *c = open_cluster(&u);
    const cluster_stats *st = cluster_get_stats(c);
    int per_node[TCLUSTER_NODES] = {0};

    (void)state;
    assert_int_equal(STAT_GET(st->primaries), 3);
    assert_int_equal(STAT_GET(st->connects), 3);
    for (int i = 0; i < 300; i++) {
        char key[32];
        const char *argv[3] = {"SET", key, "v"};
        snprintf(key, sizeof(key), "route:%d", i);
        assert_true(exec1(c, 3, argv));
        int h = holder(key);
        assert_true(h >= 0);
        per_node[h]++;
    }
    int used = 0;
    for (int i = 0; i < TCLUSTER_NODES; i++)
        used += per_node[i] > 0;
    assert_int_equal(used, 3); /* every primary got its share */
    /* the library is on every node (the replicas by replication) and
     * answers on every primary with this binary's version */
    for (int i = 0; i < TCLUSTER_NODES; i++) {
        redisContext *n = tserver_connect(&tc.node[i]);
        redisReply *r = NULL;
        for (int waited = 0; waited < 5000; waited += 50) { /* replication is asynchronous */
            if (r)
                freeReplyObject(r);
            r = redisCommand(n, "FUNCTION LIST LIBRARYNAME loophole");
            if (r->type == REDIS_REPLY_ARRAY && r->elements == 1)
                break;
            tcluster_sleep_ms(50);
        }
        assert_int_equal(r->type, REDIS_REPLY_ARRAY);
        assert_int_equal(r->elements, 1);
        freeReplyObject(r);
        r = redisCommand(n, "ROLE");
        int primary = strcmp(r->element[0]->str, "master") == 0;
        freeReplyObject(r);
        if (primary) {
            r = redisCommand(n, "FCALL lh_version 0");
            assert_int_equal(r->type, REDIS_REPLY_STRING);
            assert_string_equal(r->str, rconn_version);
            freeReplyObject(r);
        }
        redisFree(n);
    }
    /* a library call routed by its key: lh_count of an entity */
    const char *count[] = {"FCALL",  "lh_count",   "1",     "lh:{e:203.0.113.9}",
                           "fanout", "3600000000", "exact", "1700000000000000"};
    assert_true(exec1(c, 8, count));
    cluster_free(c);
    rurl_free(&u);
}

/* The primary (node index) serving slot, and its node id. */
static int slot_owner(unsigned slot, char *id, size_t idlen)
{
    for (int i = 0; i < TCLUSTER_NODES; i++) {
        redisContext *c = tc.node[i].pid > 0 ? tserver_connect(&tc.node[i]) : NULL;
        redisReply *r = c ? redisCommand(c, "CLUSTER SLOTS") : NULL;
        int found = -1;
        for (size_t k = 0; r && r->type == REDIS_REPLY_ARRAY && k < r->elements; k++) {
            redisReply *e = r->element[k];
            if (slot >= (unsigned)e->element[0]->integer &&
                slot <= (unsigned)e->element[1]->integer) {
                int port = (int)e->element[2]->element[1]->integer;
                for (int j = 0; j < TCLUSTER_NODES; j++)
                    if (tc.node[j].port == port)
                        found = j;
                snprintf(id, idlen, "%s", e->element[2]->element[2]->str);
            }
        }
        if (r)
            freeReplyObject(r);
        redisFree(c);
        if (found >= 0)
            return found;
    }
    return -1;
}

static void node_cmd(int i, const char *fmt, ...)
{
    redisContext *c = tserver_connect(&tc.node[i]);
    va_list ap;

    va_start(ap, fmt);
    redisReply *r = redisvCommand(c, fmt, ap);
    va_end(ap);
    assert_non_null(r);
    if (r->type == REDIS_REPLY_ERROR)
        fail_msg("node %d: %s", i, r->str);
    freeReplyObject(r);
    redisFree(c);
}

/* Another primary than `not`. */
static int other_primary(int not, char *id, size_t idlen)
{
    for (unsigned s = 0; s < CLUSTER_NSLOTS; s += 1000) {
        int o = slot_owner(s, id, idlen);
        if (o >= 0 && o != not )
            return o;
    }
    return -1;
}

/* A slot moved by hand, the steps of redis-cli --cluster reshard: first
 * importing/migrating (ASK), then given to the target (MOVED). */
static void test_moved_and_ask(void **state)
{
    rurl u;
    cluster *c = open_cluster(&u);
    const cluster_stats *st = cluster_get_stats(c);
    const char *key = "{lh:moved}:k", *fkey = "lh:{lh:moved}";
    unsigned slot = cluster_keyslot(key, strlen(key));
    char src_id[64], dst_id[64];
    int src = slot_owner(slot, src_id, sizeof(src_id));
    int dst = other_primary(src, dst_id, sizeof(dst_id));
    const char *set[] = {"SET", key, "1"};
    const char *fcall[] = {"FCALL", "lh_count", "1", fkey, "k", "1000", "exact", "5000"};

    (void)state;
    assert_true(src >= 0 && dst >= 0);
    assert_int_equal(cluster_keyslot(fkey, strlen(fkey)), slot);
    /* a migrating slot: the key is not on the source, so ASK */
    node_cmd(dst, "CLUSTER SETSLOT %u IMPORTING %s", slot, src_id);
    node_cmd(src, "CLUSTER SETSLOT %u MIGRATING %s", slot, dst_id);
    assert_true(exec1(c, 3, set)); /* followed with ASKING */
    assert_int_equal(holder(key), dst);
    assert_true(STAT_GET(st->ask) >= 1);
    /* a library call is not followed to the target: it stays undone */
    uint64_t ask = STAT_GET(st->ask);
    assert_false(exec1(c, 8, fcall));
    assert_true(STAT_GET(st->ask) > ask);
    /* the move ends: the map the cluster holds is stale, MOVED */
    node_cmd(dst, "CLUSTER SETSLOT %u NODE %s", slot, dst_id);
    node_cmd(src, "CLUSTER SETSLOT %u NODE %s", slot, dst_id);
    uint64_t moved = STAT_GET(st->moved), refreshes = STAT_GET(st->refreshes);
    assert_true(exec1(c, 8, fcall));
    assert_true(STAT_GET(st->moved) > moved);
    assert_true(STAT_GET(st->refreshes) > refreshes);
    const char *get[] = {"GET", key};
    assert_true(exec1(c, 2, get));
    cluster_free(c);
    rurl_free(&u);
}

/* Whether primary i has a replica that is up, to be promoted. */
static int has_replica(int i)
{
    redisContext *c = tserver_connect(&tc.node[i]);
    redisReply *r = redisCommand(c, "INFO replication");
    int yes = r && r->type == REDIS_REPLY_STRING && strstr(r->str, "connected_slaves:1");

    freeReplyObject(r);
    redisFree(c);
    return yes;
}

#define W_US (3600ull * 1000000)
#define T0   (472222ull * W_US)

/* Alert i: ip i / 3, one of three rules, 40 points each, so the risk of
 * an ip grows over its alerts and saturates at 100; host fields too. */
static void raise_i(trig *g, int i)
{
    char ip[32], rule[32];
    const char *host[] = {"provider", "test-cloud", "country", "CN", NULL};
    event_alert a = {.rule = rule,
                     .severity = "high",
                     .role = "gpu_host",
                     .ip = ip,
                     .summary = "s",
                     .score = 40,
                     .ts_us = T0 + (uint64_t)i,
                     .window_us = W_US,
                     .host = host};
    snprintf(ip, sizeof(ip), "10.2.%d.%d", i / 3 / 256, i / 3 % 256);
    snprintf(rule, sizeof(rule), "rule_%d", i % 3);
    assert_int_equal(event_raise(g->q, &a), 0);
}

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "r");
    char *buf = calloc(1, 1 << 22);
    size_t n;

    assert_non_null(f);
    n = fread(buf, 1, (1 << 22) - 1, f);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

/* A connection to the primary that serves key. */
static redisContext *owner_of(const char *key)
{
    char id[64];
    int i = slot_owner(cluster_keyslot(key, strlen(key)), id, sizeof(id));

    assert_true(i >= 0);
    return tserver_connect(&tc.node[i]);
}

/* The "json" fields of a stream, one per line. */
static char *stream_lines(redisContext *c)
{
    redisReply *r = redisCommand(c, "XRANGE lh:alerts - +");
    char *out = calloc(1, 1 << 22);
    size_t used = 0;

    for (size_t k = 0; k < r->elements; k++) {
        redisReply *f = r->element[k]->element[1];
        used += (size_t)snprintf(out + used, (1 << 22) - used, "%s\n", f->element[1]->str);
    }
    freeReplyObject(r);
    return out;
}

/* Runs cmd on the single server c1 and on the primary serving key; checks
 * the replies are the same array of strings and returns its length. */
static size_t same_reply(redisContext *c1, const char *key, const char *cmd)
{
    redisContext *cc = owner_of(key);
    redisReply *r1 = redisCommand(c1, cmd), *rc = redisCommand(cc, cmd);
    size_t n = r1->elements;

    assert_int_equal(r1->elements, rc->elements);
    for (size_t k = 0; k < r1->elements; k++)
        assert_string_equal(r1->element[k]->str, rc->element[k]->str);
    freeReplyObject(r1);
    freeReplyObject(rc);
    redisFree(cc);
    return n;
}

/* The same events through one server and through the cluster: the same
 * alert lines (score included) in the same order in the output and in the
 * stream, the same risk, the same host hash. */
static void test_writer_same_as_single(void **state)
{
    tserver t;
    trig g1, gc;
    char url[400];
    const int n = 300;

    (void)state;
    assert_int_equal(tserver_start(&t, NULL), 0);
    snprintf(url, sizeof(url), "unix://%s", t.sock);
    trig_start(&g1, url, t.dir, "t", 7, 64 << 20, 16, 500);
    for (int i = 0; i < n; i++)
        raise_i(&g1, i);
    assert_int_equal(trig_stop(&g1), 0);
    snprintf(url, sizeof(url), "redis+cluster://127.0.0.1:%d", tc.node[0].port);
    trig_start(&gc, url, tc.node[0].dir, "t", 7, 64 << 20, 16, 500);
    for (int i = 0; i < n; i++)
        raise_i(&gc, i);
    const writer_stats *ws = writer_get_stats(gc.w);
    assert_int_equal(trig_stop(&gc), 0);
    char *a1 = slurp(g1.alerts), *ac = slurp(gc.alerts);
    int lines = 0;
    for (char *p = a1; (p = strchr(p, '\n')); p++)
        lines++;
    assert_int_equal(lines, n);
    assert_non_null(strstr(a1, "\"score\":100")); /* the risk saturated */
    assert_non_null(strstr(a1, "\"score\":80"));
    assert_string_equal(a1, ac);
    free(ac);
    (void)ws;
    /* the stream, the risk, a host hash */
    redisContext *c1 = tserver_connect(&t), *cc = owner_of("lh:alerts");
    char *s1 = stream_lines(c1), *sc = stream_lines(cc);
    assert_string_equal(s1, a1);
    assert_string_equal(s1, sc);
    free(s1);
    free(sc);
    free(a1);
    redisFree(cc);
    assert_int_equal(same_reply(c1, "lh:risk", "ZRANGE lh:risk 0 -1 WITHSCORES"),
                     2 * (size_t)(n / 3));
    assert_true(same_reply(c1, "lh:host:10.2.0.7", "HGETALL lh:host:10.2.0.7") >= 12);
    redisFree(c1);
    tserver_free(&t);
}

static void test_failover(void **state)
{
    rurl u;
    cluster *c = open_cluster(&u);
    const cluster_stats *st = cluster_get_stats(c);
    char key[64], id[64];
    int victim = -1;
    const char *set[] = {"SET", key, "1"};

    for (int k = 0; k < 100 && victim < 0; k++) {
        snprintf(key, sizeof(key), "{lh:failover:%d}:k", k);
        victim = slot_owner(cluster_keyslot(key, strlen(key)), id, sizeof(id));
        if (victim >= 0 && !has_replica(victim))
            victim = -1;
    }
    assert_true(victim >= 0);
    int done = 0;

    (void)state;
    assert_true(exec1(c, 3, set));
    uint64_t connects = STAT_GET(st->connects);
    tserver_kill(&tc.node[victim]);
    /* undone while the replica is not promoted; done once it is, with the
     * library loaded on the new primary by the new connection */
    for (int waited = 0; waited < 20000 && !done; waited += 200) {
        if (!(done = exec1(c, 3, set)))
            tcluster_sleep_ms(200);
    }
    assert_true(done);
    assert_true(STAT_GET(st->connects) > connects);
    int h = holder(key);
    assert_true(h >= 0 && h != victim);
    redisContext *n = tserver_connect(&tc.node[h]);
    redisReply *r = redisCommand(n, "FCALL lh_version 0");
    assert_string_equal(r->str, rconn_version);
    freeReplyObject(r);
    redisFree(n);
    cluster_free(c);
    rurl_free(&u);
}

/* Count-only observations of three entities tagged `tag`: each value
 * several times in a row at different times (the set keeps the earliest),
 * five values against a cap of 3 (which get in depends on the order). */
static void tagged_observations(trig *g, const char *tag)
{
    for (int i = 0; i < 400; i++) {
        char ent[32], value[16];
        snprintf(ent, sizeof(ent), "%s-%d", tag, i % 3);
        snprintf(value, sizeof(value), "v%d", (i / 6) % 5);
        event_observation o = {.entity = ent,
                               .kind = "beh",
                               .value = value,
                               .value_len = strlen(value),
                               .ts_us = 1700000000000000ull + (uint64_t)(1000 - i % 17) * 1000,
                               .window_us = 3600000000ull,
                               .cap = 3};
        assert_int_equal(event_observe(g->q, &o), 0);
    }
}

/* The writer gathers the calls of one slot into lh_batch on a cluster
 * too: the same sets, members and scores as one call at a time. */
static void test_batch_per_slot(void **state)
{
    char url[400], k1[96], k2[96];
    long long batched = 0;
    trig g;

    (void)state;
    for (int i = 0; i < TCLUSTER_NODES; i++) {
        node_cmd(i, "CONFIG SET slowlog-log-slower-than 0");
        node_cmd(i, "SLOWLOG RESET");
    }
    snprintf(url, sizeof(url), "redis+cluster://127.0.0.1:%d", tc.node[0].port);
    trig_open(&g, url, tc.node[0].dir, "one", 7, 64 << 20, 1, 500);
    tagged_observations(&g, "one");
    assert_int_equal(writer_start(g.w), 0);
    assert_int_equal(trig_stop(&g), 0);
    trig_open(&g, url, tc.node[0].dir, "many", 7, 64 << 20, 0, 500);
    tagged_observations(&g, "many");
    assert_int_equal(writer_start(g.w), 0);
    assert_int_equal(trig_stop(&g), 0);
    for (int i = 0; i < TCLUSTER_NODES; i++) {
        redisContext *c = tserver_connect(&tc.node[i]);
        redisReply *r = redisCommand(c, "SLOWLOG GET -1");
        for (size_t k = 0; k < r->elements; k++) {
            redisReply *args = r->element[k]->element[3];
            batched += args->elements > 1 && strcmp(args->element[1]->str, "lh_batch") == 0;
        }
        freeReplyObject(r);
        redisFree(c);
        node_cmd(i, "CONFIG SET slowlog-log-slower-than 10000");
    }
    assert_true(batched > 0);
    for (int e = 0; e < 3; e++) {
        snprintf(k1, sizeof(k1), "lh:{e:one-%d}:obs:beh:3600000000:472222", e);
        snprintf(k2, sizeof(k2), "lh:{e:many-%d}:obs:beh:3600000000:472222", e);
        redisContext *c1 = owner_of(k1), *c2 = owner_of(k2);
        redisReply *r1 = redisCommand(c1, "ZRANGE %s 0 -1 WITHSCORES", k1),
                   *r2 = redisCommand(c2, "ZRANGE %s 0 -1 WITHSCORES", k2);
        assert_int_equal(r1->elements, 6); /* the cap: 3 members */
        assert_int_equal(r1->elements, r2->elements);
        for (size_t k = 0; k < r1->elements; k++)
            assert_string_equal(r1->element[k]->str, r2->element[k]->str);
        freeReplyObject(r1);
        freeReplyObject(r2);
        redisFree(c1);
        redisFree(c2);
    }
}

/* The reader's pipeline on a cluster: commands of keys on every primary
 * queued together, an error reply among them, each reply in its place. */
static void test_reader_pipeline(void **state)
{
    char url[200], err[512];
    rurl u;
    rreader *c;

    (void)state;
    snprintf(url, sizeof(url), "redis+cluster://127.0.0.1:%d", tc.node[0].port);
    assert_int_equal(rurl_parse(&u, url, NULL, err, sizeof(err)), 0);
    c = rreader_open(&u, 2000, err, sizeof(err));
    if (c == NULL)
        fail_msg("%s", err);
    redisReply *r = rreader_command(c, "SET {t}text abc");
    freeReplyObject(r);
    pipeline_fill(c, 300, 50);
    assert_null(rreader_command(c, "GET {t}text"));
    pipeline_check(c, 300, 50);
    /* replies still queued when the reader is freed are freed with it */
    assert_int_equal(rreader_append(c, "GET {p1}k"), 0);
    rreader_free(c);
    rurl_free(&u);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_crc16),
        cmocka_unit_test(test_keyslot),
        cmocka_unit_test(test_route_and_library),
        cmocka_unit_test(test_moved_and_ask),
        cmocka_unit_test(test_writer_same_as_single),
        cmocka_unit_test(test_batch_per_slot),
        cmocka_unit_test(test_reader_pipeline),
        cmocka_unit_test(test_failover),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
