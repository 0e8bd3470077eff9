/* test_redis_corr.c -- the correlation primitives of the functions library
 * (lh_sum, lh_gate, lh_leg, lh_hours, evidence kept and joined) on a real
 * redis-server, through the event encoders the rules use.
 *
 * Crafted packet times: sums inside, at and past a window edge, in any
 * order, a resent call added once; the gate (controller networks) before
 * or after the bytes; evidence kept as the 16 largest or earliest items
 * and put into the alert; hour-of-week histograms in UTC+8; stepping
 * stone legs matched in both arrival orders, unrelated legs not.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <jansson.h>

#include "redis/conn.h"
#include "rules/event.h"
#include "redis_test_fixture.h"

#define W_US (3600ull * 1000000)
#define D_US (86400ull * 1000000)
#define T0   (472222ull * W_US) /* a window start, 2023-11-14 */

static int setup(void **state)
{
    return fixture_open(state, 0);
}

static int teardown(void **state)
{
    return fixture_close(state);
}

/* Sends the one queued event (twice when resend) and returns the reply. */
static const event_alert egress_alert = {.rule = "weights_egress",
                                         .severity = "high",
                                         .role = "gpu_host",
                                         .summary = "egress",
                                         .score = 40};

/* One lh_sum call about the flow record `fact`; checks the sum and the
 * number of alerts, returns the first alert (malloc'ed) or NULL. */
static char *sum_fact(fixture *f, const char *fact, const char *gpu, const char *net,
                      uint64_t bytes, int flag, uint64_t ts, long long want_sum, size_t want_alerts,
                      int resend)
{
    char item[128];
    event_alert a = egress_alert;
    a.ip = gpu;
    snprintf(item, sizeof(item), "{\"flow\":{\"bytes_up\":%llu},\"detail\":\"d\"}",
             (unsigned long long)bytes);
    event_sum s = {.entity = gpu,
                   .kind = "egress",
                   .member = net,
                   .fact = fact,
                   .bytes = bytes,
                   .flag = flag,
                   .ts_us = ts,
                   .window_us = W_US,
                   .threshold = 1000,
                   .gate_kind = "ctlnet",
                   .gate_window_us = D_US,
                   .evidence = item,
                   .evidence_len = strlen(item),
                   .alert = &a};
    assert_int_equal(event_sum_add(f->q, &s), 0);
    redisReply *r = fixture_send_again(f, resend);
    char *line = NULL;
    assert_int_equal(r->element[0]->integer, want_sum);
    assert_int_equal(r->element[1]->elements, want_alerts);
    if (want_alerts)
        line = strdup(r->element[1]->element[0]->str);
    freeReplyObject(r);
    return line;
}

/* sum_fact() about a flow record of its own. */
static char *sum(fixture *f, const char *gpu, const char *net, uint64_t bytes, int flag,
                 uint64_t ts, long long want_sum, size_t want_alerts, int resend)
{
    static unsigned records;
    char fact[32];

    snprintf(fact, sizeof(fact), "record-%u", ++records);
    return sum_fact(f, fact, gpu, net, bytes, flag, ts, want_sum, want_alerts, resend);
}

static char *gate(fixture *f, const char *gpu, const char *net, uint64_t ts, size_t want_alerts)
{
    event_alert a = egress_alert;
    a.ip = gpu;
    event_gate g = {.entity = gpu,
                    .kind = "ctlnet",
                    .member = net,
                    .ts_us = ts,
                    .window_us = D_US,
                    .sum_kind = "egress",
                    .sum_window_us = W_US,
                    .threshold = 1000,
                    .alert = &a};
    assert_int_equal(event_gate_add(f->q, &g), 0);
    redisReply *r = fixture_send(f);
    char *line = NULL;
    assert_int_equal(r->element[1]->elements, want_alerts);
    if (want_alerts)
        line = strdup(r->element[1]->element[0]->str);
    freeReplyObject(r);
    return line;
}

static json_t *parse(char *line)
{
    json_error_t e;
    json_t *j = json_loads(line, 0, &e);
    assert_non_null(j);
    free(line);
    return j;
}

