/* test_session.c -- probe, attempt or established (analyze/session.c).
 *
 * Packets are built by hand and go through flow_update() and
 * session_packet() in time order, as the worker does; session_update()
 * then gives the level. Checked, per protocol, on both sides of each
 * bound the module cites: a SYN, a refused SYN and a connect without
 * data are probes; an SSH brute-force connection that spends all of
 * MaxAuthTries with keyboard-interactive is an attempt and one exchange
 * more each way is a session; data both ways after LoginGraceTime is a
 * session; a connection joined mid-stream; a redirect to a notebook's
 * login page, a 403 and a websocket; a failed VNC login and a session's
 * input events; RDP's security exchange and screen updates; UDP with and
 * without answers; WireGuard, OpenVPN and QUIC channels (analyze/udpctl.c)
 * whose handshake is answered with and without data through them, and
 * the message types udpctl_parse() reads; the HTTP status line parser on
 * bad input.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "analyze/flow.h"
#include "analyze/session.h"
#include "analyze/udpctl.h"
#include "capture/flow_key.h"

#define MS  UINT64_C(1000)
#define SEC UINT64_C(1000000)
#define T0  (UINT64_C(1772442000) * SEC)

typedef struct sim {
    flow f;
    flow_analysis an; /* the flow's analysis state, owned by the sim */
    uint32_t seq[2];
    uint16_t port;
    uint8_t proto;
    uint8_t buf[2048];
    int started;
} sim;

static void sim_send(sim *s, int dir, uint64_t ts, uint8_t flags, const void *payload, uint32_t len)
{
    packet p;
    memset(&p, 0, sizeof(p));
    uint32_t cap = len > sizeof(s->buf) ? (uint32_t)sizeof(s->buf) : len;
    if (payload)
        memcpy(s->buf, payload, cap);
    else
        memset(s->buf, 0xAA, cap);
    p.ts_us = ts;
    p.proto = s->proto;
    p.flags = s->proto == 6 ? PKT_F_HAS_TCP : 0;
    p.tcp_flags = flags;
    p.data = s->buf;
    p.payload_caplen = cap;
    p.payload_len = len;
    p.wire_bytes = 54 + len;
    assert_int_equal(pkt_addr_parse(dir == 0 ? "192.0.2.10" : "198.51.100.20", &p.src), 0);
    assert_int_equal(pkt_addr_parse(dir == 0 ? "198.51.100.20" : "192.0.2.10", &p.dst), 0);
    p.sport = dir == 0 ? 40000 : s->port;
    p.dport = dir == 0 ? s->port : 40000;
    p.seq = s->seq[dir];
    p.ack = s->seq[!dir];
    flow_key k;
    int side = flow_key_make(&k, &p);
    if (!s->started) {
        flow_init(&s->f, &k, 1, &p, side);
        s->f.an = &s->an;
        s->started = 1;
    }
    flow_update(&s->f, &p, side);
    if (len > 0) {
        session_packet(&s->f, &p, flow_dir(&s->f, side));
        udpctl_packet(&s->f, &p, flow_dir(&s->f, side));
    }
    s->seq[dir] += len + !!(flags & (TCP_SYN | TCP_FIN));
}

static void sim_data(sim *s, int dir, uint64_t ts, const void *payload, uint32_t len)
{
    sim_send(s, dir, ts, TCP_ACK | TCP_PSH, payload, len);
}

static void sim_init(sim *s, uint8_t proto, uint16_t port)
{
    memset(s, 0, sizeof(*s));
    s->proto = proto;
    s->port = port;
    s->seq[0] = 1000;
    s->seq[1] = 50000;
}

static uint64_t sim_open(sim *s, uint16_t port)
{
    sim_init(s, 6, port);
    sim_send(s, 0, T0, TCP_SYN, NULL, 0);
    sim_send(s, 1, T0 + 20 * MS, TCP_SYN | TCP_ACK, NULL, 0);
    sim_send(s, 0, T0 + 40 * MS, TCP_ACK, NULL, 0);
    return T0 + 40 * MS;
}

static const char *level(sim *s)
{
    session_update(&s->f);
    return session_level_name(s->f.session);
}

