/* test_timing.c -- timing facts of TCP flows (analyze/timing.c).
 *
 * Packets are built by hand with real sequence and acknowledgement
 * numbers and go through flow_update() and timing_packet() in time order,
 * as the worker does. Checked: the application round trip of TLS and SSH
 * set-ups with known delays (median, the bound on samples, a
 * retransmitted flight, a flight without an answer, a late answer),
 * interactive / bulk / mixed classification, ON periods at the 0.5 s
 * edge and the ring of their starts, and when the state is allocated and
 * freed (nothing for a SYN-only flow; a bulk flow that is not a control
 * session frees it, a control session keeps it), and the fields these
 * give a flow record. Also: keystrokes typed in from the server side (a
 * reverse tunnel) against a forward session, a far typist, heartbeats
 * and an outbound session with OpenSSH's keystroke chaff; chaff trains
 * and the typing starts of an obfuscated flow; UDP datagrams.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "analyze/flow.h"
#include "analyze/record.h"
#include "analyze/session.h"
#include "analyze/timing.h"
#include "capture/flow_key.h"

#define MS  UINT64_C(1000)
#define SEC UINT64_C(1000000)
#define T0  (UINT64_C(1772442000) * SEC)

/* One simulated connection: a client and a server and their sequence
 * numbers. Payload bytes live in buf; `payload` copies the caller's
 * bytes there, or fills with 0xAA. */
typedef struct sim {
    flow f;
    flow_analysis an; /* the flow's analysis state, owned by the sim... */
    int heap_an;      /* ... unless set: then the hooks allocate it */
    uint32_t seq[2];
    uint8_t buf[2048];
    int started;
    int udp; /* datagrams instead of segments */
} sim;

static packet sim_packet(sim *s, int dir, uint64_t ts, uint8_t flags, const void *payload,
                         uint32_t len)
{
    packet p;
    memset(&p, 0, sizeof(p));
    assert_true(len <= sizeof(s->buf) || payload == NULL);
    uint32_t cap = len > sizeof(s->buf) ? (uint32_t)sizeof(s->buf) : len;
    if (payload)
        memcpy(s->buf, payload, cap);
    else
        memset(s->buf, 0xAA, cap);
    p.ts_us = ts;
    p.proto = s->udp ? 17 : 6;
    p.flags = s->udp ? 0 : PKT_F_HAS_TCP;
    p.tcp_flags = flags;
    p.data = s->buf;
    p.payload_off = 0;
    p.payload_caplen = cap;
    p.payload_len = len;
    p.wire_bytes = 54 + len;
    const char *cli = "192.0.2.10", *srv = "198.51.100.20";
    assert_int_equal(pkt_addr_parse(dir == 0 ? cli : srv, &p.src), 0);
    assert_int_equal(pkt_addr_parse(dir == 0 ? srv : cli, &p.dst), 0);
    p.sport = dir == 0 ? 40000 : 22;
    p.dport = dir == 0 ? 22 : 40000;
    p.seq = s->seq[dir];
    p.ack = s->seq[!dir];
    return p;
}

/* Sends one segment from `dir` and advances its sequence number. */
static void sim_send(sim *s, int dir, uint64_t ts, uint8_t flags, const void *payload, uint32_t len)
{
    packet p = sim_packet(s, dir, ts, flags, payload, len);
    flow_key k;
    int side = flow_key_make(&k, &p);
    if (!s->started) {
        flow_init(&s->f, &k, 1, &p, side);
        if (!s->heap_an)
            s->f.an = &s->an;
        s->started = 1;
    }
    flow_update(&s->f, &p, side);
    timing_packet(&s->f, &p, flow_dir(&s->f, side));
    s->seq[dir] += len + !!(flags & (TCP_SYN | TCP_FIN));
}

static void sim_data(sim *s, int dir, uint64_t ts, uint32_t len)
{
    sim_send(s, dir, ts, TCP_ACK | TCP_PSH, NULL, len);
}

/* Handshake at t0 with the given halves; returns the ACK time. */
static uint64_t sim_open(sim *s, uint64_t t0, uint64_t rtt_s, uint64_t rtt_c)
{
    memset(s, 0, sizeof(*s));
    s->seq[0] = 1000;
    s->seq[1] = 0xfffff000u; /* the server's numbers wrap during the tests */
    sim_send(s, 0, t0, TCP_SYN, NULL, 0);
    sim_send(s, 1, t0 + rtt_s, TCP_SYN | TCP_ACK, NULL, 0);
    sim_send(s, 0, t0 + rtt_s + rtt_c, TCP_ACK, NULL, 0);
    return t0 + rtt_s + rtt_c;
}

static void sim_free(sim *s)
{
    timing_release(&s->f);
}

static timing_summary summary(const sim *s)
{
    timing_summary ts;
    timing_summarize(&s->f, &ts);
    return ts;
}

/* ------------------------------------------------------------------------
 * TLS: the server's first flight -> the client's second flight
 * ---------------------------------------------------------------------- */

