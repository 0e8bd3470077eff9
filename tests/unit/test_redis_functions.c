/* test_redis_functions.c -- the functions library (rules/lua/) on a
 * real redis-server, through the event encoders the workers use.
 *
 * Windows with crafted packet times: inside, at and past a window edge; a
 * year-old capture counts like a fresh one; arrival order does not change
 * the result; alerts are raised once per (rule, entity, window) and a resent
 * call gets its alert back without a second stream entry; exact sets stop at
 * their cap; HyperLogLog counts approximately; scores cap at 100; hostile
 * bytes come back byte for byte; knocks count once per call.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "redis/conn.h"
#include "base/wire_json.h"
#include "rules/event.h"
#include "redis_test_fixture.h"

#define W_US (3600ull * 1000000)
#define T0   (472222ull * W_US) /* a window start, 2023-11-14 */
#define YEAR (365ull * 86400 * 1000000)

static int setup(void **state)
{
    return fixture_open(state, 1000);
}

static int teardown(void **state)
{
    return fixture_close(state);
}

/* Sends the one queued event as it is, without settling: the reply
 * keeps its settle hint. */
static redisReply *send_unsettled(fixture *f)
{
    event_view v;
    redisReply *r;

    fixture_peek(f, &v);
    r = redisCommandArgv(f->c, v.argc, v.argv, v.lens);
    event_queue_release(f->q);
    assert_non_null(r);
    return r;
}

/* Returns the reply of an observation of fan-out `value` by `entity`
 * and checks its count; settle: as if the watermark passed right after
 * it (fixture_settle), else the reply keeps its settle hint. */
static redisReply *observe_as(fixture *f, const char *entity, const char *value, size_t vlen,
                              uint64_t ts, uint32_t threshold, long long want_count, int settle)
{
    event_alert a = {.rule = "reseller_fanout",
                     .severity = "high",
                     .role = "controller",
                     .ip = entity,
                     .summary = "controls many GPU hosts",
                     .score = 40};
    event_observation o = {.entity = entity,
                           .kind = "gpu_hosts",
                           .value = value,
                           .value_len = vlen,
                           .ts_us = ts,
                           .window_us = W_US,
                           .threshold = threshold,
                           .alert = &a};
    redisReply *r;

    assert_int_equal(event_observe(f->q, &o), 0);
    r = settle ? fixture_send(f) : send_unsettled(f);
    assert_int_equal(r->type, REDIS_REPLY_ARRAY);
    assert_int_equal(r->element[0]->integer, want_count);
    return r;
}

static redisReply *observe(fixture *f, const char *entity, const char *value, size_t vlen,
                           uint64_t ts, uint32_t threshold, long long want_count)
{
    return observe_as(f, entity, value, vlen, ts, threshold, want_count, 1);
}

static void observe_n(fixture *f, const char *entity, const char *value, uint64_t ts,
                      uint32_t threshold, long long want_count, size_t want_alerts)
{
    redisReply *r = observe(f, entity, value, strlen(value), ts, threshold, want_count);
    assert_int_equal(r->element[1]->elements, want_alerts);
    freeReplyObject(r);
}

static long long int_cmd(fixture *f, const char *cmd, const char *key)
{
    const char *argv[2] = {cmd, key};
    redisReply *r = tcmd(f->c, 2, argv, NULL);
    long long v = r->type == REDIS_REPLY_INTEGER ? r->integer : -1;
    freeReplyObject(r);
    return v;
}

static void test_window_edges(void **state)
{
    fixture *f = *state;

    observe_n(f, "10.0.0.1", "a", T0, 0, 1, 0);                /* first instant of the window */
    observe_n(f, "10.0.0.1", "b", T0 + W_US - 1, 0, 2, 0);     /* last instant: inside */
    observe_n(f, "10.0.0.1", "a", T0 + W_US / 2, 0, 2, 0);     /* a value again: no new count */
    observe_n(f, "10.0.0.1", "c", T0 + W_US, 0, 1, 0);         /* at the edge: the next window */
    observe_n(f, "10.0.0.1", "d", T0 + 2 * W_US + 5, 0, 1, 0); /* past it */
    observe_n(f, "10.0.0.1", "e", T0 + 10, 0, 3, 0);           /* late arrival, old window */
}

static void test_year_old_capture(void **state)
{
    fixture *f = *state;
    const char *vals[] = {"a", "b", "c"};

    /* the same three hosts a year apart: same counts, an alert each time */
    for (int i = 0; i < 3; i++)
        observe_n(f, "10.0.0.2", vals[i], T0 - YEAR + (uint64_t)i * 1000, 3, i + 1, i == 2);
    for (int i = 0; i < 3; i++)
        observe_n(f, "10.0.0.2", vals[i], T0 + (uint64_t)i * 1000, 3, i + 1, i == 2);
    assert_int_equal(int_cmd(f, "XLEN", "lh:alerts"), 2);
}

static void test_alert_once(void **state)
{
    fixture *f = *state;
    const char *hosts[] = {"h1", "h2", "h3", "h4", "h5"};

    int_cmd(f, "DEL", "lh:alerts");
    /* arrival order reversed against packet time: the count is a set */
    for (int i = 0; i < 5; i++)
        observe_n(f, "10.0.0.3", hosts[i], T0 + (uint64_t)(5 - i) * 1000000, 3, i + 1, i == 2);
    assert_int_equal(int_cmd(f, "XLEN", "lh:alerts"), 1);
    /* the next window raises again */
    for (int i = 0; i < 3; i++)
        observe_n(f, "10.0.0.3", hosts[i], T0 + W_US + (uint64_t)i, 3, i + 1, i == 2);
    assert_int_equal(int_cmd(f, "XLEN", "lh:alerts"), 2);
    /* the score capped at 100 after 40 + 40 + 40 */
    for (int i = 0; i < 3; i++)
        observe_n(f, "10.0.0.3", hosts[i], T0 + 5 * W_US + (uint64_t)i, 3, i + 1, i == 2);
    const char *zs[3] = {"ZSCORE", "lh:risk", "10.0.0.3"};
    redisReply *r = tcmd(f->c, 3, zs, NULL);
    assert_string_equal(r->str, "100");
    freeReplyObject(r);
}

/* A call sent twice (its reply was lost): the fact is recorded once; the
 * settle call sent twice gets the same line back, once in the stream. */
static void test_resent_call(void **state)
{
    fixture *f = *state;
    event_alert a = {.rule = "cn_direct_control",
                     .severity = "critical",
                     .role = "gpu_host",
                     .ip = "10.9.9.9",
                     .summary = "ssh from CN",
                     .score = 60,
                     .ts_us = T0 + 7,
                     .window_us = W_US};
    event_view v;
    redisReply *r1, *r2, *r3;

    int_cmd(f, "DEL", "lh:alerts");
    assert_int_equal(event_raise(f->q, &a), 0);
    fixture_peek(f, &v);
    r1 = redisCommandArgv(f->c, v.argc, v.argv, v.lens);
    r2 = redisCommandArgv(f->c, v.argc, v.argv, v.lens);
    event_queue_release(f->q);
    /* the fact once; the resent call still answers the settle hint */
    assert_int_equal(r1->element[0]->integer, 1);
    assert_int_equal(r2->element[0]->integer, 0);
    assert_int_equal(r1->element[1]->elements, 1);
    assert_int_equal(r1->element[1]->element[0]->type, REDIS_REPLY_ARRAY);
    assert_int_equal(r2->element[1]->elements, 1);
    /* the settle call sent twice (same ev): the same line, one entry */
    redisReply *hint = r1->element[1]->element[0];
    const char *sv[12];
    size_t sl[12];
    assert_true(hint->elements <= 10);
    for (size_t i = 0; i < hint->elements; i++)
        sv[i] = hint->element[i]->str, sl[i] = hint->element[i]->len;
    sv[hint->elements - 1] = "9000000000000000";
    sl[hint->elements - 1] = 16;
    sv[hint->elements] = "ev", sl[hint->elements] = 2;
    sv[hint->elements + 1] = "settle/1", sl[hint->elements + 1] = 8;
    redisReply *s1 = redisCommandArgv(f->c, (int)hint->elements + 2, sv, sl);
    redisReply *s2 = redisCommandArgv(f->c, (int)hint->elements + 2, sv, sl);
    assert_int_equal(s1->element[1]->elements, 1);
    assert_int_equal(s2->element[1]->elements, 1);
    assert_string_equal(s1->element[1]->element[0]->str, s2->element[1]->element[0]->str);
    assert_int_equal(int_cmd(f, "XLEN", "lh:alerts"), 1);
    freeReplyObject(s1);
    freeReplyObject(s2);
    /* another event for the same (rule, entity, window): a fact, no line */
    a.ts_us = T0 + 99;
    assert_int_equal(event_raise(f->q, &a), 0);
    r3 = fixture_send(f);
    assert_int_equal(r3->element[0]->integer, 1);
    assert_int_equal(r3->element[1]->elements, 0);
    assert_int_equal(int_cmd(f, "XLEN", "lh:alerts"), 1);
    freeReplyObject(r1);
    freeReplyObject(r2);
    freeReplyObject(r3);
}