/* SYN, SYN/RST, and a handshake without data. */
static void test_probes(void **state)
{
    sim s;
    (void)state;

    sim_init(&s, 6, 22);
    sim_send(&s, 0, T0, TCP_SYN, NULL, 0);
    assert_string_equal(level(&s), "probe");
    sim_send(&s, 1, T0 + 300, TCP_RST | TCP_ACK, NULL, 0);
    assert_string_equal(level(&s), "probe");

    uint64_t t = sim_open(&s, 22);
    sim_send(&s, 0, t + MS, TCP_RST | TCP_ACK, NULL, 0);
    assert_string_equal(level(&s), "probe");

    /* a client that talks to a port that never answered the SYN */
    sim_init(&s, 6, 8888);
    sim_send(&s, 0, T0, TCP_SYN, NULL, 0);
    sim_data(&s, 0, T0 + SEC, "GET / HTTP/1.1\r\n\r\n", 18);
    assert_string_equal(level(&s), "probe");
}

/* An SSH binary packet of `len` bytes of message type `type`. */
static uint32_t ssh_msg(uint8_t *b, uint8_t type, uint32_t len)
{
    memset(b, 0, len);
    uint32_t plen = len - 4;
    b[0] = (uint8_t)(plen >> 24), b[1] = (uint8_t)(plen >> 16), b[2] = (uint8_t)(plen >> 8);
    b[3] = (uint8_t)plen;
    b[4] = 6; /* padding */
    b[5] = type;
    return len;
}

/* Banners, KEXINITs, ECDH init and reply, NEWKEYS both ways; returns the
 * time of the client's NEWKEYS. */
static uint64_t ssh_kex(sim *s)
{
    uint8_t m[512];
    uint64_t t = sim_open(s, 22);
    sim_data(s, 1, t + MS, "SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3\r\n", 40);
    sim_data(s, 0, t + 2 * MS, "SSH-2.0-libssh_0.9.6\r\n", 22);
    sim_data(s, 0, t + 3 * MS, m, ssh_msg(m, 20, 300));
    sim_data(s, 1, t + 4 * MS, m, ssh_msg(m, 20, 400));
    sim_data(s, 0, t + 5 * MS, m, ssh_msg(m, 30, 48));
    sim_data(s, 1, t + 8 * MS, m, ssh_msg(m, 31, 480));
    sim_data(s, 1, t + 9 * MS, m, ssh_msg(m, 21, 16));
    sim_data(s, 0, t + 10 * MS, m, ssh_msg(m, 21, 16));
    return t + 10 * MS;
}

/* The whole of a failed login with keyboard-interactive, MaxAuthTries 6:
 * after NEWKEYS the client sends SERVICE_REQUEST, "none", six times
 * USERAUTH_REQUEST and INFO_RESPONSE, DISCONNECT (16 with NEWKEYS); the
 * server as many. One more exchange each way is past it. */
static void test_ssh_brute_force(void **state)
{
    sim s;
    uint8_t m[256] = {0};
    (void)state;

    uint64_t t = ssh_kex(&s);
    assert_string_equal(level(&s), "attempt");
    for (int i = 0; i < 15; i++) {
        sim_data(&s, 0, t + (uint64_t)i * 2 * SEC, m, 96);
        sim_data(&s, 1, t + (uint64_t)i * 2 * SEC + 50 * MS, m, 80);
    }
    assert_string_equal(level(&s), "attempt"); /* 16 each way, NEWKEYS included */
    sim_data(&s, 0, t + 32 * SEC, m, 64);
    assert_string_equal(level(&s), "attempt");
    /* channel open and confirmation: beyond any failed login */
    sim_data(&s, 0, t + 33 * SEC, m, 64);
    assert_string_equal(level(&s), "attempt");
    sim_data(&s, 1, t + 33 * SEC + 20 * MS, m, 64);
    assert_string_equal(level(&s), "established");
}

