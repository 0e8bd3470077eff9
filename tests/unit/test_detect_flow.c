/* test_detect_flow.c -- the per-flow detection rules on hand-made flow
 * records: which events detect_record() queues for a control session from
 * China, from a relay, with and without extra application round trip,
 * and for flows that are no control session. Events are drained from the
 * queue and decoded as the Redis writer would (no Redis needed).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "rules/detect.h"
#include "analyze/session.h"
#include "app/config.h"
#include "app/sensor.h"
#include "rules/event.h"

static const event_context ctx = {"lh:", "t", 1, 0, 0, 0};

/* A finished SSH-like record from client `cip` to server `sip`: full
 * handshake, an established session, client-side handshake RTT rtt_us,
 * application RTT app_us. */
static void mk_flow(flow *f, const char *cip, const char *sip, const char *control, uint32_t rtt_us,
                    uint32_t app_us)
{
    /* The analysis state comes from a small pool the test owns: a test
     * holds at most a few flows at once, and none of them is freed. */
    static flow_analysis pool[8];
    static unsigned next;
    memset(f, 0, sizeof(*f));
    f->an = &pool[next++ % 8];
    memset(f->an, 0, sizeof(*f->an));
    assert_int_equal(pkt_addr_parse(cip, &f->key.addr[0]), 0);
    assert_int_equal(pkt_addr_parse(sip, &f->key.addr[1]), 0);
    f->key.port[0] = 40000;
    f->key.port[1] = 22;
    f->key.proto = 6;
    f->client = 0;
    f->tcp = FLOW_TCP_SYN | FLOW_TCP_SYNACK | FLOW_TCP_ACK;
    f->rtt_client_us = rtt_us;
    f->first_us = f->rec_first_us = 1772442000000000ULL;
    f->last_us = f->first_us + 30000000ULL;
    f->pkts[0] = f->pkts[1] = 40;
    f->bytes[0] = 6000;
    f->bytes[1] = 12000;
    f->an->data_bytes[0] = 3900; /* the wire bytes less 40 headers of 52 bytes */
    f->an->data_bytes[1] = 9900;
    f->an->data_pkts[0] = f->an->data_pkts[1] = 20;
    f->control = control;
    f->session = SESSION_ESTABLISHED;
    f->tm_state = TIMING_S_DONE;
    f->tm_class = TIMING_C_INTERACTIVE;
    f->an->tm_app_rtt_us = app_us;
    f->an->tm_nrtt = app_us ? 6 : 0;
}

static void mk_party(geo_party *p, const char *cc, const char *category, int gpu)
{
    memset(p, 0, sizeof(*p));
    snprintf(p->info.country, sizeof(p->info.country), "%s", cc);
    p->category = category;
    p->gpu = gpu;
    if (gpu)
        p->provider = "Lambda";
}

/* The value of named argument `name` of a decoded library call (FCALL fn
 * 4 k k k k, then name, value pairs), as "%.*s" arguments; "" when absent. */
static const char *arg(const event_view *v, const char *name, int *len)
{
    for (int i = 7; i + 1 < v->argc; i += 2) {
        if (v->lens[i] == strlen(name) && memcmp(v->argv[i], name, v->lens[i]) == 0) {
            *len = (int)v->lens[i + 1];
            return v->argv[i + 1];
        }
    }
    *len = 0;
    return "";
}

/* The rules the queued events raise or observe, as "fn:rule" lines. */
static void drain(event_queue *q, char *out, size_t len)
{
    const void *buf;
    size_t n;
    event_view v;

    out[0] = '\0';
    while ((buf = event_queue_peek(q, &n)) != NULL) {
        assert_int_equal(event_decode(buf, n, &v), 0);
        /* lh_knock (two keys): "lh_knock:<level>:<source key>" */
        if (strncmp(v.argv[1], "lh_knock", v.lens[1]) == 0) {
            char kline[160] = "";
            for (int i = 5; i + 1 < v.argc; i += 2)
                if (v.lens[i] == 5 && memcmp(v.argv[i], "level", 5) == 0)
                    snprintf(kline, sizeof(kline), "lh_knock:%.*s:%.*s\n", (int)v.lens[i + 1],
                             v.argv[i + 1], (int)v.lens[3], v.argv[3]);
            strncat(out, kline, len - strlen(out) - 1);
            event_queue_release(q);
            continue;
        }
        assert_true(v.argc >= 7 && (v.argc - 7) % 2 == 0);
        char line[256];
        int fl, rl, kl, dl, wl, sl, nl, ll;
        const char *fn = v.argv[1], *rule = arg(&v, "rule", &rl);
        fl = (int)v.lens[1];
        /* lh_absent marks carry no alert: "lh_absent:mark:<kind>" */
        if (strncmp(fn, "lh_absent", (size_t)fl) == 0 && rl == 0) {
            const char *kind = arg(&v, "kind", &kl);
            snprintf(line, sizeof(line), "lh_absent:mark:%.*s\n", kl, kind);
            strncat(out, line, len - strlen(out) - 1);
        }
        if (rl > 0) {
            snprintf(line, sizeof(line), "%.*s:%.*s\n", fl, fn, rl, rule);
            /* lh_follow: the rule, then dir, client, starts, window, lag */
            if (strncmp(fn, "lh_follow", (size_t)fl) == 0) {
                const char *dir = arg(&v, "dir", &dl), *who = arg(&v, "who", &wl);
                const char *st = arg(&v, "starts", &sl), *win = arg(&v, "window_us", &nl);
                const char *lag = arg(&v, "lag_us", &ll);
                snprintf(line, sizeof(line), "lh_follow:%.*s:%.*s:%.*s:%.*s:%.*s:%.*s\n", rl, rule,
                         dl, dir, wl, who, sl, st, nl, win, ll, lag);
            }
            strncat(out, line, len - strlen(out) - 1);
        }
        event_queue_release(q);
    }
}

