/* test_summary.c -- the end-of-run summary against a real redis-server.
 *
 * Alerts are raised through the writer's C API (event_raise), exactly as
 * the detection rules will raise them; the summary is then read back from
 * Redis and must match the alerts raised: entities, their risk, rules,
 * peers, GPU hosts and evidence bytes (each flow once). Alerts from before
 * the run's mark and from another sensor are left out.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "app/summary.h"
#include "redis/conn.h"
#include "redis/writer.h"
#include "redis_test_rig.h"
#include "redis_test_server.h"

#define T0   UINT64_C(1772442000000000) /* 2026-03-02T09:00:00Z */
#define W_US UINT64_C(3600000000)

/* One alert with an optional GPU host, peer and evidence flow. */
static void raise_alert(trig *g, const char *rule, const char *sev, const char *role,
                        const char *ip, int score, int at_s, const char *gpu, const char *peer,
                        const char *flow_src, long long up, long long down)
{
    json_t *ev = json_array();
    event_alert a = {.rule = rule,
                     .severity = sev,
                     .role = role,
                     .ip = ip,
                     .summary = "test alert",
                     .score = score,
                     .ts_us = T0 + (uint64_t)at_s * 1000000u,
                     .window_us = W_US,
                     .evidence = ev};

    if (gpu)
        a.gpu_host = json_pack("{s:s, s:s}", "ip", gpu, "source", "provider");
    if (peer)
        a.peer = json_pack("{s:s, s:s}", "ip", peer, "country", "CN");
    if (flow_src)
        json_array_append_new(ev,
                              json_pack("{s:{s:s, s:s, s:s, s:s, s:I, s:I}, s:s}", "flow", "src",
                                        flow_src, "dst", "104.171.200.17:22", "proto", "tcp",
                                        "first", "2026-03-02T09:00:04Z", "bytes_up", (json_int_t)up,
                                        "bytes_down", (json_int_t)down, "detail", "a flow"));
    assert_int_equal(event_raise(g->q, &a), 0);
    json_decref(a.gpu_host);
    json_decref(a.peer);
    json_decref(ev);
}

static const json_t *find_entity(const json_t *sum, const char *ip)
{
    size_t i;
    json_t *row;

    json_array_foreach(json_object_get(sum, "entities"), i, row)
    {
        if (strcmp(json_string_value(json_object_get(row, "ip")), ip) == 0)
            return row;
    }
    fail_msg("no entity %s in the summary", ip);
    return NULL;
}

/* "a,b" from a JSON array of strings. */
static void joined(const json_t *arr, char *buf, size_t len)
{
    size_t i, o = 0;
    json_t *v;

    buf[0] = '\0';
    json_array_foreach(arr, i, v) o +=
        (size_t)snprintf(buf + o, len - o, "%s%s", i ? "," : "", json_string_value(v));
}

#define ASSERT_LIST(row, key, want)                                                                \
    do {                                                                                           \
        char got_[512];                                                                            \
        joined(json_object_get(row, key), got_, sizeof(got_));                                     \
        assert_string_equal(got_, want);                                                           \
    } while (0)

static json_int_t int_of(const json_t *o, const char *key)
{
    return json_integer_value(json_object_get(o, key));
}

/* Counts the lines of the alerts file the writer wrote. */
static int count_lines(const char *path)
{
    FILE *f = fopen(path, "r");
    int n = 0, c;

    assert_non_null(f);
    while ((c = fgetc(f)) != EOF)
        n += c == '\n';
    fclose(f);
    return n;
}

