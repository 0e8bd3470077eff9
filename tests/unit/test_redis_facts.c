/* test_redis_facts.c -- what the functions library keeps of the facts of
 * an alert window (rules/lua/10_alert.lua, fact()), on a real
 * redis-server, through the event encoders the rules use.
 *
 * Hostile traffic can send a window any number of facts that never make
 * it qualify: a controller touching one GPU host over and over (a
 * fan-out count that stays at 1), clients of a host that never relays
 * them to an AI API. Such a window keeps at most FACTS_KEPT = 16 fact
 * bodies per severity, 1 when it keeps its own evidence set, and per
 * further fact only its id (docs/redis-schema.md, "What a window keeps").
 * The kept bodies are the earliest by (packet time, fact id), the same
 * whatever the arrival order, and once the window qualifies its line is
 * the one every order gives, dated by the earliest fact.
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

#define W_US   (3600ull * 1000000)
#define T0     (472222ull * W_US) /* a window start, 2023-11-14 */
#define FLOOD  300                /* facts sent to one window */
#define KEPT   16                 /* FACTS_KEPT of 10_alert.lua */
#define TTL_S  10800              /* event_ttl_s() of a 1 h window: 2W + 1h */
#define KEEP_S (30 * 86400)       /* [redis] alert_retention */
/* Memory of a flooded window's fact keys (the window's hash, :f:high, :fj,
 * :fids) for `bodies` kept bodies (about 1.9 KB each with the summary
 * below, 2 KB allowed) and, per fact, its id in :fids (about 80 bytes,
 * 96 allowed). With the 64 bodies per severity the library once kept,
 * the API relay's flood below took over 140 KB. */
#define WINDOW_BYTES_MAX(bodies) ((bodies)*2048 + FLOOD * 96 + 2048)
/* A window below its threshold holds up to 3 bodies when it keeps its
 * own evidence set, in one hash (:held) and nothing else. */
#define HELD           3
#define HELD_BYTES_MAX ((HELD)*2048 + 512)

static int setup(void **state)
{
    if (fixture_open(state, 0) != 0)
        return -1;
    ((fixture *)*state)->ectx.alert_keep_s = KEEP_S;
    return 0;
}

static int teardown(void **state)
{
    return fixture_close(state);
}

/* A summary as long as the sensor's longest (detail and advice), so a
 * fact's body is the size a real one is. */
static const char *long_summary(void)
{
    static char s[1024];
    if (s[0] == '\0') {
        for (size_t i = 0; i + 1 < sizeof(s); i++)
            s[i] = "summary of the alert, as the sensor words it "[i % 45];
        s[sizeof(s) - 1] = '\0';
    }
    return s;
}

/* The evidence of fact i: a flow of its own (the sensor's evidence names
 * the record). */
static json_t *flow_evidence(const char *src, int i)
{
    return json_pack("[{s:{s:s, s:s, s:i, s:i}}]", "flow", "src", src, "dst", "104.171.200.17:22",
                     "first", 1700000000 + i, "bytes_up", 4000 + i);
}

/* Queues one observation of `value` by controller `entity` at ts (fan-out
 * threshold 5) with the evidence item `item`. */
static void encode_obs(fixture *f, const char *entity, const char *value, uint64_t ts,
                       const char *item)
{
    event_alert a = {.rule = "reseller_fanout",
                     .severity = "high",
                     .role = "controller",
                     .ip = entity,
                     .summary = long_summary(),
                     .score = 40};
    event_observation o = {.entity = entity,
                           .kind = "gpu_hosts",
                           .value = value,
                           .value_len = strlen(value),
                           .ts_us = ts,
                           .window_us = W_US,
                           .threshold = 5,
                           .alert = &a,
                           .evidence = item,
                           .evidence_len = strlen(item)};
    assert_int_equal(event_observe(f->q, &o), 0);
}

/* One observation (encode_obs) sent, with an item of its own; returns the
 * number of alert lines, the first in *line. */