/* A ClientHello's first bytes (record, handshake type 1); the rest zero. */
static const uint8_t client_hello[230] = {0x16, 0x03, 0x01, 0x00, 0xe1,
                                          0x01, 0x00, 0x00, 0xdd, 0x03};

static uint64_t tls_handshake(sim *s, uint64_t t, uint64_t lag)
{
    sim_send(s, 0, t, TCP_ACK | TCP_PSH, client_hello, 230);
    uint64_t f0 = t + 20 * MS;
    sim_data(s, 1, f0, 1448); /* ServerHello, certificate... */
    sim_data(s, 1, f0 + 12, 1448);
    sim_data(s, 1, f0 + 24, 700); /* ...ServerHelloDone: the flight ends */
    sim_data(s, 0, f0 + 24 + lag, 126);
    return f0 + 24 + lag;
}

static void test_tls_app_rtt(void **state)
{
    sim s;
    uint64_t t = sim_open(&s, T0, 20 * MS, 10 * MS);
    assert_int_equal(s.f.rtt_client_us, 10000);
    t = tls_handshake(&s, t + 200, 55 * MS);
    /* Application data afterwards is not a dependent exchange. */
    sim_data(&s, 1, t + 21 * MS, 51);
    for (int i = 0; i < 5; i++) {
        sim_data(&s, 0, t + (uint64_t)(i + 1) * 700 * MS, 400);
        sim_data(&s, 1, t + (uint64_t)(i + 1) * 700 * MS + 22 * MS, 1200);
    }
    timing_summary ts = summary(&s);
    assert_int_equal(ts.nrtt, 1);
    assert_int_equal(ts.app_rtt_us, 55000);
    sim_free(&s);
}

static void test_tls_retransmitted_flight(void **state)
{
    sim s;
    uint64_t t = sim_open(&s, T0, 20 * MS, 10 * MS);
    sim_send(&s, 0, t + 200, TCP_ACK | TCP_PSH, client_hello, 230);
    uint64_t f0 = t + 30 * MS;
    sim_data(&s, 1, f0, 1448);
    sim_data(&s, 1, f0 + 12, 1448);
    s.seq[1] -= 1448; /* the second segment again, 200 ms later */
    sim_data(&s, 1, f0 + 200 * MS, 1448);
    sim_data(&s, 0, f0 + 215 * MS, 126);
    /* Karn: which copy the client answered is unknown, so no sample. */
    assert_int_equal(summary(&s).nrtt, 0);
    sim_free(&s);
}

static void test_tls_no_answer(void **state)
{
    sim s;
    uint64_t t = sim_open(&s, T0, 20 * MS, 10 * MS);
    sim_send(&s, 0, t + 200, TCP_ACK | TCP_PSH, client_hello, 230);
    sim_data(&s, 1, t + 30 * MS, 1448);
    /* The client goes quiet and speaks 10 s later: no round trip. */
    sim_data(&s, 0, t + 10 * SEC, 126);
    assert_int_equal(summary(&s).nrtt, 0);
    sim_free(&s);
}

/* ------------------------------------------------------------------------
 * SSH: from the key-exchange reply, the set-up exchanges
 * ---------------------------------------------------------------------- */

/* An SSH binary packet header: length, padding, message type. */
static uint32_t ssh_msg(uint8_t *out, uint8_t type, uint32_t body)
{
    uint32_t plen = 1 + 1 + body + 8;
    out[0] = (uint8_t)(plen >> 24);
    out[1] = (uint8_t)(plen >> 16);
    out[2] = (uint8_t)(plen >> 8);
    out[3] = (uint8_t)plen;
    out[4] = 8;
    out[5] = type;
    memset(out + 6, 0x55, body + 8);
    return plen + 4;
}

/* Banners, KEXINITs, ECDH: the parts that are not sampled. Ends with
 * the server's KEX_ECDH_REPLY and NEWKEYS at the returned time. */
static uint64_t ssh_kex(sim *s, uint64_t t)
{
    uint8_t m[600];
    sim_send(s, 1, t, TCP_ACK | TCP_PSH, "SSH-2.0-OpenSSH_9.6\r\n", 21);
    sim_send(s, 0, t + 1 * MS, TCP_ACK | TCP_PSH, "SSH-2.0-OpenSSH_9.7\r\n", 21);
    sim_send(s, 0, t + 2 * MS, TCP_ACK | TCP_PSH, m, ssh_msg(m, 20, 300));
    sim_send(s, 1, t + 3 * MS, TCP_ACK | TCP_PSH, m, ssh_msg(m, 20, 300));
    sim_send(s, 0, t + 900 * MS, TCP_ACK | TCP_PSH, m, ssh_msg(m, 30, 36)); /* not sampled */
    sim_send(s, 1, t + 905 * MS, TCP_ACK | TCP_PSH, m, ssh_msg(m, 31, 500));
    sim_send(s, 1, t + 905 * MS + 20, TCP_ACK | TCP_PSH, m, ssh_msg(m, 21, 0));
    return t + 905 * MS + 20;
}