/* One settle call for several entities (the writer's, on one server):
 * each entity's due windows are settled in the order given, the lines
 * come back with a settle hint for each entity still pending, a resent
 * call gets the same answer, and a call that settles nothing keeps no
 * answer. */
static void test_settle_entities(void **state)
{
    fixture *f = *state;
    const char *ips[3] = {"10.9.8.1", "10.9.8.2", "10.9.8.3"};
    const char *sv[32];
    size_t sl[32];
    int argc = 3;
    char due[24];

    int_cmd(f, "DEL", "lh:alerts");
    sv[0] = "FCALL", sv[1] = "lh_settle", sv[2] = "12";
    for (int i = 0; i < 3; i++) {
        event_alert a = {.rule = "cn_direct_control",
                         .severity = "critical",
                         .role = "gpu_host",
                         .ip = ips[i],
                         .summary = "ssh from CN",
                         .score = 60,
                         .ts_us = T0 + 7,
                         .window_us = W_US};
        assert_int_equal(event_raise(f->q, &a), 0);
        redisReply *r = send_unsettled(f);
        assert_int_equal(r->element[1]->elements, 1);
        redisReply *hint = r->element[1]->element[0];
        assert_int_equal(hint->elements, 9); /* FCALL lh_settle 4 <4 keys> upto_us <due> */
        snprintf(due, sizeof(due), "%s", hint->element[8]->str);
        for (int k = 3; k < 7; k++) {
            sv[argc] = strdup(hint->element[k]->str);
            sl[argc++] = hint->element[k]->len;
        }
        freeReplyObject(r);
    }
    for (int i = 0; i < 3; i++)
        sl[i] = strlen(sv[i]);
    const char *tail[6] = {"upto_us", due, "ev", "settle/many", "per", "4"};
    for (int i = 0; i < 6; i++) {
        sv[argc] = tail[i];
        sl[argc++] = strlen(tail[i]);
    }
    /* before any window is due: nothing settled, no answer kept */
    sv[argc - 5] = "1";
    sl[argc - 5] = 1;
    redisReply *s0 = redisCommandArgv(f->c, argc, sv, sl);
    assert_int_equal(s0->type, REDIS_REPLY_ARRAY);
    assert_int_equal(s0->element[1]->elements, 3); /* a hint each, no line */
    for (int i = 0; i < 3; i++) {
        assert_int_equal(s0->element[1]->element[i]->type, REDIS_REPLY_ARRAY);
        assert_string_equal(s0->element[1]->element[i]->element[8]->str, due);
    }
    freeReplyObject(s0);
    char mark[128];
    snprintf(mark, sizeof(mark), "%s:settle:settle/many", sv[3]);
    assert_int_equal(int_cmd(f, "EXISTS", mark), 0);
    assert_int_equal(int_cmd(f, "XLEN", "lh:alerts"), 0);
    /* at the due time: a line each, in the order given, then the hints of
     * the windows' ends (an early window is settled again there) */
    sv[argc - 5] = due;
    sl[argc - 5] = strlen(due);
    redisReply *s1 = redisCommandArgv(f->c, argc, sv, sl);
    redisReply *s2 = redisCommandArgv(f->c, argc, sv, sl);
    assert_int_equal(s1->type, REDIS_REPLY_ARRAY);
    assert_int_equal(s1->element[0]->integer, 0);
    assert_int_equal(s1->element[1]->elements, 6);
    for (int i = 0; i < 3; i++) {
        redisReply *line = s1->element[1]->element[i], *hint = s1->element[1]->element[3 + i];
        char ip[32];
        assert_int_equal(line->type, REDIS_REPLY_STRING);
        snprintf(ip, sizeof(ip), "\"ip\":\"%s\"", ips[i]);
        assert_non_null(strstr(line->str, ip));
        assert_int_equal(hint->type, REDIS_REPLY_ARRAY);
        assert_string_equal(hint->element[3]->str, sv[3 + 4 * i]);
        snprintf(ip, sizeof(ip), "%llu", (unsigned long long)(T0 / W_US + 1) * W_US);
        assert_string_equal(hint->element[8]->str, ip);
    }
    /* sent again: the same answer, nothing published twice */
    assert_int_equal(s2->element[1]->elements, 6);
    for (int i = 0; i < 3; i++)
        assert_string_equal(s1->element[1]->element[i]->str, s2->element[1]->element[i]->str);
    assert_int_equal(int_cmd(f, "XLEN", "lh:alerts"), 3);
    assert_int_equal(int_cmd(f, "EXISTS", mark), 1);
    freeReplyObject(s1);
    freeReplyObject(s2);
    for (int i = 3; i < 15; i++)
        free((void *)sv[i]);
}

/* Raises cn_direct_control for ip at packet time ts without settling,
 * and keeps the four keys of its settle hint in keys[] (the caller frees
 * them). */
static void raise_unsettled(fixture *f, const char *ip, uint64_t ts, char **keys)
{
    event_alert a = {.rule = "cn_direct_control",
                     .severity = "critical",
                     .role = "gpu_host",
                     .ip = ip,
                     .summary = "ssh from CN",
                     .score = 60,
                     .ts_us = ts,
                     .window_us = W_US};

    assert_int_equal(event_raise(f->q, &a), 0);
    redisReply *r = send_unsettled(f);
    assert_int_equal(r->element[1]->elements, 1);
    redisReply *hint = r->element[1]->element[0];
    assert_int_equal(hint->elements, 9);
    for (int k = 0; k < 4; k++)
        keys[k] = strdup(hint->element[3 + k]->str);
    freeReplyObject(r);
}

/* lh_settle of entities k[0..3] and k[4..7] up to upto (per 4, ev). */
static redisReply *settle_two(fixture *f, char **k, uint64_t upto, const char *ev)
{
    const char *sv[17] = {"FCALL", "lh_settle", "8"};
    char bound[24];
    int argc = 3;

    snprintf(bound, sizeof(bound), "%llu", (unsigned long long)upto);
    for (int i = 0; i < 8; i++)
        sv[argc++] = k[i];
    sv[argc++] = "upto_us", sv[argc++] = bound, sv[argc++] = "ev", sv[argc++] = ev;
    sv[argc++] = "per", sv[argc++] = "4";
    redisReply *r = tcmd(f->c, argc, sv, NULL);
    assert_int_equal(r->type, REDIS_REPLY_ARRAY);
    return r;
}

static void assert_line_of(const redisReply *line, const char *ip)
{
    char want[40];

    assert_int_equal(line->type, REDIS_REPLY_STRING);
    snprintf(want, sizeof(want), "\"ip\":\"%s\"", ip);
    assert_non_null(strstr(line->str, want));
}

/* One settle call for entities due at different times (the writer's, on
 * one server, docs/rules-correlation.md "Settling"): the windows of all
 * of them are settled in due order, not entity after entity, so the
 * lines come out as they would from a call per due time. Entity A
 * (given first) raises at T0+9, B at T0+7: B's line comes first. Up to a
 * time between them, B's line alone, and a hint for each entity with the
 * next window it has pending (A's at T0+9, B's early window again at its
 * end). */
