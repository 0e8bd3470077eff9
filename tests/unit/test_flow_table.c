/* test_flow_table.c -- the flow table and per-flow bookkeeping, driven with
 * hand-made packets.
 *
 * Packets are fed the way a worker feeds them: key, find, apply passed
 * deadlines, end a closed connection that a new SYN reopens, create, count,
 * touch. Every record the table ends is copied by the callback, so each
 * case asserts on what would be written: reason, direction, counters,
 * record start and end, handshake round trip.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "analyze/flow.h"
#include "analyze/flow_table.h"
#include "capture/flow_key.h"
#include "capture/packet.h"

#define SEC  UINT64_C(1000000)
#define MSEC UINT64_C(1000)
#define T0   (UINT64_C(1700000000) * SEC) /* any plausible packet time */

#define IDLE   (120 * SEC)
#define ACTIVE (1800 * SEC)
#define LINGER (5 * SEC)

#define MAX_RECS 64

/* ------------------------------------------------------------------------
 * Helpers
 * ---------------------------------------------------------------------- */

/* What the callback saw of one ended record. */
typedef struct rec {
    int reason, final;
    char client[PKT_ADDR_STRLEN], server[PKT_ADDR_STRLEN];
    uint16_t cport, sport;
    uint64_t pkts[2], bytes[2];
    uint64_t first_us, last_us;
    uint32_t rtt_server_us, rtt_client_us;
    uint8_t tcp;
} rec;

typedef struct sink {
    rec r[MAX_RECS];
    int n;
} sink;

static void on_end(void *ctx, flow *f, int reason, int final)
{
    sink *s = ctx;

    if (f->pkts[0] + f->pkts[1] == 0)
        return; /* no record is written for an empty one */
    assert_true(s->n < MAX_RECS);
    rec *r = &s->r[s->n++];
    memset(r, 0, sizeof(*r));
    r->reason = reason;
    r->final = final;
    pkt_addr_format(&f->key.addr[f->client], r->client, sizeof(r->client));
    pkt_addr_format(&f->key.addr[!f->client], r->server, sizeof(r->server));
    r->cport = f->key.port[f->client];
    r->sport = f->key.port[!f->client];
    memcpy(r->pkts, f->pkts, sizeof(r->pkts));
    memcpy(r->bytes, f->bytes, sizeof(r->bytes));
    r->first_us = f->rec_first_us;
    r->last_us = f->last_us;
    r->rtt_server_us = f->rtt_server_us;
    r->rtt_client_us = f->rtt_client_us;
    r->tcp = f->tcp;
}

static flow_table *table(sink *s, uint32_t max_flows)
{
    flow_table_config cfg = {
        .max_flows = max_flows, .idle_us = IDLE, .active_us = ACTIVE, .linger_us = LINGER};
    memset(s, 0, sizeof(*s));
    flow_table *t = flow_table_new(&cfg, on_end, s);
    assert_non_null(t);
    return t;
}

/* A packet from src:sport to dst:dport. tcp_flags < 0: not TCP (proto
 * says what it is); otherwise a TCP packet with those flags. */
static packet pkt(uint64_t ts, uint8_t proto, const char *src, uint16_t sport, const char *dst,
                  uint16_t dport, int tcp_flags, uint32_t wire_bytes)
{
    packet p;

    memset(&p, 0, sizeof(p));
    p.ts_us = ts;
    p.proto = proto;
    assert_int_equal(pkt_addr_parse(src, &p.src), 0);
    assert_int_equal(pkt_addr_parse(dst, &p.dst), 0);
    p.ip_version = pkt_addr_is_v4(&p.src) ? 4 : 6;
    p.sport = sport;
    p.dport = dport;
    if (tcp_flags >= 0) {
        p.flags |= PKT_F_HAS_TCP;
        p.tcp_flags = (uint8_t)tcp_flags;
    }
    p.wire_bytes = p.wirelen = p.caplen = wire_bytes;
    return p;
}