static void test_sum_window_edges(void **state)
{
    fixture *f = *state;

    assert_null(sum(f, "10.1.0.1", "1.2.3.0/24", 600, 1, T0, 600, 0, 0));
    assert_null(sum(f, "10.1.0.1", "1.2.3.0/24", 300, 1, T0 + W_US - 1, 900, 0, 0)); /* inside */
    assert_null(sum(f, "10.1.0.1", "1.2.3.0/24", 500, 1, T0 + W_US, 500, 0, 0));     /* next */
    assert_null(sum(f, "10.1.0.1", "1.2.3.0/24", 99, 1, T0 - 1, 99, 0, 0));          /* before */
    assert_null(sum(f, "10.1.0.1", "9.9.9.0/24", 999, 1, T0 + 5, 999, 0, 0)); /* other member */
    json_t *a = parse(sum(f, "10.1.0.1", "1.2.3.0/24", 100, 1, T0 + 10, 1000, 1, 0)); /* at it */
    assert_int_equal(json_integer_value(json_object_get(a, "bytes")), 1000);
    assert_int_equal(json_array_size(json_object_get(a, "evidence")), 3);
    json_decref(a);
    /* past the threshold in the same window: raised already */
    assert_null(sum(f, "10.1.0.1", "1.2.3.0/24", 100, 1, T0 + 11, 1100, 0, 0));
    /* another member of the same window has its own alert */
    free(sum(f, "10.1.0.1", "9.9.9.0/24", 1, 1, T0 + 12, 1000, 1, 0));
}

static void test_sum_order_and_resend(void **state)
{
    fixture *f = *state;
    static const uint64_t amounts[3] = {200, 450, 350};

    /* the same three records in two orders: the same sums, one alert */
    for (int i = 0; i < 3; i++)
        free(sum(f, "10.1.0.2", "1.2.3.0/24", amounts[i], 1, T0 + (uint64_t)i,
                 i == 0   ? 200
                 : i == 1 ? 650
                          : 1000,
                 i == 2, 0));
    for (int i = 2; i >= 0; i--)
        free(sum(f, "10.1.0.3", "1.2.3.0/24", amounts[i], 1, T0 + (uint64_t)i,
                 i == 2   ? 350
                 : i == 1 ? 800
                          : 1000,
                 i == 0, 0));
    /* a call sent twice adds its bytes once */
    assert_null(sum(f, "10.1.0.4", "1.2.3.0/24", 400, 1, T0, 400, 0, 1));
    assert_null(sum(f, "10.1.0.4", "1.2.3.0/24", 400, 1, T0, 800, 0, 1));
    /* not flagged, no gate: the sum grows, nothing is raised */
    assert_null(sum(f, "10.1.0.5", "5.5.5.0/24", 5000, 0, T0, 5000, 0, 0));
}

/* A second replay of the same capture sends the same flow records again,
 * from another run (other event ids): they add nothing, so a capture just
 * under the threshold stays under it; a new record still counts. */
static void test_sum_replayed(void **state)
{
    fixture *f = *state;

    for (int run = 0; run < 2; run++) {
        assert_null(sum_fact(f, "a:1-b:2/7/7", "10.1.0.6", "1.2.3.0/24", 600, 1, T0,
                             run ? 900 : 600, 0, 0));
        assert_null(
            sum_fact(f, "a:3-b:2/9/9", "10.1.0.6", "1.2.3.0/24", 300, 1, T0 + 5, 900, 0, 0));
    }
    free(sum_fact(f, "a:4-b:2/11/11", "10.1.0.6", "1.2.3.0/24", 100, 1, T0 + 9, 1000, 1, 0));
}

static void test_gate_both_orders(void **state)
{
    fixture *f = *state;

    /* the controller first, then the bytes */
    assert_null(gate(f, "10.2.0.1", "7.7.7.0/24", T0 - 5 * W_US, 0));
    json_t *a = parse(sum(f, "10.2.0.1", "7.7.7.0/24", 1500, 0, T0, 1500, 1, 0));
    assert_int_equal(json_integer_value(json_object_get(a, "bytes")), 1500);
    json_decref(a);
    /* the bytes first (two windows of the gate's day), then the controller */
    assert_null(sum(f, "10.2.0.2", "7.7.7.0/24", 1200, 0, T0, 1200, 0, 0));
    assert_null(sum(f, "10.2.0.2", "7.7.7.0/24", 1300, 0, T0 + W_US, 1300, 0, 0));
    assert_null(gate(f, "10.2.0.2", "8.8.8.0/24", T0 - W_US, 0)); /* another network */
    redisReply *r;
    event_alert al = egress_alert;
    al.ip = "10.2.0.2";
    event_gate g = {.entity = "10.2.0.2",
                    .kind = "ctlnet",
                    .member = "7.7.7.0/24",
                    .ts_us = T0 - 2 * W_US, /* the same day (T0 is 22:00 UTC) */
                    .window_us = D_US,
                    .sum_kind = "egress",
                    .sum_window_us = W_US,
                    .threshold = 1000,
                    .alert = &al};
    assert_int_equal(event_gate_add(f->q, &g), 0);
    r = fixture_send(f);
    assert_int_equal(r->element[1]->elements, 2); /* both windows, each with its evidence */
    assert_non_null(strstr(r->element[1]->element[0]->str, "\"bytes_up\":1200"));
    assert_non_null(strstr(r->element[1]->element[1]->str, "\"bytes_up\":1300"));
    freeReplyObject(r);
    /* a controller of the next day does not make today's bytes count */
    assert_null(sum(f, "10.2.0.3", "7.7.7.0/24", 1200, 0, T0, 1200, 0, 0));
    assert_null(gate(f, "10.2.0.3", "7.7.7.0/24", T0 + D_US, 0));
}