static void test_ssh_app_rtt_quartile(void **state)
{
    sim s;
    uint64_t t = sim_open(&s, T0, 2 * MS, 5 * MS);
    t = ssh_kex(&s, t + 100);
    sim_data(&s, 0, t + 30 * MS, 16); /* NEWKEYS: 30 ms */
    t += 30 * MS;
    static const uint64_t lag[] = {32, 31, 33};
    for (int i = 0; i < 3; i++) {
        sim_data(&s, 1, t + 2 * MS, 52);
        t += 2 * MS + lag[i] * MS;
        sim_data(&s, 0, t, 68);
    }
    /* The server sends twice before the client answers (nothing lost): the
     * sample runs from the second. */
    sim_data(&s, 1, t + 2 * MS, 52);
    sim_data(&s, 1, t + 400 * MS, 80);
    t += 400 * MS + 29 * MS;
    sim_data(&s, 0, t, 68);
    /* Samples 30 31 32 33 29 and nothing more after six exchanges: the
     * sixth, a person typing after 2 s, is within bounds but far above the
     * lower quartile; later exchanges are not sampled at all. */
    sim_data(&s, 1, t + 2 * MS, 600);
    t += 2 * SEC;
    sim_data(&s, 0, t, 36);
    for (int i = 0; i < 10; i++) {
        sim_data(&s, 1, t + 2 * MS, 36);
        t += 300 * MS;
        sim_data(&s, 0, t, 36);
    }
    timing_summary ts = summary(&s);
    assert_int_equal(ts.nrtt, 6);
    assert_int_equal(ts.app_rtt_us, 30000); /* 29 30 31 32 33 2000: the 2nd */
    sim_free(&s);
}

static void test_ssh_retransmission_and_late_answer(void **state)
{
    sim s;
    uint64_t t = sim_open(&s, T0, 2 * MS, 5 * MS);
    t = ssh_kex(&s, t + 100);
    sim_data(&s, 0, t + 40 * MS, 16); /* 40 ms */
    t += 40 * MS;
    /* A retransmitted server segment: no sample from that exchange. */
    sim_data(&s, 1, t + 2 * MS, 52);
    s.seq[1] -= 52;
    sim_data(&s, 1, t + 300 * MS, 52);
    t += 300 * MS + 41 * MS;
    sim_data(&s, 0, t, 68);
    /* A retransmitted client segment is not an answer either. */
    sim_data(&s, 1, t + 2 * MS, 52);
    s.seq[0] -= 68;
    sim_data(&s, 0, t + 5 * MS, 68);
    t += 5 * MS;
    /* An answer 4 s late is a person, not a round trip. */
    sim_data(&s, 1, t + 2 * MS, 52);
    t += 4 * SEC;
    sim_data(&s, 0, t, 68);
    sim_data(&s, 1, t + 2 * MS, 52);
    sim_data(&s, 0, t + 2 * MS + 42 * MS, 68);
    timing_summary ts = summary(&s);
    assert_int_equal(ts.nrtt, 2);
    assert_int_equal(ts.app_rtt_us, 40000); /* lower quartile of 40 and 42 */
    sim_free(&s);
}

/* The transport round trip: the least of the handshake's and of the
 * client's ACKs that acknowledge exactly the latest server segment. */
static void test_tcp_min_from_acks(void **state)
{
    sim s;
    /* A relay that held its handshake ACK back 60 ms. */
    uint64_t t = sim_open(&s, T0, 2 * MS, 60 * MS);
    t = tls_handshake(&s, t + 200, 90 * MS);
    assert_int_equal(summary(&s).tcp_min_us, 60000);
    /* Its stack ACKs a server segment 31 ms later: a sample. */
    sim_data(&s, 1, t + 10 * MS, 300);
    sim_send(&s, 0, t + 41 * MS, TCP_ACK, NULL, 0);
    assert_int_equal(summary(&s).tcp_min_us, 31000);
    /* Karn: an ACK after a retransmitted segment says nothing. */
    sim_data(&s, 1, t + 100 * MS, 300);
    s.seq[1] -= 300;
    sim_data(&s, 1, t + 400 * MS, 300);
    sim_send(&s, 0, t + 402 * MS, TCP_ACK, NULL, 0);
    /* An ACK of an earlier segment (the latest not yet arrived) neither. */
    sim_data(&s, 1, t + 600 * MS, 300);
    packet p = sim_packet(&s, 0, t + 601 * MS, TCP_ACK, NULL, 0);
    p.ack -= 300;
    timing_packet(&s.f, &p, 0);
    assert_int_equal(summary(&s).tcp_min_us, 31000);
    /* Data that acknowledges the segment counts like a pure ACK. */
    sim_data(&s, 0, t + 620 * MS, 90);
    assert_int_equal(summary(&s).tcp_min_us, 20000);
    /* Kept once the state is released. */
    timing_release(&s.f);
    assert_int_equal(summary(&s).tcp_min_us, 20000);
    sim_free(&s);
}