/* Feeds p as a worker does. */
static void feed(flow_table *t, const packet *p)
{
    flow_key k;
    int side = flow_key_make(&k, p);
    uint64_t h = flow_key_hash(&k);
    flow *f = flow_table_find(t, h, &k);

    if (f)
        f = flow_table_check(t, f, p->ts_us);
    if (f && flow_is_reopened(f, p)) {
        flow_table_end(t, f, (f->tcp & FLOW_TCP_RST) ? FLOW_END_RST : FLOW_END_FIN);
        f = NULL;
    }
    if (f == NULL)
        f = flow_table_create(t, h, &k, p, side);
    flow_update(f, p, side);
    flow_table_touched(t, f);
}

#define C  "10.0.0.1" /* client */
#define S  "10.0.0.2" /* server */
#define CP 40000
#define SP 443

static void tcp_c2s(flow_table *t, uint64_t ts, int flags, uint32_t len)
{
    packet p = pkt(ts, 6, C, CP, S, SP, flags, len);
    feed(t, &p);
}

static void tcp_s2c(flow_table *t, uint64_t ts, int flags, uint32_t len)
{
    packet p = pkt(ts, 6, S, SP, C, CP, flags, len);
    feed(t, &p);
}

static void udp(flow_table *t, uint64_t ts, const char *src, uint16_t sport, const char *dst,
                uint16_t dport, uint32_t len)
{
    packet p = pkt(ts, 17, src, sport, dst, dport, -1, len);
    feed(t, &p);
}

static uint64_t ended(flow_table *t, int reason)
{
    return atomic_load(&flow_table_get_stats(t)->ended[reason]);
}

static void assert_rec(const rec *r, int reason, uint64_t c2s, uint64_t s2c)
{
    if (r->reason != reason || r->pkts[0] != c2s || r->pkts[1] != s2c)
        fail_msg("record %s:%u -> %s:%u: end %s with %llu/%llu packets, expected %s with "
                 "%llu/%llu",
                 r->client, r->cport, r->server, r->sport, flow_end_name(r->reason),
                 (unsigned long long)r->pkts[0], (unsigned long long)r->pkts[1],
                 flow_end_name(reason), (unsigned long long)c2s, (unsigned long long)s2c);
}

/* ------------------------------------------------------------------------
 * Idle timeout: the same records whether or not a sweep ran in between
 * ---------------------------------------------------------------------- */

static void run_idle(sink *s, int sweep)
{
    flow_table *t = table(s, 16);

    udp(t, T0, C, CP, S, 53, 80);
    udp(t, T0 + 1 * SEC, S, 53, C, CP, 120);
    udp(t, T0 + 10 * SEC, C, CP, S, 53, 80);
    if (sweep) {
        flow_table_expire(t, T0 + 10 * SEC + IDLE + 1 * SEC);
        assert_int_equal(s->n, 1);
    } else {
        assert_int_equal(s->n, 0);
    }
    udp(t, T0 + 10 * SEC + IDLE + 2 * SEC, C, CP, S, 53, 90);
    flow_table_flush(t, T0 + 10 * SEC + IDLE + 3 * SEC, FLOW_END_EOF);
    flow_table_free(t);
}

static void test_idle_timeout(void **state)
{
    sink runs[2];

    run_idle(&runs[0], 0);
    run_idle(&runs[1], 1);
    for (sink *s = runs; s < runs + 2; s++) {
        assert_int_equal(s->n, 2);
        assert_rec(&s->r[0], FLOW_END_IDLE, 2, 1);
        assert_int_equal(s->r[0].first_us, T0);
        assert_int_equal(s->r[0].last_us, T0 + 10 * SEC);
        assert_int_equal(s->r[0].bytes[0], 160);
        assert_int_equal(s->r[0].bytes[1], 120);
        assert_rec(&s->r[1], FLOW_END_EOF, 1, 0);
        assert_int_equal(s->r[1].first_us, T0 + 10 * SEC + IDLE + 2 * SEC);
        assert_string_equal(s->r[1].client, C);
        assert_int_equal(s->r[1].cport, CP);
    }
    assert_memory_equal(runs[0].r, runs[1].r, sizeof(rec) * 2);
}