typedef struct fixture {
    config cfg;
    detect_config rules; /* what the rules read; tests change it in place */
    detect *d;
    event_queue *q;
    char got[4096];
} fixture;

static int setup(void **state)
{
    fixture *x = calloc(1, sizeof(*x));
    config_init(&x->cfg);
    sensor_detect_config(&x->cfg, &x->rules);
    x->d = detect_new(&x->rules, "t");
    x->q = event_queue_new(&ctx, 0, 1 << 20, 0);
    *state = x;
    return x->d && x->q ? 0 : -1;
}

static int teardown(void **state)
{
    fixture *x = *state;
    event_queue_free(x->q);
    detect_free(x->d);
    config_free(&x->cfg);
    free(x);
    return 0;
}

static void run(fixture *x, const flow *f, const geo_party *c, const geo_party *s)
{
    detect_record(x->d, x->q, f, FLOW_END_FIN, c, s, NULL);
    drain(x->q, x->got, sizeof(x->got));
}

static void test_cn_direct(void **state)
{
    fixture *x = *state;
    flow f;
    geo_party c, s;

    mk_flow(&f, "175.16.199.23", "104.171.200.17", "ssh", 180000, 181000);
    mk_party(&c, "CN", "china_telecom", 0);
    mk_party(&s, "US", "gpu_cloud", GEO_GPU_PROVIDER);
    run(x, &f, &c, &s);
    assert_non_null(strstr(x->got, "lh_raise:cn_direct_control\n"));
    assert_non_null(strstr(x->got, "lh_observe:reseller_fanout\n"));
    assert_non_null(strstr(x->got, "lh_observe:shared_access_fanin\n"));
    assert_null(strstr(x->got, "relay_control"));
    assert_null(strstr(x->got, "proxy_latency"));

    /* the same session to a host that is no GPU host: nothing */
    mk_party(&s, "US", "hosting", 0);
    run(x, &f, &c, &s);
    assert_string_equal(x->got, "");

    /* a DNS lookup naming a tool is not a session */
    mk_party(&s, "US", "gpu_cloud", GEO_GPU_PROVIDER);
    f.ctl_dns = 1;
    run(x, &f, &c, &s);
    assert_null(strstr(x->got, "cn_direct_control"));

    /* a scanner's SYN to port 22 (a probe) or a failed login (an
     * attempt) controls nothing: no alert, no fan-out or fan-in count */
    f.ctl_dns = 0;
    f.session = SESSION_PROBE;
    run(x, &f, &c, &s);
    /* ... only a knock of its source and network (lh_knock) */
    assert_string_equal(x->got, "lh_knock:probe:lh:{k:175.16.199.0/24}:src:175.16.199.23\n");
    f.session = SESSION_ATTEMPT;
    run(x, &f, &c, &s);
    assert_string_equal(x->got, "lh_knock:attempt:lh:{k:175.16.199.0/24}:src:175.16.199.23\n");
    /* no knock at a host that is no GPU host, nor for a session */
    mk_party(&s, "US", "hosting", 0);
    run(x, &f, &c, &s);
    assert_string_equal(x->got, "");
    mk_party(&s, "US", "gpu_cloud", GEO_GPU_PROVIDER);
    f.session = SESSION_ESTABLISHED;
    run(x, &f, &c, &s);
    assert_null(strstr(x->got, "lh_knock"));
}