static void test_ssh_kex_reply_parser(void **state)
{
    uint8_t m[1200];
    uint32_t n = (uint32_t)snprintf((char *)m, sizeof(m), "SSH-2.0-x\r\n");
    n += ssh_msg(m + n, 20, 200);
    uint32_t at = n;
    n += ssh_msg(m + n, 31, 300);
    assert_true(timing_ssh_kex_reply(m, n));      /* banner, KEXINIT, reply */
    assert_true(timing_ssh_kex_reply(m + at, 6)); /* the header is enough */
    assert_false(timing_ssh_kex_reply(m, at));    /* KEXINIT only */
    assert_false(timing_ssh_kex_reply(m, 8));     /* banner cut short */
    assert_false(timing_ssh_kex_reply(m + at, 5));
    assert_false(timing_ssh_kex_reply(NULL, 10));
    ssh_msg(m, 33, 100);
    assert_true(timing_ssh_kex_reply(m, 20));
    ssh_msg(m, 30, 100);
    assert_false(timing_ssh_kex_reply(m, 120));
    m[0] = 0x7f; /* a length no SSH packet has */
    m[5] = 31;
    assert_false(timing_ssh_kex_reply(m, 120));
}

/* ------------------------------------------------------------------------
 * Interactive, bulk, mixed
 * ---------------------------------------------------------------------- */

/* n keystrokes 150 ms apart, each echoed after `echo` (0: no echo). */
static uint64_t type_keys(sim *s, uint64_t t, int n, uint64_t echo)
{
    for (int i = 0; i < n; i++, t += 150 * MS) {
        sim_data(s, 0, t, 36);
        if (echo)
            sim_data(s, 1, t + echo, 36);
    }
    return t;
}

static void test_interactive(void **state)
{
    sim s;
    uint64_t t = sim_open(&s, T0, 2 * MS, 180 * MS);
    t = type_keys(&s, t + 1 * SEC, 30, 3 * MS);
    sim_data(&s, 1, t, 4000); /* command output */
    timing_summary ts = summary(&s);
    assert_int_equal(ts.cls, TIMING_C_INTERACTIVE);
    assert_int_equal(ts.keystrokes, 30);
    sim_free(&s);
    /* After release the summary is the same. */
    ts = summary(&s);
    assert_null(flow_an(&s.f)->timing);
    assert_int_equal(ts.cls, TIMING_C_INTERACTIVE);
    assert_int_equal(ts.keystrokes, 30);
}

static void test_not_interactive(void **state)
{
    sim s;
    uint64_t t = sim_open(&s, T0, 2 * MS, 20 * MS);
    /* Small packets nobody echoes. */
    t = type_keys(&s, t + 1 * SEC, 30, 0);
    assert_int_equal(summary(&s).keystrokes, 0);
    /* Echoes too late (a poll answered after a second). */
    for (int i = 0; i < 30; i++, t += 1500 * MS) {
        sim_data(&s, 0, t, 36);
        sim_data(&s, 1, t + 1 * SEC, 36);
    }
    assert_int_equal(summary(&s).keystrokes, 0);
    /* Back-to-back small segments (a paste) are not typing. */
    for (int i = 0; i < 30; i++) {
        sim_data(&s, 0, t + (uint64_t)i * 2 * MS, 36);
        sim_data(&s, 1, t + (uint64_t)i * 2 * MS + 1 * MS, 36);
    }
    timing_summary ts = summary(&s);
    assert_true(ts.keystrokes <= 1);
    assert_int_equal(ts.cls, TIMING_C_QUIET);
    sim_free(&s);
}

static void bulk(sim *s, uint64_t t, int dir, int segs)
{
    for (int i = 0; i < segs; i++)
        sim_data(s, dir, t + (uint64_t)i * 100, 1448);
}

static void test_bulk_releases_state(void **state)
{
    sim s;
    uint64_t t = sim_open(&s, T0, 2 * MS, 150 * MS);
    assert_null(flow_an(&s.f)->timing);
    s.f.dpi_state = FLOW_DPI_DONE; /* inspection over, not a control session */
    sim_data(&s, 0, t + 1 * MS, 400);
    assert_non_null(flow_an(&s.f)->timing);
    assert_int_equal(s.f.tm_state, TIMING_S_ACTIVE);
    bulk(&s, t + 5 * MS, 1, 700); /* 1.01 MB: not yet a megabyte */
    assert_non_null(flow_an(&s.f)->timing);
    bulk(&s, t + 200 * MS, 1, 30);
    assert_null(flow_an(&s.f)->timing);
    assert_int_equal(s.f.tm_state, TIMING_S_DONE);
    /* Later packets allocate nothing and change nothing. */
    bulk(&s, t + 400 * MS, 1, 10);
    sim_data(&s, 0, t + 2 * SEC, 36);
    assert_null(flow_an(&s.f)->timing);
    timing_summary ts = summary(&s);
    assert_int_equal(ts.cls, TIMING_C_BULK);
    assert_int_equal(ts.bursts, 0);
    sim_free(&s);
}