/* A packet just inside the idle timeout keeps the flow. */
static void test_idle_not_yet(void **state)
{
    sink s;
    flow_table *t = table(&s, 16);

    udp(t, T0, C, CP, S, 53, 80);
    udp(t, T0 + IDLE - 1 * SEC, C, CP, S, 53, 80);
    flow_table_expire(t, T0 + IDLE + 1 * SEC); /* the second packet moved the deadline */
    assert_int_equal(s.n, 0);
    flow_table_flush(t, T0 + IDLE + 2 * SEC, FLOW_END_EOF);
    assert_int_equal(s.n, 1);
    assert_rec(&s.r[0], FLOW_END_EOF, 2, 0);
    flow_table_free(t);
}

/* ------------------------------------------------------------------------
 * Active timeout: the record is cut, the flow goes on
 * ---------------------------------------------------------------------- */

static void run_active(sink *s, int sweep)
{
    flow_table *t = table(s, 16);

    /* Server sends first from a well-known port: the client is C anyway. */
    udp(t, T0, S, SP, C, CP, 1000);
    for (uint64_t i = 1; i <= 40; i++) { /* every 60 s, to T0 + 2400 s */
        if (sweep && i * 60 * SEC > ACTIVE && (i - 1) * 60 * SEC <= ACTIVE)
            flow_table_expire(t, T0 + ACTIVE + 1);
        if (i % 2)
            udp(t, T0 + i * 60 * SEC, C, CP, S, SP, 100);
        else
            udp(t, T0 + i * 60 * SEC, S, SP, C, CP, 1000);
    }
    flow_table_flush(t, T0 + 2400 * SEC + 1, FLOW_END_EOF);
    flow_table_free(t);
}

static void test_active_timeout(void **state)
{
    sink runs[2];

    run_active(&runs[0], 0);
    run_active(&runs[1], 1);
    for (sink *s = runs; s < runs + 2; s++) {
        assert_int_equal(s->n, 2);
        /* First record: T0 .. T0+1800 s, packets 0..30: 15 from C, 16 from S. */
        assert_rec(&s->r[0], FLOW_END_ACTIVE, 15, 16);
        assert_int_equal(s->r[0].final, 0);
        assert_int_equal(s->r[0].first_us, T0);
        assert_int_equal(s->r[0].last_us, T0 + ACTIVE);
        assert_int_equal(s->r[0].bytes[0], 1500);
        assert_int_equal(s->r[0].bytes[1], 16000);
        /* Second record: packets 31..40, counters from zero, same direction. */
        assert_rec(&s->r[1], FLOW_END_EOF, 5, 5);
        assert_int_equal(s->r[1].final, 1);
        assert_int_equal(s->r[1].first_us, T0 + 31 * 60 * SEC);
        assert_int_equal(s->r[1].bytes[0], 500);
        assert_int_equal(s->r[1].bytes[1], 5000);
        for (int i = 0; i < 2; i++) {
            assert_string_equal(s->r[i].client, C);
            assert_int_equal(s->r[i].cport, CP);
            assert_string_equal(s->r[i].server, S);
        }
    }
    assert_memory_equal(runs[0].r, runs[1].r, sizeof(rec) * 2);
}

/* ------------------------------------------------------------------------
 * TCP close: FIN/FIN, RST, reopen
 * ---------------------------------------------------------------------- */

static void handshake(flow_table *t, uint64_t ts)
{
    tcp_c2s(t, ts, TCP_SYN, 74);
    tcp_s2c(t, ts + 30 * MSEC, TCP_SYN | TCP_ACK, 74);
    tcp_c2s(t, ts + 40 * MSEC, TCP_ACK, 66);
}