static size_t observe(fixture *f, const char *entity, const char *value, uint64_t ts, int i,
                      char **line)
{
    char item[160];
    snprintf(item, sizeof(item), "{\"flow\":{\"src\":\"%s:%d\",\"dst\":\"%s:22\"}}", entity,
             40000 + i, value);
    encode_obs(f, entity, value, ts, item);
    redisReply *r = fixture_send(f);
    size_t n = r->element[1]->elements;
    if (line != NULL)
        *line = n ? strdup(r->element[1]->element[0]->str) : NULL;
    freeReplyObject(r);
    return n;
}

/* One inbound request of client i to API relay `entity` at ts (threshold
 * 3 followed clients); no outbound request ever follows it. */
static void follow_in(fixture *f, const char *entity, uint64_t ts, int i)
{
    char who[32];
    snprintf(who, sizeof(who), "198.51.100.%d:%d", i % 250, 40000 + i);
    event_alert a = {.rule = "ai_api_relay",
                     .severity = "high",
                     .role = "gpu_host",
                     .ip = entity,
                     .summary = long_summary(),
                     .score = 40,
                     .evidence = flow_evidence(who, i)};
    event_follow fo = {.entity = entity,
                       .dir = "in",
                       .who = who,
                       .starts = &ts,
                       .nstarts = 1,
                       .ts_us = ts,
                       .window_us = W_US,
                       .lag_us = 2000000,
                       .threshold = 3,
                       .alert = &a};
    assert_int_equal(event_follow_add(f->q, &fo), 0);
    json_decref(a.evidence);
    redisReply *r = fixture_send(f);
    assert_int_equal(r->element[0]->integer, 0);
    assert_int_equal(r->element[1]->elements, 0); /* never qualifies */
    freeReplyObject(r);
}

static redisReply *cmd(fixture *f, const char *fmt, const char *key)
{
    redisReply *r = redisCommand(f->c, fmt, key);
    assert_non_null(r);
    if (r->type == REDIS_REPLY_ERROR)
        fail_msg("Redis: %s", r->str);
    return r;
}

static long long cmd_int(fixture *f, const char *fmt, const char *key)
{
    redisReply *r = cmd(f, fmt, key);
    long long v = r->type == REDIS_REPLY_INTEGER ? r->integer : -1;
    freeReplyObject(r);
    return v;
}

/* The bytes (MEMORY USAGE, every element counted) of the keys matching
 * pattern. */
static long long keys_bytes(fixture *f, const char *pattern)
{
    long long total = 0;
    redisReply *keys = cmd(f, "KEYS %s", pattern);
    for (size_t i = 0; i < keys->elements; i++)
        total += cmd_int(f, "MEMORY USAGE %s SAMPLES 0", keys->element[i]->str);
    freeReplyObject(keys);
    return total;
}

/* The kept facts of window key dkey, severity high, as one text: per
 * fact, by (packet time, id), its id, its body and its packet time. */
static char *kept(fixture *f, const char *dkey)
{
    char key[160], *out;
    size_t len;
    FILE *m = open_memstream(&out, &len);

    snprintf(key, sizeof(key), "%s:f:high", dkey);
    redisReply *z = cmd(f, "ZRANGE %s 0 -1 WITHSCORES", key);
    snprintf(key, sizeof(key), "%s:fj", dkey);
    for (size_t i = 0; i < z->elements; i++) {
        fprintf(m, "%s\n", z->element[i]->str);
        if (i % 2 == 0) {
            redisReply *b = redisCommand(f->c, "HGET %s %s", key, z->element[i]->str);
            assert_int_equal(b->type, REDIS_REPLY_STRING);
            fprintf(m, "%s\n", b->str);
            freeReplyObject(b);
        }
    }
    freeReplyObject(z);
    fclose(m);
    return out;
}

static void window_key(char *buf, size_t n, const char *entity, const char *rule)
{
    snprintf(buf, n, "lh:{e:%s}:alert:%s:%llu:%llu", entity, rule, (unsigned long long)W_US,
             (unsigned long long)(T0 / W_US));
}

/* Checks what a flooded window keeps: `bodies` bodies, every fact id,
 * every fact counted, no alert out, a life of its facts' TTL only, and
 * its fact keys within WINDOW_BYTES_MAX. */