static void test_control_bulk_keeps_state(void **state)
{
    sim s;
    uint64_t t = sim_open(&s, T0, 2 * MS, 150 * MS);
    s.f.dpi_state = FLOW_DPI_DONE;
    s.f.control = "ssh"; /* scp over SSH: still a control session */
    t = type_keys(&s, t + 1 * SEC, 20, 3 * MS);
    bulk(&s, t + 1 * SEC, 0, 1000);
    assert_non_null(flow_an(&s.f)->timing);
    timing_summary ts = summary(&s);
    assert_int_equal(ts.cls, TIMING_C_MIXED);
    assert_int_equal(ts.keystrokes, 20);
    sim_free(&s);
    assert_null(flow_an(&s.f)->timing);
    assert_int_equal(summary(&s).cls, TIMING_C_MIXED);
    timing_release(&s.f); /* twice is harmless */
}

static void test_syn_only_allocates_nothing(void **state)
{
    sim s;
    memset(&s, 0, sizeof(s));
    s.heap_an = 1;
    for (int i = 0; i < 5; i++)
        sim_send(&s, 0, T0 + (uint64_t)i * SEC, TCP_SYN, NULL, 0);
    assert_null(s.f.an); /* no analysis state at all */
    assert_null(flow_an(&s.f)->timing);
    assert_int_equal(s.f.tm_state, TIMING_S_NONE);
    /* A handshake and bare ACKs neither. */
    sim_open(&s, T0, 2 * MS, 3 * MS);
    sim_send(&s, 1, T0 + 9 * MS, TCP_ACK, NULL, 0);
    assert_null(flow_an(&s.f)->timing);
    assert_int_equal(summary(&s).cls, TIMING_C_UNKNOWN);
    timing_burst b[4];
    assert_int_equal(timing_bursts(&s.f, b, 4), 0);
}

/* ------------------------------------------------------------------------
 * ON periods
 * ---------------------------------------------------------------------- */

static void test_bursts_idle_edge(void **state)
{
    sim s;
    uint64_t t = sim_open(&s, T0, 2 * MS, 5 * MS);
    sim_data(&s, 0, t, 36);
    sim_data(&s, 0, t + 499999, 36); /* just under 0.5 s: same period */
    assert_int_equal(summary(&s).bursts, 0);
    t += 499999;
    sim_data(&s, 0, t + 500000, 36); /* exactly 0.5 s: not more than */
    assert_int_equal(summary(&s).bursts, 0);
    t += 500000;
    sim_data(&s, 1, t + 500001, 36); /* just over, either direction */
    assert_int_equal(summary(&s).bursts, 1);
    t += 500001;
    sim_data(&s, 0, t + 100 * MS, 36);
    sim_data(&s, 1, t + 200 * MS, 36);
    timing_burst b[4];
    assert_int_equal(timing_bursts(&s.f, b, 4), 1);
    assert_int_equal(b[0].start_us, t);
    assert_int_equal(b[0].pkts, 3);
    sim_free(&s);
}

static void test_burst_ring(void **state)
{
    sim s;
    uint64_t t = sim_open(&s, T0, 2 * MS, 5 * MS);
    sim_data(&s, 0, t, 36);
    /* server data only: no keystrokes, the small ring */
    for (int i = 1; i <= 12; i++) {
        t += 2 * SEC;
        for (int k = 0; k < i; k++)
            sim_data(&s, 1, t + (uint64_t)k * 10 * MS, 36);
    }
    assert_int_equal(summary(&s).bursts, 12);
    timing_burst b[TIMING_BURSTS + 4];
    int n = timing_bursts(&s.f, b, TIMING_BURSTS + 4);
    assert_int_equal(n, TIMING_BURSTS);
    for (int i = 0; i < n; i++) { /* bursts 5..12, oldest first */
        int burst = 12 - TIMING_BURSTS + 1 + i;
        assert_int_equal(b[i].pkts, burst);
        assert_int_equal(b[i].start_us, t - (uint64_t)(12 - burst) * 2 * SEC);
    }
    assert_int_equal(timing_bursts(&s.f, b, 2), 2); /* the latest two */
    assert_int_equal(b[1].pkts, 12);
    assert_int_equal(b[0].pkts, 11);
    sim_free(&s);
}

/* A flow someone types into keeps TIMING_BURSTS_MAX periods: the ring
 * grows when the small one wraps, keeping the order and the counts. */