static void test_fin_fin(void **state)
{
    sink s;
    flow_table *t = table(&s, 16);

    handshake(t, T0);
    tcp_c2s(t, T0 + 1 * SEC, TCP_ACK | TCP_PSH, 566);
    tcp_s2c(t, T0 + 2 * SEC, TCP_ACK | TCP_FIN, 66);
    tcp_c2s(t, T0 + 3 * SEC, TCP_ACK, 66);
    flow_table_expire(t, T0 + 3 * SEC + LINGER + 1 * SEC);
    assert_int_equal(s.n, 0); /* one FIN does not close it */
    tcp_c2s(t, T0 + 10 * SEC, TCP_ACK | TCP_FIN, 66);
    tcp_s2c(t, T0 + 10 * SEC + LINGER / 2, TCP_ACK, 66); /* late ACK, inside the linger */
    assert_int_equal(s.n, 0);
    flow_table_expire(t, T0 + 10 * SEC + LINGER + 1);
    assert_int_equal(s.n, 1);
    assert_rec(&s.r[0], FLOW_END_FIN, 5, 3);
    assert_int_equal(s.r[0].bytes[0], 74 + 66 + 566 + 66 + 66);
    assert_int_equal(s.r[0].last_us, T0 + 10 * SEC + LINGER / 2);
    assert_int_equal(ended(t, FLOW_END_FIN), 1);
    flow_table_free(t);
}

static void test_rst(void **state)
{
    sink s;
    flow_table *t = table(&s, 16);

    tcp_c2s(t, T0, TCP_SYN, 74);
    tcp_s2c(t, T0 + 1 * MSEC, TCP_RST | TCP_ACK, 60);
    flow_table_expire(t, T0 + LINGER);
    assert_int_equal(s.n, 0);
    /* A late packet after the linger ends it, as a sweep would, and
     * starts a new flow of its own. */
    tcp_c2s(t, T0 + LINGER + 2 * SEC, TCP_ACK, 60);
    assert_int_equal(s.n, 1);
    assert_rec(&s.r[0], FLOW_END_RST, 1, 1);
    assert_string_equal(s.r[0].client, C);
    flow_table_flush(t, T0 + LINGER + 3 * SEC, FLOW_END_EOF);
    assert_int_equal(s.n, 2);
    assert_rec(&s.r[1], FLOW_END_EOF, 1, 0);
    assert_int_equal(ended(t, FLOW_END_RST), 1);
    flow_table_free(t);
}

static void test_reopen_after_close(void **state)
{
    sink s;
    flow_table *t = table(&s, 16);

    handshake(t, T0);
    tcp_c2s(t, T0 + 1 * SEC, TCP_ACK | TCP_FIN, 66);
    tcp_s2c(t, T0 + 1 * SEC + 1 * MSEC, TCP_ACK | TCP_FIN, 66);
    tcp_c2s(t, T0 + 1 * SEC + 2 * MSEC, TCP_ACK, 66);
    /* The same 4-tuple opens again inside the linger. */
    handshake(t, T0 + 2 * SEC);
    assert_int_equal(s.n, 1);
    assert_rec(&s.r[0], FLOW_END_FIN, 4, 2);
    tcp_c2s(t, T0 + 3 * SEC, TCP_ACK | TCP_PSH, 100);
    flow_table_flush(t, T0 + 4 * SEC, FLOW_END_EOF);
    assert_int_equal(s.n, 2);
    assert_rec(&s.r[1], FLOW_END_EOF, 3, 1);
    assert_int_equal(s.r[1].first_us, T0 + 2 * SEC);
    assert_string_equal(s.r[1].client, C);
    assert_int_equal(s.r[1].rtt_server_us, 30 * MSEC);
    flow_table_free(t);
}

/* A SYN after a reset reopens too. */
static void test_reopen_after_rst(void **state)
{
    sink s;
    flow_table *t = table(&s, 16);

    tcp_c2s(t, T0, TCP_SYN, 74);
    tcp_s2c(t, T0 + 1 * MSEC, TCP_RST | TCP_ACK, 60);
    tcp_c2s(t, T0 + 1 * SEC, TCP_SYN, 74);
    assert_int_equal(s.n, 1);
    assert_rec(&s.r[0], FLOW_END_RST, 1, 1);
    flow_table_flush(t, T0 + 2 * SEC, FLOW_END_EOF);
    assert_int_equal(s.n, 2);
    assert_rec(&s.r[1], FLOW_END_EOF, 1, 0);
    flow_table_free(t);
}