static void check_flooded(fixture *f, const char *dkey, long long bodies)
{
    char key[160];
    long long bytes;

    snprintf(key, sizeof(key), "%s:fj", dkey);
    assert_int_equal(cmd_int(f, "HLEN %s", key), bodies);
    snprintf(key, sizeof(key), "%s:f:high", dkey);
    assert_int_equal(cmd_int(f, "ZCARD %s", key), bodies);
    snprintf(key, sizeof(key), "%s:fids", dkey);
    assert_int_equal(cmd_int(f, "SCARD %s", key), FLOOD);
    redisReply *r = cmd(f, "HGET %s events", dkey);
    assert_string_equal(r->str, "300");
    freeReplyObject(r);
    assert_int_equal(cmd_int(f, "HEXISTS %s sev", dkey), 0);
    long long ttl = cmd_int(f, "TTL %s", dkey);
    assert_true(ttl > 0 && ttl <= TTL_S);
    bytes = cmd_int(f, "MEMORY USAGE %s SAMPLES 0", dkey);
    snprintf(key, sizeof(key), "%s:f*", dkey); /* :f:high, :fj, :fids */
    bytes += keys_bytes(f, key);
    print_message("%s: %d facts, %lld bodies kept: %lld bytes\n", dkey, FLOOD, bodies, bytes);
    assert_true(bytes <= WINDOW_BYTES_MAX(bodies));
}

/* A fan-out window flooded with one GPU host over and over (its count
 * stays 1 of 5), in ascending and in shuffled order: its first HELD facts
 * held (their bodies within HELD_BYTES_MAX), then stored; one body kept,
 * the same one; then four more hosts make it qualify, and the line,
 * dated by the earliest fact, is the same in both orders. */
static void test_observe_flood(void **state)
{
    fixture *f = *state;
    const char *ent = "175.16.199.23";
    char dkey[160], *first[2], *line[2];

    window_key(dkey, sizeof(dkey), ent, "reseller_fanout");
    for (int order = 0; order < 2; order++) {
        freeReplyObject(cmd(f, "FLUSHALL%s", ""));
        for (int k = 0; k < FLOOD; k++) {
            int i = order == 0 ? k : (k * 7) % FLOOD; /* 7 is prime to FLOOD */
            assert_int_equal(
                observe(f, ent, "104.171.200.17", T0 + 1000000 + i * 1000000ull, i, NULL), 0);
            if (k == HELD - 1) {
                assert_int_equal(cmd_int(f, "HLEN %s:held", dkey), HELD);
                assert_int_equal(cmd_int(f, "EXISTS %s", dkey), 0);
                long long held = cmd_int(f, "MEMORY USAGE %s:held SAMPLES 0", dkey);
                print_message("%s: %d facts held: %lld bytes\n", dkey, HELD, held);
                assert_true(held <= HELD_BYTES_MAX);
            } else if (k == HELD) {
                assert_int_equal(cmd_int(f, "EXISTS %s:held", dkey), 0);
                assert_int_equal(cmd_int(f, "HEXISTS %s events", dkey), 1);
            }
        }
        check_flooded(f, dkey, 1);
        first[order] = kept(f, dkey);
        static const char *const more[] = {"104.171.200.18", "104.171.200.19", "104.171.200.20",
                                           "104.171.200.21"};
        for (int i = 0; i < 4; i++)
            assert_int_equal(observe(f, ent, more[i], T0 + W_US - 1000 + i, FLOOD + i,
                                     i == 3 ? &line[order] : NULL),
                             i == 3);
        /* out: remembered for the retention */
        assert_true(cmd_int(f, "TTL %s", dkey) > TTL_S);
    }
    assert_string_equal(first[0], first[1]);
    assert_string_equal(line[0], line[1]);
    /* the earliest fact names the alert: T0 + 1 s */
    json_t *j = json_loads(line[0], 0, NULL);
    assert_non_null(j);
    assert_string_equal(json_string_value(json_object_get(j, "ts")), "2023-11-14T22:00:01.000000Z");
    assert_int_equal(json_integer_value(json_object_get(j, "count")), 5);
    assert_int_equal(json_array_size(json_object_get(j, "evidence")), 16);
    json_decref(j);
    for (int i = 0; i < 2; i++) {
        free(first[i]);
        free(line[i]);
    }
}