static void test_settle_due_order(void **state)
{
    fixture *f = *state;
    char *k[8], *m[8];
    uint64_t wend = (T0 / W_US + 1) * W_US;

    int_cmd(f, "DEL", "lh:alerts");
    raise_unsettled(f, "10.9.7.1", T0 + 9, k);
    raise_unsettled(f, "10.9.7.2", T0 + 7, k + 4);
    redisReply *r = settle_two(f, k, wend, "settle/order");
    assert_int_equal(r->element[0]->integer, 0);
    assert_int_equal(r->element[1]->elements, 2); /* two lines, nothing pending */
    assert_line_of(r->element[1]->element[0], "10.9.7.2");
    assert_line_of(r->element[1]->element[1], "10.9.7.1");
    freeReplyObject(r);
    assert_int_equal(int_cmd(f, "XLEN", "lh:alerts"), 2);

    raise_unsettled(f, "10.9.7.3", T0 + 9, m);
    raise_unsettled(f, "10.9.7.4", T0 + 7, m + 4);
    r = settle_two(f, m, T0 + 8, "settle/part");
    assert_int_equal(r->element[1]->elements, 3);
    assert_line_of(r->element[1]->element[0], "10.9.7.4");
    char due[2][24];
    snprintf(due[0], sizeof(due[0]), "%llu", (unsigned long long)(T0 + 9));
    snprintf(due[1], sizeof(due[1]), "%llu", (unsigned long long)wend);
    for (int i = 0; i < 2; i++) {
        redisReply *hint = r->element[1]->element[1 + i];
        assert_int_equal(hint->type, REDIS_REPLY_ARRAY);
        assert_string_equal(hint->element[3]->str, m[4 * i]);
        assert_string_equal(hint->element[8]->str, due[i]);
    }
    freeReplyObject(r);
    r = settle_two(f, m, wend, "settle/rest");
    assert_int_equal(r->element[1]->elements, 1);
    assert_line_of(r->element[1]->element[0], "10.9.7.3");
    freeReplyObject(r);
    assert_int_equal(int_cmd(f, "XLEN", "lh:alerts"), 4);
    for (int i = 0; i < 8; i++) {
        free(k[i]);
        free(m[i]);
    }
}

/* Sends an observation of fan-out `value` by 10.0.0.7 at ts (threshold
 * thr) without settling; checks the count and whether a settle hint came
 * back, and returns the reply. */
static redisReply *observe_unsettled(fixture *f, const char *value, uint64_t ts, uint32_t thr,
                                     long long want_count, size_t want_hints)
{
    redisReply *r = observe_as(f, "10.0.0.7", value, strlen(value), ts, thr, want_count, 0);
    assert_int_equal(r->element[1]->elements, want_hints);
    return r;
}

/* Settles reply r's hint and checks its one line: dated by the window's
 * earliest fact (22:00:01) and counting `count`. */
static void settled_line(fixture *f, redisReply *r, const char *count)
{
    fixture_settle(f, r);
    assert_int_equal(r->element[1]->elements, 1);
    assert_non_null(strstr(r->element[1]->element[0]->str, "\"ts\":\"2023-11-14T22:00:01"));
    assert_non_null(strstr(r->element[1]->element[0]->str, count));
    freeReplyObject(r);
}

/* A window below its threshold is held (fact() in 10_alert.lua): its
 * facts answer no settle hint, K:pend does not hold it, and they are kept
 * as bodies under their ids and nothing else (no window hash, no
 * candidate record); a resent one is absorbed. The fact that makes it
 * ready stores them and marks the window pending, and the line is dated
 * by the held fact. A window holds as many bodies as it would keep (16),
 * or 3 when it keeps its own evidence set (a fan-out window, which keeps
 * 1 body stored): one fact more stores them all without the mark, and
 * the fact that reaches the threshold marks it. */
static void test_unready_window(void **state)
{
    fixture *f = *state;
    const char *dkey = "lh:{e:10.0.0.7}:alert:reseller_fanout:3600000000:472222";
    const char *pend = "lh:{e:10.0.0.7}:pend";
    char held[128];
    const char *cands[2] = {"KEYS", "lh:{e:10.0.0.7}:cand:*"};
    const char *events[3] = {"HGET", dkey, "events"};

    snprintf(held, sizeof(held), "%s:held", dkey);
    int_cmd(f, "DEL", "lh:alerts");
    /* threshold 2: held, resent, then ready */
    for (int i = 0; i < 2; i++)
        freeReplyObject(observe_unsettled(f, "h1", T0 + 1000000, 2, 1, 0));
    assert_int_equal(int_cmd(f, "HLEN", held), 1);
    assert_int_equal(int_cmd(f, "EXISTS", dkey), 0);
    assert_int_equal(int_cmd(f, "EXISTS", pend), 0);
    redisReply *k = tcmd(f->c, 2, cands, NULL);
    assert_int_equal(k->elements, 0);
    freeReplyObject(k);
    redisReply *r = observe_unsettled(f, "h2", T0 + 2000000, 2, 2, 1);
    assert_int_equal(int_cmd(f, "EXISTS", held), 0);
    assert_int_equal(int_cmd(f, "ZCARD", pend), 1);
    redisReply *ev = tcmd(f->c, 3, events, NULL);
    assert_string_equal(ev->str, "2"); /* both facts counted */
    freeReplyObject(ev);
    k = tcmd(f->c, 2, cands, NULL);
    assert_int_equal(k->elements, 1);
    const char *first[3] = {"HGET", k->element[0]->str, "first"};
    redisReply *fr = tcmd(f->c, 3, first, NULL);
    assert_non_null(strstr(fr->str, "22:00:01")); /* the held fact's time */
    freeReplyObject(fr);
    freeReplyObject(k);
    settled_line(f, r, "\"count\":2");
    assert_int_equal(int_cmd(f, "EXISTS", pend), 0);
    assert_int_equal(int_cmd(f, "XLEN", "lh:alerts"), 1);

    /* the next window, threshold 5: three held (the earliest second),
     * the fourth stores them all (not pending), the fifth marks it */
    k = tcmd(f->c, 2, (const char *[]){"KEYS", "lh:{e:10.0.0.7}*"}, NULL);
    for (size_t i = 0; i < k->elements; i++)
        int_cmd(f, "DEL", k->element[i]->str);
    freeReplyObject(k);
    int_cmd(f, "DEL", "lh:alerts");
    static const struct {
        const char *host;
        uint64_t at_s;
    } facts[] = {{"h1", 3}, {"h2", 1}, {"h3", 4}};
    for (int i = 0; i < 3; i++) {
        freeReplyObject(
            observe_unsettled(f, facts[i].host, T0 + facts[i].at_s * 1000000, 5, i + 1, 0));
        assert_int_equal(int_cmd(f, "HLEN", held), i + 1);
        assert_int_equal(int_cmd(f, "EXISTS", dkey), 0);
    }
    freeReplyObject(observe_unsettled(f, "h4", T0 + 5000000, 5, 4, 0));
    assert_int_equal(int_cmd(f, "EXISTS", held), 0);
    assert_int_equal(int_cmd(f, "EXISTS", pend), 0);
    ev = tcmd(f->c, 3, events, NULL);
    assert_string_equal(ev->str, "4");
    freeReplyObject(ev);
    r = observe_unsettled(f, "h5", T0 + 2000000, 5, 5, 1);
    settled_line(f, r, "\"count\":5");
    assert_int_equal(int_cmd(f, "XLEN", "lh:alerts"), 1);
}

static void test_cap_and_approx(void **state)
{
    fixture *f = *state;
    char v[32];
    redisReply *r;

    for (int i = 0; i < 20; i++) {
        event_observation o = {.entity = "10.0.0.4",
                               .kind = "clients",
                               .value = v,
                               .value_len = (size_t)snprintf(v, sizeof(v), "c%d", i),
                               .ts_us = T0 + (uint64_t)i,
                               .window_us = W_US,
                               .cap = 8};
        event_observe(f->q, &o);
        r = fixture_send(f);
        assert_int_equal(r->element[0]->integer, i < 8 ? i + 1 : 8);
        freeReplyObject(r);
    }
    for (int i = 0; i < 5000; i++) {
        event_observation o = {.entity = "10.0.0.5",
                               .kind = "clients",
                               .value = v,
                               .value_len = (size_t)snprintf(v, sizeof(v), "c%d", i),
                               .ts_us = T0 + (uint64_t)i,
                               .window_us = W_US,
                               .approx = 1};
        event_observe(f->q, &o);
        r = fixture_send(f);
        if (i == 4999) {
            long long n = r->element[0]->integer;
            assert_true(n > 4900 && n < 5100);
        }
        freeReplyObject(r);
    }
}

/* The alert line as interface.md section 2 documents it, serialised by
 * jansson: what the library's line (rules/lua/05_line.lua) must equal
 * byte for byte. With id, the id and score the library gave it and, with
 * figure, one figure of the window. */