/* ------------------------------------------------------------------------
 * Direction: who opened the flow
 * ---------------------------------------------------------------------- */

typedef struct dir_case {
    const char *what;
    uint8_t proto;
    int tcp_flags; /* -1: not TCP */
    const char *src;
    uint16_t sport;
    const char *dst;
    uint16_t dport;
    const char *client; /* expected src of the record */
    uint16_t client_port;
} dir_case;

static const dir_case dir_cases[] = {
    {"SYN from the higher address", 6, TCP_SYN, "10.9.9.9", 50000, "10.0.0.1", 22, "10.9.9.9",
     50000},
    {"SYN from the lower address", 6, TCP_SYN, "10.0.0.1", 50000, "10.9.9.9", 22, "10.0.0.1",
     50000},
    {"SYN to a high port from a low one", 6, TCP_SYN, "10.0.0.5", 80, "10.0.0.6", 50000, "10.0.0.5",
     80},
    {"SYN/ACK seen first", 6, TCP_SYN | TCP_ACK, "10.0.0.1", 22, "10.9.9.9", 50000, "10.9.9.9",
     50000},
    {"SYN/ACK seen first, reply from a high port", 6, TCP_SYN | TCP_ACK, "10.0.0.1", 8080,
     "10.9.9.9", 50000, "10.9.9.9", 50000},
    {"mid-stream TCP from a well-known port", 6, TCP_ACK, "10.0.0.1", 443, "10.9.9.9", 50000,
     "10.9.9.9", 50000},
    {"mid-stream TCP between high ports", 6, TCP_ACK, "10.9.9.9", 50000, "10.0.0.1", 8080,
     "10.9.9.9", 50000},
    {"UDP reply from port 53 seen first", 17, -1, "10.0.0.53", 53, "10.0.0.7", 33333, "10.0.0.7",
     33333},
    {"UDP query to port 53", 17, -1, "10.0.0.7", 33333, "10.0.0.53", 53, "10.0.0.7", 33333},
    {"UDP between well-known ports", 17, -1, "10.0.0.9", 123, "10.0.0.1", 123, "10.0.0.9", 123},
    {"UDP over IPv6 from port 443", 17, -1, "2001:db8::1", 443, "2001:db8::ffff", 51000,
     "2001:db8::ffff", 51000},
};

static void test_direction(void **state)
{
    for (size_t i = 0; i < sizeof(dir_cases) / sizeof(dir_cases[0]); i++) {
        const dir_case *dc = &dir_cases[i];
        sink s;
        flow_table *t = table(&s, 16);
        packet p = pkt(T0, dc->proto, dc->src, dc->sport, dc->dst, dc->dport, dc->tcp_flags, 100);
        packet q = pkt(T0 + 1 * MSEC, dc->proto, dc->dst, dc->dport, dc->src, dc->sport,
                       dc->tcp_flags < 0 ? -1 : TCP_ACK, 60);

        feed(t, &p);
        feed(t, &q);
        flow_table_flush(t, T0 + 1 * SEC, FLOW_END_EOF);
        assert_int_equal(s.n, 1);
        if (strcmp(s.r[0].client, dc->client) != 0 || s.r[0].cport != dc->client_port)
            fail_msg("%s: client %s:%u, expected %s:%u", dc->what, s.r[0].client, s.r[0].cport,
                     dc->client, dc->client_port);
        /* The first packet's bytes are on the side of whoever sent it. */
        int first_c2s = strcmp(dc->src, dc->client) == 0 && dc->sport == dc->client_port;
        assert_int_equal(s.r[0].bytes[first_c2s ? 0 : 1], 100);
        assert_int_equal(s.r[0].bytes[first_c2s ? 1 : 0], 60);
        flow_table_free(t);
    }
}