/* An API relay's window flooded with inbound requests that nothing
 * follows, in ascending and in shuffled order: 16 bodies kept, the 16
 * earliest, the same in both orders, and the entity's memory bounded. */
static void test_follow_flood(void **state)
{
    fixture *f = *state;
    const char *ent = "104.171.200.30";
    char dkey[160], *k[2];

    window_key(dkey, sizeof(dkey), ent, "ai_api_relay");
    for (int order = 0; order < 2; order++) {
        freeReplyObject(cmd(f, "FLUSHALL%s", ""));
        for (int j = 0; j < FLOOD; j++) {
            int i = order == 0 ? j : (j * 7) % FLOOD;
            follow_in(f, ent, T0 + 1000000 + i * 10000000ull, i);
        }
        check_flooded(f, dkey, KEPT);
        k[order] = kept(f, dkey);
    }
    assert_string_equal(k[0], k[1]);
    /* the earliest: the latest kept fact is the 16th of the flood */
    char want[32];
    snprintf(want, sizeof(want), "\n%llu\n", (unsigned long long)(T0 + 1000000 + 15 * 10000000ull));
    size_t kl = strlen(k[0]), wl = strlen(want);
    assert_true(kl > wl);
    assert_string_equal(k[0] + kl - wl, want);
    free(k[0]);
    free(k[1]);
}

/* The index of the value of named argument `name` in call v (after its
 * keys), -1 when absent. */
static int named_arg(const event_view *v, const char *name)
{
    for (int i = 3 + (v->argv[2][0] - '0'); i + 1 < v->argc; i += 2)
        if (v->lens[i] == strlen(name) && memcmp(v->argv[i], name, v->lens[i]) == 0)
            return i + 1;
    return -1;
}

/* The values of the arguments `fid` and `ev` of the queued call (left
 * queued). */
static void queued_ids(fixture *f, char fid[32], char ev[64])
{
    event_view v;

    fixture_peek(f, &v);
    fid[0] = ev[0] = '\0';
    int i = named_arg(&v, "fid"), j = named_arg(&v, "ev");
    if (i > 0 && v.lens[i] < 32)
        snprintf(fid, 32, "%.*s", (int)v.lens[i], v.argv[i]);
    if (j > 0 && v.lens[j] < 64)
        snprintf(ev, 64, "%.*s", (int)v.lens[j], v.argv[j]);
}

/* The fact id the encoder sends (`fid`, event_fact_id() in rules/event.c):
 * 24 hex digits, the same for the same event whatever its event id and
 * whether its keys are a cluster's, another for an event that differs in
 * anything else. The library names the fact by it: the event sent twice
 * is one fact of its window, the other a second. */