static void test_evidence_largest(void **state)
{
    fixture *f = *state;

    /* 20 records of 200, 190, ... 10 bytes toward a network that is not
     * flagged; when it turns out to control the host, the alert carries
     * the 16 largest, largest first */
    for (int i = 20; i >= 1; i--)
        assert_null(sum(f, "10.3.0.2", "1.2.3.0/24", (uint64_t)i * 10, 0, T0 + (uint64_t)i,
                        (long long)(20 - i + 1) * (20 + i) * 5, 0, 0));
    json_t *a = parse(gate(f, "10.3.0.2", "1.2.3.0/24", T0, 1));
    json_t *ev = json_object_get(a, "evidence");
    assert_int_equal(json_array_size(ev), 16);
    for (size_t i = 0; i < 16; i++) {
        json_t *fl = json_object_get(json_array_get(ev, i), "flow");
        assert_int_equal(json_integer_value(json_object_get(fl, "bytes_up")), (20 - (long)i) * 10);
    }
    assert_int_equal(json_integer_value(json_object_get(a, "bytes")), 2100);
    json_decref(a);
}

/* Observations with evidence: the 16 earliest by packet time, kept;
 * an item that is not a JSON object is refused. */
static void test_observe_evidence(void **state)
{
    fixture *f = *state;
    event_alert a = {.rule = "reseller_fanout",
                     .severity = "high",
                     .role = "controller",
                     .ip = "10.4.0.1",
                     .summary = "fan-out",
                     .score = 40};
    char val[16], item[64];
    redisReply *r;

    for (int i = 20; i >= 1; i--) {
        snprintf(val, sizeof(val), "h%d", i);
        snprintf(item, sizeof(item), "{\"n\":%d,\"s\":\"a\\\"b\\n\"}", i);
        event_observation o = {.entity = "10.4.0.1",
                               .kind = "gpu_hosts",
                               .value = val,
                               .value_len = strlen(val),
                               .ts_us = T0 + (uint64_t)i,
                               .window_us = W_US,
                               .threshold = 20,
                               .alert = &a,
                               .evidence = item,
                               .evidence_len = strlen(item)};
        assert_int_equal(event_observe(f->q, &o), 0);
        r = fixture_send(f);
        assert_int_equal(r->element[1]->elements, i == 1);
        if (i == 1) {
            json_t *j = json_loads(r->element[1]->element[0]->str, 0, NULL);
            json_t *ev = json_object_get(j, "evidence");
            assert_int_equal(json_array_size(ev), 16);
            for (size_t k = 0; k < 16; k++) {
                json_t *it = json_array_get(ev, k);
                assert_int_equal(json_integer_value(json_object_get(it, "n")), (long)k + 1);
                assert_string_equal(json_string_value(json_object_get(it, "s")), "a\"b\n");
            }
            assert_int_equal(json_integer_value(json_object_get(j, "count")), 20);
            json_decref(j);
        }
        freeReplyObject(r);
    }
    /* not an object: refused before anything is stored */
    event_observation bad = {.entity = "10.4.0.2",
                             .kind = "gpu_hosts",
                             .value = "x",
                             .value_len = 1,
                             .ts_us = T0,
                             .window_us = W_US,
                             .evidence = "[1]",
                             .evidence_len = 3};
    assert_int_equal(event_observe(f->q, &bad), 0);
    event_view v;
    fixture_peek(f, &v);
    r = redisCommandArgv(f->c, v.argc, v.argv, v.lens);
    event_queue_release(f->q);
    assert_int_equal(r->type, REDIS_REPLY_ERROR);
    freeReplyObject(r);
}