/* ICMP echo: the requester is the client even when the reply is seen first. */
static void test_direction_icmp(void **state)
{
    sink s;
    flow_table *t = table(&s, 16);
    packet reply = pkt(T0, 1, "10.0.0.1", 0, "10.9.9.9", 0, -1, 98);
    packet request = pkt(T0 + 1 * SEC, 1, "10.9.9.9", 0, "10.0.0.1", 0, -1, 98);

    reply.icmp_type = 0;
    request.icmp_type = 8;
    feed(t, &reply);
    feed(t, &request);
    flow_table_flush(t, T0 + 2 * SEC, FLOW_END_EOF);
    assert_int_equal(s.n, 1);
    assert_string_equal(s.r[0].client, "10.9.9.9");
    assert_rec(&s.r[0], FLOW_END_EOF, 1, 1);
    flow_table_free(t);
}

/* ------------------------------------------------------------------------
 * Counters
 * ---------------------------------------------------------------------- */

static void test_counters(void **state)
{
    static const struct {
        int c2s;
        uint32_t len;
    } seq[] = {{1, 74},  {0, 74}, {1, 66},   {1, 1514}, {1, 1514}, {0, 66},
               {1, 900}, {0, 66}, {0, 1200}, {1, 66},   {0, 9000}, {1, 60}};
    sink s;
    flow_table *t = table(&s, 16);
    uint64_t want_p[2] = {0, 0}, want_b[2] = {0, 0};

    for (size_t i = 0; i < sizeof(seq) / sizeof(seq[0]); i++) {
        int flags = i == 0 ? TCP_SYN : i == 1 ? TCP_SYN | TCP_ACK : TCP_ACK;
        if (seq[i].c2s)
            tcp_c2s(t, T0 + i * MSEC, flags, seq[i].len);
        else
            tcp_s2c(t, T0 + i * MSEC, flags, seq[i].len);
        want_p[!seq[i].c2s]++;
        want_b[!seq[i].c2s] += seq[i].len;
    }
    flow_table_flush(t, T0 + 1 * SEC, FLOW_END_EOF);
    assert_int_equal(s.n, 1);
    assert_int_equal(s.r[0].pkts[0], want_p[0]);
    assert_int_equal(s.r[0].pkts[1], want_p[1]);
    assert_int_equal(s.r[0].bytes[0], want_b[0]);
    assert_int_equal(s.r[0].bytes[1], want_b[1]);
    assert_int_equal(s.r[0].first_us, T0);
    assert_int_equal(s.r[0].last_us, T0 + 11 * MSEC);
    flow_table_free(t);
}

/* ------------------------------------------------------------------------
 * Eviction
 * ---------------------------------------------------------------------- */

static void udp_n(flow_table *t, uint64_t ts, int n)
{
    char dst[32];
    snprintf(dst, sizeof(dst), "10.1.0.%d", n);
    udp(t, ts, C, (uint16_t)(30000 + n), dst, 5000, 100);
}

static void test_evict_oldest_idle(void **state)
{
    sink s;
    flow_table *t = table(&s, 4);

    for (int i = 1; i <= 4; i++)
        udp_n(t, T0 + (uint64_t)i * SEC, i);
    udp_n(t, T0 + 5 * SEC, 1); /* flow 1 is fresh again: flow 2 is the oldest */
    assert_int_equal(s.n, 0);
    udp_n(t, T0 + 6 * SEC, 5);
    assert_int_equal(s.n, 1);
    assert_rec(&s.r[0], FLOW_END_EVICTED, 1, 0);
    assert_string_equal(s.r[0].server, "10.1.0.2");
    assert_int_equal(ended(t, FLOW_END_EVICTED), 1);
    assert_int_equal(atomic_load(&flow_table_get_stats(t)->active), 4);

    flow_table_flush(t, T0 + 7 * SEC, FLOW_END_EOF);
    assert_int_equal(s.n, 5);
    for (int i = 1; i < 5; i++)
        assert_int_equal(s.r[i].reason, FLOW_END_EOF);
    assert_int_equal(ended(t, FLOW_END_EOF), 4);
    assert_int_equal(atomic_load(&flow_table_get_stats(t)->created), 5);
    flow_table_free(t);
}