static char *want_line(const event_alert *a, const char *sensor, const char *id, json_int_t score,
                       const char *figure, json_int_t value)
{
    json_t *o = json_object(), *ent = json_object();
    char *s;

    json_object_set_new(o, "ts", wjson_time(a->ts_us));
    json_object_set_new(o, "event_type", json_string("alert"));
    json_object_set_new(o, "sensor", wjson_cstring(sensor));
    json_object_set_new(o, "rule", json_string(a->rule));
    json_object_set_new(o, "severity", json_string(a->severity));
    json_object_set_new(ent, "role", json_string(a->role));
    json_object_set_new(ent, "ip", json_string(a->ip));
    json_object_set_new(o, "entity", ent);
    if (a->gpu_host)
        json_object_set(o, "gpu_host", a->gpu_host);
    if (a->peer)
        json_object_set(o, "peer", a->peer);
    if (a->intermediary)
        json_object_set(o, "intermediary", a->intermediary);
    json_object_set_new(o, "evidence", a->evidence ? json_incref(a->evidence) : json_array());
    json_object_set_new(o, "summary", wjson_cstring(a->summary));
    if (id) {
        json_object_set_new(o, "id", json_string(id));
        json_object_set_new(o, "score", json_integer(score));
    }
    if (figure)
        json_object_set_new(o, figure, json_integer(value));
    s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(o);
    return s;
}

/* Quotes, CR/LF, NUL, Lua-looking text: stored and returned byte for byte. */
static void test_hostile_bytes(void **state)
{
    fixture *f = *state;
    static const char nasty[] = "a\"b'\r\n\0x]]); redis.call('FLUSHALL') --[[\\\x01\xff";
    size_t nlen = sizeof(nasty) - 1;
    /* host fields are C strings (they come from the geo database): all but NUL */
    static const char nasty_c[] = "a\"b'\r\n x]]); redis.call('FLUSHALL') --[[\\\x01\xff";
    const char *host[] = {"as_org", nasty_c, "country", "CN", NULL};
    json_t *ev = json_pack("[{s:{s:o}}]", "flow", "sni", wjson_string(nasty, nlen));
    event_alert a = {.rule = "relay_control",
                     .severity = "high",
                     .role = "relay",
                     .ip = "10.0.0.6",
                     .summary = "x",
                     .score = 10,
                     .evidence = ev,
                     .host = host};
    event_observation o = {.entity = "10.0.0.6",
                           .kind = "sni",
                           .value = nasty,
                           .value_len = nlen,
                           .ts_us = T0,
                           .window_us = W_US,
                           .threshold = 1,
                           .alert = &a};
    char *want;
    size_t wlen;
    redisReply *r, *z, *h, *x;

    event_observe(f->q, &o);
    r = fixture_send(f);
    assert_int_equal(r->element[1]->elements, 1);
    const char *zr[4] = {"ZRANGE", "lh:{e:10.0.0.6}:obs:sni:3600000000:472222", "0", "-1"};
    z = tcmd(f->c, 4, zr, NULL);
    assert_int_equal(z->elements, 1);
    assert_int_equal(z->element[0]->len, nlen);
    assert_memory_equal(z->element[0]->str, nasty, nlen);
    const char *hg[3] = {"HGET", "lh:host:10.0.0.6", "as_org"};
    h = tcmd(f->c, 3, hg, NULL);
    assert_int_equal(h->len, sizeof(nasty_c) - 1);
    assert_memory_equal(h->str, nasty_c, sizeof(nasty_c) - 1);
    /* the stream holds the sensor's members unchanged, id and score added */
    a.ts_us = T0;
    want = want_line(&a, "t", NULL, 0, NULL, 0);
    wlen = strlen(want);
    const char *xr[6] = {"XREVRANGE", "lh:alerts", "+", "-", "COUNT", "1"};
    x = tcmd(f->c, 6, xr, NULL);
    redisReply *fields = x->element[0]->element[1];
    assert_string_equal(fields->element[0]->str, "json");
    assert_memory_equal(fields->element[1]->str, want, wlen - 1);
    assert_memory_equal(r->element[1]->element[0]->str, fields->element[1]->str,
                        fields->element[1]->len);
    json_t *back =
        json_loadb(fields->element[1]->str, fields->element[1]->len, JSON_ALLOW_NUL, NULL);
    const char *sni;
    size_t snilen;
    assert_int_equal(
        json_unpack(back, "{s:[{s:{s:s%}}]}", "evidence", "flow", "sni", &sni, &snilen), 0);
    /* \xff is not UTF-8: it becomes U+FFFD (3 bytes); the rest is exact */
    assert_int_equal(snilen, nlen - 1 + 3);
    assert_memory_equal(sni, nasty, nlen - 1);
    json_decref(back);
    free(want);
    json_decref(ev);
    freeReplyObject(r);
    freeReplyObject(z);
    freeReplyObject(h);
    freeReplyObject(x);
}

/* The line is the documented object, member for member and byte for
 * byte: parties, evidence and summary with strings JSON escapes (quotes,
 * a slash, a control byte, non-ASCII), a sensor name with the same, the
 * library's id, score and the window's figure after them. */
static void test_line_members(void **state)
{
    fixture *f = *state;
    static const char sensor[] = "s/\"\xc3\xa9\x01";
    event_context ctx = f->ectx;
    event_queue *own = f->q;
    json_t *gpu = json_pack("{s:s, s:s, s:s}", "ip", "10.0.9.1", "source", "provider", "provider",
                            "Lambda \"Labs\"/x");
    json_t *peer = json_pack("{s:s, s:s, s:i, s:s}", "ip", "10.0.9.2", "country", "CN", "asn", 4134,
                             "as_org", "Chinanet \xe4\xb8\xad\x02");
    json_t *inter = json_pack("{s:s}", "ip", "2001:db8::7");
    json_t *ev = json_pack("[{s:{s:s}, s:s}]", "flow", "sni", "a/b\"c", "detail", "d\\e");
    event_alert a = {.rule = "cn_direct_control",
                     .severity = "high",
                     .role = "gpu_host",
                     .ip = "10.0.9.1",
                     .summary = "from \"CN\"/\xe4\xb8\xad",
                     .score = 40,
                     .ts_us = T0 + 5,
                     .window_us = W_US,
                     .evidence = ev,
                     .gpu_host = gpu,
                     .peer = peer,
                     .intermediary = inter};

    ctx.sensor = sensor;
    f->q = event_queue_new(&ctx, 1, 1 << 20, 1);
    assert_non_null(f->q);
    assert_int_equal(event_raise(f->q, &a), 0);
    redisReply *r = fixture_send(f);
    assert_int_equal(r->element[1]->elements, 1);
    const char *line = r->element[1]->element[0]->str;
    json_t *back = json_loads(line, 0, NULL);
    assert_non_null(back);
    char *want = want_line(&a, sensor, json_string_value(json_object_get(back, "id")),
                           json_integer_value(json_object_get(back, "score")), NULL, 0);
    assert_string_equal(line, want);
    assert_int_equal(json_integer_value(json_object_get(back, "score")), 40);
    free(want);
    json_decref(back);
    freeReplyObject(r);

    /* an observation: the kept item is the evidence, the count follows */
    const char *item = "{\"flow\":{\"src\":\"10.0.9.3:1\"},\"detail\":\"x/y\"}";
    event_alert o_al = a;
    o_al.ip = "10.0.9.0/24"; /* a network: '/' as the sensor writes it */
    o_al.role = "controller";
    o_al.rule = "reseller_fanout";
    o_al.gpu_host = o_al.intermediary = NULL;
    o_al.evidence = NULL;
    event_observation o = {.entity = "10.0.9.0/24",
                           .kind = "gpu",
                           .value = "10.0.9.1",
                           .value_len = 8,
                           .ts_us = T0 + 9,
                           .window_us = W_US,
                           .threshold = 1,
                           .alert = &o_al,
                           .evidence = item,
                           .evidence_len = strlen(item)};
    assert_int_equal(event_observe(f->q, &o), 0);
    r = fixture_send(f);
    assert_int_equal(r->element[1]->elements, 1);
    line = r->element[1]->element[0]->str;
    back = json_loads(line, 0, NULL);
    assert_non_null(back);
    o_al.ts_us = T0 + 9;
    o_al.evidence = json_pack("[o]", json_loads(item, 0, NULL));
    want = want_line(&o_al, sensor, json_string_value(json_object_get(back, "id")),
                     json_integer_value(json_object_get(back, "score")), "count", 1);
    assert_string_equal(line, want);
    free(want);
    json_decref(o_al.evidence);
    json_decref(back);
    freeReplyObject(r);
    event_queue_free(f->q);
    f->q = own;
    json_decref(gpu);
    json_decref(peer);
    json_decref(inter);
    json_decref(ev);
}