static void test_relay_and_latency(void **state)
{
    fixture *x = *state;
    flow f;
    geo_party c, s;
    uint32_t lim = (uint32_t)x->rules.proxy_latency_us;

    mk_party(&c, "HK", "china_cloud", 0);
    mk_party(&s, "US", "gpu_cloud", GEO_GPU_PROVIDER);
    /* exactly proxy_latency_ms extra: not more than the threshold */
    mk_flow(&f, "8.210.37.5", "104.171.200.17", "ssh", 1000, 1000 + lim);
    run(x, &f, &c, &s);
    assert_non_null(strstr(x->got, "lh_raise:relay_control\n"));
    assert_null(strstr(x->got, "proxy_latency"));
    /* one microsecond more */
    mk_flow(&f, "8.210.37.5", "104.171.200.17", "ssh", 1000, 1001 + lim);
    run(x, &f, &c, &s);
    assert_non_null(strstr(x->got, "lh_raise:proxy_latency\n"));
    /* fewer than TIMING_RTT_DECIDE samples never decide, however far
     * (a single TLS handshake's answer, one late exchange) */
    for (int n = 1; n < TIMING_RTT_DECIDE; n++) {
        mk_flow(&f, "8.210.37.5", "104.171.200.17", "ssh", 1000, 200000);
        f.an->tm_nrtt = (uint8_t)n;
        run(x, &f, &c, &s);
        assert_null(strstr(x->got, "proxy_latency"));
    }
    f.an->tm_nrtt = TIMING_RTT_DECIDE;
    run(x, &f, &c, &s);
    assert_non_null(strstr(x->got, "lh_raise:proxy_latency\n"));
    /* the least transport round trip counts, not the handshake's alone:
     * a handshake ACK the relay held back 60 ms hides nothing when a later
     * ACK came back in 12 ms */
    mk_flow(&f, "8.210.37.5", "104.171.200.17", "ssh", 60000, 60000 + lim / 2);
    run(x, &f, &c, &s);
    assert_null(strstr(x->got, "proxy_latency"));
    f.an->tm_tcp_min_us = 12000;
    run(x, &f, &c, &s);
    assert_non_null(strstr(x->got, "lh_raise:proxy_latency\n"));
    /* no application RTT samples: no verdict */
    mk_flow(&f, "8.210.37.5", "104.171.200.17", "ssh", 1000, 0);
    run(x, &f, &c, &s);
    assert_null(strstr(x->got, "proxy_latency"));
    /* a residential address in a relay country is a person, not a relay */
    mk_party(&c, "HK", "residential", 0);
    run(x, &f, &c, &s);
    assert_null(strstr(x->got, "relay_control"));
    /* a hosting address outside the relay countries neither */
    mk_party(&c, "US", "hosting", 0);
    run(x, &f, &c, &s);
    assert_null(strstr(x->got, "relay_control"));
}

static void test_behavior_notebook(void **state)
{
    fixture *x = *state;
    flow f;
    geo_party c, s;

    /* a Jupyter server on an unlisted host is a GPU host by behaviour */
    mk_flow(&f, "1.180.23.7", "45.76.12.34", "jupyter", 175000, 176000);
    mk_party(&c, "CN", "china_telecom", 0);
    mk_party(&s, "US", "hosting", 0);
    run(x, &f, &c, &s);
    assert_non_null(strstr(x->got, "lh_raise:cn_direct_control\n"));
    /* a SYN to :8888 of the same host, or a redirect to the login page,
     * makes it no GPU host and raises nothing */
    f.session = SESSION_PROBE;
    run(x, &f, &c, &s);
    assert_string_equal(x->got, "");
    f.session = SESSION_ATTEMPT;
    run(x, &f, &c, &s);
    assert_string_equal(x->got, "");
    /* SSH to the same host is not */
    mk_flow(&f, "1.180.23.7", "45.76.12.34", "ssh", 175000, 176000);
    run(x, &f, &c, &s);
    assert_string_equal(x->got, "");
}

/* ai_api_relay: an inbound non-control session from China is the
 * inbound leg of the follow matcher, with its start, the client, the
 * window and the lag from [thresholds]; control sessions, clients
 * outside China and UDP are not legs. */