/* LoginGraceTime: data both ways 120 s after the key exchange. */
static void test_ssh_grace(void **state)
{
    sim s;
    uint8_t m[128] = {0};
    (void)state;

    uint64_t t = ssh_kex(&s);
    sim_data(&s, 0, t + 119 * SEC, m, 64);
    sim_data(&s, 1, t + 119 * SEC + 20 * MS, m, 64);
    assert_string_equal(level(&s), "attempt");
    sim_data(&s, 0, t + 121 * SEC, m, 64);
    assert_string_equal(level(&s), "attempt");
    sim_data(&s, 1, t + 121 * SEC + 20 * MS, m, 64);
    assert_string_equal(level(&s), "established");

    /* 64 KiB after the key exchange (scp): a session at once */
    t = ssh_kex(&s);
    for (int i = 0; i < 46; i++)
        sim_data(&s, 0, t + (uint64_t)i * MS, NULL, 1448);
    sim_data(&s, 1, t + 50 * MS, m, 64);
    assert_string_equal(level(&s), "established");

    /* no key exchange, no session, however much the port 22 flow sends */
    t = sim_open(&s, 22);
    sim_data(&s, 1, t + MS, "SSH-2.0-OpenSSH_9.2\r\n", 21);
    for (int i = 0; i < 40; i++) {
        sim_data(&s, 0, t + (uint64_t)(2 + i) * MS, m, 64);
        sim_data(&s, 1, t + (uint64_t)(2 + i) * MS + 500, m, 64);
    }
    assert_string_equal(level(&s), "attempt");
}

/* A connection joined mid-stream: all of its data against the bounds. */
static void test_ssh_midstream(void **state)
{
    sim s;
    uint8_t m[128] = {0};
    (void)state;

    sim_init(&s, 6, 22);
    uint64_t t = T0;
    for (int i = 0; i < 16; i++) {
        sim_data(&s, 0, t + (uint64_t)i * 300 * MS, m, 52);
        sim_data(&s, 1, t + (uint64_t)i * 300 * MS + 40 * MS, m, 52);
    }
    s.f.control = "ssh";
    assert_true(s.f.tcp & FLOW_TCP_MIDSTREAM);
    assert_string_equal(level(&s), "attempt");
    sim_data(&s, 0, t + 20 * SEC, m, 52);
    sim_data(&s, 1, t + 20 * SEC + 40 * MS, m, 52);
    assert_string_equal(level(&s), "established");
}

static uint32_t text(uint8_t *b, const char *s)
{
    size_t n = strlen(s);
    memcpy(b, s, n);
    return (uint32_t)n;
}

/* A notebook probe redirected to the login page, a 403 on the API, and
 * a kernel websocket. */