static void test_live_channel(void **state)
{
    fixture *f = *state;
    redisContext *sub = tserver_connect(&f->srv);
    redisReply *r, *m;
    event_alert a = {.rule = "weights_egress",
                     .severity = "high",
                     .role = "gpu_host",
                     .ip = "10.0.0.7",
                     .summary = "bulk",
                     .score = 5,
                     .ts_us = T0,
                     .window_us = W_US};

    r = redisCommand(sub, "SUBSCRIBE lh:alerts:live");
    freeReplyObject(r);
    event_raise(f->q, &a);
    r = fixture_send(f);
    assert_int_equal(redisGetReply(sub, (void **)&m), REDIS_OK);
    assert_string_equal(m->element[2]->str, r->element[1]->element[0]->str);
    freeReplyObject(m);
    freeReplyObject(r);
    redisFree(sub);
}

/* Sends one leg to lh_follow and checks the count and alerts it returns. */
static void follow_leg(fixture *f, const char *entity, const char *dir, const char *who,
                       uint64_t start, uint32_t threshold, long long want_count, size_t want_alerts)
{
    event_alert a = {.rule = "ai_api_relay",
                     .severity = "high",
                     .role = "gpu_host",
                     .ip = entity,
                     .summary = "relays clients to AI APIs",
                     .score = 40};
    event_follow fo = {.entity = entity,
                       .dir = dir,
                       .who = who,
                       .starts = &start,
                       .nstarts = 1,
                       .ts_us = start,
                       .window_us = W_US,
                       .lag_us = 2000000,
                       .threshold = threshold,
                       .alert = &a};
    redisReply *r;

    assert_int_equal(event_follow_add(f->q, &fo), 0);
    r = fixture_send(f);
    assert_int_equal(r->type, REDIS_REPLY_ARRAY);
    assert_int_equal(r->element[0]->integer, want_count);
    assert_int_equal(r->element[1]->elements, want_alerts);
    freeReplyObject(r);
}

/* Inbound starts of five clients and the outbound starts near them: at
 * the start (follows), exactly the lag later (follows), a microsecond
 * more (does not), a second before (does not), and across the window edge
 * (follows, counted in the window of the inbound start). Sent inbound
 * first to one entity and outbound first to another: the same three
 * clients follow, and each entity raises once. */
static void test_follow_any_order(void **state)
{
    fixture *f = *state;
    static const char *const who[] = {"c0", "c1", "c2", "c3", "c4"};
    const uint64_t in[] = {T0 + 10000000, T0 + 20000000, T0 + 30000000, T0 + 40000000,
                           T0 + W_US - 500000};
    const uint64_t out[] = {in[0], in[1] + 2000000, in[2] + 2000001, in[3] - 1000000,
                            T0 + W_US + 500000};
    const int want_in_first[] = {1, 2, 0, 0, 3}, want_out_first[] = {1, 2, 0, 0, 3};

    int_cmd(f, "DEL", "lh:alerts");
    for (int i = 0; i < 5; i++)
        follow_leg(f, "airelay:a", "in", who[i], in[i], 3, 0, 0);
    for (int i = 0; i < 5; i++)
        follow_leg(f, "airelay:a", "out", NULL, out[i], 3, want_in_first[i], i == 4);
    for (int i = 0; i < 5; i++)
        follow_leg(f, "airelay:b", "out", NULL, out[i], 3, 0, 0);
    for (int i = 0; i < 5; i++)
        follow_leg(f, "airelay:b", "in", who[i], in[i], 3, want_out_first[i], i == 4);
    assert_int_equal(int_cmd(f, "XLEN", "lh:alerts"), 2);
    /* one more follow in the same window: the count grows, no new alert */
    follow_leg(f, "airelay:a", "in", "c5", out[2] - 1000000, 3, 4, 0);
    assert_int_equal(int_cmd(f, "XLEN", "lh:alerts"), 2);
    char key[96];
    snprintf(key, sizeof(key), "lh:{e:airelay:b}:fol:%llu:%llu", (unsigned long long)W_US,
             (unsigned long long)(T0 / W_US));
    assert_int_equal(int_cmd(f, "ZCARD", key), 3);
}

/* Sends one lh_absent call: a mark (raise = 0) or a raise; returns the
 * number of alerts in the reply. */
static size_t absent(fixture *f, const char *ip, int raise, uint64_t lo, uint64_t hi)
{
    event_alert a = {.rule = "reverse_tunnel",
                     .severity = "high",
                     .role = "gpu_host",
                     .ip = ip,
                     .summary = "driven through a tunnel",
                     .score = 35};
    event_absent ab = {ip, "inbound_control", hi, lo, hi, W_US, raise ? &a : NULL};
    redisReply *r;
    size_t n;

    assert_int_equal(event_absent_add(f->q, &ab), 0);
    r = fixture_send(f);
    n = r->element[1]->elements;
    freeReplyObject(r);
    return n;
}

/* lh_absent: a marked window suppresses a raise whose span touches it,
 * in the same window or one the span crosses into; an unmarked span
 * raises once per window; a mark after the raise does not undo it. */
static void test_absent(void **state)
{
    fixture *f = *state;

    int_cmd(f, "DEL", "lh:alerts");
    assert_int_equal(absent(f, "10.1.0.1", 0, T0 + 10, T0 + 20), 0);
    assert_int_equal(absent(f, "10.1.0.1", 1, T0 + 100, T0 + 200), 0);
    /* a span from the window before into the marked one */
    assert_int_equal(absent(f, "10.1.0.1", 1, T0 - 100, T0 + W_US - 1), 0);
    /* the next window is not marked */
    assert_int_equal(absent(f, "10.1.0.1", 1, T0 + W_US, T0 + W_US + 5), 1);
    assert_int_equal(absent(f, "10.1.0.1", 1, T0 + W_US + 9, T0 + W_US + 10), 0); /* once */
    /* another host: raised, and a later mark does not take it back */
    assert_int_equal(absent(f, "10.1.0.2", 1, T0 + 100, T0 + 200), 1);
    assert_int_equal(absent(f, "10.1.0.2", 0, T0 + 10, T0 + 20), 0);
    assert_int_equal(int_cmd(f, "XLEN", "lh:alerts"), 2);
}

/* Later qualifying events of a window: the same severity adds its
 * evidence and counts to the stored alert and publishes nothing; a higher
 * severity publishes a new line with the evidence so far, and the risk
 * grows by the difference of the scores. */
static void test_later_events(void **state)
{
    fixture *f = *state;
    event_alert a = {.rule = "proxy_latency",
                     .severity = "low",
                     .role = "relay",
                     .ip = "10.7.0.1",
                     .summary = "relays",
                     .score = 10,
                     .window_us = W_US};
    const char *sni[3] = {"first.example", "second.example", "third.example"};
    const char *sev[3] = {"low", "low", "medium"};
    const int score[3] = {10, 10, 25};
    redisReply *r;

    int_cmd(f, "DEL", "lh:alerts");
    for (int i = 0; i < 3; i++) {
        json_t *ev = json_pack("[{s:{s:s}}]", "flow", "sni", sni[i]);
        a.evidence = ev;
        a.severity = sev[i];
        a.score = score[i];
        a.ts_us = T0 + 10 + (uint64_t)i;
        assert_int_equal(event_raise(f->q, &a), 0);
        r = fixture_send(f);
        assert_int_equal(r->element[1]->elements, i == 1 ? 0 : 1);
        if (i == 2) {
            /* the escalation carries every event's evidence so far */
            for (int k = 0; k < 3; k++)
                assert_non_null(strstr(r->element[1]->element[0]->str, sni[k]));
            assert_non_null(strstr(r->element[1]->element[0]->str, "\"severity\":\"medium\""));
        }
        freeReplyObject(r);
        json_decref(ev);
    }
    assert_int_equal(int_cmd(f, "XLEN", "lh:alerts"), 2);
    const char *zs[3] = {"ZSCORE", "lh:risk", "10.7.0.1"};
    r = tcmd(f->c, 3, zs, NULL);
    assert_string_equal(r->str, "25");
    freeReplyObject(r);

    /* one more low event: stored, not published; the stored alert shows
     * all four items and the events folded in */
    json_t *ev = json_pack("[{s:{s:s}}]", "flow", "sni", "fourth.example");
    a.evidence = ev;
    a.severity = "low";
    a.score = 10;
    a.ts_us = T0 + 20;
    assert_int_equal(event_raise(f->q, &a), 0);
    r = fixture_send(f);
    assert_int_equal(r->element[1]->elements, 0);
    freeReplyObject(r);
    json_decref(ev);
    assert_int_equal(int_cmd(f, "XLEN", "lh:alerts"), 2);
    const char *hg[3] = {"HGET", "lh:{e:10.7.0.1}:alert:proxy_latency:3600000000:472222", "json"};
    r = tcmd(f->c, 3, hg, NULL);
    assert_int_equal(r->type, REDIS_REPLY_STRING);
    json_t *stored = json_loadb(r->str, r->len, 0, NULL);
    assert_non_null(stored);
    assert_int_equal(json_array_size(json_object_get(stored, "evidence")), 4);
    assert_int_equal(json_integer_value(json_object_get(stored, "events")), 4);
    assert_string_equal(json_string_value(json_object_get(stored, "severity")), "medium");
    json_decref(stored);
    freeReplyObject(r);
}