static void test_fact_id(void **state)
{
    fixture *f = *state;
    const char *ent = "175.16.199.24";
    const char *item = "{\"flow\":{\"src\":\"175.16.199.24:40000\"}}";
    char dkey[160], fid[4][32], ev[4][64];

    window_key(dkey, sizeof(dkey), ent, "reseller_fanout");
    freeReplyObject(cmd(f, "FLUSHALL%s", ""));
    for (int k = 0; k < 4; k++) {
        f->ectx.cluster = k == 2;
        encode_obs(f, ent, k == 3 ? "104.171.200.18" : "104.171.200.17", T0 + 5000000, item);
        queued_ids(f, fid[k], ev[k]);
        assert_int_equal(strlen(fid[k]), 24);
        assert_int_equal(strspn(fid[k], "0123456789abcdef"), 24);
        if (k == 2) {
            event_queue_release(f->q); /* a cluster's call: not for this server */
            continue;
        }
        freeReplyObject(fixture_send(f));
    }
    f->ectx.cluster = 0;
    assert_string_not_equal(ev[0], ev[1]);
    assert_string_equal(fid[0], fid[1]);
    assert_string_equal(fid[0], fid[2]);
    assert_string_not_equal(fid[0], fid[3]);
    /* two facts: the first event, sent twice, is one (both held under
     * their ids: a fan-out window holds up to three, fact() in
     * 10_alert.lua) */
    char key[200];
    snprintf(key, sizeof(key), "%s:held", dkey);
    assert_int_equal(cmd_int(f, "HLEN %s", key), 2);
    redisReply *r = redisCommand(f->c, "HEXISTS %s %s", key, fid[0]);
    assert_int_equal(r->integer, 1);
    freeReplyObject(r);
    r = redisCommand(f->c, "HEXISTS %s %s", key, fid[3]);
    assert_int_equal(r->integer, 1);
    freeReplyObject(r);

    /* a fid that is not 24 hex digits is refused: no fact recorded */
    encode_obs(f, ent, "104.171.200.19", T0 + 6000000, item);
    event_view v;
    fixture_peek(f, &v);
    assert_int_equal(v.lens[v.argc - 2], 3); /* fid is the last pair */
    assert_memory_equal(v.argv[v.argc - 2], "fid", 3);
    const char *argv[EVENT_MAX_ARGS];
    memcpy(argv, v.argv, sizeof(*argv) * (size_t)v.argc);
    argv[v.argc - 1] = "0123456789abcdef0123456g";
    r = redisCommandArgv(f->c, v.argc, argv, v.lens);
    event_queue_release(f->q);
    assert_int_equal(r->type, REDIS_REPLY_ERROR);
    assert_non_null(strstr(r->str, "fid must be 24 hexadecimal digits"));
    freeReplyObject(r);
    assert_int_equal(cmd_int(f, "HLEN %s", key), 2);

    /* without fid (a sensor before library 14) the library names the
     * fact itself: sent twice, one more fact */
    encode_obs(f, ent, "104.171.200.20", T0 + 7000000, item);
    fixture_peek(f, &v);
    for (int k = 0; k < 2; k++) {
        r = redisCommandArgv(f->c, v.argc - 2, v.argv, v.lens);
        assert_int_equal(r->type, REDIS_REPLY_ARRAY);
        freeReplyObject(r);
    }
    event_queue_release(f->q);
    assert_int_equal(cmd_int(f, "HLEN %s", key), 3);
    /* a fourth fact stores the window: every id, one body kept */
    encode_obs(f, ent, "104.171.200.21", T0 + 8000000, item);
    freeReplyObject(fixture_send(f));
    assert_int_equal(cmd_int(f, "EXISTS %s", key), 0);
    snprintf(key, sizeof(key), "%s:fids", dkey);
    assert_int_equal(cmd_int(f, "SCARD %s", key), 4);
    r = redisCommand(f->c, "HGET %s events", dkey);
    assert_string_equal(r->str, "4");
    freeReplyObject(r);
}

/* The candidate record of a window (candidate() in 10_alert.lua): the
 * address of every party a fact names, whether "ip" comes first in the
 * party, as the sensor writes it (read by a pattern), or later (decoded);
 * nothing for a party without one; and the flows of the fact's own
 * evidence. The first fact is held (one host of two), the second makes
 * the window ready and stores both: the record holds what each adds. */