static void test_evict_closed_first(void **state)
{
    sink s;
    flow_table *t = table(&s, 4);

    udp_n(t, T0 + 1 * SEC, 1);
    udp_n(t, T0 + 2 * SEC, 2);
    udp_n(t, T0 + 3 * SEC, 3);
    /* The newest flow is a TCP connection that has just closed. */
    handshake(t, T0 + 4 * SEC);
    tcp_c2s(t, T0 + 5 * SEC, TCP_FIN | TCP_ACK, 66);
    tcp_s2c(t, T0 + 5 * SEC + 1 * MSEC, TCP_FIN | TCP_ACK, 66);
    udp_n(t, T0 + 5 * SEC + 2 * MSEC, 4);
    assert_int_equal(s.n, 1);
    assert_string_equal(s.r[0].server, S);
    assert_int_equal(s.r[0].sport, SP);
    assert_rec(&s.r[0], FLOW_END_EVICTED, 3, 2);
    flow_table_flush(t, T0 + 6 * SEC, FLOW_END_EOF);
    flow_table_free(t);
}

/* A victim past its own deadline ends for that reason, not as evicted. */
static void test_evict_expired_victim(void **state)
{
    sink s;
    flow_table *t = table(&s, 2);

    udp_n(t, T0, 1);
    udp_n(t, T0 + 200 * SEC, 2);
    udp_n(t, T0 + 201 * SEC, 3);
    assert_int_equal(s.n, 1);
    assert_rec(&s.r[0], FLOW_END_IDLE, 1, 0);
    assert_string_equal(s.r[0].server, "10.1.0.1");
    assert_int_equal(ended(t, FLOW_END_EVICTED), 0);
    flow_table_flush(t, T0 + 202 * SEC, FLOW_END_EOF);
    flow_table_free(t);
}

/* ------------------------------------------------------------------------
 * Flush at the end of the capture
 * ---------------------------------------------------------------------- */

static void test_flush(void **state)
{
    sink s;
    flow_table *t = table(&s, 16);
    uint64_t end = T0 + 300 * SEC;
    int seen[FLOW_END_MAX] = {0};

    udp_n(t, T0, 1);              /* idle since T0: past its deadline */
    udp_n(t, end - 10 * SEC, 2);  /* live */
    handshake(t, end - 60 * SEC); /* closed a minute ago: past the linger */
    tcp_c2s(t, end - 60 * SEC + 1 * MSEC, TCP_RST, 60);
    udp(t, end - 1 * SEC, "10.5.0.1", 4000, "10.5.0.2", 4001, 60); /* live */
    flow_table_flush(t, end, FLOW_END_EOF);
    assert_int_equal(s.n, 4);
    for (int i = 0; i < s.n; i++) {
        assert_int_equal(s.r[i].final, 1);
        seen[s.r[i].reason]++;
        if (strcmp(s.r[i].server, "10.1.0.1") == 0)
            assert_int_equal(s.r[i].reason, FLOW_END_IDLE);
        else if (strcmp(s.r[i].server, S) == 0)
            assert_int_equal(s.r[i].reason, FLOW_END_RST);
        else
            assert_int_equal(s.r[i].reason, FLOW_END_EOF);
    }
    assert_int_equal(seen[FLOW_END_EOF], 2);
    assert_int_equal(atomic_load(&flow_table_get_stats(t)->active), 0);
    flow_table_free(t);
}

/* ------------------------------------------------------------------------
 * Handshake round trip
 * ---------------------------------------------------------------------- */

typedef struct rtt_step {
    int c2s;
    int flags;
    uint64_t at_ms;
} rtt_step;