static void test_ai_relay_legs(void **state)
{
    fixture *x = *state;
    flow f;
    geo_party c, s;

    mk_flow(&f, "27.184.10.20", "104.171.201.9", NULL, 160000, 0);
    f.key.port[1] = 443;
    mk_party(&c, "CN", "china_telecom", 0);
    mk_party(&s, "US", "gpu_cloud", GEO_GPU_PROVIDER);
    run(x, &f, &c, &s);
    assert_string_equal(x->got,
                        "lh_follow:ai_api_relay:in:27.184.10.20:1772442000000000:3600000000:"
                        "2000000\n");
    /* a scan's SYN answered by a RST carries no request */
    f.an->data_bytes[0] = f.an->data_bytes[1] = 0;
    f.an->data_pkts[0] = f.an->data_pkts[1] = 0;
    run(x, &f, &c, &s);
    assert_string_equal(x->got, "");
    f.an->data_bytes[0] = 3900;
    f.an->data_bytes[1] = 9900;
    f.an->data_pkts[0] = f.an->data_pkts[1] = 20;
    x->rules.ai_relay_window_us = 600000000;
    x->rules.ai_relay_lag_us = 500000;
    run(x, &f, &c, &s);
    assert_non_null(strstr(x->got, ":in:27.184.10.20:1772442000000000:600000000:500000\n"));
    /* a control session is not a request to relay */
    f.control = "ssh";
    run(x, &f, &c, &s);
    assert_null(strstr(x->got, "lh_follow"));
    /* a client outside China is not counted */
    f.control = NULL;
    mk_party(&c, "US", "residential", 0);
    run(x, &f, &c, &s);
    assert_string_equal(x->got, "");
    /* nor is UDP from China */
    mk_party(&c, "CN", "china_telecom", 0);
    f.key.proto = 17;
    run(x, &f, &c, &s);
    assert_string_equal(x->got, "");
}

/* reverse_tunnel: a GPU host's long ngrok connection with bursts both
 * ways asks lh_absent to raise; the tunnel_* thresholds decide what is
 * long and busy enough; an inbound control session of a GPU host marks
 * its hours instead. */
static void test_tunnel(void **state)
{
    fixture *x = *state;
    flow f;
    geo_party c, s;

    mk_flow(&f, "104.171.200.17", "3.20.100.7", "tunnel:ngrok", 300, 0);
    f.key.port[1] = 443;
    f.last_us = f.first_us + 120000000ULL;
    f.an->tm_bursts = 4;
    f.bytes[0] = f.bytes[1] = 4096;
    mk_party(&c, "US", "gpu_cloud", GEO_GPU_PROVIDER);
    mk_party(&s, "US", "hosting", 0);
    run(x, &f, &c, &s);
    assert_non_null(strstr(x->got, "lh_absent:reverse_tunnel\n"));
    /* one byte, one burst or one microsecond short of the defaults */
    f.bytes[1] = 4095;
    run(x, &f, &c, &s);
    assert_null(strstr(x->got, "reverse_tunnel"));
    f.bytes[1] = 4096;
    f.an->tm_bursts = 3;
    run(x, &f, &c, &s);
    assert_null(strstr(x->got, "reverse_tunnel"));
    f.an->tm_bursts = 4;
    f.last_us -= 1;
    run(x, &f, &c, &s);
    assert_null(strstr(x->got, "reverse_tunnel"));
    /* ... which the configuration can lower */
    x->rules.tunnel_min_us = 60000000ULL;
    x->rules.tunnel_bursts = 2;
    x->rules.tunnel_min_bytes = 1024;
    f.an->tm_bursts = 2;
    f.bytes[1] = 1024;
    run(x, &f, &c, &s);
    assert_non_null(strstr(x->got, "lh_absent:reverse_tunnel\n"));
    /* a host that is no GPU host: nothing */
    mk_party(&c, "US", "hosting", 0);
    run(x, &f, &c, &s);
    assert_null(strstr(x->got, "reverse_tunnel"));
    /* an inbound SSH session to a GPU host marks (no rule: a mark) */
    mk_flow(&f, "216.160.83.56", "104.171.200.17", "ssh", 42000, 43000);
    mk_party(&c, "US", "residential", 0);
    mk_party(&s, "US", "gpu_cloud", GEO_GPU_PROVIDER);
    run(x, &f, &c, &s);
    assert_non_null(strstr(x->got, "lh_absent:mark:inbound_control\n"));
    assert_null(strstr(x->got, "reverse_tunnel"));
    /* a scanner's SYN to its port 22 does not: it would hide the tunnel */
    f.session = SESSION_PROBE;
    run(x, &f, &c, &s);
    assert_null(strstr(x->got, "inbound_control"));
    /* to a host that is no GPU host: no mark */
    mk_party(&s, "US", "hosting", 0);
    run(x, &f, &c, &s);
    assert_null(strstr(x->got, "lh_absent"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_cn_direct, setup, teardown),
        cmocka_unit_test_setup_teardown(test_relay_and_latency, setup, teardown),
        cmocka_unit_test_setup_teardown(test_behavior_notebook, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ai_relay_legs, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tunnel, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