static void test_candidate_parties(void **state)
{
    fixture *f = *state;
    const char *ent = "175.16.199.25";
    json_t *peer = json_pack("{s:s, s:s, s:i}", "ip", "203.0.113.9", "country", "DE", "asn", 3320);
    json_t *via = json_pack("{s:s, s:s}", "country", "CN", "ip", "2001:db8::7");
    json_t *anon = json_pack("{s:s}", "country", "US");
    event_alert a = {.rule = "reseller_fanout",
                     .severity = "high",
                     .role = "controller",
                     .ip = ent,
                     .summary = "controller",
                     .score = 40,
                     .peer = peer,
                     .intermediary = via,
                     .evidence = flow_evidence("175.16.199.25:40001", 1)};
    event_observation o = {.entity = ent,
                           .kind = "gpu_hosts",
                           .value = "104.171.200.17",
                           .value_len = 14,
                           .ts_us = T0 + 1000000,
                           .window_us = W_US,
                           .threshold = 2,
                           .alert = &a};

    freeReplyObject(cmd(f, "FLUSHALL%s", ""));
    assert_int_equal(event_observe(f->q, &o), 0);
    freeReplyObject(fixture_send(f));
    redisReply *none = cmd(f, "KEYS %s", "lh:{e:175.16.199.25}:cand:*");
    assert_int_equal(none->elements, 0); /* held: no record yet */
    freeReplyObject(none);
    a.peer = anon; /* a second fact: a party without an address adds none */
    a.intermediary = NULL;
    o.value = "104.171.200.18";
    o.ts_us += 1000000;
    assert_int_equal(event_observe(f->q, &o), 0);
    freeReplyObject(fixture_send(f));

    redisReply *keys = cmd(f, "KEYS %s", "lh:{e:175.16.199.25}:cand:*");
    assert_int_equal(keys->elements, 1);
    redisReply *h = cmd(f, "HGETALL %s", keys->element[0]->str);
    freeReplyObject(keys);
    json_t *got = json_object();
    for (size_t i = 0; i + 1 < h->elements; i += 2)
        json_object_set_new(got, h->element[i]->str, json_string(h->element[i + 1]->str));
    freeReplyObject(h);
    char *text = json_dumps(got, JSON_SORT_KEYS | JSON_COMPACT);
    assert_string_equal(text,
                        "{\"first\":\"2023-11-14T22:00:01.000000Z\","
                        "\"flow:175.16.199.25:40001|104.171.200.17:22|1700000001\":\"4001 0\","
                        "\"last\":\"2023-11-14T22:00:02.000000Z\","
                        "\"peer:2001:db8::7\":\"1\",\"peer:203.0.113.9\":\"1\"}");
    free(text);
    json_decref(got);
    json_decref(peer);
    json_decref(via);
    json_decref(anon);
    json_decref(a.evidence);
}

/* keep_s and maxlen travel with the fact to its settle, where EXPIRE and
 * XADD take them: a value Redis would refuse there (and so fail every
 * settle of the entity) is refused when the fact arrives. */
static void test_alert_part_counts(void **state)
{
    fixture *f = *state;
    const char *ent = "175.16.199.26";
    const char *item = "{\"flow\":{\"src\":\"175.16.199.26:40000\"}}";
    static const struct {
        const char *name, *value;
    } bad[] = {{"keep_s", "1e300"}, {"keep_s", "2592000.5"}, {"maxlen", "1e3"}, {"maxlen", "-1"}};

    freeReplyObject(cmd(f, "FLUSHALL%s", ""));
    for (size_t b = 0; b < sizeof(bad) / sizeof(bad[0]); b++) {
        event_view v;
        const char *argv[EVENT_MAX_ARGS];
        encode_obs(f, ent, "104.171.200.17", T0 + 1000000, item);
        fixture_peek(f, &v);
        memcpy(argv, v.argv, sizeof(*argv) * (size_t)v.argc);
        int at = named_arg(&v, bad[b].name);
        assert_true(at > 0);
        size_t lens[EVENT_MAX_ARGS];
        memcpy(lens, v.lens, sizeof(*lens) * (size_t)v.argc);
        argv[at] = bad[b].value;
        lens[at] = strlen(bad[b].value);
        redisReply *r = redisCommandArgv(f->c, v.argc, argv, lens);
        event_queue_release(f->q);
        assert_int_equal(r->type, REDIS_REPLY_ERROR);
        char want[64];
        snprintf(want, sizeof(want), "%s must be at most 15 decimal digits", bad[b].name);
        if (strstr(r->str, want) == NULL)
            fail_msg("%s %s: %s", bad[b].name, bad[b].value, r->str);
        freeReplyObject(r);
    }
    /* no fact recorded; the call as the encoder wrote it is one (held:
     * the window is below its threshold) */
    char dkey[160], held[180];
    window_key(dkey, sizeof(dkey), ent, "reseller_fanout");
    snprintf(held, sizeof(held), "%s:held", dkey);
    assert_int_equal(cmd_int(f, "EXISTS %s", dkey), 0);
    assert_int_equal(cmd_int(f, "EXISTS %s", held), 0);
    encode_obs(f, ent, "104.171.200.17", T0 + 1000000, item);
    freeReplyObject(fixture_send(f));
    assert_int_equal(cmd_int(f, "HLEN %s", held), 1);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_observe_flood),     cmocka_unit_test(test_follow_flood),
        cmocka_unit_test(test_fact_id),           cmocka_unit_test(test_candidate_parties),
        cmocka_unit_test(test_alert_part_counts),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