static void test_notebook(void **state)
{
    sim s;
    uint8_t m[2048];
    (void)state;

    uint64_t t = sim_open(&s, 8888);
    sim_data(&s, 0, t + MS, m, text(m, "GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
    sim_data(&s, 1, t + 2 * MS, m,
             text(m, "HTTP/1.1 302 Found\r\nLocation: /login?next=%2F\r\n\r\n"));
    sim_data(&s, 0, t + 3 * MS, m, text(m, "GET /login?next=%2F HTTP/1.1\r\nHost: x\r\n\r\n"));
    sim_data(&s, 1, t + 4 * MS, m, text(m, "HTTP/1.1 200 OK\r\nContent-Length: 6000\r\n\r\n"));
    for (int i = 0; i < 20; i++) /* static files behind the login page, 28 KB */
        sim_data(&s, 1, t + 5 * MS, NULL, 1448);
    sim_data(&s, 0, t + 6 * MS, m, text(m, "GET /static/a.js HTTP/1.1\r\n\r\n"));
    sim_data(&s, 0, t + 7 * MS, m, text(m, "GET /static/b.js HTTP/1.1\r\n\r\n"));
    assert_true(s.an.data_bytes[1] >= 16 * 1024 && s.an.data_pkts[0] >= 4);
    assert_string_equal(level(&s), "attempt");

    t = sim_open(&s, 8888);
    sim_data(&s, 0, t + MS, m, text(m, "GET /api/kernels HTTP/1.1\r\n\r\n"));
    sim_data(&s, 1, t + 2 * MS, m, text(m, "HTTP/1.1 403 Forbidden\r\n\r\n"));
    assert_string_equal(level(&s), "attempt");

    t = sim_open(&s, 8888);
    sim_data(&s, 0, t + MS, m,
             text(m, "GET /api/kernels/5d0f/channels HTTP/1.1\r\nUpgrade: websocket\r\n\r\n"));
    sim_data(&s, 1, t + 2 * MS, m, text(m, "HTTP/1.1 101 Switching Protocols\r\n\r\n"));
    sim_data(&s, 0, t + 3 * MS, NULL, 180);
    sim_data(&s, 1, t + 4 * MS, NULL, 90);
    assert_string_equal(level(&s), "attempt");
    sim_data(&s, 0, t + 5 * MS, NULL, 180);
    sim_data(&s, 1, t + 6 * MS, NULL, 90);
    assert_string_equal(level(&s), "established");
}

/* RFB 3.8 with VNC authentication failing, then a session's input. */
static void test_vnc(void **state)
{
    sim s;
    uint8_t m[64] = {0};
    (void)state;

    uint64_t t = sim_open(&s, 5900);
    sim_data(&s, 1, t + MS, "RFB 003.008\n", 12);
    sim_data(&s, 0, t + 2 * MS, "RFB 003.008\n", 12);
    sim_data(&s, 1, t + 3 * MS, "\x01\x02", 2);
    sim_data(&s, 0, t + 4 * MS, "\x02", 1);
    sim_data(&s, 1, t + 5 * MS, m, 16);
    sim_data(&s, 0, t + 6 * MS, m, 16);
    sim_data(&s, 1, t + 7 * MS, "\0\0\0\1\0\0\0\025Authentication failed", 29);
    assert_int_equal(s.an.sess_proto, SESSION_P_RFB);
    assert_string_equal(level(&s), "attempt");
    for (int i = 0; i < 28; i++) /* pointer events: 31 client payloads */
        sim_data(&s, 0, t + (uint64_t)(10 + i) * MS, m, 6);
    assert_string_equal(level(&s), "attempt");
    sim_data(&s, 0, t + 40 * MS, m, 6);
    assert_string_equal(level(&s), "established");
}

/* RDP: a security exchange alone, then screen updates. */
static void test_rdp(void **state)
{
    sim s;
    static const uint8_t cr[] = {3, 0, 0, 19, 14, 0xe0, 0, 0, 0, 0, 0, 1, 0, 8, 0, 3, 0, 0, 0};
    (void)state;

    uint64_t t = sim_open(&s, 3389);
    sim_data(&s, 0, t + MS, cr, sizeof(cr));
    sim_data(&s, 1, t + 2 * MS, NULL, 19);
    for (int i = 0; i < 4; i++) /* TLS and CredSSP, ~6 KB */
        sim_data(&s, 1, t + (uint64_t)(3 + i) * MS, NULL, 1448);
    assert_int_equal(s.an.sess_proto, SESSION_P_RDP);
    assert_string_equal(level(&s), "attempt");
    for (int i = 0; i < 44; i++) /* bitmap updates: 64 KiB in all */
        sim_data(&s, 1, t + (uint64_t)(10 + i) * MS, NULL, 1448);
    assert_string_equal(level(&s), "established");
}

/* UDP: unanswered, answered once, a conversation. */
static void test_udp(void **state)
{
    sim s;
    (void)state;

    sim_init(&s, 17, 41641);
    sim_data(&s, 0, T0, NULL, 148);
    assert_string_equal(level(&s), "probe");
    sim_data(&s, 1, T0 + 30 * MS, NULL, 92);
    assert_string_equal(level(&s), "attempt");
    for (int i = 0; i < 3; i++) {
        sim_data(&s, 0, T0 + (uint64_t)(1 + i) * SEC, NULL, 120);
        sim_data(&s, 1, T0 + (uint64_t)(1 + i) * SEC + 30 * MS, NULL, 120);
    }
    assert_string_equal(level(&s), "established");
}

/* A WireGuard message: type, three zero bytes, the rest 0xAA. */
static uint32_t wg(uint8_t *b, uint8_t type, uint32_t len)
{
    memset(b, 0xAA, len);
    b[0] = type, b[1] = b[2] = b[3] = 0;
    return len;
}

static void test_wireguard(void **state)
{
    sim s;
    uint8_t b[1500];
    (void)state;

    sim_init(&s, 17, 51820);
    sim_data(&s, 0, T0, b, wg(b, 1, 148)); /* initiation */
    assert_string_equal(level(&s), "probe");
    sim_data(&s, 1, T0 + 30 * MS, b, wg(b, 2, 92)); /* response */
    assert_string_equal(level(&s), "attempt");
    /* Keepalives both ways, however many, are no traffic through it. */
    for (int i = 0; i < 10; i++) {
        sim_data(&s, 0, T0 + (uint64_t)(1 + i) * 25 * SEC, b, wg(b, 4, 32));
        sim_data(&s, 1, T0 + (uint64_t)(1 + i) * 25 * SEC + 30 * MS, b, wg(b, 4, 32));
    }
    assert_string_equal(level(&s), "attempt");
    assert_int_equal(s.an.uc_proto, UDPCTL_WIREGUARD);
    /* Three exchanges through it (three pings): still an attempt; a
     * fourth each way is a session. */
    uint64_t t = T0 + 300 * SEC;
    for (int i = 0; i < 3; i++, t += SEC) {
        sim_data(&s, 0, t, b, wg(b, 4, 128));
        sim_data(&s, 1, t + 30 * MS, b, wg(b, 4, 128));
    }
    assert_string_equal(level(&s), "attempt");
    sim_data(&s, 0, t, b, wg(b, 4, 144));
    assert_string_equal(level(&s), "attempt");
    sim_data(&s, 1, t + 30 * MS, b, wg(b, 4, 1456));
    assert_string_equal(level(&s), "established");

    /* Initiations nobody answers, then data from the client only. */
    sim_init(&s, 17, 51820);
    for (int i = 0; i < 5; i++)
        sim_data(&s, 0, T0 + (uint64_t)i * 5 * SEC, b, wg(b, 1, 148));
    assert_string_equal(level(&s), "probe");
    sim_data(&s, 1, T0 + 30 * SEC, b, wg(b, 3, 64)); /* a cookie reply: under load */
    for (int i = 0; i < 6; i++)
        sim_data(&s, 0, T0 + 40 * SEC + (uint64_t)i * SEC, b, wg(b, 4, 128));
    assert_string_equal(level(&s), "attempt");
}

static void test_openvpn_quic(void **state)
{
    sim s;
    uint8_t b[1500];
    (void)state;

    /* OpenVPN: hard resets, the TLS handshake in control packets and
     * their ACKs, then the data channel both ways. */
    sim_init(&s, 17, 1194);
    memset(b, 0x11, sizeof(b));
    b[0] = 7 << 3;
    sim_data(&s, 0, T0, b, 14);
    b[0] = 8 << 3;
    sim_data(&s, 1, T0 + 40 * MS, b, 26);
    assert_int_equal(s.an.uc_proto, UDPCTL_OPENVPN);
    uint64_t t = T0 + 100 * MS;
    for (int i = 0; i < 20; i++, t += 50 * MS) { /* control and ACKs only */
        b[0] = 4 << 3;
        sim_data(&s, i & 1, t, b, 300);
        b[0] = 5 << 3;
        sim_data(&s, !(i & 1), t + 20 * MS, b, 22);
    }
    assert_string_equal(level(&s), "attempt");
    for (int i = 0; i < 4; i++, t += 50 * MS) {
        b[0] = 9 << 3;
        sim_data(&s, 0, t, b, 120);
        sim_data(&s, 1, t + 20 * MS, b, 900);
    }
    assert_string_equal(level(&s), "established");

    /* QUIC: the Initial (1200 bytes), the server's long headers, then
     * short headers both ways; the handshake alone is an attempt. */
    sim_init(&s, 17, 443);
    memset(b, 0x22, sizeof(b));
    b[0] = 0xc3, b[1] = b[2] = b[3] = 0, b[4] = 1, b[5] = 8, b[14] = 8;
    sim_data(&s, 0, T0, b, 1200);
    b[0] = 0xe1;
    sim_data(&s, 1, T0 + 40 * MS, b, 1200);
    assert_int_equal(s.an.uc_proto, UDPCTL_QUIC);
    assert_string_equal(level(&s), "attempt");
    t = T0 + 100 * MS;
    for (int i = 0; i < 4; i++, t += 20 * MS) {
        b[0] = 0x41;
        sim_data(&s, 0, t, b, 60);
        sim_data(&s, 1, t + 10 * MS, b, 1200);
    }
    assert_string_equal(level(&s), "established");
    /* A 600-byte "Initial" is not QUIC's (clients pad to 1200): nothing
     * is read, and the generic UDP rule applies. */
    sim_init(&s, 17, 443);
    b[0] = 0xc3;
    sim_data(&s, 0, T0, b, 600);
    assert_int_equal(s.an.uc_proto, UDPCTL_NONE);
}

static void test_udpctl_parse(void **state)
{
    uint8_t b[200];
    int proto;
    (void)state;

    memset(b, 0, sizeof(b));
    b[0] = 1;
    assert_int_equal(udpctl_parse(b, 148, UDPCTL_NONE, 0, &proto), UDPCTL_M_HELLO);
    assert_int_equal(proto, UDPCTL_WIREGUARD);
    assert_int_equal(udpctl_parse(b, 147, UDPCTL_NONE, 0, &proto), UDPCTL_M_NONE);
    assert_int_equal(proto, UDPCTL_NONE);
    b[2] = 1; /* reserved bytes must be zero */
    assert_int_equal(udpctl_parse(b, 148, UDPCTL_WIREGUARD, 0, &proto), UDPCTL_M_NONE);
    b[2] = 0, b[0] = 4;
    assert_int_equal(udpctl_parse(b, 32, UDPCTL_WIREGUARD, 1, &proto), UDPCTL_M_KEEPALIVE);
    assert_int_equal(udpctl_parse(b, 48, UDPCTL_WIREGUARD, 1, &proto), UDPCTL_M_DATA);
    assert_int_equal(udpctl_parse(b, 50, UDPCTL_WIREGUARD, 1, &proto), UDPCTL_M_NONE);
    /* OpenVPN's server reset from the client side is not a hello. */
    b[0] = 8 << 3;
    assert_int_equal(udpctl_parse(b, 40, UDPCTL_NONE, 0, &proto), UDPCTL_M_NONE);
    assert_int_equal(udpctl_parse(b, 40, UDPCTL_OPENVPN, 1, &proto), UDPCTL_M_REPLY);
    /* A QUIC long header cut before its connection ids. */
    b[0] = 0xc3, b[4] = 1, b[5] = 20;
    assert_int_equal(udpctl_parse(b, 20, UDPCTL_QUIC, 1, &proto), UDPCTL_M_NONE);
    assert_int_equal(udpctl_parse(NULL, 0, UDPCTL_NONE, 0, &proto), UDPCTL_M_NONE);
    assert_string_equal(udpctl_name(UDPCTL_WIREGUARD), "WireGuard");
    assert_null(udpctl_name(UDPCTL_NONE));
}

static void test_http_status(void **state)
{
    (void)state;
    assert_int_equal(session_http_status((const uint8_t *)"HTTP/1.1 101 Switching", 22), 101);
    assert_int_equal(session_http_status((const uint8_t *)"HTTP/1.0 302 ", 13), 302);
    assert_int_equal(session_http_status((const uint8_t *)"HTTP/1.1 10", 11), 0);
    assert_int_equal(session_http_status((const uint8_t *)"HTTP/1.1 1x1", 12), 0);
    assert_int_equal(session_http_status((const uint8_t *)"HTTP/2 200 OK", 13), 0);
    assert_int_equal(session_http_status(NULL, 0), 0);
    assert_string_equal(session_level_name(7), "probe");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_probes),       cmocka_unit_test(test_ssh_brute_force),
        cmocka_unit_test(test_ssh_grace),    cmocka_unit_test(test_ssh_midstream),
        cmocka_unit_test(test_notebook),     cmocka_unit_test(test_vnc),
        cmocka_unit_test(test_rdp),          cmocka_unit_test(test_udp),
        cmocka_unit_test(test_http_status),  cmocka_unit_test(test_wireguard),
        cmocka_unit_test(test_openvpn_quic), cmocka_unit_test(test_udpctl_parse),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