/* A session of 10.5.0.1 at day d (0 = Monday 2023-11-13), hour h UTC. */
static long long hours(fixture *f, const char *entity, const char *sid, int d, int h,
                       size_t want_alerts, int resend)
{
    static const uint64_t monday = 19674ull * D_US; /* 2023-11-13 00:00 UTC */
    event_alert a = {.rule = "cn_timezone",
                     .severity = "low",
                     .role = "gpu_host",
                     .ip = entity,
                     .summary = "tz",
                     .score = 10};
    char item[64];
    snprintf(item, sizeof(item), "{\"session\":\"%s\"}", sid);
    event_hours e = {.entity = entity,
                     .session = sid,
                     .ts_us = monday + (uint64_t)d * D_US + (uint64_t)h * 3600000000ull,
                     .window_us = 7 * D_US,
                     .offset_s = 8 * 3600,
                     .hours_mask = "000000001111001111011100",
                     .days_mask = "0111110",
                     .min_in = 4,
                     .min_days = 2,
                     .evidence = item,
                     .evidence_len = strlen(item),
                     .alert = &a};
    assert_int_equal(event_hours_add(f->q, &e), 0);
    redisReply *r = fixture_send_again(f, resend);
    long long in = r->element[0]->integer;
    assert_int_equal(r->element[1]->elements, want_alerts);
    freeReplyObject(r);
    return in;
}

static void test_hours(void **state)
{
    fixture *f = *state;

    /* 01 UTC = 09 CST Monday: inside; 04 UTC = 12 CST: the midday lull */
    assert_int_equal(hours(f, "10.5.0.1", "s1", 0, 1, 0, 0), 1);
    assert_int_equal(hours(f, "10.5.0.1", "s2", 0, 4, 0, 0), 1);
    assert_int_equal(hours(f, "10.5.0.1", "s1", 0, 1, 0, 1), 1);  /* the same session again */
    assert_int_equal(hours(f, "10.5.0.1", "s3", 0, 7, 0, 0), 2);  /* 15 CST */
    assert_int_equal(hours(f, "10.5.0.1", "s4", 0, 12, 0, 0), 3); /* 20 CST */
    /* 16 UTC Monday = 00 CST Tuesday; Saturday 02 UTC = 10 CST Saturday,
     * in the next window (windows start on Thursdays, 00:00 UTC) */
    assert_int_equal(hours(f, "10.5.0.1", "s5", 0, 16, 0, 0), 3);
    assert_int_equal(hours(f, "10.5.0.1", "s6", 5, 2, 0, 0), 0); /* the next 7-day window */
    /* four inside, but on one day only: not yet */
    assert_int_equal(hours(f, "10.5.0.1", "s7", 0, 2, 0, 0), 4);
    /* Tuesday 09 CST: a second day */
    assert_int_equal(hours(f, "10.5.0.1", "s8", 1, 1, 1, 0), 5);
    /* the histogram (hour of the week from Sunday 00 CST): Monday 09 CST
     * holds s1 once */
    const char *hget[3] = {"HGET", "lh:{e:10.5.0.1}:tz:604800000000:2810", "h:33"};
    redisReply *r = tcmd(f->c, 3, hget, NULL);
    assert_int_equal(r->type, REDIS_REPLY_STRING);
    assert_string_equal(r->str, "1");
    freeReplyObject(r);
    /* a US working day (16-23 UTC = 00-07 CST) never reaches the profile */
    for (int d = 0; d < 3; d++)
        for (int h = 16; h < 24; h += 2) {
            char sid[16];
            snprintf(sid, sizeof(sid), "u%d-%d", d, h);
            assert_int_equal(hours(f, "10.5.0.2", sid, d, h, 0, 0), 0);
        }
}