/* ---- the named arguments: C builders against the library's table ---- */

/* 1 when name is an element of the reply array r. */
static int in_reply(const redisReply *r, const char *name, size_t len)
{
    for (size_t i = 0; i < r->elements; i++)
        if (r->element[i]->len == len && memcmp(r->element[i]->str, name, len) == 0)
            return 1;
    return 0;
}

/* Checks the one queued call against FCALL lh_args: every name it carries
 * is declared (required, optional, the alert part's or its optional
 * parties, host:<field> for the host hash); every required name is
 * there; with `full`, every optional name and the whole alert part with
 * every party too. The call stays queued: the caller sends it
 * (send_queued), and the library must accept it. */
static void check_names(fixture *f, const char *fn, int full)
{
    size_t nreq = 0, nopt = 0, nalert = 0, nparty = 0;
    event_view v;

    fixture_peek(f, &v);
    assert_true(v.lens[1] == strlen(fn) && memcmp(v.argv[1], fn, v.lens[1]) == 0);
    redisReply *spec = redisCommand(f->c, "FCALL lh_args 0 %s", fn);
    assert_non_null(spec);
    assert_int_equal(spec->type, REDIS_REPLY_ARRAY);
    assert_int_equal(spec->elements, 5);
    const redisReply *req = spec->element[0], *opt = spec->element[1], *alert = spec->element[3],
                     *party = spec->element[4];
    /* FCALL fn N k..., then name, value pairs (N = 4, or 2 for lh_knock) */
    int first = 3 + (v.argv[2][0] - '0');
    assert_int_equal((v.argc - first) % 2, 0);
    for (int i = first; i < v.argc; i += 2) {
        const char *k = v.argv[i];
        size_t kl = v.lens[i];
        if (kl > 5 && memcmp(k, "host:", 5) == 0)
            continue;
        if (in_reply(req, k, kl))
            nreq++;
        else if (in_reply(opt, k, kl))
            nopt++;
        else if (in_reply(alert, k, kl))
            nalert++;
        else if (in_reply(party, k, kl))
            nparty++;
        else
            fail_msg("%s: the builder sends %.*s, which the library does not declare", fn, (int)kl,
                     k);
    }
    if (nreq != req->elements)
        fail_msg("%s: %zu of the %zu required arguments sent", fn, nreq, req->elements);
    if (full && (nopt != opt->elements || nalert != alert->elements || nparty != party->elements))
        fail_msg("%s: %zu of %zu optional, %zu of %zu alert and %zu of %zu party arguments sent",
                 fn, nopt, opt->elements, nalert, alert->elements, nparty, party->elements);
    freeReplyObject(spec);
}

static void test_named_arguments(void **state)
{
    fixture *f = *state;
    const char *host[] = {"country", "CN", "asn", "4134", NULL};
    json_t *party = json_pack("{s:s}", "ip", "192.0.2.8");
    event_alert a = {.rule = "named_args",
                     .severity = "low",
                     .role = "gpu_host",
                     .ip = "198.51.100.9",
                     .summary = "every argument by name",
                     .score = 1,
                     .gpu_host = party,
                     .peer = party,
                     .intermediary = party,
                     .host = host};
    const char *item = "{\"detail\":\"x\"}";
    uint64_t starts[2] = {T0 + 1000, T0 + 2000};

    for (int full = 0; full <= 1; full++) {
        const event_alert *al = full ? &a : NULL;
        const char *ev = full ? item : NULL;
        size_t evl = full ? strlen(item) : 0;
        event_observation o = {.entity = "named",
                               .kind = "k",
                               .value = "v",
                               .value_len = 1,
                               .ts_us = T0,
                               .window_us = W_US,
                               .threshold = 1,
                               .alert = al,
                               .evidence = ev,
                               .evidence_len = evl,
                               .need = full};
        assert_int_equal(event_observe(f->q, &o), 0);
        check_names(f, "lh_observe", full);
        freeReplyObject(fixture_send(f));
        event_sum sm = {.entity = "named",
                        .kind = "s",
                        .member = "m",
                        .fact = "record",
                        .bytes = 5,
                        .flag = 1,
                        .ts_us = T0,
                        .window_us = W_US,
                        .threshold = full,
                        .gate_kind = "g",
                        .gate_window_us = W_US,
                        .evidence = ev,
                        .evidence_len = evl,
                        .alert = al};
        assert_int_equal(event_sum_add(f->q, &sm), 0);
        check_names(f, "lh_sum", full);
        freeReplyObject(fixture_send(f));
        event_gate g = {.entity = "named",
                        .kind = "g",
                        .member = "m",
                        .ts_us = T0,
                        .window_us = W_US,
                        .sum_kind = "s",
                        .sum_window_us = W_US,
                        .threshold = full,
                        .alert = al};
        assert_int_equal(event_gate_add(f->q, &g), 0);
        check_names(f, "lh_gate", full);
        freeReplyObject(fixture_send(f));
        event_hours h = {.entity = "named",
                         .session = full ? "s1" : "s0",
                         .ts_us = T0,
                         .window_us = W_US,
                         .offset_s = 0,
                         .hours_mask = "111111111111111111111111",
                         .days_mask = "1111111",
                         .min_in = (uint32_t)full,
                         .min_days = 1,
                         .evidence = ev,
                         .evidence_len = evl,
                         .fit_margin_pct = 10,
                         .fit_shift_h = (uint32_t)full,
                         .alert = al};
        assert_int_equal(event_hours_add(f->q, &h), 0);
        check_names(f, "lh_hours", full);
        freeReplyObject(fixture_send(f));
        event_follow fo = {.entity = "named",
                           .dir = "in",
                           .who = "c1",
                           .starts = starts,
                           .nstarts = 2,
                           .ts_us = T0,
                           .window_us = W_US,
                           .lag_us = 1000,
                           .threshold = 1,
                           .alert = al};
        assert_int_equal(event_follow_add(f->q, &fo), 0);
        check_names(f, "lh_follow", full);
        freeReplyObject(fixture_send(f));
        event_absent ab = {.entity = "named",
                           .kind = "k",
                           .ts_us = T0,
                           .lo_us = T0,
                           .hi_us = T0 + 1,
                           .window_us = W_US,
                           .alert = al};
        assert_int_equal(event_absent_add(f->q, &ab), 0);
        check_names(f, "lh_absent", full);
        freeReplyObject(fixture_send(f));
    }
    /* lh_raise and lh_leg always carry the alert part. */
    event_alert r = a;
    r.ts_us = T0;
    r.window_us = W_US;
    assert_int_equal(event_raise(f->q, &r), 0);
    check_names(f, "lh_raise", 1);
    freeReplyObject(fixture_send(f));
    event_leg l = {.entity = "named",
                   .dir = "in",
                   .leg = "l1",
                   .starts = "1000:3,2000:4",
                   .part = "{\"ip\":\"192.0.2.1\"}",
                   .item = item,
                   .ts_us = T0,
                   .window_us = W_US,
                   .delta_us = 100,
                   .min_ratio_pct = 30,
                   .min_run = 2,
                   .min_match = 4,
                   .alert = &a};
    assert_int_equal(event_leg_add(f->q, &l), 0);
    check_names(f, "lh_leg", 1);
    freeReplyObject(fixture_send(f));
    /* lh_knock has no alert part */
    event_knock k = {"192.0.2.7", "192.0.2.0/24", "198.51.100.9", "probe", T0, "record"};
    assert_int_equal(event_knock_add(f->q, &k), 0);
    check_names(f, "lh_knock", 0);
    freeReplyObject(fixture_send(f));
    json_decref(party);
}