typedef struct rtt_case {
    const char *what;
    rtt_step steps[6];
    int nsteps;
    uint32_t server_us, client_us;
    uint8_t tcp_bits; /* SYN/SYNACK/ACK bits expected */
} rtt_case;

static const rtt_case rtt_cases[] = {
    {"plain handshake",
     {{1, TCP_SYN, 0}, {0, TCP_SYN | TCP_ACK, 30}, {1, TCP_ACK, 42}},
     3,
     30000,
     12000,
     FLOW_TCP_SYN | FLOW_TCP_SYNACK | FLOW_TCP_ACK},
    {"retransmitted SYN: the SYN/ACK answers the latest",
     {{1, TCP_SYN, 0}, {1, TCP_SYN, 1000}, {0, TCP_SYN | TCP_ACK, 1025}, {1, TCP_ACK, 1030}},
     4,
     25000,
     5000,
     FLOW_TCP_SYN | FLOW_TCP_SYNACK | FLOW_TCP_ACK},
    {"retransmitted SYN/ACK is ignored",
     {{1, TCP_SYN, 0},
      {0, TCP_SYN | TCP_ACK, 20},
      {0, TCP_SYN | TCP_ACK, 1020},
      {1, TCP_ACK, 1021}},
     4,
     20000,
     1001000,
     FLOW_TCP_SYN | FLOW_TCP_SYNACK | FLOW_TCP_ACK},
    {"later ACKs are ignored",
     {{1, TCP_SYN, 0}, {0, TCP_SYN | TCP_ACK, 10}, {1, TCP_ACK, 11}, {1, TCP_ACK, 500}},
     4,
     10000,
     1000,
     FLOW_TCP_SYN | FLOW_TCP_SYNACK | FLOW_TCP_ACK},
    {"no SYN/ACK", {{1, TCP_SYN, 0}, {1, TCP_ACK, 50}}, 2, 0, 0, FLOW_TCP_SYN},
};

static void test_handshake_rtt(void **state)
{
    for (size_t i = 0; i < sizeof(rtt_cases) / sizeof(rtt_cases[0]); i++) {
        const rtt_case *rc = &rtt_cases[i];
        sink s;
        flow_table *t = table(&s, 16);

        for (int j = 0; j < rc->nsteps; j++) {
            const rtt_step *st = &rc->steps[j];
            if (st->c2s)
                tcp_c2s(t, T0 + st->at_ms * MSEC, st->flags, 66);
            else
                tcp_s2c(t, T0 + st->at_ms * MSEC, st->flags, 66);
        }
        flow_table_flush(t, T0 + 10 * SEC, FLOW_END_EOF);
        assert_int_equal(s.n, 1);
        const rec *r = &s.r[0];
        uint8_t bits = r->tcp & (FLOW_TCP_SYN | FLOW_TCP_SYNACK | FLOW_TCP_ACK);
        if (r->rtt_server_us != rc->server_us || r->rtt_client_us != rc->client_us ||
            bits != rc->tcp_bits)
            fail_msg("%s: server half %u us, client half %u us, bits 0x%x; expected %u, %u, 0x%x",
                     rc->what, r->rtt_server_us, r->rtt_client_us, bits, rc->server_us,
                     rc->client_us, rc->tcp_bits);
        assert_string_equal(r->client, C);
        flow_table_free(t);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_idle_timeout),
        cmocka_unit_test(test_idle_not_yet),
        cmocka_unit_test(test_active_timeout),
        cmocka_unit_test(test_fin_fin),
        cmocka_unit_test(test_rst),
        cmocka_unit_test(test_reopen_after_close),
        cmocka_unit_test(test_reopen_after_rst),
        cmocka_unit_test(test_direction),
        cmocka_unit_test(test_direction_icmp),
        cmocka_unit_test(test_counters),
        cmocka_unit_test(test_evict_oldest_idle),
        cmocka_unit_test(test_evict_closed_first),
        cmocka_unit_test(test_evict_expired_victim),
        cmocka_unit_test(test_flush),
        cmocka_unit_test(test_handshake_rtt),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