/* A leg: starts at base + offsets[i] ms, pkts each. */
static long long leg(fixture *f, const char *ip, const char *dir, const char *id, uint64_t base,
                     const int *off_ms, const int *pkts, int n, size_t want_alerts, char **line)
{
    char starts[1024], part[128], item[64];
    size_t used = 0;
    for (int i = 0; i < n; i++)
        used += (size_t)snprintf(starts + used, sizeof(starts) - used, "%s%llu:%d", i ? "," : "",
                                 (unsigned long long)(base + (uint64_t)off_ms[i] * 1000), pkts[i]);
    if (dir[0] == 'o')
        snprintf(part, sizeof(part), "{\"ip\":\"10.9.0.1\",\"source\":\"inventory\"}");
    else
        snprintf(part, sizeof(part), "{\"ip\":\"10.8.0.1\",\"country\":\"CN\"}");
    snprintf(item, sizeof(item), "{\"leg\":\"%s\"}", id);
    event_alert a = {.rule = "stepping_stone",
                     .severity = "high",
                     .role = "intermediary",
                     .ip = ip,
                     .summary = "relay",
                     .score = 35};
    event_leg l = {.entity = ip,
                   .dir = dir,
                   .leg = id,
                   .starts = starts,
                   .part = part,
                   .item = item,
                   .ts_us = base,
                   .window_us = W_US,
                   .delta_us = 80000,
                   .min_ratio_pct = 30,
                   .min_run = 2,
                   .min_match = 4,
                   .alert = &a};
    assert_int_equal(event_leg_add(f->q, &l), 0);
    redisReply *r = fixture_send(f);
    long long best = r->element[0]->integer;
    assert_int_equal(r->element[1]->elements, want_alerts);
    if (line)
        *line = want_alerts ? strdup(r->element[1]->element[0]->str) : NULL;
    freeReplyObject(r);
    return best;
}

static void test_legs(void **state)
{
    fixture *f = *state;
    static const int in[] = {0, 3000, 7100, 9800, 15000, 21000, 24500, 30000};
    static const int out[] = {4, 3005, 7160, 9803, 15070, 21002, 24530, 30009};
    static const int other[] = {1700, 5200, 11900, 18300, 26100, 33000};
    static const int pk[] = {12, 8, 20, 6, 14, 9, 30, 5};
    char *line;

    /* inbound first, then outbound: the alert names both parties */
    assert_int_equal(leg(f, "10.6.0.1", "in", "A", T0, in, pk, 8, 0, NULL), 0);
    assert_int_equal(leg(f, "10.6.0.1", "out", "B", T0, out, pk, 8, 1, &line), 8);
    /* the parties the legs lend the line, in the order of the alert's own
     * (05_line.lua): peer, then gpu_host, before the evidence */
    const char *peer_at = strstr(line, "\"peer\":"), *gpu_at = strstr(line, "\"gpu_host\":");
    assert_non_null(peer_at);
    assert_non_null(gpu_at);
    assert_true(peer_at < gpu_at && gpu_at < strstr(line, "\"evidence\":"));
    json_t *a = parse(line);
    assert_string_equal(json_string_value(json_object_get(json_object_get(a, "peer"), "ip")),
                        "10.8.0.1");
    assert_int_equal(json_array_size(json_object_get(a, "evidence")), 2);
    assert_int_equal(json_integer_value(json_object_get(a, "back_to_back")), 8);
    json_decref(a);
    /* outbound first, then inbound: the same verdict */
    assert_int_equal(leg(f, "10.6.0.2", "out", "B", T0, out, pk, 8, 0, NULL), 0);
    assert_int_equal(leg(f, "10.6.0.2", "in", "A", T0, in, pk, 8, 1, &line), 8);
    a = parse(line);
    assert_string_equal(json_string_value(json_object_get(json_object_get(a, "gpu_host"), "ip")),
                        "10.9.0.1");
    json_decref(a);
    /* two sessions on one host whose bursts do not coincide */
    assert_int_equal(leg(f, "10.6.0.3", "in", "A", T0, in, pk, 8, 0, NULL), 0);
    assert_int_equal(leg(f, "10.6.0.3", "out", "C", T0, other, pk, 6, 0, NULL), 0);
    /* bursts that coincide but whose packet counts do not agree */
    static const int pk2[] = {90, 1, 70, 1, 80, 1, 60, 1};
    assert_int_equal(leg(f, "10.6.0.4", "in", "A", T0, in, pk, 8, 0, NULL), 0);
    assert_int_equal(leg(f, "10.6.0.4", "out", "B", T0, out, pk2, 8, 0, NULL), 8);
    /* the outbound lag past delta (80 ms): no coincidence */
    static const int late[] = {100, 3100, 7200, 9900, 15100, 21100, 24600, 30100};
    assert_int_equal(leg(f, "10.6.0.5", "in", "A", T0, in, pk, 8, 0, NULL), 0);
    assert_int_equal(leg(f, "10.6.0.5", "out", "B", T0, late, pk, 8, 0, NULL), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sum_window_edges),
        cmocka_unit_test(test_sum_order_and_resend),
        cmocka_unit_test(test_sum_replayed),
        cmocka_unit_test(test_gate_both_orders),
        cmocka_unit_test(test_evidence_largest),
        cmocka_unit_test(test_observe_evidence),
        cmocka_unit_test(test_hours),
        cmocka_unit_test(test_legs),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