/* A call the library does not expect fails by name: an unknown argument,
 * a missing one, a repeated one, a number that is not finite. */
static void test_named_arguments_refused(void **state)
{
    fixture *f = *state;
    static const struct {
        const char *args, *why;
    } bad[] = {
        {"ev e1 ts_us 1 window_us 1 ttl_s 1 bogus 1", "unknown argument bogus"},
        {"ev e1 ts_us 1 window_us 1", "argument ttl_s missing"},
        {"ev e1 ev e2 ts_us 1 window_us 1 ttl_s 1", "argument ev given twice"},
        {"ev e1 ts_us 1 window_us 1 ttl_s", "name, value pairs"},
    };

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char cmd[256];
        snprintf(cmd, sizeof(cmd), "FCALL lh_raise 4 lh:{e:x} lh:host:x lh:risk lh:alerts %s",
                 bad[i].args);
        redisReply *r = redisCommand(f->c, cmd);
        assert_non_null(r);
        assert_int_equal(r->type, REDIS_REPLY_ERROR);
        if (strstr(r->str, bad[i].why) == NULL)
            fail_msg("'%s': %s, expected %s", bad[i].args, r->str, bad[i].why);
        freeReplyObject(r);
    }
    /* a number that is not finite (strtod reads "nan", "inf") is refused
     * before anything is written */
    static const char *const nonfinite[][2] = {{"nan", "1"}, {"1", "inf"}, {"-inf", "1"}};
    for (size_t i = 0; i < sizeof(nonfinite) / sizeof(nonfinite[0]); i++) {
        redisReply *r =
            redisCommand(f->c,
                         "FCALL lh_observe 4 lh:{e:nf} lh:host:nf lh:risk lh:alerts ev e1 ts_us %s "
                         "kind k value v window_us 1000000 mode exact cap 10 ttl_s %s threshold 0",
                         nonfinite[i][0], nonfinite[i][1]);
        assert_non_null(r);
        assert_int_equal(r->type, REDIS_REPLY_ERROR);
        assert_non_null(strstr(r->str, nonfinite[i][0][0] == '1' ? "ttl_s is not a number"
                                                                 : "ts_us is not a number"));
        freeReplyObject(r);
    }
    redisReply *r = redisCommand(f->c, "KEYS lh:{e:nf}*");
    assert_int_equal(r->elements, 0);
    freeReplyObject(r);
}

/* The library remembers texts that passed a check and the numbers texts
 * read as (00_args.lua, memos): a text refused stays refused after the same
 * member passed with a good text, a good text after a refused one still
 * passes, and a number read before the memo was emptied (more distinct
 * texts than it holds) is still read right. */
static void test_checks_remembered(void **state)
{
    fixture *f = *state;
    /* texts longer than a memo keeps (512 bytes) are checked every time */
    char longok[700], longbad[700];
    memset(longok, 'x', sizeof(longok));
    longok[0] = longok[sizeof(longok) - 2] = '"';
    longok[sizeof(longok) - 1] = '\0';
    memcpy(longbad, longok, sizeof(longok));
    longbad[100] = '\n';
    const struct {
        const char *summary, *maxlen, *ip;
        int ok;
    } cases[] = {
        {"\"ok\"", "100", "10.0.0.7", 1},  {"no quotes", "100", "10.0.0.7", 0},
        {"\"ok\"", "1e3", "10.0.0.7", 0},  {"\"ok\"", "100", "10.0.0.7 x", 0},
        {"\"ok\"", "100", "10.0.0.7", 1},  {"\"ok\"\n", "100", "10.0.0.7", 0},
        {"\"ok2\"", "100", "10.0.0.7", 1}, {longok, "100", "10.0.0.7", 1},
        {longbad, "100", "10.0.0.7", 0},   {longok, "100", "10.0.0.7", 1},
        {longbad, "100", "10.0.0.7", 0},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char ev[16], ts[32];
        snprintf(ev, sizeof(ev), "e%zu", i);
        snprintf(ts, sizeof(ts), "%llu", (unsigned long long)(T0 + i));
        const char *argv[] = {"FCALL",
                              "lh_raise",
                              "4",
                              "lh:{e:10.0.0.7}",
                              "lh:host:10.0.0.7",
                              "lh:risk",
                              "lh:alerts",
                              "ev",
                              ev,
                              "ts_us",
                              ts,
                              "window_us",
                              "3600000000",
                              "ttl_s",
                              "7200",
                              "rule",
                              "relay_control",
                              "severity",
                              "high",
                              "score",
                              "10",
                              "ip",
                              cases[i].ip,
                              "role",
                              "relay",
                              "ts",
                              "2023-11-14T00:00:00Z",
                              "maxlen",
                              cases[i].maxlen,
                              "keep_s",
                              "100",
                              "channel",
                              "lh:alerts:live",
                              "line:sensor",
                              "\"s\"",
                              "line:evidence",
                              "[]",
                              "line:summary",
                              cases[i].summary};
        redisReply *r = tcmd(f->c, (int)(sizeof(argv) / sizeof(argv[0])), argv, NULL);
        if (cases[i].ok)
            assert_int_equal(r->type, REDIS_REPLY_ARRAY);
        else if (r->type != REDIS_REPLY_ERROR)
            fail_msg("case %zu was taken", i);
        freeReplyObject(r);
    }
    /* more distinct number texts than the memo holds (4096), then the
     * first again: the same window, counted as one more distinct value */
    for (unsigned i = 0; i < 5000; i++) {
        char ts[32], v[16];
        snprintf(ts, sizeof(ts), "%llu", (unsigned long long)(T0 + 1000 + i));
        snprintf(v, sizeof(v), "v%u", i % 3);
        const char *argv[] = {"FCALL",     "lh_observe", "4",    "lh:{e:memo}", "lh:host:memo",
                              "lh:risk",   "lh:alerts",  "ev",   "e",           "ts_us",
                              ts,          "kind",       "k",    "value",       v,
                              "window_us", "3600000000", "mode", "exact",       "cap",
                              "10",        "ttl_s",      "7200", "threshold",   "0"};
        redisReply *r = tcmd(f->c, (int)(sizeof(argv) / sizeof(argv[0])), argv, NULL);
        assert_int_equal(r->type, REDIS_REPLY_ARRAY);
        assert_int_equal(r->element[0]->integer, i < 3 ? i + 1 : 3);
        freeReplyObject(r);
    }
    char first[32];
    snprintf(first, sizeof(first), "%llu", (unsigned long long)(T0 + 1000));
    const char *again[] = {"FCALL",     "lh_observe", "4",    "lh:{e:memo}", "lh:host:memo",
                           "lh:risk",   "lh:alerts",  "ev",   "e",           "ts_us",
                           first,       "kind",       "k",    "value",       "v3",
                           "window_us", "3600000000", "mode", "exact",       "cap",
                           "10",        "ttl_s",      "7200", "threshold",   "0"};
    redisReply *r = tcmd(f->c, (int)(sizeof(again) / sizeof(again[0])), again, NULL);
    assert_int_equal(r->type, REDIS_REPLY_ARRAY);
    assert_int_equal(r->element[0]->integer, 4);
    freeReplyObject(r);
    /* the earliest time of v3 is the text's number, read again */
    const char *zs[3] = {"ZSCORE", "lh:{e:memo}:obs:k:3600000000:472222", "v3"};
    redisReply *z = tcmd(f->c, 3, zs, NULL);
    assert_string_equal(z->str, first);
    freeReplyObject(z);
}

/* Sends the next steps of reply r (FCALL arrays in its list), as the
 * writer does. */
static void run_steps(fixture *f, const redisReply *r)
{
    const redisReply *list = r->element[1];

    for (size_t i = 0; i < list->elements; i++) {
        const redisReply *e = list->element[i];
        const char *argv[16];
        size_t lens[16];
        assert_int_equal(e->type, REDIS_REPLY_ARRAY);
        assert_true(e->elements <= 16);
        for (size_t k = 0; k < e->elements; k++) {
            argv[k] = e->element[k]->str;
            lens[k] = e->element[k]->len;
        }
        redisReply *sr = redisCommandArgv(f->c, (int)e->elements, argv, lens);
        assert_non_null(sr);
        assert_int_equal(sr->type, REDIS_REPLY_ARRAY);
        freeReplyObject(sr);
    }
}