static void test_burst_ring_typed(void **state)
{
    sim s;
    int total = TIMING_BURSTS_MAX + 6;
    uint64_t t = sim_open(&s, T0, 2 * MS, 5 * MS);
    sim_data(&s, 0, t, 36);
    for (int i = 1; i <= total; i++) {
        t += 2 * SEC;
        for (int k = 0; k < 2 + i % 5; k++) /* keystroke, echo, ... */
            sim_data(&s, k & 1, t + (uint64_t)k * 20 * MS, 36);
    }
    assert_true(summary(&s).keystrokes >= 8);
    assert_int_equal(summary(&s).bursts, total);
    timing_burst b[TIMING_BURSTS_MAX + 4];
    int n = timing_bursts(&s.f, b, TIMING_BURSTS_MAX + 4);
    assert_int_equal(n, TIMING_BURSTS_MAX);
    for (int i = 0; i < n; i++) { /* the latest TIMING_BURSTS_MAX, oldest first */
        int burst = total - TIMING_BURSTS_MAX + 1 + i;
        assert_int_equal(b[i].pkts, 2 + burst % 5);
        assert_int_equal(b[i].start_us, t - (uint64_t)(total - burst) * 2 * SEC);
    }
    sim_free(&s);
}

/* ------------------------------------------------------------------------
 * The facts in a flow record
 * ---------------------------------------------------------------------- */

static json_t *record_of(const flow *f)
{
    size_t len;
    char *line = record_flow_line(f, FLOW_END_FIN, "s", &len);
    assert_non_null(line);
    json_error_t err;
    json_t *o = json_loads(line, 0, &err);
    assert_non_null(o);
    free(line);
    return o;
}

static int has_role(const json_t *o, const char *role)
{
    const json_t *a = json_object_get(o, "roles");
    for (size_t i = 0; i < json_array_size(a); i++)
        if (strcmp(json_string_value(json_array_get(a, i)), role) == 0)
            return 1;
    return 0;
}

static double real(const json_t *o, const char *key)
{
    const json_t *v = json_object_get(o, key);
    assert_true(json_is_number(v));
    return json_number_value(v);
}

static void test_record_relayed_notebook(void **state)
{
    sim s;
    /* A relay 1 ms away whose user answers 45 ms later. */
    uint64_t t = sim_open(&s, T0, 2 * MS, 1 * MS);
    t = tls_handshake(&s, t + 200, 46 * MS);
    s.f.control = "jupyter";
    /* The kind is named for every level; the role only for a session. */
    for (int lvl = SESSION_PROBE; lvl < SESSION_ESTABLISHED; lvl++) {
        s.f.session = (uint8_t)lvl;
        json_t *o = record_of(&s.f);
        assert_string_equal(json_string_value(json_object_get(o, "control")), "jupyter");
        assert_false(has_role(o, "control"));
        json_decref(o);
    }
    s.f.session = SESSION_ESTABLISHED;
    json_t *o = record_of(&s.f);
    assert_true(real(o, "app_rtt_ms") == 46.0);
    assert_true(real(o, "tcp_rtt_client_ms") == 1.0);
    assert_true(real(o, "app_rtt_extra_ms") == 45.0);
    assert_true(real(o, "distance_km_max") == 4500.0);
    assert_string_equal(json_string_value(json_object_get(o, "control")), "jupyter");
    assert_true(json_is_null(json_object_get(o, "control_lookup")));
    assert_true(json_is_false(json_object_get(o, "interactive")));
    assert_int_equal(json_integer_value(json_object_get(o, "keystrokes")), 0);
    assert_true(has_role(o, "control"));
    assert_false(has_role(o, "interactive"));
    assert_false(has_role(o, "bulk"));
    json_decref(o);
    sim_free(&s);
}

static void test_record_interactive_and_unmeasured(void **state)
{
    sim s;
    uint64_t t = sim_open(&s, T0, 2 * MS, 30 * MS);
    t = type_keys(&s, t + 1 * SEC, 12, 2 * MS);
    type_keys(&s, t + 2 * SEC, 12, 2 * MS);
    json_t *o = record_of(&s.f);
    assert_true(json_is_true(json_object_get(o, "interactive")));
    assert_int_equal(json_integer_value(json_object_get(o, "keystrokes")), 24);
    assert_int_equal(json_integer_value(json_object_get(o, "bursts")), 1);
    assert_true(has_role(o, "interactive"));
    assert_false(has_role(o, "control"));
    /* No dependent exchange: no application RTT, no extra, no distance. */
    assert_true(json_is_null(json_object_get(o, "app_rtt_ms")));
    assert_true(json_is_null(json_object_get(o, "app_rtt_extra_ms")));
    assert_true(json_is_null(json_object_get(o, "distance_km_max")));
    json_decref(o);
    sim_free(&s);

    /* A flow that never carried data: every timing fact is null. */
    sim_open(&s, T0, 2 * MS, 30 * MS);
    o = record_of(&s.f);
    static const char *const nulls[] = {"app_rtt_ms",  "app_rtt_extra_ms", "distance_km_max",
                                        "interactive", "keystrokes",       "bursts",
                                        "control"};
    for (size_t i = 0; i < sizeof(nulls) / sizeof(nulls[0]); i++)
        if (!json_is_null(json_object_get(o, nulls[i])))
            fail_msg("%s should be null", nulls[i]);
    assert_int_equal(json_array_size(json_object_get(o, "roles")), 0);
    json_decref(o);
}