static void test_summary_matches_alerts(void **state)
{
    tserver t;
    trig before, run, other;
    rurl u;
    rreader *c = NULL;
    char err[512], since[64];
    json_t *sum;

    (void)state;
    assert_int_equal(tserver_start(&t, NULL), 0);
    /* an earlier run: in the stream, but before this run's mark */
    trig_start_server(&before, &t, "s1", 9, 1 << 20, 0, 0);
    raise_alert(&before, "cn_footprint", "low", "gpu_host", "104.171.200.99", 5, 1, NULL, NULL,
                NULL, 0, 0);
    assert_int_equal(trig_stop(&before), 0);

    rurl_unix(&u, t.sock, err, sizeof(err));
    assert_non_null(c = rreader_open(&u, 2000, err, sizeof(err)));
    assert_int_equal(summary_mark(c, "lh:", since, sizeof(since), err, sizeof(err)), 0);
    assert_string_not_equal(since, "0-0");

    trig_start_server(&run, &t, "s1", 9, 1 << 20, 0, 0);
    trig_start_server(&other, &t, "s2", 9, 1 << 20, 0, 0);
    raise_alert(&run, "cn_direct_control", "high", "controller", "175.16.199.23", 40, 4,
                "104.171.200.17", NULL, "175.16.199.23:38019", 12664, 80074);
    raise_alert(&run, "reseller_fanout", "critical", "controller", "175.16.199.23", 30, 70,
                "104.171.201.9", NULL, "175.16.199.23:34216", 31040, 532906);
    raise_alert(&run, "weights_egress", "critical", "gpu_host", "104.171.200.17", 50, 140,
                "104.171.200.17", "118.31.219.198", "104.171.200.17:52460", 26313741, 574924);
    /* the same evidence flow again: its bytes count once */
    raise_alert(&run, "cn_footprint", "medium", "gpu_host", "104.171.200.17", 10, 141,
                "104.171.200.17", "114.114.114.114", "104.171.200.17:52460", 26313741, 574924);
    raise_alert(&run, "relay_control", "medium", "relay", "43.252.36.10", 20, 31, "104.171.200.17",
                NULL, NULL, 0, 0);
    raise_alert(&other, "cn_direct_control", "high", "controller", "1.180.23.7", 40, 48, NULL, NULL,
                NULL, 0, 0);
    assert_int_equal(trig_stop(&run), 0);
    assert_int_equal(trig_stop(&other), 0);

    sum = summary_collect(c, "lh:", "s1", since, err, sizeof(err));
    if (sum == NULL)
        fail_msg("%s", err);
    /* every alert this sensor raised in the run, and nothing else */
    assert_int_equal(int_of(sum, "alerts"), count_lines(run.alerts));
    assert_int_equal(int_of(sum, "alerts"), 5);
    assert_int_equal(json_array_size(json_object_get(sum, "entities")), 3);
    assert_int_equal(int_of(json_object_get(sum, "by_rule"), "cn_footprint"), 1);
    assert_int_equal(int_of(json_object_get(sum, "by_severity"), "critical"), 2);

    /* by risk: 175.16.199.23 (40+30), 104.171.200.17 (50+10), 43.252.36.10 (20) */
    const json_t *first = json_array_get(json_object_get(sum, "entities"), 0);
    assert_string_equal(json_string_value(json_object_get(first, "ip")), "175.16.199.23");
    const json_t *a = find_entity(sum, "175.16.199.23");
    assert_int_equal(int_of(a, "score"), 70);
    assert_int_equal(int_of(a, "alerts"), 2);
    assert_string_equal(json_string_value(json_object_get(a, "severity")), "critical");
    assert_string_equal(json_string_value(json_object_get(a, "role")), "controller");
    ASSERT_LIST(a, "rules", "cn_direct_control,reseller_fanout");
    ASSERT_LIST(a, "gpu_hosts", "104.171.200.17,104.171.201.9");
    ASSERT_LIST(a, "peers", "");
    assert_int_equal(int_of(a, "bytes_up"), 12664 + 31040);
    assert_int_equal(int_of(a, "bytes_down"), 80074 + 532906);
    assert_string_equal(json_string_value(json_object_get(a, "first")),
                        "2026-03-02T09:00:04.000000Z");
    assert_string_equal(json_string_value(json_object_get(a, "last")),
                        "2026-03-02T09:01:10.000000Z");
    /* the host hash, as the functions library keeps it */
    assert_string_equal(json_string_value(json_object_get(json_object_get(a, "host"), "rules")),
                        "cn_direct_control,reseller_fanout");

    const json_t *b = find_entity(sum, "104.171.200.17");
    assert_int_equal(int_of(b, "score"), 60);
    ASSERT_LIST(b, "rules", "cn_footprint,weights_egress");
    ASSERT_LIST(b, "peers", "114.114.114.114,118.31.219.198");
    assert_int_equal(int_of(b, "peers_count"), 2);
    assert_int_equal(int_of(b, "bytes_up"), 26313741);
    assert_int_equal(int_of(b, "bytes_down"), 574924);

    const json_t *r = find_entity(sum, "43.252.36.10");
    assert_int_equal(int_of(r, "score"), 20);
    ASSERT_LIST(r, "gpu_hosts", "104.171.200.17");
    assert_int_equal(int_of(r, "bytes_up"), 0);

    /* the file form is the same object */
    char path[400];
    snprintf(path, sizeof(path), "%s/summary.json", t.dir);
    assert_int_equal(summary_write_json(sum, path, err, sizeof(err)), 0);
    json_t *back = json_load_file(path, 0, NULL);
    assert_non_null(back);
    assert_true(json_equal(back, sum));
    json_decref(back);
    /* and an unwritable path names itself */
    assert_int_equal(summary_write_json(sum, "/nonexistent/dir/s.json", err, sizeof(err)), -1);
    assert_non_null(strstr(err, "--summary /nonexistent/dir/s.json"));

    /* the table: a header and one line per entity, highest risk first */
    char *text = NULL;
    size_t tlen = 0;
    FILE *mem = open_memstream(&text, &tlen);
    summary_print_table(mem, sum);
    fclose(mem);
    assert_non_null(strstr(text, "5 alerts about 3 entities"));
    char *l1 = strstr(text, "175.16.199.23"), *l2 = strstr(text, "104.171.200.17 "),
         *l3 = strstr(text, "43.252.36.10");
    assert_true(l1 && l2 && l3 && l1 < l2 && l2 < l3);
    free(text);

    json_decref(sum);
    rreader_free(c);
    rurl_free(&u);
    tserver_free(&t);
}

/* An empty stream: the mark is 0-0 and the summary is empty, not an error. */
static void test_summary_empty(void **state)
{
    tserver t;
    rurl u;
    rreader *c = NULL;
    char err[512], since[64];
    json_t *sum;

    (void)state;
    assert_int_equal(tserver_start(&t, NULL), 0);
    rurl_unix(&u, t.sock, err, sizeof(err));
    assert_non_null(c = rreader_open(&u, 2000, err, sizeof(err)));
    assert_int_equal(summary_mark(c, "lh:", since, sizeof(since), err, sizeof(err)), 0);
    assert_string_equal(since, "0-0");
    sum = summary_collect(c, "lh:", "s1", since, err, sizeof(err));
    assert_non_null(sum);
    assert_int_equal(int_of(sum, "alerts"), 0);
    assert_int_equal(json_array_size(json_object_get(sum, "entities")), 0);
    json_decref(sum);
    /* a key of the wrong type is an error naming it */
    redisReply *rep = rreader_command(c, "SET lh:alerts x");
    freeReplyObject(rep);
    assert_null(summary_collect(c, "lh:", "s1", "0-0", err, sizeof(err)));
    assert_non_null(strstr(err, "lh:alerts"));
    rreader_free(c);
    rurl_free(&u);
    tserver_free(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_summary_matches_alerts),
        cmocka_unit_test(test_summary_empty),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