/* lh_knock: sends one knock of the flow record `fact` and its next step,
 * twice when `resend` (a call sent again after a broken connection);
 * returns the last reply's count (1 counted, 0 already counted), -2 for
 * an error. */
static long long knock(fixture *f, const char *src, const char *level, const char *gpu, uint64_t ts,
                       int resend, const char *fact)
{
    event_knock k = {src, "1.180.23.0/24", gpu, level, ts, fact};
    event_view v;
    long long got = -1;

    assert_int_equal(event_knock_add(f->q, &k), 0);
    fixture_peek(f, &v);
    for (int i = 0; i <= resend; i++) {
        redisReply *r = redisCommandArgv(f->c, v.argc, v.argv, v.lens);
        assert_non_null(r);
        if (r->type == REDIS_REPLY_ARRAY && r->elements == 2 &&
            r->element[0]->type == REDIS_REPLY_INTEGER) {
            got = r->element[0]->integer;
            run_steps(f, r);
        } else {
            got = r->type == REDIS_REPLY_ERROR ? -2 : -1;
        }
        freeReplyObject(r);
    }
    event_queue_release(f->q);
    return got;
}

static long long hash_int(fixture *f, const char *key, const char *field)
{
    redisReply *r = redisCommand(f->c, "HGET %s %s", key, field);
    long long v = r && r->type == REDIS_REPLY_STRING ? atoll(r->str) : -1;
    freeReplyObject(r);
    return v;
}

/* lh_knock: probes and attempts per source and per network, a resent
 * call counted once, the earliest and latest knock whatever the order,
 * distinct GPU hosts, the knockers ranking; a level that is neither
 * probe nor attempt is refused. */
static void test_knock(void **state)
{
    fixture *f = *state;
    const char *src = "lh:{k:1.180.23.0/24}:src:1.180.23.7", *net = "lh:{k:1.180.23.0/24}:net";

    int_cmd(f, "DEL", "lh:knockers"); /* test_named_arguments knocked too */

    assert_int_equal(knock(f, "1.180.23.7", "probe", "104.171.200.17", T0 + 50, 1, "k1"), 0);
    assert_int_equal(knock(f, "1.180.23.7", "attempt", "104.171.200.20", T0 + 90, 0, "k2"), 1);
    assert_int_equal(knock(f, "1.180.23.8", "probe", "104.171.200.17", T0 + 10, 0, "k3"), 1);
    /* the same flow records in a second replay (another run): nothing */
    assert_int_equal(knock(f, "1.180.23.7", "probe", "104.171.200.17", T0 + 50, 0, "k1"), 0);
    assert_int_equal(knock(f, "1.180.23.8", "probe", "104.171.200.17", T0 + 10, 0, "k3"), 0);
    assert_int_equal(hash_int(f, src, "probe"), 1);
    assert_int_equal(hash_int(f, src, "attempt"), 1);
    assert_int_equal(hash_int(f, net, "probe"), 2);
    assert_int_equal(hash_int(f, net, "first_us"), (long long)(T0 + 10));
    assert_int_equal(hash_int(f, net, "last_us"), (long long)(T0 + 90));
    assert_int_equal(hash_int(f, src, "first_us"), (long long)(T0 + 50));
    redisReply *r = redisCommand(f->c, "PFCOUNT %s:gpu", src);
    assert_int_equal(r->integer, 2);
    freeReplyObject(r);
    r = redisCommand(f->c, "ZREVRANGE lh:knockers 0 -1 WITHSCORES");
    assert_int_equal(r->elements, 6);
    assert_string_equal(r->element[0]->str, net);
    assert_string_equal(r->element[1]->str, "3");
    assert_string_equal(r->element[2]->str, src);
    assert_string_equal(r->element[3]->str, "2");
    freeReplyObject(r);
    assert_int_equal(knock(f, "1.180.23.7", "session", "104.171.200.17", T0, 0, "k4"), -2);
}

/* lh_batch: a call that fails answers its error in its place, the calls
 * around it run and answer as they would alone (the count of their
 * window); a batch whose layout is wrong runs nothing. */
static void test_batch_errors(void **state)
{
    fixture *f = *state;
    redisReply *r;

    freeReplyObject(redisCommand(f->c, "FLUSHALL"));
#define OBS(v)                                                                                     \
    "lh_observe 1 18 ev e ts_us 1700000000000000 kind k value " v                                  \
    " window_us 3600000000 mode exact cap 10 ttl_s 60 threshold 0 "
    r = redisCommand(f->c, "FCALL lh_batch 3 lh:{e:b} lh:{e:b} lh:{e:b} 3 " OBS(
                               "a") "lh_observe 1 4 ev e kind k " OBS("b"));
    assert_int_equal(r->type, REDIS_REPLY_ARRAY);
    assert_int_equal(r->elements, 3);
    assert_int_equal(r->element[0]->type, REDIS_REPLY_ARRAY);
    assert_int_equal(r->element[0]->element[0]->integer, 1);
    assert_int_equal(r->element[1]->type, REDIS_REPLY_ERROR);
    assert_non_null(strstr(r->element[1]->str, "argument ts_us missing"));
    assert_int_equal(r->element[2]->type, REDIS_REPLY_ARRAY);
    assert_int_equal(r->element[2]->element[0]->integer, 2);
    freeReplyObject(r);
    /* a call that names no known function, or more keys than given */
    r = redisCommand(f->c,
                     "FCALL lh_batch 2 lh:{e:b} lh:{e:b} 2 " OBS("c") "lh_settle 1 2 upto_us 0");
    assert_int_equal(r->type, REDIS_REPLY_ERROR);
    assert_non_null(strstr(r->str, "lh_batch: call 2 is malformed"));
    freeReplyObject(r);
    r = redisCommand(f->c, "FCALL lh_batch 1 lh:{e:b} 2 " OBS("c") OBS("d"));
    assert_int_equal(r->type, REDIS_REPLY_ERROR);
    freeReplyObject(r);
#undef OBS
    /* nothing of the refused batches ran: a and b only */
    assert_int_equal(int_cmd(f, "ZCARD", "lh:{e:b}:obs:k:3600000000:472222"), 2);

    /* A call of 4096 arguments (CALL_ARGS_MAX in 97_batch.lua) is copied
     * and runs (its names are unknown: its error in its place); one of
     * 4098 makes the batch malformed, before Lua's unpack limit (8000). */
    for (int na = 4096; na <= 4098; na += 2) {
        /* FCALL lh_batch 1 K 1 lh_observe 1 <na>, then na arguments */
        int argc = 8 + na;
        const char **full = calloc((size_t)argc, sizeof(*full));
        assert_non_null(full);
        char nabuf[16];
        snprintf(nabuf, sizeof(nabuf), "%d", na);
        const char *head[] = {"FCALL", "lh_batch", "1", "lh:{e:b}", "1", "lh_observe", "1", nabuf};
        for (int i = 0; i < argc; i++)
            full[i] = i < 8 ? head[i] : "x";
        r = redisCommandArgv(f->c, argc, full, NULL);
        assert_non_null(r);
        if (na == 4096) {
            assert_int_equal(r->type, REDIS_REPLY_ARRAY);
            assert_int_equal(r->elements, 1);
            assert_int_equal(r->element[0]->type, REDIS_REPLY_ERROR);
            assert_non_null(strstr(r->element[0]->str, "unknown argument x"));
        } else {
            assert_int_equal(r->type, REDIS_REPLY_ERROR);
            assert_non_null(strstr(r->str, "lh_batch: call 1 is malformed"));
        }
        freeReplyObject(r);
        free(full);
    }
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN); /* as the sensor does: a dead server is an error, not a death */
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_window_edges),
        cmocka_unit_test(test_year_old_capture),
        cmocka_unit_test(test_alert_once),
        cmocka_unit_test(test_resent_call),
        cmocka_unit_test(test_settle_entities),
        cmocka_unit_test(test_settle_due_order),
        cmocka_unit_test(test_unready_window),
        cmocka_unit_test(test_cap_and_approx),
        cmocka_unit_test(test_hostile_bytes),
        cmocka_unit_test(test_line_members),
        cmocka_unit_test(test_live_channel),
        cmocka_unit_test(test_follow_any_order),
        cmocka_unit_test(test_absent),
        cmocka_unit_test(test_named_arguments),
        cmocka_unit_test(test_named_arguments_refused),
        cmocka_unit_test(test_later_events),
        cmocka_unit_test(test_knock),
        cmocka_unit_test(test_batch_errors),
        cmocka_unit_test(test_checks_remembered),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