/* ------------------------------------------------------------------------
 * Typed in from the server side, keystroke chaff, UDP
 * ---------------------------------------------------------------------- */

/* `runs` commands typed at the server's end: 6 keys 150 ms apart, each
 * echoed by the client `echo` later, the output from the client, then
 * `pause` of silence. Returns the end. */
static uint64_t type_reversed(sim *s, uint64_t t, int runs, uint64_t echo, uint64_t pause)
{
    for (int r = 0; r < runs; r++) {
        for (int i = 0; i < 6; i++, t += 150 * MS) {
            sim_data(s, 1, t, 80);
            sim_data(s, 0, t + echo, 80);
        }
        sim_data(s, 0, t + 20 * MS, 3000);
        t += pause;
    }
    return t;
}

static void test_typed_from_server(void **state)
{
    sim s;
    uint64_t t = sim_open(&s, T0, 40 * MS, 1 * MS); /* the host opens it */
    type_reversed(&s, t + 2 * SEC, 5, 2 * MS, 5 * SEC);
    timing_summary ts = summary(&s);
    assert_int_equal(ts.rev_keys, 25);  /* 5 keys of each run follow another */
    assert_int_equal(ts.server_led, 4); /* the flow's first data starts no ON period */
    assert_int_equal(ts.client_led, 0);
    assert_true(timing_reversed(&ts));
    sim_free(&s);
    ts = summary(&s);
    assert_int_equal(ts.rev_keys, 25);
    assert_true(timing_reversed(&ts));

    /* The forward case: the client types, the server echoes. */
    t = sim_open(&s, T0, 2 * MS, 180 * MS);
    for (int r = 0; r < 5; r++) {
        t = type_keys(&s, t + 2 * SEC, 6, 2 * MS);
        sim_data(&s, 1, t + 20 * MS, 3000);
    }
    ts = summary(&s);
    assert_int_equal(ts.server_led, 0);
    assert_false(timing_reversed(&ts));
    sim_free(&s);
}

static void test_typed_from_server_misses(void **state)
{
    sim s;
    /* A person answering, not the host: echoes 40 ms late. */
    uint64_t t = sim_open(&s, T0, 40 * MS, 1 * MS);
    type_reversed(&s, t + 2 * SEC, 5, 40 * MS, 5 * SEC);
    timing_summary ts = summary(&s);
    assert_int_equal(ts.rev_keys, 0);
    assert_false(timing_reversed(&ts));
    sim_free(&s);

    /* An agent's heartbeat the server starts, answered at once: lone
     * pings, no run of keys. */
    t = sim_open(&s, T0, 40 * MS, 1 * MS);
    for (int i = 0; i < 60; i++, t += 30 * SEC) {
        sim_data(&s, 1, t, 40);
        sim_data(&s, 0, t + 1 * MS, 40);
    }
    ts = summary(&s);
    assert_int_equal(ts.rev_keys, 0);
    assert_false(timing_reversed(&ts));
    sim_free(&s);

    /* The host's own user in an outbound SSH session with keystroke
     * obfuscation: ticks every 20 ms from the client, the far server's
     * answer to each 50 ms later, 10 ms before the next tick but one.
     * The server's answers look like keys the client echoes, but every
     * typing start is the client's. */
    t = sim_open(&s, T0, 50 * MS, 1 * MS);
    for (int r = 0; r < 5; r++) {
        uint64_t t0 = t + 5 * SEC;
        for (t = t0; t < t0 + 2 * SEC; t += 20 * MS) {
            sim_data(&s, 0, t, 36);
            if (t >= t0 + 40 * MS)
                sim_data(&s, 1, t + 10 * MS, 36);
        }
        sim_data(&s, 1, t + 60 * MS, 3000);
    }
    ts = summary(&s);
    assert_true(ts.rev_keys >= 8);
    assert_int_equal(ts.server_led, 0);
    assert_false(timing_reversed(&ts));
    sim_free(&s);
}

static const uint8_t ssh_banner[] = "SSH-2.0-OpenSSH_9.6\r\n";

/* A train of obfuscated typing from t: ticks every `gap`, `n` of them,
 * each answered at once; returns the time after the last tick. */
static uint64_t chaff(sim *s, uint64_t t, int n, uint64_t gap)
{
    for (int i = 0; i < n; i++, t += gap) {
        sim_data(s, 0, t, 36);
        sim_data(s, 1, t + 1 * MS, 36);
    }
    return t;
}

static void test_chaff_trains(void **state)
{
    sim s;
    uint64_t t = sim_open(&s, T0, 2 * MS, 80 * MS);
    sim_send(&s, 0, t, TCP_ACK | TCP_PSH, ssh_banner, sizeof(ssh_banner) - 1);
    /* 49 ticks on the grid: one short of a train. */
    t = chaff(&s, t + 1 * SEC, 49, 20 * MS);
    assert_int_equal(summary(&s).chaff, 0);
    /* A pause breaks the run; then 60 ticks (1.2 s) are a train. */
    t = chaff(&s, t + 1 * SEC, 60, 20 * MS);
    timing_summary ts = summary(&s);
    assert_int_equal(ts.chaff, 1);
    assert_int_equal(ts.cls, TIMING_C_INTERACTIVE);
    /* A person typing 60 ms apart is no train. */
    t = chaff(&s, t + 1 * SEC, 100, 60 * MS);
    assert_int_equal(summary(&s).chaff, 1);
    sim_free(&s);

    /* The same rhythm in a flow that does not speak SSH (a game, a
     * media stream) is not OpenSSH's chaff. */
    t = sim_open(&s, T0, 2 * MS, 80 * MS);
    chaff(&s, t + 1 * SEC, 200, 20 * MS);
    assert_int_equal(summary(&s).chaff, 0);
    sim_free(&s);
}

static void test_chaff_typing_starts(void **state)
{
    sim s;
    timing_burst b[TIMING_BURSTS];
    uint64_t t = sim_open(&s, T0, 2 * MS, 80 * MS);
    sim_send(&s, 0, t, TCP_ACK | TCP_PSH, ssh_banner, sizeof(ssh_banner) - 1);
    t = chaff(&s, t + 1 * SEC, 100, 20 * MS); /* a train: the flow is obfuscated */
    sim_data(&s, 1, t, 4000);                 /* the command's output */
    uint64_t out = t;
    t = chaff(&s, t + 10 * MS, 100, 20 * MS); /* the chaff tail, 2 s */
    int n0 = timing_bursts(&s.f, b, TIMING_BURSTS);
    /* 1 s of silence, but within 3.6 s of the output: still typing. */
    t = chaff(&s, t + 1 * SEC, 10, 20 * MS);
    assert_true(t < out + 3600 * MS);
    assert_int_equal(timing_bursts(&s.f, b, TIMING_BURSTS), n0);
    /* 4 s of silence: a typing start. Its packets are the first tick and
     * the segments larger than a keystroke (the output), not the chaff. */
    uint64_t start = t + 4 * SEC;
    t = chaff(&s, start, 100, 20 * MS);
    sim_data(&s, 1, t, 3000);
    sim_data(&s, 1, t + 1 * MS, 3000);
    int n = timing_bursts(&s.f, b, TIMING_BURSTS);
    assert_int_equal(n, n0 + 1);
    assert_int_equal(b[n - 1].start_us, start);
    assert_int_equal(b[n - 1].pkts, 3);
    sim_free(&s);
}

static void test_udp_datagrams(void **state)
{
    sim s;
    memset(&s, 0, sizeof(s));
    s.udp = 1;
    /* Typing through a VPN: 144-byte keys (an SSH keystroke in its inner
     * IP packet, in WireGuard), 144-byte echoes. */
    uint64_t t = T0;
    for (int i = 0; i < 20; i++, t += 150 * MS) {
        sim_data(&s, 0, t, 144);
        sim_data(&s, 1, t + 2 * MS, 144);
    }
    t += 2 * SEC;
    sim_data(&s, 0, t, 144);
    timing_summary ts = summary(&s);
    assert_int_equal(ts.cls, TIMING_C_INTERACTIVE);
    assert_int_equal(ts.keystrokes, 20);
    assert_int_equal(ts.bursts, 1);
    /* A megabyte of full datagrams makes it mixed. */
    for (int i = 0; i < 800; i++)
        sim_data(&s, 1, t + (uint64_t)i * 100, 1456);
    assert_int_equal(summary(&s).cls, TIMING_C_MIXED);
    sim_free(&s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tls_app_rtt),
        cmocka_unit_test(test_tls_retransmitted_flight),
        cmocka_unit_test(test_tls_no_answer),
        cmocka_unit_test(test_ssh_app_rtt_quartile),
        cmocka_unit_test(test_tcp_min_from_acks),
        cmocka_unit_test(test_ssh_retransmission_and_late_answer),
        cmocka_unit_test(test_ssh_kex_reply_parser),
        cmocka_unit_test(test_interactive),
        cmocka_unit_test(test_not_interactive),
        cmocka_unit_test(test_bulk_releases_state),
        cmocka_unit_test(test_control_bulk_keeps_state),
        cmocka_unit_test(test_syn_only_allocates_nothing),
        cmocka_unit_test(test_bursts_idle_edge),
        cmocka_unit_test(test_burst_ring),
        cmocka_unit_test(test_burst_ring_typed),
        cmocka_unit_test(test_record_relayed_notebook),
        cmocka_unit_test(test_record_interactive_and_unmeasured),
        cmocka_unit_test(test_typed_from_server),
        cmocka_unit_test(test_typed_from_server_misses),
        cmocka_unit_test(test_chaff_trains),
        cmocka_unit_test(test_chaff_typing_starts),
        cmocka_unit_test(test_udp_datagrams),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
