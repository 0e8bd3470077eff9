/* scen.c -- sessions and the scenarios built from them.
 *
 * A session function scripts one conversation (SSH, TLS, Jupyter, RDP, DNS
 * or a bulk transfer) between two addresses from a start time, and hands
 * the flow to the scheduler, which owns it from then on. Scenarios place
 * sessions in time; sched_run() in main merges and writes them. Bulk flows
 * and the fleet/flood spawners produce their packets lazily through step
 * functions so that large captures stream.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "gen.h"

#define GPU1      "104.171.200.17"
#define GPU2      "104.171.201.9"
#define GPU3      "216.153.50.21" /* second GPU cloud */
#define CN1       "175.16.199.23"
#define CN2       "1.180.23.7"
#define HK1       "43.252.36.10"
#define HK2       "43.252.36.77"
#define TODESK_IP "47.103.28.9"
#define US1       "216.160.83.56"
#define EU1       "81.2.69.142"

#define OSS_SNI "llm-ckpt-7f3a.oss-cn-hangzhou.aliyuncs.com"
#define OSS_IP  "118.31.219.198"

static int is_local(const struct gen_addr *a)
{
    static const uint8_t v4[] = {104, 171}, v6[] = {0x26, 0x02, 0xfb, 0x17};
    return a->v6 ? !memcmp(a->b, v6, 4) : (!memcmp(a->b, v4, 2) && (a->b[2] & 0xfc) == 200);
}

/* Hosts on the mirrored segment show TTL 64; remote ones a few hops less. */
static void ep_make(struct gen *g, struct gen_ep *e, const struct gen_addr *a, uint16_t port)
{
    gen_ep_addr(e, a, port, 64);
    if (!is_local(a))
        e->ttl = (uint8_t)gen_range(&g->rng, 42, 57);
}

static struct gen_flow *flow_mk(struct gen *g, uint8_t proto, const char *cip, const char *sip,
                                uint16_t dport, const char *app, const char *host)
{
    struct gen_addr ca, sa;
    struct gen_ep c, s;
    gen_addr(&ca, cip);
    gen_addr(&sa, sip);
    ep_make(g, &c, &ca, (uint16_t)gen_range(&g->rng, 32768, 60999));
    ep_make(g, &s, &sa, dport);
    return flow_new(g, proto, &c, &s, app, host);
}

static uint64_t ms(struct gen *g, uint32_t lo, uint32_t hi)
{
    return gen_range(&g->rng, lo * 1000, hi * 1000);
}

/* ---- SSH --------------------------------------------------------------- */

struct ssh_opts {
    uint32_t rtt_c, rtt_s; /* microseconds */
    int keys;
    int idle_ms;      /* upper bound of think time between bursts */
    uint32_t extra_c; /* the client is a relay: its user is this much further */
};

/* TCP open, banners, KEXINIT both ways, ECDH, NEWKEYS both ways. Returns
 * the time of the client's NEWKEYS. */
static uint64_t ssh_kex(struct gen *g, struct gen_flow *f, uint64_t t)
{
    struct gen_rng *r = &g->rng;
    uint8_t *m = g->msg;
    t = tcp_open(f, t);
    uint64_t ts = tcp_send(f, GEN_S2C, tcp_reply(f, GEN_S2C, t), m, ssh_banner(m, 1));
    uint64_t tc = tcp_send(f, GEN_C2S, t + 150, m, ssh_banner(m, 0));
    tc = tcp_send(f, GEN_C2S, app_reply(f, GEN_C2S, ts) + 300, m, ssh_kexinit(m, r, 0));
    ts = tcp_send(f, GEN_S2C, tcp_reply(f, GEN_S2C, tc) + 200, m, ssh_kexinit(m, r, 1));
    tc = tcp_send(f, GEN_C2S, app_reply(f, GEN_C2S, ts) + 400, m, ssh_msg(m, r, 30, 36));
    ts = tcp_send(f, GEN_S2C, tcp_reply(f, GEN_S2C, tc) + 2500, m, ssh_kex_reply(m, r));
    ts = tcp_send(f, GEN_S2C, ts + 20, m, ssh_msg(m, r, 21, 0));
    return tcp_send(f, GEN_C2S, app_reply(f, GEN_C2S, ts) + 900, m, ssh_msg(m, r, 21, 0));
}

/* ssh_kex(), then the encrypted userauth/channel set-up. Returns when the
 * shell prompt has arrived. */
static uint64_t ssh_setup(struct gen *g, struct gen_flow *f, uint64_t t)
{
    struct gen_rng *r = &g->rng;
    uint8_t *m = g->msg;
    t = ssh_kex(g, f, t);
    static const int steps[][2] = {{44, 44}, {76, 44}, {44, 600}, {412, 36}, {112, 36}};
    for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
        t = tcp_send(f, GEN_C2S, t, m, ssh_packet(m, r, (size_t)steps[i][0] + 36));
        if (!steps[i][1])
            continue;
        t = tcp_send(f, GEN_S2C, tcp_reply(f, GEN_S2C, t) + 300, m,
                     ssh_packet(m, r, (size_t)steps[i][1] + 36));
        t = app_reply(f, GEN_C2S, t) + 500;
    }
    return tcp_send(f, GEN_S2C, t + 2000, m, ssh_packet(m, r, 1180));
}

/* One keystroke and its echo; returns the echo time. */
static uint64_t ssh_key(struct gen *g, struct gen_flow *f, uint64_t t, uint64_t next)
{
    static const uint8_t sizes[] = {36, 36, 36, 36, 44, 52};
    struct gen_rng *r = &g->rng;
    size_t n = sizes[gen_range(r, 0, sizeof(sizes) - 1)];
    tcp_send(f, GEN_C2S, t, g->msg, ssh_packet(g->msg, r, n));
    uint64_t e = tcp_reply(f, GEN_S2C, t) + gen_range(r, 80, 400);
    tcp_send(f, GEN_S2C, e, g->msg, ssh_packet(g->msg, r, n));
    if (next > tcp_reply(f, GEN_C2S, e) + 40000)
        tcp_ack(f, GEN_C2S, tcp_reply(f, GEN_C2S, e) + gen_range(r, 0, 2000));
    return e;
}

/* An interactive SSH session whose client delays what it sends by the
 * random amounts jit (everything) and beyond (its dependent answers:
 * a relay further back); either may be NULL (flow_jitter). */
static int ssh_session_jit(struct gen *g, const char *cip, const char *sip, uint64_t t,
                           const struct ssh_opts *o, const struct gen_jitter *jit,
                           const struct gen_jitter *beyond)
{
    struct gen_flow *f = flow_mk(g, 6, cip, sip, 22, "ssh", NULL);
    struct gen_rng *r = &g->rng;
    flow_rtt(f, o->rtt_c, o->rtt_s);
    f->extra[GEN_C2S] = o->extra_c;
    if (jit || beyond)
        flow_jitter(g, f, GEN_C2S, jit, beyond);
    t = ssh_setup(g, f, t) + ms(g, 800, 3000);
    for (int k = 0; k < o->keys;) {
        int burst = (int)gen_range(r, 5, 14);
        for (int i = 0; i < burst && k < o->keys; i++, k++) {
            uint64_t next = t + ms(g, 120, 300);
            ssh_key(g, f, t, next);
            t = next;
        }
        /* Enter: the command's output comes back as one burst. */
        uint64_t out = tcp_reply(f, GEN_S2C, t) + ms(g, 2, 60);
        size_t len = gen_range(r, 300, 24000);
        out = tcp_send(f, GEN_S2C, out, g->msg, ssh_packet(g->msg, r, len));
        t = out + f->rtt[GEN_C2S] + ms(g, 600, (uint32_t)o->idle_ms);
    }
    t = tcp_send(f, GEN_C2S, t, g->msg, ssh_packet(g->msg, r, 36));
    t = tcp_send(f, GEN_S2C, tcp_reply(f, GEN_S2C, t) + 500, g->msg, ssh_packet(g->msg, r, 148));
    tcp_close(f, GEN_S2C, t + 200);
    g->planned += f->nseg;
    return sched_add(g, f);
}

static int ssh_session(struct gen *g, const char *cip, const char *sip, uint64_t t,
                       const struct ssh_opts *o)
{
    return ssh_session_jit(g, cip, sip, t, o, NULL, NULL);
}

/* ---- TLS --------------------------------------------------------------- */

/* Handshake through both Finished messages; returns the time the client
 * can send application data. `sni` may be NULL; `cn` names the server. */
static uint64_t tls_handshake(struct gen *g, struct gen_flow *f, uint64_t t, const char *sni,
                              const char *cn)
{
    struct gen_rng *r = &g->rng;
    uint8_t *m = g->msg;
    t = tcp_send(f, GEN_C2S, t, m, tls_client_hello(m, r, sni));
    t = tcp_send(f, GEN_S2C, tcp_reply(f, GEN_S2C, t) + 400, m, tls_server_flight(m, r, cn));
    t = tcp_send(f, GEN_C2S, app_reply(f, GEN_C2S, t) + 900, m, tls_client_finish(m, r));
    t = tcp_send(f, GEN_S2C, tcp_reply(f, GEN_S2C, t) + 200, m, tls_server_finish(m, r));
    return app_reply(f, GEN_C2S, t) + 150;
}

static uint64_t tls_setup(struct gen *g, struct gen_flow *f, uint64_t t, const char *sni)
{
    return tls_handshake(g, f, tcp_open(f, t) + 120, sni, sni);
}

/* A request and a response of `len` bytes of records; returns the end. */
static uint64_t tls_exchange(struct gen *g, struct gen_flow *f, uint64_t t, size_t req, size_t len)
{
    t = tcp_send(f, GEN_C2S, t, g->msg, tls_appdata(g->msg, &g->rng, req));
    t = tcp_reply(f, GEN_S2C, t) + ms(g, 3, 40);
    while (len > 0) {
        size_t n = len > 60000 ? 60000 : len;
        size_t k = tls_appdata(g->msg, &g->rng, n);
        t = tcp_send(f, GEN_S2C, t, g->msg, k) + f->gap;
        len -= n;
    }
    return t;
}

/* Where the TLS client sits: its round trip from the sensor, and the extra
 * way to a user behind it when it is a relay. */
struct tls_opts {
    uint16_t port;
    uint32_t rtt_c, rtt_s, extra_c;
};

static int tls_session_at(struct gen *g, const char *cip, const char *sip, const char *sni,
                          uint64_t t, const struct tls_opts *o, int rounds)
{
    struct gen_flow *f = flow_mk(g, 6, cip, sip, o->port, "tls", sni);
    flow_rtt(f, o->rtt_c, o->rtt_s);
    f->extra[GEN_C2S] = o->extra_c;
    t = tls_setup(g, f, t, sni);
    for (int i = 0; i < rounds; i++) {
        t = tls_exchange(g, f, t, gen_range(&g->rng, 200, 900), gen_range(&g->rng, 400, 90000));
        t = app_reply(f, GEN_C2S, t) + ms(g, 200, 4000);
    }
    t = tcp_send(f, GEN_C2S, t, g->msg, tls_appdata(g->msg, &g->rng, 31));
    tcp_close(f, GEN_C2S, t + 50);
    g->planned += f->nseg;
    return sched_add(g, f);
}

/* The GPU-side client of most scenarios: 300 us from the sensor. */
static int tls_session(struct gen *g, const char *cip, const char *sip, const char *sni, uint64_t t,
                       uint32_t rtt_s, int rounds)
{
    struct tls_opts o = {443, 300, rtt_s, 0};
    return tls_session_at(g, cip, sip, sni, t, &o, rounds);
}

/* ---- Jupyter ----------------------------------------------------------- */

#define JUPYTER_SERVER "TornadoServer/6.4"
#define JUPYTER_TOKEN  "Authorization: token 3f9c2a7be41d8c06a5e2f19d7b30c4e8a61f2d95c07b8e43\r\n"
#define BROWSER_UA                                                                                 \
    "User-Agent: Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like "       \
    "Gecko) Chrome/122.0.0.0 Safari/537.36\r\n"

static uint64_t http_get(struct gen *g, struct gen_flow *f, uint64_t t, const char *path,
                         const char *extra, const char *ctype, size_t body)
{
    char hdr[512];
    snprintf(hdr, sizeof(hdr), "%s%sAccept: */*\r\nConnection: keep-alive\r\n", BROWSER_UA, extra);
    t = tcp_send(f, GEN_C2S, t, g->msg, http_request(g->msg, "GET", path, f->host, hdr));
    t = tcp_reply(f, GEN_S2C, t) + ms(g, 1, 15);
    size_t n = http_response(g->msg, &g->rng, 200, JUPYTER_SERVER, ctype, NULL, body);
    t = tcp_send(f, GEN_S2C, t, g->msg, n);
    return tcp_reply(f, GEN_C2S, t) + ms(g, 5, 300);
}

static int jupyter_http(struct gen *g, const char *cip, const char *sip, uint64_t t, uint32_t rtt_c)
{
    struct gen_flow *f = flow_mk(g, 6, cip, sip, 8888, "jupyter", NULL);
    snprintf(f->host, sizeof(f->host), "%s:8888", sip);
    flow_rtt(f, rtt_c, 200);
    t = tcp_open(f, t) + 300;
    t = http_get(g, f, t, "/lab", "", "text/html; charset=UTF-8", 24000);
    t = http_get(g, f, t, "/api/kernels", JUPYTER_TOKEN, "application/json", 310);
    t = http_get(g, f, t, "/api/sessions", JUPYTER_TOKEN, "application/json", 620);
    t = http_get(g, f, t, "/api/contents?type=directory", JUPYTER_TOKEN, "application/json", 2100);
    tcp_close(f, GEN_C2S, t + ms(g, 1000, 5000));
    g->planned += f->nseg;
    return sched_add(g, f);
}

static uint64_t ws_upgrade(struct gen *g, struct gen_flow *f, uint64_t t)
{
    static const char path[] = "/api/kernels/5d0f6b1e-8c3a-4f2e-9b7d-2a61c9e04f13/channels"
                               "?session_id=b7e2c4a9-13f5-4d8e-a6c0-9f1e2d3b4a57";
    char hdr[768];
    snprintf(hdr, sizeof(hdr),
             "%sUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"
             "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n%s",
             BROWSER_UA, JUPYTER_TOKEN);
    t = tcp_send(f, GEN_C2S, t, g->msg, http_request(g->msg, "GET", path, f->host, hdr));
    size_t n = http_response(g->msg, &g->rng, 101, JUPYTER_SERVER, "text/plain",
                             "Upgrade: websocket\r\nConnection: Upgrade\r\n"
                             "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n",
                             0);
    t = tcp_send(f, GEN_S2C, tcp_reply(f, GEN_S2C, t) + 2000, g->msg, n);
    return tcp_reply(f, GEN_C2S, t) + ms(g, 50, 500);
}

/* One cell execution: the request, then busy, input, output, reply, idle. */
static uint64_t ws_execute(struct gen *g, struct gen_flow *f, uint64_t t)
{
    static const char *const replies[] = {
        "{\"header\":{\"msg_type\":\"status\"},\"content\":{\"execution_state\":\"busy\"}}",
        "{\"header\":{\"msg_type\":\"execute_input\"},\"content\":{\"execution_count\":7}}",
        ("{\"header\":{\"msg_type\":\"stream\"},\"content\":{\"name\":\"stdout\",\"text\":"
         "\"epoch 3 step 1200 loss 1.8321 lr 2.0e-4 tok/s 48211\\n\"}}"),
        "{\"header\":{\"msg_type\":\"execute_reply\"},\"content\":{\"status\":\"ok\"}}",
        "{\"header\":{\"msg_type\":\"status\"},\"content\":{\"execution_state\":\"idle\"}}"};
    t = tcp_send(f, GEN_C2S, t, g->msg,
                 ws_frame(g->msg, &g->rng, 1,
                          "{\"header\":{\"msg_type\":\"execute_request\",\"session\":"
                          "\"b7e2c4a9\"},\"content\":{\"code\":\"trainer.train()\","
                          "\"silent\":false,\"store_history\":true}}"));
    t = tcp_reply(f, GEN_S2C, t) + ms(g, 1, 5);
    for (size_t i = 0; i < sizeof(replies) / sizeof(replies[0]); i++)
        t = tcp_send(f, GEN_S2C, t + ms(g, 1, 300), g->msg,
                     ws_frame(g->msg, &g->rng, 0, replies[i]));
    return t;
}

static int jupyter_ws(struct gen *g, const char *cip, const char *sip, uint64_t t, uint32_t rtt_c,
                      int cells)
{
    struct gen_flow *f = flow_mk(g, 6, cip, sip, 8888, "jupyter", NULL);
    snprintf(f->host, sizeof(f->host), "%s:8888", sip);
    flow_rtt(f, rtt_c, 200);
    t = ws_upgrade(g, f, tcp_open(f, t) + 300);
    for (int i = 0; i < cells; i++)
        t = tcp_reply(f, GEN_C2S, ws_execute(g, f, t)) + ms(g, 1500, 9000);
    tcp_close(f, GEN_C2S, t);
    g->planned += f->nseg;
    return sched_add(g, f);
}

static int jupyter_session(struct gen *g, const char *cip, const char *sip, uint64_t t,
                           uint32_t rtt_c, int cells)
{
    if (jupyter_http(g, cip, sip, t, rtt_c) < 0)
        return -1;
    return jupyter_ws(g, cip, sip, t + 2 * GEN_SEC, rtt_c, cells);
}

/* ---- RDP --------------------------------------------------------------- */

static int rdp_session(struct gen *g, const char *cip, const char *sip, uint64_t t, uint32_t rtt_c,
                       int seconds)
{
    struct gen_flow *f = flow_mk(g, 6, cip, sip, 3389, "rdp", NULL);
    struct gen_rng *r = &g->rng;
    uint8_t *m = g->msg;
    flow_rtt(f, rtt_c, 300);
    t = tcp_open(f, t) + 200;
    t = tcp_send(f, GEN_C2S, t, m, rdp_connect_request(m, "administrator"));
    t = tcp_send(f, GEN_S2C, tcp_reply(f, GEN_S2C, t) + 800, m, rdp_connect_confirm(m));
    uint64_t end = t + (uint64_t)seconds * GEN_SEC;
    t = tls_handshake(g, f, tcp_reply(f, GEN_C2S, t) + 1000, NULL, "GPU-WIN-01");
    while (t < end) {
        t = tcp_send(f, GEN_C2S, t, m, tls_appdata(m, r, gen_range(r, 40, 120)));
        t = tcp_reply(f, GEN_S2C, t) + ms(g, 5, 30);
        t = tcp_send(f, GEN_S2C, t, m, tls_appdata(m, r, gen_range(r, 200, 9000)));
        t = tcp_reply(f, GEN_C2S, t) + ms(g, 20, 400);
    }
    tcp_close(f, GEN_C2S, t);
    g->planned += f->nseg;
    return sched_add(g, f);
}

/* ---- DNS --------------------------------------------------------------- */

static int dns_lookup(struct gen *g, const char *cip, const char *sip, const char *name,
                      uint16_t qtype, uint64_t t, uint32_t rtt_s)
{
    struct gen_flow *f = flow_mk(g, 17, cip, sip, 53, "dns", name);
    uint16_t id = (uint16_t)gen_rand(&g->rng);
    udp_send(f, GEN_C2S, t, g->msg, dns_query(g->msg, id, name, qtype));
    udp_send(f, GEN_S2C, t + rtt_s + gen_range(&g->rng, 100, 3000), g->msg,
             dns_response(g->msg, &g->rng, id, name, qtype));
    g->planned += 2;
    return sched_add(g, f);
}

/* ---- Bulk transfers ---------------------------------------------------- */

/* A sender streaming paced MSS segments (the pace is what the receive
 * window allows over the round trip), the receiver ACKing every second
 * one. Each step covers one window of time. */
struct bulk {
    int snd;
    uint64_t nseg, di, ai, t0;
    uint64_t gap_ns;
    uint32_t last_len;
};

#define BULK_WINDOW (20 * GEN_MS)

static uint64_t bulk_time(const struct gen_flow *f, const struct bulk *b, uint64_t i)
{
    uint64_t jitter = ((i * 0x9e3779b97f4a7c15ULL) ^ f->hash) % (b->gap_ns / 2000 + 1);
    return b->t0 + i * b->gap_ns / 1000 + jitter;
}

static void bulk_data(struct gen *g, struct gen_flow *f, struct bulk *b, uint64_t end)
{
    while (b->di < b->nseg && bulk_time(f, b, b->di) < end) {
        int last = b->di + 1 == b->nseg;
        struct gen_seg *s =
            flow_seg(f, bulk_time(f, b, b->di), b->snd, last || b->di % 11 == 10 ? TCP_PSH : 0);
        s->len = last ? b->last_len : f->mss;
        s->filler = 1;
        s->off = gen_range(&g->rng, 0, GEN_POOL - 1) & ~1u;
        b->di++;
    }
}

static uint64_t bulk_acks(struct gen_flow *f, struct bulk *b, uint64_t end)
{
    uint64_t t = 0;
    while (b->ai < b->nseg) {
        t = bulk_time(f, b, b->ai) + f->rtt[!b->snd];
        if (t >= end)
            break;
        tcp_ack(f, !b->snd, t);
        b->ai = b->ai + 1 == b->nseg ? b->nseg : b->ai + 2 < b->nseg ? b->ai + 2 : b->nseg - 1;
    }
    return t;
}

static int bulk_step(struct gen *g, struct gen_flow *f)
{
    struct bulk *b = f->st;
    uint64_t end = f->timer + BULK_WINDOW;
    bulk_data(g, f, b, end);
    uint64_t t = bulk_acks(f, b, end);
    if (b->ai < b->nseg) {
        f->timer = end;
        return 1;
    }
    tcp_close(f, b->snd, (t > f->timer ? t : f->timer) + ms(g, 1, 20));
    return 0;
}

struct bulk_opts {
    const char *sni;
    uint64_t bytes;
    int upload; /* the client (who opened the flow) sends */
    uint32_t rtt_c, rtt_s;
    uint32_t snaplen;
};

static int bulk_session(struct gen *g, const char *cip, const char *sip, uint64_t t,
                        const struct bulk_opts *o)
{
    struct gen_flow *f = flow_mk(g, 6, cip, sip, 443, "bulk", o->sni);
    struct bulk *b = calloc(1, sizeof(*b));
    if (!b) {
        flow_free(f);
        return gen_err(g, "out of memory");
    }
    f->st = b;
    f->snaplen = o->snaplen;
    flow_rtt(f, o->rtt_c, o->rtt_s);
    t = tls_setup(g, f, t, o->sni);
    b->snd = o->upload ? GEN_C2S : GEN_S2C;
    if (!o->upload)
        t = tcp_reply(f, GEN_S2C,
                      tcp_send(f, GEN_C2S, t, g->msg, tls_appdata(g->msg, &g->rng, 420))) +
            ms(g, 2, 30);
    f->win[!b->snd] = (uint16_t)gen_range(&g->rng, 12000, 24000); /* x128: 1.5-3 MB */
    uint64_t rtt = (uint64_t)o->rtt_c + o->rtt_s;
    uint64_t wnd = (uint64_t)f->win[!b->snd] << 7;
    b->gap_ns = f->mss * rtt * 1000 / wnd;
    if (b->gap_ns < 1200)
        b->gap_ns = 1200 + gen_range(&g->rng, 0, 6000); /* 1-10 Gb/s */
    b->nseg = (o->bytes + f->mss - 1) / f->mss;
    b->last_len = (uint32_t)(o->bytes - (b->nseg - 1) * f->mss);
    b->ai = b->nseg > 1 ? 1 : 0;
    b->t0 = t;
    f->timer = t;
    f->step = bulk_step;
    g->planned += f->nseg + b->nseg + b->nseg / 2 + 3;
    return sched_add(g, f);
}

/* ---- Scenarios --------------------------------------------------------- */

static uint32_t snaplen_or(const struct gen *g, uint32_t dflt)
{
    return g->snaplen ? g->snaplen : dflt;
}

static int scen_ssh(struct gen *g)
{
    struct ssh_opts o = {180000, 2000, 60, 6000, 0};
    return ssh_session(g, CN1, GPU1, GEN_START_US, &o);
}

static const char *const tls_snis[][2] = {{"download.pytorch.org", "18.160.10.97"},
                                          {"cdn-lfs.huggingface.co", "18.155.68.112"},
                                          {"api.openai.com", "162.159.140.245"},
                                          {"oss-cn-hangzhou.aliyuncs.com", OSS_IP}};

static int scen_tls(struct gen *g)
{
    static const uint32_t rtt[] = {3000, 4000, 12000, 190000};
    for (int i = 0; i < 4; i++)
        if (tls_session(g, GPU1, tls_snis[i][1], tls_snis[i][0],
                        GEN_START_US + (uint64_t)i * 1500 * GEN_MS, rtt[i], 3) < 0)
            return -1;
    return 0;
}

static int scen_http_jupyter(struct gen *g)
{
    return jupyter_session(g, CN2, GPU1, GEN_START_US, 175000, 30);
}

static int scen_rdp(struct gen *g)
{
    return rdp_session(g, CN1, GPU3, GEN_START_US, 185000, 40);
}

/* A relay 1 ms from the sensor (43.252.36.0/24, Malaysia in the geo data,
 * no hosting category) carries a user in mainland China: the handshake
 * round trip is the relay's, every exchange that needs the user carries
 * the way beyond it. relay-ssh and relay-tls draw that way (relay_kl_extra)
 * and the manifest says what was drawn (extra_c_us), which
 * tests/system/control_sessions.sh compares with the records. */
#define RELAY_RTT_US 1000

/* The extra round trip from a relay in Kuala Lumpur to a user in Guangzhou,
 * Chengdu, Wuhan, Shanghai or Beijing: the great-circle distance (2,548,
 * 3,060, 3,328, 3,749 and 4,348 km) at ~100 km of fibre per ms of round
 * trip, times a path factor drawn over 1.5-2 (real routes against the great
 * circle, JA4L; both in detection-notes.md): 38-87 ms. */
static uint32_t relay_kl_extra(struct gen *g)
{
    static const uint32_t km[] = {2548, 3060, 3328, 3749, 4348};
    uint32_t d = km[gen_range(&g->rng, 0, sizeof(km) / sizeof(km[0]) - 1)];
    return d * gen_range(&g->rng, 1500, 2000) / 100; /* us */
}

/* Keystrokes of a short interactive session, log-uniform over 20-150. The
 * interactive SSH sessions of nDPI's ssh.pcap (real traffic; measured by
 * tests/system/thresholds_corpus.sh) carry 23 and 28 keystrokes, a command
 * or two; interactive connections' sizes are heavy-tailed (Paxson,
 * "Empirically-Derived Analytic Models of Wide-Area TCP Connections",
 * IEEE/ACM ToN 1994: TELNET originator bytes), so a few run to hundreds.
 * The least draw still passes the 16-packet bound of an established SSH
 * session (docs/rules.md) by 10 packets each way. */
static int session_keys(struct gen *g)
{
    double u = gen_range(&g->rng, 0, 1000000) / 1e6;
    return (int)(20.0 * pow(150.0 / 20.0, u));
}

/* The way beyond a relay varies per exchange as a stable path's round trip
 * does: exponential, mean 1.4 ms, at most 6.6 ms (the median and p99 over
 * the minimum in CalcuLatency's data, detection-notes.md). */
static const struct gen_jitter relay_beyond = {GEN_JIT_EXP, 1400, 6600};

static int scen_relay_ssh(struct gen *g)
{
    struct ssh_opts o = {RELAY_RTT_US, 2000, 0, 5000, relay_kl_extra(g)};
    o.keys = session_keys(g);
    return ssh_session_jit(g, HK1, GPU1, GEN_START_US, &o, NULL, &relay_beyond);
}

static int scen_relay_tls(struct gen *g)
{
    struct tls_opts o = {443, RELAY_RTT_US, 2000, relay_kl_extra(g)};
    return tls_session_at(g, HK2, GPU1, "jupyter-7f3a9c.lambdaspaces.com", GEN_START_US, &o, 6);
}

/* A GPU host running ToDesk: it looks the service up and holds a TLS
 * session to it; next to it, a name that only contains the word. */
static int scen_todesk(struct gen *g)
{
    uint64_t t = GEN_START_US;
    struct tls_opts o = {443, 300, 38000, 0};
    int rc =
        dns_lookup(g, GPU1, "114.114.114.114", "api.todesk.com", 1, t, 160000) ||
        tls_session_at(g, GPU1, TODESK_IP, "api.todesk.com", t + 200 * GEN_MS, &o, 4) ||
        tls_session(g, GPU1, "198.51.100.80", "evil-todesk.com.example", t + 3 * GEN_SEC, 90000, 2);
    return rc ? -1 : 0;
}

/* A Kubernetes API on the GPU host: kubectl over TLS to 6443, and the same
 * API in clear through `kubectl proxy` on 8001. */
static int k8s_http(struct gen *g, const char *cip, const char *sip, uint64_t t, uint32_t rtt_c)
{
    static const char *const paths[] = {"/api/v1/namespaces/default/pods",
                                        "/apis/apps/v1/namespaces/default/deployments"};
    struct gen_flow *f = flow_mk(g, 6, cip, sip, 8001, "http", NULL);
    snprintf(f->host, sizeof(f->host), "%s:8001", sip);
    flow_rtt(f, rtt_c, 200);
    t = tcp_open(f, t) + 300;
    for (int i = 0; i < 2; i++) {
        t = tcp_send(f, GEN_C2S, t, g->msg,
                     http_request(g->msg, "GET", paths[i], f->host,
                                  "User-Agent: kubectl/v1.29.2 (linux/amd64) kubernetes/4b8e819\r\n"
                                  "Accept: application/json\r\n"));
        size_t n = http_response(g->msg, &g->rng, 200, "kube-apiserver", "application/json", NULL,
                                 gen_range(&g->rng, 800, 6000));
        t = tcp_send(f, GEN_S2C, tcp_reply(f, GEN_S2C, t) + ms(g, 1, 10), g->msg, n);
        t = tcp_reply(f, GEN_C2S, t) + ms(g, 100, 900);
    }
    tcp_close(f, GEN_C2S, t);
    g->planned += f->nseg;
    return sched_add(g, f);
}

static int scen_k8s(struct gen *g)
{
    struct tls_opts o = {6443, 42000, 200, 0};
    int rc = tls_session_at(g, US1, GPU1, "k8s-api.gpu-cluster.example.net", GEN_START_US, &o, 5) ||
             k8s_http(g, US1, GPU1, GEN_START_US + 4 * GEN_SEC, 42000);
    return rc ? -1 : 0;
}

static int scen_dns(struct gen *g)
{
    static const char *const names[] = {"pypi.tuna.tsinghua.edu.cn", "hf-mirror.com",
                                        "download.pytorch.org", "cdn-lfs.huggingface.co",
                                        "mirrors.aliyun.com"};
    uint64_t t = GEN_START_US;
    for (int i = 0; i < 5; i++) {
        int cn = i % 2;
        const char *res = cn ? "114.114.114.114" : "8.8.8.8";
        for (uint16_t q = 1; q <= 28; q += 27, t += ms(g, 5, 900))
            if (dns_lookup(g, GPU1, res, names[i], q, t, cn ? 160000 : 4000) < 0)
                return -1;
    }
    return 0;
}

static int scen_bulk(struct gen *g)
{
    uint64_t up = g->packets ? g->packets * 2 / 3 * 1448 : 170ULL << 20;
    struct bulk_opts o = {OSS_SNI, up, 1, 150, 185000, snaplen_or(g, 96)};
    if (bulk_session(g, GPU1, OSS_IP, GEN_START_US, &o) < 0)
        return -1;
    struct bulk_opts d = {"cdn-lfs.huggingface.co", 6 << 20, 0, 150, 4000, o.snaplen};
    return bulk_session(g, GPU1, "18.155.68.112", GEN_START_US + 2 * GEN_SEC, &d);
}

/* The README sample: a few minutes of one GPU host's mirror port. */
static int sample_control(struct gen *g, uint64_t t0)
{
    struct ssh_opts cn = {180000, 2000, 60, 6000, 0}, hk = {38000, 2000, 30, 4000, 0};
    struct ssh_opts us = {42000, 2000, 25, 5000, 0};
    int rc =
        ssh_session(g, CN1, GPU1, t0 + 4 * GEN_SEC, &cn) ||
        ssh_session(g, HK1, GPU1, t0 + 31 * GEN_SEC, &hk) ||
        ssh_session(g, US1, GPU1, t0 + 12 * GEN_SEC, &us) ||
        jupyter_session(g, CN2, GPU1, t0 + 48 * GEN_SEC, 175000, 24) ||
        rdp_session(g, CN1, GPU2, t0 + 70 * GEN_SEC, 185000, 45) ||
        tls_session(g, EU1, GPU1, "notebook.cloud.lambdalabs.com", t0 + 20 * GEN_SEC, 85000, 6);
    return rc ? -1 : 0;
}

static int sample_dns(struct gen *g, uint64_t t0)
{
    static const char *const names[] = {"download.pytorch.org", "cdn-lfs.huggingface.co",
                                        "pypi.tuna.tsinghua.edu.cn", "hf-mirror.com", OSS_SNI};
    static const uint32_t at[] = {1, 2, 9, 40, 139};
    for (int i = 0; i < 5; i++) {
        int cn = i >= 2;
        if (dns_lookup(g, GPU1, cn ? "114.114.114.114" : "8.8.8.8", names[i], 1,
                       t0 + at[i] * GEN_SEC, cn ? 160000 : 4000) < 0)
            return -1;
    }
    return 0;
}

static int scen_sample(struct gen *g)
{
    uint64_t t0 = GEN_START_US;
    uint32_t snap = snaplen_or(g, g->vni ? 146 : 96);
    struct bulk_opts pt = {"download.pytorch.org", 3 << 20, 0, 150, 3000, snap};
    struct bulk_opts hf = {"cdn-lfs.huggingface.co", 8 << 20, 0, 150, 4000, snap};
    struct bulk_opts oss = {OSS_SNI, 24 << 20, 1, 150, 185000, snap};
    if (sample_dns(g, t0) < 0 || sample_control(g, t0) < 0)
        return -1;
    int rc = bulk_session(g, GPU1, "18.160.10.97", t0 + 1100 * GEN_MS, &pt) ||
             bulk_session(g, GPU1, "18.155.68.112", t0 + 2200 * GEN_MS, &hf) ||
             bulk_session(g, GPU1, OSS_IP, t0 + 140 * GEN_SEC, &oss);
    return rc ? -1 : 0;
}

static int scen_vxlan(struct gen *g)
{
    g->vni = 4242;
    return scen_sample(g);
}

static int scen_vlan_ipv6(struct gen *g)
{
    static const char gpu[] = "2602:fb17:200::17", cn[] = "240e:3a1:4c5:1::25";
    struct ssh_opts o = {180000, 2000, 30, 4000, 0};
    struct bulk_opts b = {"cdn-lfs.huggingface.co", 16 << 20, 0, 150, 4000, snaplen_or(g, 96)};
    uint64_t t0 = GEN_START_US;
    g->vlan = 120;
    int rc = ssh_session(g, cn, gpu, t0, &o) ||
             tls_session(g, gpu, "2600:9000:2345:7a00:1b:5a1c:8a40:93a1", "download.pytorch.org",
                         t0 + 3 * GEN_SEC, 3000, 2) ||
             tls_session(g, gpu, "2400:3200:2000:41::1", "oss-cn-hangzhou.aliyuncs.com",
                         t0 + 5 * GEN_SEC, 190000, 2) ||
             bulk_session(g, gpu, "2600:9000:2345:3c00:1b:5a1c:8a40:93a1", t0 + 8 * GEN_SEC, &b);
    return rc ? -1 : 0;
}

/* ---- Spawners: fleet and flood ------------------------------------------ */

static void rand_public(struct gen *g, struct gen_addr *a, const uint8_t *prefix, int plen)
{
    memset(a, 0, sizeof(*a));
    uint32_t v = (uint32_t)gen_rand(&g->rng);
    for (int i = 0; i < 4; i++)
        a->b[i] = i < plen ? prefix[i] : (uint8_t)(v >> (8 * i));
    if (plen == 0) {
        a->b[0] = (uint8_t)gen_range(&g->rng, 1, 223);
        if (a->b[0] == 10 || a->b[0] == 127 || a->b[0] == 100 || a->b[0] == 172)
            a->b[0] = 45;
    }
    if (a->b[3] == 0 || a->b[3] == 255)
        a->b[3] = 7;
}

static void addr_str(const struct gen_addr *a, char *out, size_t len)
{
    snprintf(out, len, "%u.%u.%u.%u", a->b[0], a->b[1], a->b[2], a->b[3]);
}

static void fleet_hosts(struct gen *g, char *gpu, char *peer, size_t len)
{
    static const uint8_t gpu_net[] = {104, 171, 200},
                         peers[][2] = {{18, 155}, {52, 217}, {34, 117}, {47, 96},
                                       {118, 31}, {3, 5},    {104, 18}, {185, 199}};
    struct gen_addr a;
    rand_public(g, &a, gpu_net, 3);
    a.b[2] = (uint8_t)(200 + gen_range(&g->rng, 0, 3));
    addr_str(&a, gpu, len);
    rand_public(g, &a, peers[gen_range(&g->rng, 0, 7)], 2);
    addr_str(&a, peer, len);
}

static int fleet_control(struct gen *g, uint64_t t, const char *gpu, const char *peer)
{
    static const char *const snis[] = {"download.pytorch.org", "cdn-lfs.huggingface.co",
                                       "api.openai.com", "files.pythonhosted.org"};
    struct ssh_opts o = {gen_range(&g->rng, 20000, 190000), 2000, (int)gen_range(&g->rng, 6, 20),
                         1500, 0};
    switch (gen_range(&g->rng, 0, 2)) {
    case 0:
        return ssh_session(g, peer, gpu, t, &o);
    case 1:
        return tls_session(g, gpu, peer, snis[gen_range(&g->rng, 0, 3)], t,
                           gen_range(&g->rng, 2000, 90000), 2);
    default:
        return jupyter_ws(g, peer, gpu, t, gen_range(&g->rng, 20000, 190000), 3);
    }
}

static int fleet_bulk(struct gen *g, uint64_t t, const char *gpu, const char *peer)
{
    static const char *const snis[] = {"cdn-lfs.huggingface.co", "s3.us-west-2.amazonaws.com",
                                       "storage.googleapis.com", OSS_SNI, "download.pytorch.org"};
    double lo = log(2000.0), hi = log(60000.0);
    double segs = exp(lo + (hi - lo) * (double)gen_range(&g->rng, 0, 1000000) / 1e6);
    struct bulk_opts o = {snis[gen_range(&g->rng, 0, 4)],  (uint64_t)segs * 1448,
                          (int)gen_range(&g->rng, 0, 1),   150,
                          gen_range(&g->rng, 1000, 90000), snaplen_or(g, 96)};
    return bulk_session(g, gpu, peer, t, &o);
}

/* The spawner is a flow without packets: each step starts one session at
 * its timer and moves the timer on, until the packet budget is promised.
 * Control sessions are kept near 2% of the packets. */
struct spawner {
    uint64_t budget, ctl;
    int (*spawn)(struct gen *g, struct spawner *s, uint64_t t);
    uint32_t mean_us;
};

static int fleet_spawn(struct gen *g, struct spawner *s, uint64_t t)
{
    char gpu[32], peer[32];
    fleet_hosts(g, gpu, peer, sizeof(gpu));
    if (s->ctl * 50 < g->planned) {
        uint64_t before = g->planned;
        int rc = fleet_control(g, t, gpu, peer);
        s->ctl += g->planned - before;
        return rc;
    }
    return fleet_bulk(g, t, gpu, peer);
}

static int flood_spawn(struct gen *g, struct spawner *s, uint64_t t)
{
    struct gen_addr src, dst;
    struct gen_ep c, d;
    rand_public(g, &src, NULL, 0);
    gen_addr(&dst, GPU1);
    gen_ep_addr(&c, &src, (uint16_t)gen_range(&g->rng, 1024, 65535),
                (uint8_t)gen_range(&g->rng, 40, 250));
    gen_ep_addr(&d, &dst, (uint16_t)(1 + (s->ctl++ % 1024)), 64);
    struct gen_flow *f = flow_new(g, 6, &c, &d, "syn", NULL);
    flow_seg(f, t, GEN_C2S, TCP_SYN);
    g->planned++;
    return sched_add(g, f);
}

/* A port scan from many sources: each probe is a SYN from a random
 * public address to the next port of one of 1024 hosts of 10.20.0.0/22,
 * answered by a RST (closed port), as a horizontal-and-vertical scan. */
static int scan_spawn(struct gen *g, struct spawner *s, uint64_t t)
{
    struct gen_addr src, dst;
    struct gen_ep c, d;
    char host[32];
    uint64_t n = s->ctl++;
    snprintf(host, sizeof(host), "10.20.%u.%u", (unsigned)(n >> 8) % 4, (unsigned)n % 256);
    rand_public(g, &src, NULL, 0);
    gen_addr(&dst, host);
    gen_ep_addr(&c, &src, (uint16_t)gen_range(&g->rng, 1024, 65535),
                (uint8_t)gen_range(&g->rng, 40, 250));
    gen_ep_addr(&d, &dst, (uint16_t)(1 + (n >> 10) % 65535), 64);
    struct gen_flow *f = flow_new(g, 6, &c, &d, "scan", NULL);
    flow_seg(f, t, GEN_C2S, TCP_SYN);
    flow_seg(f, t + 300, GEN_S2C, TCP_RST | TCP_ACK);
    g->planned += 2;
    return sched_add(g, f);
}

static int spawner_step(struct gen *g, struct gen_flow *f)
{
    struct spawner *s = f->st;
    if (g->planned >= s->budget)
        return 0;
    if (s->spawn(g, s, f->timer) < 0)
        return -1;
    double u = ((double)gen_range(&g->rng, 1, 1000000)) / 1e6;
    f->timer += (uint64_t)(-log(u) * s->mean_us) + 1;
    return 1;
}

static int spawner_start(struct gen *g, uint64_t budget, uint32_t mean_us,
                         int (*spawn)(struct gen *, struct spawner *, uint64_t))
{
    struct gen_ep none;
    memset(&none, 0, sizeof(none));
    struct gen_flow *f = flow_new(g, 0, &none, &none, NULL, NULL);
    struct spawner *s = calloc(1, sizeof(*s));
    if (!s) {
        flow_free(f);
        return gen_err(g, "out of memory");
    }
    *s = (struct spawner){budget, 0, spawn, mean_us};
    f->st = s;
    f->step = spawner_step;
    f->timer = GEN_START_US;
    return sched_add(g, f);
}

static int scen_fleet(struct gen *g)
{
    return spawner_start(g, g->packets ? g->packets : 2000000, 15000, fleet_spawn);
}

static int scen_flood(struct gen *g)
{
    return spawner_start(g, g->packets ? g->packets : 100000, 20, flood_spawn);
}

/* ---- Detection-rule scenarios (tests/system/rules_*.sh) ----------------- */

#define RULES_HK_CLOUD "8.210.37.5"    /* HK, Alibaba Cloud (china_cloud) */
#define RULES_US_VPS   "45.76.12.34"   /* US, Vultr (hosting) */
#define RULES_GPU4     "209.20.156.33" /* Lambda */
#define RULES_GPU5     "192.222.50.14" /* Lambda */
#define RULES_DAY      (24ULL * 3600ULL * GEN_SEC)

/* A short interactive SSH session: direct (extra 0) or through a relay. */
static int rules_ssh(struct gen *g, const char *cip, const char *sip, uint64_t t, uint32_t rtt_c,
                     uint32_t extra_c)
{
    struct ssh_opts o = {rtt_c, 2000, 0, 1500, extra_c};
    o.keys = session_keys(g);
    return ssh_session(g, cip, sip, t, &o);
}

/* relay_control and proxy_latency: SSH to a GPU host from an Alibaba
 * Cloud address in Hong Kong, 1 ms from the sensor, the user 35-70 ms
 * beyond it (Hong Kong to Shanghai, Beijing or Chengdu; a user in
 * Shenzhen, 5-10 ms away, is proxy_latency's blind spot). */
static int scen_rules_relay(struct gen *g)
{
    return rules_ssh(g, RULES_HK_CLOUD, GPU1, GEN_START_US, RELAY_RTT_US,
                     gen_range(&g->rng, 35000, 70000));
}

/* Near misses: a US VPS relaying a user in the same metro, 2-12 ms extra
 * (not a relay country; under proxy_latency_ms, and within the p99 of
 * handshake jitter plus a congested home line), and plain HTTPS (no
 * control) from the Hong Kong cloud address. */
static int scen_rules_relay_miss(struct gen *g)
{
    struct tls_opts o = {443, RELAY_RTT_US, 2000, 0};
    int rc =
        rules_ssh(g, RULES_US_VPS, GPU1, GEN_START_US, RELAY_RTT_US,
                  gen_range(&g->rng, 2000, 12000)) ||
        tls_session_at(g, RULES_HK_CLOUD, GPU1, "www.example.com", GEN_START_US + GEN_SEC, &o, 3);
    return rc ? -1 : 0;
}

static const char *const rules_gpus[] = {GPU1, GPU2, GPU3, RULES_GPU4, RULES_GPU5};

/* reseller_fanout: one controller in China drives 8-16 GPU hosts (the
 * five of rules_gpus, then Lambda hosts) at times drawn over a few hours,
 * 150-220 ms away: 1.6-3.2 times fanout_hosts, while the corpus's busiest
 * controller reaches 2 hosts (thresholds_corpus.sh). */
static int scen_rules_fanout(struct gen *g)
{
    int n = (int)gen_range(&g->rng, 8, 16);
    uint64_t t = GEN_START_US;
    char gpu[32];
    for (int i = 0; i < n; i++) {
        if (i < 5)
            snprintf(gpu, sizeof(gpu), "%s", rules_gpus[i]);
        else
            snprintf(gpu, sizeof(gpu), "104.171.201.%d", 100 + i);
        if (rules_ssh(g, CN2, gpu, t, gen_range(&g->rng, 150000, 220000), 0) < 0)
            return -1;
        t += ms(g, 30000, 1200000);
    }
    return 0;
}

/* Near miss at a window edge: 5-8 hosts of rules_gpus and Lambda's range,
 * 2-4 of them in the three hours before midnight UTC and the rest (1-4) in
 * the three hours after, where the 24 h windows meet: together as many as
 * or more than fanout_hosts, each window under it. */
static int scen_rules_fanout_edge(struct gen *g)
{
    uint64_t midnight = (GEN_START_US / RULES_DAY + 1) * RULES_DAY;
    int before = (int)gen_range(&g->rng, 2, 4), after = (int)gen_range(&g->rng, 5 - before, 4);
    char gpu[32];
    for (int i = 0; i < before + after; i++) {
        uint64_t t = i < before ? midnight - ms(g, 60000, 3 * 3600 * 1000)
                                : midnight + ms(g, 0, 3 * 3600 * 1000);
        if (i < 5)
            snprintf(gpu, sizeof(gpu), "%s", rules_gpus[i]);
        else
            snprintf(gpu, sizeof(gpu), "104.171.201.%d", 100 + i);
        if (rules_ssh(g, CN2, gpu, t, gen_range(&g->rng, 150000, 220000), 0) < 0)
            return -1;
    }
    return 0;
}

/* shared_access_fanin: one GPU host controlled from three networks in
 * China, one in Hong Kong, from the US and the UK, and from 3-8 more
 * networks of Chinese carriers (customers of one resold account), at
 * times drawn over a few hours: 9-14 networks, 1.5-2.3 times
 * fanin_networks, while every host of the corpus has one controlling
 * network (thresholds_corpus.sh). */
static int scen_rules_fanin(struct gen *g)
{
    static const char *const who[] = {CN1, CN2, "36.112.10.3", "8.210.38.9", US1, EU1};
    static const uint32_t rtt[] = {180000, 170000, 175000, 38000, 42000, 85000};
    int more = (int)gen_range(&g->rng, 3, 8);
    uint64_t t = GEN_START_US;
    char ip[32];
    for (int i = 0; i < 6 + more; i++) {
        if (i < 6 && rules_ssh(g, who[i], GPU3, t, rtt[i], 0) < 0)
            return -1;
        snprintf(ip, sizeof(ip), "36.112.%d.%d", 40 + i, 10 + i);
        if (i >= 6 && rules_ssh(g, ip, GPU3, t, gen_range(&g->rng, 150000, 220000), 0) < 0)
            return -1;
        t += ms(g, 20000, 900000);
    }
    return 0;
}

/* Benign: a CI fleet of 12-30 AWS addresses in the US (an autoscaling
 * runner pool: each job on a fresh instance) drives one GPU host over
 * SSH, 8-70 ms away, a job every 3-60 s. */
static int scen_rules_ci_fleet(struct gen *g)
{
    static const uint8_t nets[][3] = {{3, 14, 20}, {3, 15, 1}, {3, 20, 100}, {44, 220, 5}};
    char ip[32];
    uint64_t t = GEN_START_US;
    for (int i = 0, n = (int)gen_range(&g->rng, 12, 30); i < n; i++, t += ms(g, 3000, 60000)) {
        snprintf(ip, sizeof(ip), "%u.%u.%u.%d", nets[i % 4][0], nets[i % 4][1],
                 nets[i % 4][2] + i / 4, 10 + i);
        if (rules_ssh(g, ip, GPU1, t, gen_range(&g->rng, 8000, 70000), 0) < 0)
            return -1;
    }
    return 0;
}

/* Benign: a researcher in the US over SSH, the GPU host pulling PyTorch
 * and a model, then uploading a checkpoint to S3 in the US. */
static int scen_rules_researcher(struct gen *g)
{
    uint32_t snap = snaplen_or(g, 96);
    struct bulk_opts pt = {"download.pytorch.org", 6 << 20, 0, 150, 3000, snap};
    struct bulk_opts hf = {"cdn-lfs.huggingface.co", 12 << 20, 0, 150, 4000, snap};
    struct bulk_opts up = {"s3.us-west-2.amazonaws.com", 64 << 20, 1, 150, 22000, snap};
    int rc =
        rules_ssh(g, US1, GPU1, GEN_START_US, 42000, 0) ||
        dns_lookup(g, GPU1, "8.8.8.8", "download.pytorch.org", 1, GEN_START_US + GEN_SEC, 4000) ||
        bulk_session(g, GPU1, "18.160.10.97", GEN_START_US + 2 * GEN_SEC, &pt) ||
        bulk_session(g, GPU1, "18.155.68.112", GEN_START_US + 5 * GEN_SEC, &hf) ||
        bulk_session(g, GPU1, "52.218.200.10", GEN_START_US + 20 * GEN_SEC, &up);
    return rc ? -1 : 0;
}

/* Benign: a European user's notebook over TLS, direct. */
static int scen_rules_eu_notebook(struct gen *g)
{
    struct tls_opts o = {443, 85000, 2000, 0};
    return tls_session_at(g, EU1, GPU1, "jupyter-2b81c0.lambdaspaces.com", GEN_START_US, &o, 8);
}

/* Benign: a large upload (256 MiB) from the GPU host to S3 in the US. */
static int scen_rules_big_upload(struct gen *g)
{
    struct bulk_opts up = {
        "s3.us-west-2.amazonaws.com", 256ULL << 20, 1, 150, 22000, snaplen_or(g, 96)};
    return bulk_session(g, GPU1, "52.218.200.10", GEN_START_US, &up);
}

/* A GPU host holding an ngrok agent connection that someone drives:
 * small commands from the edge, answers from the host, every few seconds
 * for `secs` seconds. */
static int rules_tunnel(struct gen *g, const char *sip, uint64_t t, int secs)
{
    struct gen_flow *f = flow_mk(g, 6, GPU1, sip, 443, "tls", "connect.ngrok-agent.com");
    struct gen_rng *r = &g->rng;
    flow_rtt(f, 300, 24000);
    t = tls_setup(g, f, t, "connect.ngrok-agent.com");
    uint64_t end = t + (uint64_t)secs * GEN_SEC;
    while (t < end) {
        t = tcp_send(f, GEN_S2C, t, g->msg, tls_appdata(g->msg, r, gen_range(r, 60, 200)));
        t = tcp_reply(f, GEN_C2S, t) + ms(g, 2, 30);
        t = tcp_send(f, GEN_C2S, t, g->msg, tls_appdata(g->msg, r, gen_range(r, 200, 3000)));
        t = tcp_reply(f, GEN_S2C, t) + ms(g, 2000, 6000);
    }
    tcp_close(f, GEN_C2S, t);
    g->planned += f->nseg;
    return sched_add(g, f);
}

/* Driven for 3-20 minutes: a few commands, or a working session. */
static int scen_rules_tunnel(struct gen *g)
{
    return rules_tunnel(g, "3.20.100.7", GEN_START_US, (int)gen_range(&g->rng, 180, 1200));
}

/* Near miss: the same tunnel, closed after 30-75 s (a quick check that
 * it works). */
static int scen_rules_tunnel_short(struct gen *g)
{
    return rules_tunnel(g, "3.20.100.7", GEN_START_US, (int)gen_range(&g->rng, 30, 75));
}

/* An API relay: lo..hi clients in China (round trips of 140-250 ms) send
 * requests to a GPU host over TLS, one every 2-20 s; the request arrives
 * three round trips after the SYN (TCP, then TLS), and the host calls the
 * OpenAI API 0.1-1 s after it (the relay's own work). */
static int rules_ai_relay(struct gen *g, int lo, int hi)
{
    char ip[32];
    int n = (int)gen_range(&g->rng, (uint32_t)lo, (uint32_t)hi);
    uint64_t t = GEN_START_US;
    for (int i = 0; i < n; i++, t += ms(g, 2000, 20000)) {
        uint32_t rtt = gen_range(&g->rng, 140000, 250000);
        snprintf(ip, sizeof(ip), "27.184.%d.%d", 10 + i, 20 + i);
        if (tls_session(g, ip, GPU2, "relay.example.net", t, rtt, 1) < 0 ||
            tls_session(g, GPU2, "162.159.140.245", "api.openai.com",
                        t + 3ULL * rtt + ms(g, 100, 1000), gen_range(&g->rng, 8000, 16000), 1) < 0)
            return -1;
    }
    return 0;
}

/* A relay's clients in an hour: 40-100 (a shop reselling API access). */
static int scen_rules_ai_relay(struct gen *g)
{
    return rules_ai_relay(g, 40, 100);
}

/* Near miss: a small team sharing one host's relay, 3-12 clients. */
static int scen_rules_ai_relay_few(struct gen *g)
{
    return rules_ai_relay(g, 3, 12);
}

/* Near miss of cn_footprint: a GPU host using two China services only
 * (the TUNA mirror and 114DNS). */
static int scen_rules_footprint_few(struct gen *g)
{
    return dns_lookup(g, GPU1, "114.114.114.114", "pypi.tuna.tsinghua.edu.cn", 1, GEN_START_US,
                      160000);
}

/* GPU host by behaviour: a Vultr address (no GPU range) pulls CUDA and
 * serves a Jupyter notebook to a user in China. */
static int scen_rules_behavior(struct gen *g)
{
    struct bulk_opts cu = {
        "developer.download.nvidia.com", 4 << 20, 0, 150, 3000, snaplen_or(g, 96)};
    int rc = bulk_session(g, RULES_US_VPS, "152.199.39.108", GEN_START_US, &cu) ||
             jupyter_session(g, CN2, RULES_US_VPS, GEN_START_US + 5 * GEN_SEC, 175000, 6);
    return rc ? -1 : 0;
}

/* The same mix over IPv4 and over IPv6 (the v6 GPU host is listed in
 * tests/data/rules/inventory.csv; the relay is Alibaba Cloud Singapore,
 * the user in China): a relayed SSH session and a direct one. */
static int rules_mix(struct gen *g, const char *relay, const char *cn, const char *gpu)
{
    int rc =
        rules_ssh(g, relay, gpu, GEN_START_US, RELAY_RTT_US, gen_range(&g->rng, 35000, 70000)) ||
        rules_ssh(g, cn, gpu, GEN_START_US + 30 * GEN_SEC, 180000, 0);
    return rc ? -1 : 0;
}

static int scen_rules_mix4(struct gen *g)
{
    return rules_mix(g, RULES_HK_CLOUD, CN1, GPU1);
}

static int scen_rules_mix6(struct gen *g)
{
    if (g->vlan == 0)
        g->vlan = 120;
    return rules_mix(g, "2404:2280:3100::5", "240e:3a1:4c5:1::25", "2602:fb17:200::17");
}

/* ---- Correlation rules: egress, stepping stones, time zones ------------ */

#define CTL_NET_HOST "216.160.83.61" /* same /24 as US1, the controller */

/* weights_egress through the controller: US1 is a relay (its user in
 * China, 110-190 ms beyond it: a trans-Pacific round trip) holding an SSH
 * session into GPU1, and GPU1 uploads to another host of US1's /24; the
 * same upload to a US network that controls nothing (a cloud bucket) is
 * the near miss. */
static int scen_egress_ctl(struct gen *g)
{
    uint64_t up = g->packets ? g->packets * 1448 : 24ULL << 20;
    struct ssh_opts o = {60000, 2000, 20, 3000, gen_range(&g->rng, 110000, 190000)};
    struct bulk_opts ctl = {"sync.example.net", up, 1, 150, 60000, snaplen_or(g, 96)};
    struct bulk_opts s3 = {"s3.us-west-2.amazonaws.com", up, 1, 150, 20000, ctl.snaplen};
    if (ssh_session(g, US1, GPU1, GEN_START_US, &o) < 0 ||
        bulk_session(g, GPU1, CTL_NET_HOST, GEN_START_US + 20 * GEN_SEC, &ctl) < 0)
        return -1;
    return bulk_session(g, GPU1, "52.218.228.10", GEN_START_US + 25 * GEN_SEC, &s3);
}

/* egress-ctl with the login held open across a day boundary: an SSH
 * session from the US relay (its user 110-190 ms beyond it, as in
 * egress-ctl) opened at `start` and typed into for about half an hour (the
 * sessions of one working stint), and the upload to that network a
 * quarter of an hour in. */
static int egress_held(struct gen *g, uint64_t start)
{
    uint64_t up = g->packets ? g->packets * 1448 : 24ULL << 20;
    struct ssh_opts o = {60000, 2000, (int)gen_range(&g->rng, 900, 1100), 20000,
                         gen_range(&g->rng, 110000, 190000)};
    struct bulk_opts ctl = {"sync.example.net", up, 1, 150, 60000, snaplen_or(g, 96)};
    if (ssh_session(g, US1, GPU1, start, &o) < 0)
        return -1;
    return bulk_session(g, GPU1, CTL_NET_HOST, start + 15 * 60 * GEN_SEC, &ctl);
}

/* Opened at 23:50 UTC: the upload comes after midnight. */
static int scen_egress_midnight(struct gen *g)
{
    return egress_held(g, GEN_START_US + (14 * 3600 + 50 * 60) * GEN_SEC);
}

/* The same ten hours earlier, inside one UTC day. */
static int scen_egress_midday(struct gen *g)
{
    return egress_held(g, GEN_START_US + (4 * 3600 + 50 * 60) * GEN_SEC);
}

/* weights_egress in pieces: a multipart upload (S3's and OSS's API: the
 * object cut into parts, each part its own PUT, several in flight at
 * once; the AWS CLI runs 10 at a time, ossutil 5-15) from GPU1 over
 * 8-16 parallel connections, each to whichever address the store's name
 * resolved to, spread round-robin over 6-10 /24 networks of `prefix`
 * (a.b, third octet drawn). The whole object is `--packets` MSS segments
 * (default 1.2-3 GB: a 0.5-1.5B model in bf16); each connection carries
 * its share +-30 %, so no /24 gets more than a third of it. */
static int egress_parts(struct gen *g, const char *sni, const char *prefix, uint32_t rtt_lo,
                        uint32_t rtt_hi)
{
    uint64_t total =
        g->packets ? g->packets * 1448 : (uint64_t)gen_range(&g->rng, 1200, 3000) * 1000 * 1000;
    int conns = (int)gen_range(&g->rng, 8, 16), nets = (int)gen_range(&g->rng, 6, 10);
    uint32_t first = gen_range(&g->rng, 150, 200);
    uint64_t t0 = GEN_START_US + ms(g, 1000, 20000);
    char ip[32];
    for (int i = 0; i < conns; i++) {
        uint64_t share = total / (uint64_t)conns;
        share = share * gen_range(&g->rng, 70, 130) / 100;
        /* /24s first+0, first+3, ...: distinct networks of the prefix. */
        snprintf(ip, sizeof(ip), "%s.%u.%u", prefix, first + (uint32_t)(i % nets) * 3,
                 gen_range(&g->rng, 2, 250));
        struct bulk_opts b = {
            sni, share, 1, 150, gen_range(&g->rng, rtt_lo, rtt_hi), snaplen_or(g, 96)};
        if (bulk_session(g, GPU1, ip, t0 + ms(g, 0, 800), &b) < 0)
            return -1;
    }
    return 0;
}

/* The parts go to a bucket of Alibaba OSS in Hong Kong (Chinese object
 * storage by name), 150-200 ms from a GPU host in the US. */
static int scen_egress_parts(struct gen *g)
{
    return egress_parts(g, "ckpt-2b9e.oss-cn-hongkong.aliyuncs.com", "8.210", 150000, 200000);
}

/* The same to a MinIO store the reseller runs on Alibaba Cloud ECS
 * instances in Hong Kong: a name in no list, the addresses a relay
 * country's Chinese-cloud space (summed per AS). */
static int scen_egress_parts_minio(struct gen *g)
{
    return egress_parts(g, "s3.ckpt-sync.net", "8.217", 150000, 200000);
}

/* Near miss: the tenant's nightly backup to its own S3 bucket, the same
 * multipart shape and size, in us-west-2 or eu-west-1 (drawn), after the
 * tenant's engineer logged in over SSH from the company's network. */
static int scen_la_egress_backup(struct gen *g)
{
    int eu = gen_range(&g->rng, 0, 1) == 1;
    if (rules_ssh(g, "12.130.10.10", GPU1, GEN_START_US, gen_range(&g->rng, 20000, 70000), 0) < 0)
        return -1;
    return eu ? egress_parts(g, "backup-lab7.s3.eu-west-1.amazonaws.com", "52.218", 75000, 110000)
              : egress_parts(g, "backup-lab7.s3.us-west-2.amazonaws.com", "52.92", 20000, 60000);
}

/* A stepping stone: the user types into an SSH session on the
 * intermediary, which types the same keys into its SSH session to the GPU
 * host a few ms later; the GPU host's output comes back the other way. */
struct hop {
    struct gen_flow *in, *out;
    uint32_t lag_lo, lag_hi; /* us between the legs */
};

static void hop_burst(struct gen *g, struct hop *h, uint64_t *t, int keys)
{
    struct gen_rng *r = &g->rng;
    for (int i = 0; i < keys; i++) {
        uint64_t next = *t + ms(g, 120, 300);
        uint64_t lag = gen_range(r, h->lag_lo, h->lag_hi);
        ssh_key(g, h->in, *t, next);
        if (h->out)
            ssh_key(g, h->out, *t + lag, next + lag);
        *t = next;
    }
    size_t len = gen_range(r, 300, 6000);
    uint64_t o = tcp_reply(h->in, GEN_S2C, *t) + ms(g, 10, 60);
    if (h->out)
        o = tcp_send(h->out, GEN_S2C, o, g->msg, ssh_packet(g->msg, r, len)) + 2000;
    o = tcp_send(h->in, GEN_S2C, o, g->msg, ssh_packet(g->msg, r, len));
    *t = o + ms(g, 900, 4000);
}

static void hop_close(struct gen *g, struct gen_flow *f, uint64_t t)
{
    t = tcp_send(f, GEN_C2S, t, g->msg, ssh_packet(g->msg, &g->rng, 36));
    tcp_close(f, GEN_S2C, tcp_reply(f, GEN_S2C, t) + 700);
    g->planned += f->nseg;
}

/* The user at `user` (round trip user_rtt from the sensor) types into
 * SSH on `inter`, which holds SSH to `gpu` from t0; related: the keys are
 * relayed, else the two sessions are typed independently. */
static int relay_hop_at(struct gen *g, const char *user, uint32_t user_rtt, const char *inter,
                        const char *gpu, uint64_t t0, int related)
{
    struct gen_rng *r = &g->rng;
    struct hop h = {flow_mk(g, 6, user, inter, 22, "ssh", NULL), NULL, 2000, 6000};
    flow_rtt(h.in, user_rtt, 1500);
    uint64_t t = ssh_setup(g, h.in, t0) + ms(g, 2000, 4000);
    struct gen_flow *out = flow_mk(g, 6, inter, gpu, 22, "ssh", NULL);
    flow_rtt(out, 1500, 2000);
    uint64_t to = ssh_setup(g, out, t) + ms(g, 1500, 3000);
    if (related) {
        h.out = out;
        t = to;
        for (int b = 0; b < 14; b++)
            hop_burst(g, &h, &t, (int)gen_range(r, 4, 10));
        hop_close(g, out, t);
    } else {
        /* Two sessions that share the host and nothing else. */
        struct hop alone = {out, NULL, 0, 0};
        for (int b = 0; b < 14; b++) {
            hop_burst(g, &h, &t, (int)gen_range(r, 4, 10));
            hop_burst(g, &alone, &to, (int)gen_range(r, 4, 10));
        }
        hop_close(g, out, to);
    }
    /* The user stays on the intermediary after the hop ends. */
    struct hop tail = {h.in, NULL, 0, 0};
    for (int b = 0; b < 12; b++)
        hop_burst(g, &tail, &t, (int)gen_range(r, 3, 8));
    hop_close(g, h.in, t);
    if (sched_add(g, h.in) < 0)
        return -1;
    return sched_add(g, out);
}

static int relay_hop(struct gen *g, int related)
{
    return relay_hop_at(g, CN1, 170000, EU1, GPU1, GEN_START_US, related);
}

static int scen_relay_hop(struct gen *g)
{
    return relay_hop(g, 1);
}

static int scen_relay_hop_miss(struct gen *g)
{
    return relay_hop(g, 0);
}

/* A working week on a local clock: on `days` weekdays from the capture's
 * Monday, per_lo..per_hi short SSH sessions from `cip` into GPU1, each
 * starting at a minute drawn evenly over the working blocks ({start, end}
 * local minutes of the day); utc_off_min is the clock's offset from UTC. */
static int tz_week(struct gen *g, const char *cip, int utc_off_min, const int (*blk)[2], int nblk,
                   int days, int per_lo, int per_hi)
{
    struct ssh_opts o = {gen_range(&g->rng, 20000, 200000), 2000, 10, 2000, 0};
    const uint64_t monday = GEN_START_US - 9 * 3600 * GEN_SEC; /* 00:00 UTC */
    int total = 0;
    for (int b = 0; b < nblk; b++)
        total += blk[b][1] - blk[b][0];
    for (int d = 0; d < days; d++) {
        int n = (int)gen_range(&g->rng, (uint32_t)per_lo, (uint32_t)per_hi);
        for (int i = 0; i < n; i++) {
            int m = (int)gen_range(&g->rng, 0, (uint32_t)total - 1), b = 0;
            while (m >= blk[b][1] - blk[b][0])
                m -= blk[b][1] - blk[b][0], b++;
            int64_t local = (int64_t)d * 1440 + blk[b][0] + m;
            uint64_t t = monday + (uint64_t)((local - utc_off_min) * 60) * GEN_SEC +
                         gen_range(&g->rng, 0, 59) * GEN_SEC;
            if (ssh_session(g, cip, GPU1, t, &o) < 0)
                return -1;
        }
    }
    return 0;
}

/* A customer in China on the China Standard Time working day (Mandiant
 * APT1: 08-12, 14-18, 19-22, weekdays) for 3-5 days, 3-6 sessions a day. */
static int scen_tz_cst(struct gen *g)
{
    static const int blk[][2] = {{8 * 60, 12 * 60}, {14 * 60, 18 * 60}, {19 * 60, 22 * 60}};
    return tz_week(g, US1, 8 * 60, blk, 3, (int)gen_range(&g->rng, 3, 5), 3, 6);
}

/* Sessions of a US Pacific working day (PST, UTC-8: 09-17 is 01-09 CST)
 * on Monday to Wednesday. */
static int scen_tz_us(struct gen *g)
{
    static const int blk[][2] = {{9 * 60, 12 * 60}, {13 * 60, 17 * 60}};
    return tz_week(g, US1, -8 * 60, blk, 2, 3, 3, 6);
}

/* Office days elsewhere (cn_timezone look-alikes): 09-12 and 13-18 local,
 * Monday to Friday, 3-6 sessions a day, from Germany (UTC+1), India
 * (UTC+5:30) and Japan (UTC+9). */
static const int tz_office[][2] = {{9 * 60, 12 * 60}, {13 * 60, 18 * 60}};

static int scen_la_office_de(struct gen *g)
{
    return tz_week(g, "80.130.10.20", 60, tz_office, 2, 5, 3, 6);
}

static int scen_la_office_in(struct gen *g)
{
    return tz_week(g, "117.200.10.20", 5 * 60 + 30, tz_office, 2, 5, 3, 6);
}

static int scen_la_office_jp(struct gen *g)
{
    return tz_week(g, "126.10.20.30", 9 * 60, tz_office, 2, 5, 3, 6);
}

static int scen_scan(struct gen *g)
{
    return spawner_start(g, g->packets ? g->packets : 100000, 20, scan_spawn);
}

/* How many clients in China an API relay, or a look-alike's web site,
 * serves in the hour: no published count, so drawn at 1.5-3 times
 * ai_relay_clients (20), far from the threshold either way the rule
 * decides (a relay found, a site's visitors not matched). */
static int ai_clients(struct gen *g)
{
    return (int)gen_range(&g->rng, 30, 60);
}

/* ai_api_relay with far clients: 30-60 clients in China 180-260 ms away
 * (China to a US or European host, 8,000-11,000 km at a path factor of
 * 1.5-2, detection-notes.md), arriving 4-15 s apart. Each request reaches
 * the relay two round trips after the client's SYN (TCP, then TLS), and
 * the relay calls the Anthropic API after 50-300 ms of its own work: its
 * SYN follows the client's by 0.4-0.8 s (ai_relay_lag_ms is 2 s), and the
 * next client comes after a quiet lag. */
static int scen_rules_ai_relay_far(struct gen *g)
{
    struct tls_opts in = {443, 0, 300, 0};
    char ip[32];
    uint64_t t = GEN_START_US;
    for (int i = 0, n = ai_clients(g); i < n; i++, t += ms(g, 4000, 15000)) {
        snprintf(ip, sizeof(ip), "36.112.%d.%d", 20 + i, 40 + i);
        in.rtt_c = gen_range(&g->rng, 180000, 260000);
        uint64_t call = t + 2ULL * in.rtt_c + ms(g, 50, 300);
        if (tls_session_at(g, ip, GPU2, "relay.example.net", t, &in, 1) < 0 ||
            tls_session(g, GPU2, "160.79.104.10", "api.anthropic.com", call,
                        gen_range(&g->rng, 8000, 16000), 1) < 0)
            return -1;
    }
    return 0;
}

/* Near miss of ai_api_relay: 30-60 clients in China (140-250 ms away, 2-15
 * s apart), and as many calls to api.openai.com from the same host in the
 * same hour, but made by a batch job ten minutes after the last client, at
 * the clients' own spacing: nothing follows an inbound request. */
static int scen_rules_ai_relay_unlinked(struct gen *g)
{
    char ip[32];
    int n = ai_clients(g);
    uint64_t gap[64], t = GEN_START_US;
    for (int i = 0; i < n; i++) {
        gap[i] = ms(g, 2000, 15000);
        snprintf(ip, sizeof(ip), "27.184.%d.%d", 10 + i, 20 + i);
        if (tls_session(g, ip, GPU2, "relay.example.net", t, gen_range(&g->rng, 140000, 250000),
                        1) < 0)
            return -1;
        t += gap[i];
    }
    uint64_t batch = t + 600 * GEN_SEC;
    for (int i = 0; i < n; batch += gap[i++])
        if (tls_session(g, GPU2, "162.159.140.245", "api.openai.com", batch, 12000, 1) < 0)
            return -1;
    return 0;
}

/* An API relay's or a job's kept-alive HTTP/2 connection from GPU2 to an
 * AI API, opened at t0 and held until `end`: the TLS handshake, then a
 * PING each way every 15-30 s (39-byte records), and one request (HEADERS
 * and DATA: 400-4000 bytes of records) at each time of `req`, answered as
 * a stream of 10-60 small records (an SSE token stream, 40-250 ms apart)
 * after 0.3-1.5 s to the first token. Segments are sorted at commit, so
 * overlapping streams interleave on the wire as HTTP/2 multiplexes them. */
static int api_pooled(struct gen *g, const char *ip, const char *sni, uint64_t t0, uint64_t end,
                      const uint64_t *req, int nreq)
{
    struct gen_flow *f = flow_mk(g, 6, GPU2, ip, 443, "tls", sni);
    struct gen_rng *r = &g->rng;
    flow_rtt(f, 300, gen_range(r, 8000, 20000));
    uint64_t t = tls_setup(g, f, t0, sni);
    for (uint64_t p = t + ms(g, 15000, 30000); p < end; p += ms(g, 15000, 30000)) {
        tcp_send(f, GEN_C2S, p, g->msg, tls_appdata(g->msg, r, 39));
        tcp_send(f, GEN_S2C, tcp_reply(f, GEN_S2C, p), g->msg, tls_appdata(g->msg, r, 39));
    }
    for (int i = 0; i < nreq; i++) {
        uint64_t q = req[i];
        tcp_send(f, GEN_C2S, q, g->msg, tls_appdata(g->msg, r, gen_range(r, 400, 4000)));
        uint64_t c = tcp_reply(f, GEN_S2C, q) + ms(g, 300, 1500);
        for (int k = (int)gen_range(r, 10, 60); k > 0; k--, c += ms(g, 40, 250))
            tcp_send(f, GEN_S2C, c, g->msg, tls_appdata(g->msg, r, gen_range(r, 40, 250)));
    }
    tcp_close(f, GEN_C2S, end);
    g->planned += f->nseg;
    return sched_add(g, f);
}

/* Visitors from China: n clients (27.185.x.y), 1-3 requests each at times
 * drawn over [t0, t0 + span), each a new TLS connection to GPU2 150-250 ms
 * away. When `relayed` is not NULL, each request's start and the time the
 * relay sends it upstream (the request arrives after three round trips,
 * then 50-300 ms of the relay's own work) are appended to it. */
static int api_visitors(struct gen *g, int n, uint64_t t0, uint64_t span, uint64_t *relayed,
                        int *nrelayed)
{
    struct tls_opts in = {443, 0, 300, 0};
    char ip[32];
    for (int i = 0; i < n; i++) {
        snprintf(ip, sizeof(ip), "27.185.%d.%d", 10 + i, 20 + i);
        in.rtt_c = gen_range(&g->rng, 150000, 250000);
        for (int k = (int)gen_range(&g->rng, 1, 3); k > 0; k--) {
            uint64_t t = t0 + (uint64_t)gen_range(&g->rng, 0, (uint32_t)(span / 1000)) * 1000;
            if (tls_session_at(g, ip, GPU2, "chat.example-ai.net", t, &in, 1) < 0)
                return -1;
            if (relayed)
                relayed[(*nrelayed)++] = t + 3 * (uint64_t)in.rtt_c + ms(g, 50, 300);
        }
    }
    return 0;
}

/* ai_api_relay through pooled connections: GPU2 relays 30-45 clients in
 * China (1-3 requests each over 30 minutes) onto two kept-alive HTTP/2
 * connections to api.openai.com and api.anthropic.com opened before the
 * first client and held 32-40 minutes (longer than flow_active_timeout,
 * so each is cut into two records): no upstream connection is opened per
 * request. */
static int scen_rules_ai_relay_pooled(struct gen *g)
{
    uint64_t req[160], t0 = GEN_START_US + 10 * GEN_SEC, span = 30ULL * 60 * GEN_SEC;
    uint64_t end = GEN_START_US + ms(g, 32 * 60000, 40 * 60000);
    uint64_t a[160], b[160];
    int n = 0, na = 0, nb = 0;
    if (api_visitors(g, (int)gen_range(&g->rng, 30, 45), t0, span, req, &n) < 0)
        return -1;
    for (int i = 0; i < n; i++) { /* the relay picks a connection per request */
        if (gen_range(&g->rng, 0, 1))
            a[na++] = req[i];
        else
            b[nb++] = req[i];
    }
    return api_pooled(g, "162.159.140.245", "api.openai.com", GEN_START_US, end, a, na) < 0 ||
                   api_pooled(g, "160.79.104.10", "api.anthropic.com", GEN_START_US, end, b, nb) < 0
               ? -1
               : 0;
}

/* Near miss: a job on GPU2 calls api.openai.com on a timer (every 3-30 s,
 * drawn, a few ms of scheduling jitter) over one kept-alive connection for
 * 32-40 minutes, while the host's web site gets the same 30-45 visitors
 * from China. */
static int scen_la_api_periodic(struct gen *g)
{
    uint64_t req[1000], t0 = GEN_START_US + 10 * GEN_SEC, span = 30ULL * 60 * GEN_SEC;
    uint64_t end = GEN_START_US + ms(g, 32 * 60000, 40 * 60000);
    uint64_t period = ms(g, 3000, 30000);
    int n = 0;
    if (api_visitors(g, (int)gen_range(&g->rng, 30, 45), t0, span, NULL, NULL) < 0)
        return -1;
    for (uint64_t t = GEN_START_US + ms(g, 1000, 5000); t + 10 * GEN_SEC < end && n < 1000;
         t += period)
        req[n++] = t + ms(g, 0, 5);
    return api_pooled(g, "162.159.140.245", "api.openai.com", GEN_START_US, end, req, n);
}

/* Near miss of reverse_tunnel: the tenant's own SSH session from the US
 * drives the GPU host in the same hour, before the ngrok connection of
 * rules-tunnel opens: the tunnel is not the only way in. */
static int scen_rules_tunnel_controlled(struct gen *g)
{
    int rc = rules_ssh(g, US1, GPU1, GEN_START_US, 42000, 0) ||
             rules_tunnel(g, "3.20.100.7", GEN_START_US + 60 * GEN_SEC, 180);
    return rc ? -1 : 0;
}

/* ---- Look-alikes of the rules (benign; tests/system/rules_lookalike.sh) --
 * Each is the ordinary use that a rule must tell from the attack; counts,
 * round trips and sizes are drawn (seeded) from the spread of real use. */

#define LA_CI_AWS   "3.14.20.10"   /* US, AWS (hyperscaler) */
#define LA_TOKYO    "13.112.10.5"  /* JP, AWS Tokyo (hyperscaler) */
#define LA_CORP_JMP "12.130.10.10" /* US, AT&T enterprise network */
#define LA_HOME_CN  "1.180.23.7"   /* CN, a home line */

/* The i-th GPU host of Lambda's 104.171.200.0/22, from .40 up. */
static void la_gpu(char *buf, size_t len, int i)
{
    snprintf(buf, len, "104.171.%d.%d", 200 + i / 200, 40 + i % 200);
}

/* reseller_fanout: a CI runner on AWS in the US driving 5-12 GPU hosts of
 * its own company over SSH through a working day (a deploy or test matrix
 * touches every node). */
static int scen_la_ci_fanout(struct gen *g)
{
    int n = (int)gen_range(&g->rng, 5, 12);
    uint64_t t = GEN_START_US;
    char gpu[32];
    for (int i = 0; i < n; i++) {
        la_gpu(gpu, sizeof(gpu), i);
        t += ms(g, 20000, 900000);
        if (rules_ssh(g, LA_CI_AWS, gpu, t, gen_range(&g->rng, 8000, 70000), 0) < 0)
            return -1;
    }
    return 0;
}

/* reseller_fanout spread out: `addrs` addresses of the /24 `net` (a.b.c)
 * each drive `lo`-`hi` GPU hosts of their own (hosts `base`, `base`+1,
 * ... of la_gpu) over SSH at times drawn over 09:00-23:00 UTC of one
 * day, `rtt` the round trip to them. An address whose hosts are drawn as
 * `shared` also drives the hosts of the address before it (engineers of
 * one team sharing a fleet). */
static int fanout_spread(struct gen *g, const char *net, int addrs, int lo, int hi, int shared,
                         uint32_t rtt_lo, uint32_t rtt_hi)
{
    char ip[32], gpu[32];
    int host = 0, prev = 0;
    uint32_t last = 9;
    for (int a = 0; a < addrs; a++) {
        int n = (int)gen_range(&g->rng, (uint32_t)lo, (uint32_t)hi), from = host;
        last += gen_range(&g->rng, 1, 9); /* addresses taken as they come */
        snprintf(ip, sizeof(ip), "%s.%u", net, last);
        if (shared && a > 0)
            from = prev;
        for (int i = from; i < host + n; i++) {
            la_gpu(gpu, sizeof(gpu), i);
            uint64_t t = GEN_START_US + ms(g, 0, 14 * 3600 * 1000);
            if (rules_ssh(g, ip, gpu, t, gen_range(&g->rng, rtt_lo, rtt_hi), 0) < 0)
                return -1;
        }
        prev = host;
        host += n;
    }
    return 0;
}

/* A reseller's gateway: 8-12 addresses of one Hong Kong hosting /24
 * (AS152194, a VPS provider known from the generated hosting table), each
 * driving 1-2 GPU hosts over the day, 8-24 hosts in all (1.6-4.8 times
 * fanout_hosts; whose accounts are few: the test's inventory puts them
 * under three tenants), 150-200 ms from the US hosts. No address reaches
 * fanout_hosts; the /24 does. */
static int scen_rules_fanout_spread(struct gen *g)
{
    return fanout_spread(g, "1.32.205", (int)gen_range(&g->rng, 8, 12), 1, 2, 0, 150000, 200000);
}

/* Near miss: a Japanese company's own fleet of one tenant, 6-20 hosts,
 * driven by 2-4 engineers from the company's office network (an NTT
 * business line in Tokyo, no hosting category), each reaching 3-5 hosts
 * of their own and the previous engineer's over the day. */
static int scen_la_fleet_own(struct gen *g)
{
    return fanout_spread(g, "153.156.48", (int)gen_range(&g->rng, 2, 4), 3, 5, 1, 100000, 140000);
}

/* relay_control: a Japanese team's bastion on AWS Tokyo; the engineers
 * sit a few ms from it (Tokyo metro), the bastion forwards their SSH. */
static int scen_la_tokyo_bastion(struct gen *g)
{
    int n = (int)gen_range(&g->rng, 3, 8);
    uint64_t t = GEN_START_US;
    for (int i = 0; i < n; i++) {
        t += ms(g, 60000, 1800000);
        if (rules_ssh(g, LA_TOKYO, GPU1, t, gen_range(&g->rng, 95000, 130000),
                      gen_range(&g->rng, 500, 8000)) < 0)
            return -1;
    }
    return 0;
}

/* shared_access_fanin: one team driving one GPU host from home and office
 * lines in six ordinary countries (none in China or a relay country). */
static int scen_la_six_countries(struct gen *g)
{
    static const char *const who[] = {
        US1,           EU1,           "80.130.10.20", "90.1.20.30", "77.160.40.50",
        "70.48.10.20", "73.15.20.30", "84.128.10.20"};
    static const uint32_t rtt[][2] = {{20000, 70000},  {70000, 95000},  {80000, 110000},
                                      {80000, 110000}, {75000, 105000}, {15000, 60000},
                                      {20000, 80000},  {80000, 110000}};
    uint64_t t = GEN_START_US;
    for (int i = 0; i < 8; i++) {
        t += ms(g, 30000, 2400000);
        if (rules_ssh(g, who[i], GPU3, t, gen_range(&g->rng, rtt[i][0], rtt[i][1]), 0) < 0)
            return -1;
    }
    return 0;
}

/* stepping_stone and proxy_latency: employees at home in the US log into
 * the company's jump host and on to a GPU host, the keys relayed by the
 * jump host; others use ssh -J, so the GPU host sees the jump host's TCP
 * and the employee's key exchange 10-60 ms beyond it. */
static int scen_la_jump_host(struct gen *g)
{
    uint64_t t = GEN_START_US;
    if (relay_hop_at(g, "73.15.20.30", gen_range(&g->rng, 15000, 60000), LA_CORP_JMP, GPU1, t, 1) <
        0)
        return -1;
    int n = (int)gen_range(&g->rng, 2, 5);
    for (int i = 0; i < n; i++) {
        t += ms(g, 120000, 1200000);
        if (rules_ssh(g, LA_CORP_JMP, GPU2, t, gen_range(&g->rng, 800, 3000),
                      gen_range(&g->rng, 10000, 60000)) < 0)
            return -1;
    }
    return 0;
}

/* weights_egress: a researcher in the US works on the GPU host over SSH,
 * then copies 1.1 GB of results to a file server on the home network the
 * session came from (--packets sets the size in MSS segments, for tests
 * under a lower egress_bytes). */
static int scen_la_egress_home(struct gen *g)
{
    uint64_t size = g->packets ? g->packets * 1448 : 1100ULL * 1000 * 1000;
    struct ssh_opts o = {gen_range(&g->rng, 20000, 70000), 2000, 20, 3000, 0};
    struct bulk_opts home = {"files.example-lab.org", size, 1, 150, o.rtt_c, snaplen_or(g, 96)};
    if (ssh_session(g, US1, GPU1, GEN_START_US, &o) < 0)
        return -1;
    return bulk_session(g, GPU1, CTL_NET_HOST, GEN_START_US + ms(g, 10000, 60000), &home);
}

/* reverse_tunnel: an idle ngrok agent on a GPU host for 40-70 minutes:
 * a heartbeat every 10 s (ngrok's heartbeat_interval), a ping from the
 * agent and the edge's pong, a few ms of jitter; nobody drives it. */
static int scen_la_tunnel_idle(struct gen *g)
{
    struct gen_flow *f = flow_mk(g, 6, GPU1, "3.20.100.7", 443, "tls", "connect.ngrok-agent.com");
    struct gen_rng *r = &g->rng;
    flow_rtt(f, 300, gen_range(r, 10000, 60000));
    uint64_t t = tls_setup(g, f, GEN_START_US, "connect.ngrok-agent.com");
    uint64_t end = t + ms(g, 40 * 60000, 70 * 60000);
    while (t < end) {
        uint64_t ping = t + 10 * GEN_SEC + ms(g, 0, 5);
        tcp_send(f, GEN_C2S, ping, g->msg, tls_appdata(g->msg, r, gen_range(r, 20, 40)));
        uint64_t pong = tcp_reply(f, GEN_S2C, ping) + ms(g, 0, 2);
        tcp_send(f, GEN_S2C, pong, g->msg, tls_appdata(g->msg, r, gen_range(r, 20, 40)));
        tcp_ack(f, GEN_C2S, tcp_reply(f, GEN_C2S, pong) + ms(g, 0, 1));
        t = ping;
    }
    tcp_close(f, GEN_C2S, t + GEN_SEC);
    g->planned += f->nseg;
    return sched_add(g, f);
}

/* ai_api_relay: a batch job on GPU host GPU2 calls the OpenAI API about
 * once a second (each call a new connection, 1.0-1.4 s apart: the call
 * plus a sleep) for 25-35 minutes, while the host's web site gets 25-40
 * visitors from China at random times in the same half hour. */
static int scen_la_api_job(struct gen *g)
{
    uint64_t t0 = GEN_START_US, end = t0 + ms(g, 25 * 60000, 35 * 60000);
    struct tls_opts in = {443, 0, 300, 0};
    int n = (int)gen_range(&g->rng, 25, 40);
    char ip[32];
    for (uint64_t t = t0; t < end; t += ms(g, 1000, 1400))
        if (tls_session(g, GPU2, "162.159.140.245", "api.openai.com", t, 12000, 1) < 0)
            return -1;
    for (int i = 0; i < n; i++) {
        snprintf(ip, sizeof(ip), "27.184.%d.%d", 10 + i, 20 + i);
        in.rtt_c = gen_range(&g->rng, 150000, 250000);
        if (tls_session_at(g, ip, GPU2, "www.example-lab.org", t0 + ms(g, 0, 25 * 60000), &in,
                           (int)gen_range(&g->rng, 1, 3)) < 0)
            return -1;
    }
    return 0;
}

/* cn_footprint and GPU hosts by behaviour: a home PC in China resolving
 * mirror names and its domestic resolver, as every developer there does. */
static int scen_la_home_cn(struct gen *g)
{
    static const char *const names[] = {
        "pypi.tuna.tsinghua.edu.cn", "mirrors.aliyun.com",  "hf-mirror.com",
        "registry.npmmirror.com",    "mirrors.ustc.edu.cn", "modelscope.cn"};
    uint64_t t = GEN_START_US;
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        t += ms(g, 1000, 600000);
        if (dns_lookup(g, LA_HOME_CN, "114.114.114.114", names[i], 1, t,
                       gen_range(&g->rng, 3000, 30000)) < 0)
            return -1;
    }
    return 0;
}

/* ---- Internet background radiation (tests/system/background.sh) -------- */

/* What every public GPU host sees every hour: SYN scans and sweeps,
 * banner grabs, SSH brute force, RDP, VNC and notebook probes, from China
 * and everywhere else, mixed with the fleet's ordinary work. Counts,
 * timings and sizes are drawn from spreads with the scenario's seed:
 * scanners sweep at their own pace, a brute-force bot reconnects every 2
 * to 9 s and tries 1 to 6 passwords a connection, each refused after
 * 1.6 to 3.2 s (the PAM failure delay, 2 s nominal, plus the round trip),
 * and a connection that spends all six tries (MaxAuthTries) is closed by
 * the server. */

#define BG_HOSTS 20
#define BG_HOUR  (3600ULL * GEN_SEC)

/* The fleet: twenty hosts in Lambda's ranges, GPU hosts by the geo
 * database's provider ranges, GPU1 first. */
static void bg_host(int i, char *out, size_t len)
{
    if (i == 0)
        snprintf(out, len, "%s", GPU1);
    else if (i < 10)
        snprintf(out, len, "104.171.200.%d", 19 + i);
    else
        snprintf(out, len, "104.171.201.%d", 20 + i);
}

static uint64_t bg_at(struct gen *g, uint32_t lo_s, uint32_t hi_s)
{
    return GEN_START_US + (uint64_t)gen_range(&g->rng, lo_s * 1000, hi_s * 1000) * GEN_MS;
}

/* A source address: in China (networks the geo database places there) or
 * anywhere. */
static void bg_source(struct gen *g, int cn, char *out, size_t len)
{
    static const uint8_t cn_nets[][2] = {{1, 180}, {36, 112}, {27, 184}};
    struct gen_addr a;
    if (cn)
        rand_public(g, &a, cn_nets[gen_range(&g->rng, 0, 2)], 2);
    else
        rand_public(g, &a, NULL, 0);
    addr_str(&a, out, len);
}

/* One SYN of a scanner and the answer: 0 none (filtered), 1 RST (closed),
 * 2 SYN/ACK and the scanner's RST (open: a SYN scan never completes the
 * handshake). */
static int bg_syn(struct gen *g, const char *cip, const char *sip, uint16_t port, uint64_t t,
                  int answer)
{
    struct gen_flow *f = flow_mk(g, 6, cip, sip, port, "scan", NULL);
    uint32_t rtt = gen_range(&g->rng, 20000, 260000);
    flow_rtt(f, rtt, 300);
    flow_seg(f, t, GEN_C2S, TCP_SYN);
    if (answer == 1)
        flow_seg(f, t + 300, GEN_S2C, TCP_RST | TCP_ACK);
    else if (answer == 2) {
        flow_seg(f, t + 300, GEN_S2C, TCP_SYN);
        flow_seg(f, t + 300 + rtt, GEN_C2S, TCP_RST);
    }
    g->planned += f->nseg;
    return sched_add(g, f);
}

/* The ports scanners look for on GPU hosts, open (2) or closed (1). */
static const struct {
    uint16_t port;
    uint8_t answer;
} bg_ports[] = {{22, 2},   {3389, 1}, {5900, 1}, {8888, 2}, {6006, 1}, {8265, 1},
                {6443, 1}, {7000, 1}, {443, 1},  {80, 1},   {2222, 1}, {8080, 1}};
#define BG_NPORTS (sizeof(bg_ports) / sizeof(bg_ports[0]))

/* A scanner sweeping `nports` ports over the fleet from `t`, one SYN
 * every 5 to 400 ms. */
static int bg_sweep(struct gen *g, const char *src, uint64_t t, size_t nports)
{
    char host[32];
    for (size_t p = 0; p < nports; p++)
        for (int h = 0; h < BG_HOSTS; h++) {
            bg_host(h, host, sizeof(host));
            if (bg_syn(g, src, host, bg_ports[p].port, t, bg_ports[p].answer) < 0)
                return -1;
            t += ms(g, 5, 400);
        }
    return 0;
}

/* One connection of an SSH brute-force bot. kind 0: banner grab (both
 * banners, then the bot closes); 1: key exchange, then the bot goes
 * (an audit scanner); 2: key exchange, ssh-userauth, "none", then
 * `tries` passwords each refused (the server closes after six,
 * MaxAuthTries). Sizes are those of OpenSSH's encrypted packets with
 * chacha20-poly1305 (4-byte length, padding, 16-byte tag). */
static int bg_ssh_try(struct gen *g, const char *cip, const char *sip, uint64_t t, int kind,
                      int tries)
{
    struct gen_flow *f = flow_mk(g, 6, cip, sip, 22, "ssh", NULL);
    struct gen_rng *r = &g->rng;
    uint8_t *m = g->msg;
    flow_rtt(f, gen_range(r, 20000, 260000), 2000);
    if (kind == 0) {
        t = tcp_open(f, t);
        uint64_t ts = tcp_send(f, GEN_S2C, tcp_reply(f, GEN_S2C, t), m, ssh_banner(m, 1));
        t = tcp_send(f, GEN_C2S, t + 150, m, ssh_banner(m, 0));
        tcp_close(f, GEN_C2S, (ts > t ? ts : t) + ms(g, 1, 800));
    } else {
        t = ssh_kex(g, f, t);
        if (kind == 2) {
            t = tcp_send(f, GEN_C2S, t + 200, m, ssh_packet(m, r, 80)); /* SERVICE_REQUEST */
            t = tcp_send(f, GEN_S2C, tcp_reply(f, GEN_S2C, t) + 300, m, ssh_packet(m, r, 80));
            t = tcp_send(f, GEN_C2S, tcp_reply(f, GEN_C2S, t) + 300, m, ssh_packet(m, r, 112));
            t = tcp_send(f, GEN_S2C, tcp_reply(f, GEN_S2C, t) + 300, m, ssh_packet(m, r, 80));
            for (int i = 0; i < tries; i++) {
                t = tcp_send(f, GEN_C2S, tcp_reply(f, GEN_C2S, t) + ms(g, 1, 30), m,
                             ssh_packet(m, r, gen_range(r, 128, 176)));
                t = tcp_send(f, GEN_S2C, t + ms(g, 1600, 3200), m, ssh_packet(m, r, 80));
            }
        }
        if (kind == 2 && tries >= 6) {
            t = tcp_send(f, GEN_S2C, t + 100, m, ssh_packet(m, r, 96)); /* DISCONNECT */
            tcp_close(f, GEN_S2C, t + 50);
        } else {
            t = tcp_send(f, GEN_C2S, tcp_reply(f, GEN_C2S, t) + ms(g, 1, 200), m,
                         ssh_packet(m, r, 84));
            tcp_close(f, GEN_C2S, t + 50);
        }
    }
    g->planned += f->nseg;
    return sched_add(g, f);
}

/* ---- fully encrypted tunnels (reverse_tunnel by analyze/fep.c) -------- */

/* One message of lo-hi bytes into g->msg: TLS application data, or
 * random bytes. Returns its length. */
static size_t fep_msg(struct gen *g, int tls, uint32_t lo, uint32_t hi)
{
    size_t n = gen_range(&g->rng, lo, hi);

    if (tls)
        return tls_appdata(g->msg, &g->rng, n);
    gen_fill(&g->rng, g->msg, n);
    return n;
}

/* A GPU host holding a connection to a rented relay that someone drives:
 * commands in from the relay, answers out, every 2-6 s for `secs`
 * seconds. `sni` NULL: a fully encrypted protocol (Shadowsocks AEAD:
 * the first client payload is a 32-byte salt and sealed chunks, 120-400
 * bytes in all, every byte random); else a TLS session to that name. */
static int fep_tunnel(struct gen *g, const char *sip, uint16_t port, const char *sni, int secs)
{
    struct gen_flow *f = flow_mk(g, 6, GPU1, sip, port, sni ? "tls" : "unknown", sni);
    struct gen_rng *r = &g->rng;
    uint64_t t = GEN_START_US;
    size_t n;

    flow_rtt(f, 300, gen_range(r, 30000, 60000)); /* Hong Kong or the US from a US region */
    if (sni) {
        t = tls_setup(g, f, t, sni);
    } else {
        t = tcp_open(f, t);
        n = gen_range(r, 120, 400);
        gen_fill(r, g->msg, n);
        t = tcp_send(f, GEN_C2S, t + ms(g, 1, 5), g->msg, n);
        t = tcp_reply(f, GEN_S2C, t);
    }
    uint64_t end = t + (uint64_t)secs * GEN_SEC;
    while (t < end) {
        t = tcp_send(f, GEN_S2C, t, g->msg, fep_msg(g, sni != NULL, 60, 200));
        t = tcp_reply(f, GEN_C2S, t) + ms(g, 2, 30);
        t = tcp_send(f, GEN_C2S, t, g->msg, fep_msg(g, sni != NULL, 200, 3000));
        t = tcp_reply(f, GEN_S2C, t) + ms(g, 2000, 6000);
    }
    tcp_close(f, GEN_C2S, t);
    g->planned += f->nseg;
    return sched_add(g, f);
}

/* A brute-force bot: `conns` connections to the hosts of `targets`
 * (indices into the fleet), every 2 to 9 s from `t`. */
static int bg_bot(struct gen *g, const char *src, uint64_t t, int conns, const int *targets,
                  int ntargets)
{
    char host[32];
    for (int i = 0; i < conns; i++) {
        bg_host(targets[i % ntargets], host, sizeof(host));
        uint32_t roll = gen_range(&g->rng, 0, 99);
        int kind = roll < 10 ? 0 : roll < 18 ? 1 : 2;
        if (bg_ssh_try(g, src, host, t, kind, (int)gen_range(&g->rng, 1, 6)) < 0)
            return -1;
        t += ms(g, 2000, 9000);
    }
    return 0;
}

/* An RDP logon that never gets past the security exchange: X.224
 * request and confirm, a TLS handshake and the NLA exchange failing,
 * then the client resets. */
static int bg_rdp_probe(struct gen *g, const char *cip, const char *sip, uint64_t t)
{
    struct gen_flow *f = flow_mk(g, 6, cip, sip, 3389, "rdp", NULL);
    struct gen_rng *r = &g->rng;
    uint8_t *m = g->msg;
    flow_rtt(f, gen_range(r, 20000, 260000), 300);
    t = tcp_open(f, t) + 200;
    t = tcp_send(f, GEN_C2S, t, m, rdp_connect_request(m, "hello"));
    t = tcp_send(f, GEN_S2C, tcp_reply(f, GEN_S2C, t) + 800, m, rdp_connect_confirm(m));
    t = tls_handshake(g, f, tcp_reply(f, GEN_C2S, t) + 1000, NULL, "GPU-NODE");
    t = tcp_send(f, GEN_C2S, t, m, tls_appdata(m, r, gen_range(r, 40, 60)));
    t = tcp_send(f, GEN_S2C, tcp_reply(f, GEN_S2C, t) + 2000, m,
                 tls_appdata(m, r, gen_range(r, 250, 400)));
    t = tcp_send(f, GEN_C2S, tcp_reply(f, GEN_C2S, t) + 500, m,
                 tls_appdata(m, r, gen_range(r, 400, 600)));
    tcp_rst(f, GEN_S2C, tcp_reply(f, GEN_S2C, t) + ms(g, 5, 50));
    g->planned += f->nseg;
    return sched_add(g, f);
}

/* A VNC login that fails (RFB 3.8, RFC 6143 7.1-7.2): versions, security
 * type 2 (VNC authentication), challenge, response, SecurityResult
 * failed with its reason; the server closes. */
static int bg_vnc_probe(struct gen *g, const char *cip, const char *sip, uint64_t t)
{
    static const uint8_t types[] = {1, 2}, pick[] = {2};
    static const uint8_t fail[] = {0,   0,   0,   1,   0,   0,   0,   21,  'A', 'u',
                                   't', 'h', 'e', 'n', 't', 'i', 'c', 'a', 't', 'i',
                                   'o', 'n', ' ', 'f', 'a', 'i', 'l', 'e', 'd'};
    struct gen_flow *f = flow_mk(g, 6, cip, sip, 5900, "vnc", NULL);
    struct gen_rng *r = &g->rng;
    uint8_t *m = g->msg;
    flow_rtt(f, gen_range(r, 20000, 260000), 300);
    t = tcp_open(f, t);
    t = tcp_send(f, GEN_S2C, t + 500, "RFB 003.008\n", 12);
    t = tcp_send(f, GEN_C2S, tcp_reply(f, GEN_C2S, t) + 100, "RFB 003.008\n", 12);
    t = tcp_send(f, GEN_S2C, tcp_reply(f, GEN_S2C, t) + 200, types, sizeof(types));
    t = tcp_send(f, GEN_C2S, tcp_reply(f, GEN_C2S, t) + 100, pick, sizeof(pick));
    gen_fill(r, m, 16);
    t = tcp_send(f, GEN_S2C, tcp_reply(f, GEN_S2C, t) + 200, m, 16);
    gen_fill(r, m, 16);
    t = tcp_send(f, GEN_C2S, tcp_reply(f, GEN_C2S, t) + ms(g, 1, 40), m, 16);
    t = tcp_send(f, GEN_S2C, tcp_reply(f, GEN_S2C, t) + ms(g, 500, 1500), fail, sizeof(fail));
    tcp_close(f, GEN_S2C, t + 100);
    g->planned += f->nseg;
    return sched_add(g, f);
}

/* A probe of a notebook port: GET / answered by Jupyter's redirect to its
 * login page, which the scanner then fetches (about 6 KB); or GET
 * /api/kernels answered 403 without a token. */
static int bg_http_probe(struct gen *g, const char *cip, const char *sip, uint16_t port, uint64_t t)
{
    static const char ua[] = "User-Agent: Mozilla/5.0 zgrab/0.x\r\nAccept: */*\r\n";
    struct gen_flow *f = flow_mk(g, 6, cip, sip, port, "http", NULL);
    struct gen_rng *r = &g->rng;
    uint8_t *m = g->msg;
    snprintf(f->host, sizeof(f->host), "%s:%u", sip, port);
    flow_rtt(f, gen_range(r, 20000, 260000), 300);
    t = tcp_open(f, t) + 100;
    if (gen_range(r, 0, 2) == 0) {
        t = tcp_send(f, GEN_C2S, t, m, http_request(m, "GET", "/api/kernels", f->host, ua));
        t = tcp_send(f, GEN_S2C, tcp_reply(f, GEN_S2C, t) + ms(g, 1, 10), m,
                     http_response(m, r, 403, JUPYTER_SERVER, "application/json", NULL, 44));
    } else {
        t = tcp_send(f, GEN_C2S, t, m, http_request(m, "GET", "/", f->host, ua));
        t = tcp_send(f, GEN_S2C, tcp_reply(f, GEN_S2C, t) + ms(g, 1, 10), m,
                     http_response(m, r, 302, JUPYTER_SERVER, "text/html",
                                   "Location: /login?next=%2F\r\n", 0));
        t = tcp_send(f, GEN_C2S, tcp_reply(f, GEN_C2S, t) + ms(g, 1, 50), m,
                     http_request(m, "GET", "/login?next=%2F", f->host, ua));
        t = tcp_send(f, GEN_S2C, tcp_reply(f, GEN_S2C, t) + ms(g, 2, 20), m,
                     http_response(m, r, 200, JUPYTER_SERVER, "text/html; charset=UTF-8", NULL,
                                   gen_range(r, 5600, 6800)));
    }
    tcp_close(f, GEN_C2S, tcp_reply(f, GEN_C2S, t) + ms(g, 1, 100));
    g->planned += f->nseg;
    return sched_add(g, f);
}

/* The textbook cases of issue 17, each of which once raised a high alert:
 * a scanner in China sending SYNs to port 22 of five GPU hosts, six lone
 * SYNs from six networks in China to one host, one SYN to :8888 of a host
 * nobody lists (a Vultr VPS). */
static int bg_textbook(struct gen *g)
{
    char host[32], src[32];
    uint64_t t = GEN_START_US + 60 * GEN_SEC;
    for (int h = 0; h < 5; h++) {
        bg_host(h, host, sizeof(host));
        if (bg_syn(g, "36.112.10.77", host, 22, t + (uint64_t)h * 700 * GEN_MS, h == 0 ? 2 : 0) < 0)
            return -1;
    }
    bg_host(10, host, sizeof(host));
    for (int i = 0; i < 6; i++) {
        snprintf(src, sizeof(src), "%s.%d.9", i % 2 ? "36.112" : "1.180", 40 + i);
        if (bg_syn(g, src, host, 22, bg_at(g, 120, 900), 2) < 0)
            return -1;
    }
    return bg_syn(g, "1.180.50.9", RULES_US_VPS, 8888, bg_at(g, 200, 600), 2);
}

/* Ordinary work of the fleet: a researcher in the US over SSH, a notebook
 * from the UK over TLS, a CI runner's short SSH sessions, downloads. */
static int bg_legit(struct gen *g)
{
    char host[32];
    struct ssh_opts us = {42000, 2000, (int)gen_range(&g->rng, 30, 80), 4000, 0};
    struct tls_opts uk = {443, 85000, 2000, 0};
    bg_host(1, host, sizeof(host));
    if (ssh_session(g, US1, host, bg_at(g, 100, 400), &us) < 0)
        return -1;
    bg_host(2, host, sizeof(host));
    if (tls_session_at(g, EU1, host, "jupyter-2b81c0.lambdaspaces.com", bg_at(g, 300, 900), &uk,
                       (int)gen_range(&g->rng, 4, 12)) < 0)
        return -1;
    for (int i = 0; i < 6; i++) {
        struct ssh_opts ci = {30000, 2000, 0, 1500, 0};
        bg_host(11 + i % 3, host, sizeof(host));
        if (ssh_session(g, "3.14.20.10", host, bg_at(g, 0, 3500), &ci) < 0)
            return -1;
    }
    for (int i = 0; i < BG_HOSTS; i += 3) {
        bg_host(i, host, sizeof(host));
        if (tls_session(g, host, tls_snis[i % 2][1], tls_snis[i % 2][0], bg_at(g, 0, 3500),
                        gen_range(&g->rng, 2000, 90000), 2) < 0)
            return -1;
    }
    return 0;
}

static int scen_background(struct gen *g)
{
    char src[32];
    if (bg_textbook(g) < 0 || bg_legit(g) < 0)
        return -1;
    /* Sweeps: a dozen scanners, a third of them in China, each over some
     * of the ports, at any time of the hour. */
    for (int i = 0; i < 12; i++) {
        bg_source(g, i % 3 == 0, src, sizeof(src));
        if (bg_sweep(g, src, bg_at(g, 0, 3000), gen_range(&g->rng, 1, BG_NPORTS)) < 0)
            return -1;
    }
    /* Brute force: six bots, four in China, one from an Alibaba Cloud
     * address in Hong Kong (a relay country's cloud), each on a few hosts,
     * GPU1 among the targets of the first two. */
    static const int targets[][3] = {{0, 3, 7}, {0, 12}, {5, 6, 8}, {14}, {0, 19, 9}, {2, 4}};
    static const int ntargets[] = {3, 2, 3, 1, 3, 2};
    for (int i = 0; i < 6; i++) {
        if (i == 4)
            snprintf(src, sizeof(src), "8.210.39.%u", gen_range(&g->rng, 2, 250));
        else
            bg_source(g, i < 4, src, sizeof(src));
        if (bg_bot(g, src, bg_at(g, 0, 1500), (int)gen_range(&g->rng, 20, 80), targets[i],
                   ntargets[i]) < 0)
            return -1;
    }
    /* RDP, VNC and notebook probes from China and elsewhere. */
    char host[32];
    for (int i = 0; i < 40; i++) {
        bg_source(g, i % 2, src, sizeof(src));
        bg_host((int)gen_range(&g->rng, 0, BG_HOSTS - 1), host, sizeof(host));
        uint64_t t = bg_at(g, 0, 3500);
        int rc;
        switch (i % 4) {
        case 0:
            rc = bg_rdp_probe(g, src, host, t);
            break;
        case 1:
            rc = bg_vnc_probe(g, src, host, t);
            break;
        default:
            rc = bg_http_probe(g, src, host, i % 8 == 2 ? 6006 : 8888, t);
            break;
        }
        if (rc < 0)
            return -1;
    }
    return 0;
}

/* The same hour with one real interactive SSH session from China into
 * GPU1, half an hour in: scanners and a bot from China hit GPU1 before. */
static int scen_background_cn(struct gen *g)
{
    if (scen_background(g) < 0)
        return -1;
    struct ssh_opts o = {180000, 2000, (int)gen_range(&g->rng, 40, 120), 5000, 0};
    return ssh_session(g, CN1, GPU1, GEN_START_US + 1800 * GEN_SEC, &o);
}

/* How long someone drives a tunnel: 3-20 minutes, a few commands or a
 * working session (as rules-tunnel), 1.5-10 times tunnel_min_duration. */
static int fep_secs(struct gen *g)
{
    return (int)gen_range(&g->rng, 180, 1200);
}

/* A GPU host driven for 3-20 minutes through a fully encrypted tunnel to a
 * Hong Kong cloud address (Alibaba Cloud, port 8388). */
static int scen_rules_fep(struct gen *g)
{
    return fep_tunnel(g, "8.210.37.5", 8388, NULL, fep_secs(g));
}

/* Near misses, each driven as long: to the same Hong Kong address over TLS
 * (nDPI names it), and a fully encrypted tunnel to a US VPS (no relay
 * country). */
static int scen_rules_fep_miss(struct gen *g)
{
    return fep_tunnel(g, "8.210.37.5", 443, "ws.hk-gateway.example.com", fep_secs(g)) ||
                   fep_tunnel(g, "45.76.12.34", 8388, NULL, fep_secs(g))
               ? -1
               : 0;
}

/* ---- proxy_latency: relays that jitter, relays behind relays ---------- */

#define LAT_MY_RELAY  "43.252.36.20"   /* MY, Net Onboard: no hosting category */
#define LAT_TOKYO_VPS "103.201.130.10" /* JP, xTom Japan (hosting) */
#define LAT_US_MOBILE "172.56.20.30"   /* US, T-Mobile USA */

/* n SSH sessions (lo..hi) from `cip` to GPU1 at times drawn over an hour
 * or two, each typed into for 15-60 keystrokes; the round trip from the
 * sensor and the way beyond are drawn per session from the given ranges
 * (us), the jitter applies to each. */
static int lat_sessions(struct gen *g, const char *cip, int lo, int hi, const uint32_t rtt[2],
                        const uint32_t extra[2], const struct gen_jitter *jit,
                        const struct gen_jitter *beyond)
{
    int n = (int)gen_range(&g->rng, (uint32_t)lo, (uint32_t)hi);
    uint64_t t = GEN_START_US;
    for (int i = 0; i < n; i++) {
        struct ssh_opts o = {gen_range(&g->rng, rtt[0], rtt[1]), gen_range(&g->rng, 1000, 3000),
                             (int)gen_range(&g->rng, 15, 60), (int)gen_range(&g->rng, 1500, 6000),
                             gen_range(&g->rng, extra[0], extra[1])};
        if (ssh_session_jit(g, cip, GPU1, t, &o, jit, beyond) < 0)
            return -1;
        t += ms(g, 300000, 2400000);
    }
    return 0;
}

/* A relay in Malaysia (no hosting category: only proxy_latency can see
 * it) that holds every packet it sends for a random 10-60 ms (netem-style
 * uniform delay, the handshake's ACK included) to blur its round trips.
 * Kuala Lumpur to the US west coast is 170-230 ms; its users in China
 * are 40-90 ms beyond it (Guangzhou to Shanghai, over Hong Kong). */
static int scen_lat_relay_jitter(struct gen *g)
{
    static const uint32_t rtt[2] = {170000, 230000}, extra[2] = {40000, 90000};
    static const struct gen_jitter relay = {GEN_JIT_UNIFORM, 10000, 60000};
    return lat_sessions(g, LAT_MY_RELAY, 2, 4, rtt, extra, &relay, NULL);
}

/* The last hop of a chain: a Tokyo VPS (100-140 ms from the US west
 * coast) fed from a Hong Kong relay (Tokyo to Hong Kong 45-60 ms), whose
 * users in China are 30-70 ms beyond it: 75-130 ms beyond the Tokyo VPS,
 * the Hong Kong relay adding its own random 10-60 ms. */
static int scen_lat_chain(struct gen *g)
{
    static const uint32_t rtt[2] = {100000, 140000}, extra[2] = {75000, 130000};
    static const struct gen_jitter hk = {GEN_JIT_UNIFORM, 10000, 60000};
    return lat_sessions(g, LAT_TOKYO_VPS, 2, 4, rtt, extra, NULL, &hk);
}

/* Near miss: a user in the US on a mobile line, directly. LTE round trips
 * to a US data centre are 45-110 ms, and every packet waits in the radio
 * link's queues a varying time (tens of ms packet to packet even on a
 * steady connection, Rohde & Schwarz's TWAMP field tests 2021-22):
 * exponential with a mean of 5-20 ms, at most 250 ms, on every packet,
 * handshake and answers alike. Nothing lies beyond the client. */
static int scen_la_mobile_us(struct gen *g)
{
    static const uint32_t rtt[2] = {45000, 110000}, extra[2] = {0, 0};
    struct gen_jitter lte = {GEN_JIT_EXP, gen_range(&g->rng, 5000, 20000), 250000};
    return lat_sessions(g, LAT_US_MOBILE, 3, 6, rtt, extra, &lte, NULL);
}

/* ---- relays known only from the generated hosting table -------------- */

/* relay_control through a Hong Kong VPS whose AS (152194, "CTG Server
 * Limited") has a category only from data/indicators/generated/asn.csv:
 * SSH to a GPU host, the user 35-70 ms beyond the relay. */
static int scen_rules_relay_generated(struct gen *g)
{
    return rules_ssh(g, "1.32.205.20", GPU1, GEN_START_US, RELAY_RTT_US,
                     gen_range(&g->rng, 35000, 70000));
}

/* Near miss: the same SSH session typed from a Hong Kong home broadband
 * address (Hong Kong Broadband Network, AS9269: residential). */
static int scen_rules_relay_generated_miss(struct gen *g)
{
    return rules_ssh(g, "14.136.20.30", GPU1, GEN_START_US, gen_range(&g->rng, 2000, 9000), 0);
}

/* ---- reverse tunnels by behaviour, UDP channels, keystroke chaff ------
 * (tests/system/tunnel_behavior.sh). Times are drawn from the spreads of
 * real use: inter-key intervals 80-450 ms around the 240 ms average of
 * 136 million keystrokes (Dhakal et al., CHI 2018); the pause before the
 * next command log-uniform over 1-30 s (reading the output, thinking);
 * output 300 B-20 KB; round trips per flow. */

#define RT_HK_CLOUD "8.210.37.5"  /* HK, Alibaba Cloud (china_cloud) */
#define RT_US_VPS   "45.76.12.34" /* US, a VPS */
#define RT_DC2      GPU3          /* the tenant's second data centre (CoreWeave) */

static uint64_t rt_think(struct gen *g)
{
    double u = (double)gen_range(&g->rng, 0, 1000000) / 1e6;
    return (uint64_t)(1e6 * exp(u * log(30.0)));
}

/* How the far end drives the host through the tunnel: commands typed
 * (keys from the server, echoes from the host, the output after Enter),
 * web requests (a developer exposing a service), or nothing but the
 * heartbeats. */
enum { RT_TYPED, RT_WEB, RT_IDLE };

/* `host` (a GPU host) dials out over TLS to sip:port (frp, whose TLS
 * carries no SNI, when sni is NULL) and holds it for `secs` seconds,
 * driven as `how` says; the agent's heartbeat (frp: a ping from the agent
 * every 30 s, the server's pong) runs in the pauses. The host echoes a
 * key in 0.5-6 ms: the agent and sshd on a host beside the sensor. */
static int rt_tls(struct gen *g, const char *host, const char *sip, uint16_t port, const char *sni,
                  uint64_t t0, int secs, int how)
{
    struct gen_flow *f = flow_mk(g, 6, host, sip, port, "tls", sni);
    struct gen_rng *r = &g->rng;
    uint8_t *m = g->msg;
    flow_rtt(f, gen_range(r, 200, 800), gen_range(r, 30000, 60000));
    uint64_t t = tls_handshake(g, f, tcp_open(f, t0) + 120, sni, sni ? sni : "frps");
    uint64_t end = t + (uint64_t)secs * GEN_SEC;
    uint64_t hb = t + 30 * GEN_SEC;
    t += rt_think(g);
    while (t < end) {
        for (; hb < t; hb += 30 * GEN_SEC + ms(g, 0, 5)) {
            tcp_send(f, GEN_C2S, hb, m, tls_appdata(m, r, gen_range(r, 30, 45)));
            tcp_send(f, GEN_S2C, tcp_reply(f, GEN_S2C, hb) + ms(g, 0, 2), m,
                     tls_appdata(m, r, gen_range(r, 30, 45)));
        }
        if (how == RT_TYPED) {
            int keys = (int)gen_range(r, 2, 16);
            for (int k = 0; k < keys; k++) {
                /* an SSH keystroke (36-52 B) in a yamux frame in a TLS record */
                tcp_send(f, GEN_S2C, t, m, tls_appdata(m, r, gen_range(r, 70, 100)));
                tcp_send(f, GEN_C2S, tcp_reply(f, GEN_C2S, t) + gen_range(r, 500, 6000), m,
                         tls_appdata(m, r, gen_range(r, 70, 100)));
                t += ms(g, 80, 450);
            }
            tcp_send(f, GEN_C2S, tcp_reply(f, GEN_C2S, t) + ms(g, 2, 60), m,
                     tls_appdata(m, r, gen_range(r, 300, 20000)));
        } else if (how == RT_WEB) {
            int reqs = (int)gen_range(r, 1, 6);
            for (int k = 0; k < reqs; k++) {
                tcp_send(f, GEN_S2C, t, m, tls_appdata(m, r, gen_range(r, 350, 1400)));
                t = tcp_send(f, GEN_C2S, tcp_reply(f, GEN_C2S, t) + ms(g, 5, 120), m,
                             tls_appdata(m, r, gen_range(r, 2000, 60000)));
                t += ms(g, 50, 900);
            }
        }
        t += rt_think(g);
    }
    tcp_close(f, GEN_C2S, end);
    g->planned += f->nseg;
    return sched_add(g, f);
}

/* QUIC (frp's quic transport, a QUIC remote desktop): `host` dials out to
 * sip:port over UDP and is typed into for `secs` seconds, a keep-alive
 * PING from the agent every 10 s (frp's quic keepalive) in the pauses.
 * Initial of 1200-1350 bytes, the server's Initial and Handshake, then
 * short-header packets: a key is 60-90 bytes (header, a STREAM frame with
 * the SSH packet, the tag), an ACK-only packet 30-45. */
static int rt_quic(struct gen *g, const char *host, const char *sip, uint16_t port, int secs)
{
    struct gen_flow *f = flow_mk(g, 17, host, sip, port, "quic", NULL);
    struct gen_rng *r = &g->rng;
    uint8_t *m = g->msg;
    uint32_t rtt = gen_range(r, 30000, 60000);
    size_t n;
    uint64_t t = GEN_START_US;

    n = gen_range(r, 1200, 1350);
    gen_fill(r, m, n);
    m[0] = 0xc3, put32(m + 1, 1), m[5] = 8, m[14] = 8;
    udp_send(f, GEN_C2S, t, m, n);
    t += rtt;
    for (int i = 0; i < 2; i++) {
        n = gen_range(r, 1200, 1350);
        gen_fill(r, m, n);
        m[0] = i ? 0xe2 : 0xc2, put32(m + 1, 1), m[5] = 8, m[14] = 8;
        udp_send(f, GEN_S2C, t + (uint64_t)i * 200, m, n);
    }
    t += 1000;
    uint64_t end = t + (uint64_t)secs * GEN_SEC, hb = t + 10 * GEN_SEC;
#define RT_QUIC_SHORT(dir, at, lo, hi)                                                             \
    do {                                                                                           \
        n = gen_range(r, lo, hi);                                                                  \
        gen_fill(r, m, n);                                                                         \
        m[0] = (uint8_t)(0x40 | (m[0] & 0x3f));                                                    \
        udp_send(f, dir, at, m, n);                                                                \
    } while (0)
    RT_QUIC_SHORT(GEN_C2S, t, 40, 80); /* the client's Finished */
    t += rt_think(g);
    while (t < end) {
        for (; hb < t; hb += 10 * GEN_SEC + ms(g, 0, 3)) {
            RT_QUIC_SHORT(GEN_C2S, hb, 30, 40);
            RT_QUIC_SHORT(GEN_S2C, hb + rtt + ms(g, 0, 2), 30, 40);
        }
        int keys = (int)gen_range(r, 2, 16);
        for (int k = 0; k < keys; k++) {
            RT_QUIC_SHORT(GEN_S2C, t, 60, 90);
            RT_QUIC_SHORT(GEN_C2S, t + gen_range(r, 500, 6000), 60, 90);
            t += ms(g, 80, 450);
        }
        size_t out = gen_range(r, 300, 20000);
        uint64_t o = t + ms(g, 2, 60);
        for (size_t sent = 0; sent < out; sent += 1250, o += 150)
            RT_QUIC_SHORT(GEN_C2S, o, 1000, 1300);
        RT_QUIC_SHORT(GEN_S2C, o + rtt, 30, 45);
        t = o + rt_think(g);
    }
#undef RT_QUIC_SHORT
    g->planned += f->nseg;
    return sched_add(g, f);
}

/* WireGuard between cip and sip (UDP 51820) for `secs` seconds.
 * Handshake initiation (148 bytes) and response (92), again every 120 s
 * (REKEY_AFTER_TIME), a keepalive (32) every 25 s when nothing else went
 * (PersistentKeepalive 25). Inside: `typed_by` (GEN_C2S: the client's
 * user, GEN_S2C: the server's end, -1: nobody) types SSH commands into
 * the other end, which echoes at once; a key is an IP packet of 88-104
 * bytes (IPv4, TCP with timestamps, a 36-52-byte SSH packet), 128-144 in
 * WireGuard (padded to 16, 32 of header and tag); the inner TCP's ACKs are
 * 96. Else bulk: bursts of 50-200 full datagrams each way (1456 bytes: an
 * inner MTU of 1420), a replication job's batches 10-60 s apart. */
static int wg_session(struct gen *g, const char *cip, const char *sip, uint64_t t0, int secs,
                      int typed_by)
{
    struct gen_flow *f = flow_mk(g, 17, cip, sip, 51820, "wireguard", NULL);
    struct gen_rng *r = &g->rng;
    uint8_t *m = g->msg;
    uint32_t rtt = gen_range(r, 20000, 220000);
    uint64_t t = t0, end = t0 + (uint64_t)secs * GEN_SEC, rekey = t0, last = t0;
#define WG_MSG(dir, at, type, len)                                                                 \
    do {                                                                                           \
        gen_fill(r, m, (len));                                                                     \
        m[0] = (type), m[1] = m[2] = m[3] = 0;                                                     \
        udp_send(f, dir, at, m, (len));                                                            \
        last = (at);                                                                               \
    } while (0)
#define WG_IP(lo, hi) (32 + 16 * ((gen_range(r, lo, hi) + 15) / 16))
    while (t < end) {
        if (t >= rekey) {
            WG_MSG(GEN_C2S, t, 1, 148);
            WG_MSG(GEN_S2C, t + rtt + ms(g, 0, 2), 2, 92);
            t += rtt + 2000;
            WG_MSG(GEN_C2S, t, 4, 32);
            rekey = t + 120 * GEN_SEC;
        }
        if (typed_by >= 0) {
            int by = typed_by, to = !typed_by, keys = (int)gen_range(r, 2, 16);
            uint32_t rtt_by = rtt; /* the typist is the far end */
            for (int k = 0; k < keys; k++) {
                WG_MSG(by, t, 4, WG_IP(88, 104));
                WG_MSG(to, t + gen_range(r, 500, 6000), 4, WG_IP(88, 104));
                if (gen_range(r, 0, 2) == 0)
                    WG_MSG(by, t + rtt_by + ms(g, 20, 40), 4, WG_IP(52, 52));
                t += ms(g, 80, 450);
            }
            uint64_t o = t + ms(g, 2, 60);
            for (size_t out = gen_range(r, 300, 20000), s = 0; s < out; s += 1388, o += 120)
                WG_MSG(to, o, 4, WG_IP(100, 1388));
            WG_MSG(by, o + rtt_by, 4, WG_IP(52, 52));
            t = o;
        } else {
            for (uint32_t n = gen_range(r, 50, 200); n > 0 && t < end; n--, t += 700) {
                WG_MSG(GEN_C2S, t, 4, WG_IP(1420, 1420));
                WG_MSG(GEN_S2C, t + 350, 4, WG_IP(1420, 1420));
            }
        }
        uint64_t next = t + (typed_by >= 0 ? rt_think(g) : ms(g, 10000, 60000));
        for (uint64_t k = last + 25 * GEN_SEC; k < next && k < end; k += 25 * GEN_SEC)
            WG_MSG(GEN_C2S, k, 4, 32);
        t = next;
    }
#undef WG_MSG
#undef WG_IP
    g->planned += f->nseg;
    return sched_add(g, f);
}

/* reverse_tunnel by behaviour over TCP: GPU1 dials out over TLS on 443,
 * no SNI (frp's own TLS), to a Hong Kong cloud address and is typed into
 * through it for 5-25 minutes. */
static int scen_rules_rtunnel(struct gen *g)
{
    return rt_tls(g, GPU1, RT_HK_CLOUD, 443, NULL, GEN_START_US, (int)gen_range(&g->rng, 300, 1500),
                  RT_TYPED);
}

/* The same through a VPS in the US: the tunnel of a developer or of a
 * reseller whose relay sits on an ordinary network (reverse_tunnel low). */
static int scen_rules_rtunnel_us(struct gen *g)
{
    return rt_tls(g, GPU1, RT_US_VPS, 443, NULL, GEN_START_US, (int)gen_range(&g->rng, 300, 1500),
                  RT_TYPED);
}

/* The same over QUIC (UDP 443). */
static int scen_rules_rtunnel_quic(struct gen *g)
{
    return rt_quic(g, GPU1, RT_HK_CLOUD, 443, (int)gen_range(&g->rng, 300, 1500));
}

/* Near misses: a developer's frp tunnel to their own US VPS exposing a web
 * service from GPU1; a developer's tunnel on GPU2 that is typed into, with
 * their own inbound SSH login to GPU2 beside it in the same hour; an idle
 * agent on RULES_GPU4 to the Hong Kong address, heartbeats only. */
static int scen_rules_rtunnel_miss(struct gen *g)
{
    int secs = (int)gen_range(&g->rng, 600, 1800);
    return rt_tls(g, GPU1, RT_US_VPS, 443, NULL, GEN_START_US, secs, RT_WEB) ||
                   rules_ssh(g, US1, GPU2, GEN_START_US, 42000, 0) ||
                   rt_tls(g, GPU2, RT_US_VPS, 7000, NULL, GEN_START_US + 60 * GEN_SEC, secs,
                          RT_TYPED) ||
                   rt_tls(g, RULES_GPU4, RT_HK_CLOUD, 443, NULL, GEN_START_US, secs, RT_IDLE)
               ? -1
               : 0;
}

/* UDP control channels: a user in China types into GPU1 over WireGuard
 * (inbound, 10-30 minutes); GPU2 dials out over WireGuard to a Hong Kong
 * cloud address and is typed into from there. */
static int scen_rules_wg(struct gen *g)
{
    return wg_session(g, CN1, GPU1, GEN_START_US, (int)gen_range(&g->rng, 600, 1800), GEN_C2S) ||
                   wg_session(g, GPU2, RT_HK_CLOUD, GEN_START_US,
                              (int)gen_range(&g->rng, 600, 1800), GEN_S2C)
               ? -1
               : 0;
}

/* Near miss: a site-to-site WireGuard link between two of the tenant's
 * data centres (GPU1 and its CoreWeave host), bulk both ways for half an
 * hour, nobody typing. */
static int scen_rules_wg_miss(struct gen *g)
{
    return wg_session(g, GPU1, RT_DC2, GEN_START_US, (int)gen_range(&g->rng, 600, 1200), -1);
}

/* OpenSSH 9.5+ keystroke obfuscation on one leg: from the first key at
 * `first` (sent at once) the client sends a 36-byte packet every 18-22 ms
 * (the 20 ms interval, jittered) until `last`, the last key, plus chaff
 * for 1.024-3.072 s; the server answers each at once (the echo, or the
 * PONG of a chaff PING). */
static void chaff_train(struct gen *g, struct gen_flow *f, uint64_t first, uint64_t last)
{
    struct gen_rng *r = &g->rng;
    uint64_t stop = last + gen_range(r, 1024000, 3072000);

    for (uint64_t t = first; t <= stop; t += gen_range(r, 18000, 22000)) {
        tcp_send(f, GEN_C2S, t, g->msg, ssh_packet(g->msg, r, 36));
        tcp_send(f, GEN_S2C, tcp_reply(f, GEN_S2C, t) + gen_range(r, 100, 600), g->msg,
                 ssh_packet(g->msg, r, 36));
    }
}

/* One command typed through an obfuscated leg (and relayed `lag` us later
 * into `out` when there is one): 2-12 keys 80-450 ms apart, the output
 * 10-60 ms after Enter on out and 2 ms later on in. Returns when the
 * output reached in. */
static uint64_t chaff_command(struct gen *g, struct gen_flow *in, struct gen_flow *out, uint64_t t,
                              uint32_t lag)
{
    struct gen_rng *r = &g->rng;
    uint64_t last = t;

    for (int k = (int)gen_range(r, 2, 12); k > 1; k--)
        last += ms(g, 80, 450);
    chaff_train(g, in, t, last);
    size_t len = gen_range(r, 300, 24000);
    uint64_t o = tcp_reply(in, GEN_S2C, last) + ms(g, 10, 60);
    if (out) {
        chaff_train(g, out, t + lag, last + lag);
        o = tcp_send(out, GEN_S2C, o + lag, g->msg, ssh_packet(g->msg, r, len)) + 2000;
    }
    return tcp_send(in, GEN_S2C, o, g->msg, ssh_packet(g->msg, r, len));
}

/* relay-hop with OpenSSH 9.5+ clients on both legs: the user in China
 * types into SSH on the UK host, whose own ssh client types the same keys
 * 2-6 ms later into SSH to GPU1 (related), or the two sessions are typed
 * independently (not related). 14 commands, a pause of 1-30 s before
 * each; then 4-8 more on the intermediary alone. */
static int chaff_hop(struct gen *g, int related)
{
    struct gen_rng *r = &g->rng;
    struct gen_flow *in = flow_mk(g, 6, CN1, EU1, 22, "ssh", NULL);
    flow_rtt(in, 170000, 1500);
    uint64_t t = ssh_setup(g, in, GEN_START_US) + ms(g, 2000, 4000);
    struct gen_flow *out = flow_mk(g, 6, EU1, GPU1, 22, "ssh", NULL);
    flow_rtt(out, 1500, 2000);
    uint64_t to = ssh_setup(g, out, t) + ms(g, 1500, 3000);

    t = to;
    for (int c = 0; c < 14; c++) {
        t += rt_think(g);
        if (related) {
            t = chaff_command(g, in, out, t, gen_range(r, 2000, 6000));
        } else {
            t = chaff_command(g, in, NULL, t, 0);
            to = chaff_command(g, out, NULL, (to > t ? to : t) + rt_think(g), 0);
        }
    }
    t = to > t ? to : t;
    hop_close(g, out, t + GEN_SEC);
    /* The user stays on the intermediary after the hop ends. */
    t += 2 * GEN_SEC;
    for (int c = (int)gen_range(r, 4, 8); c > 0; c--)
        t = chaff_command(g, in, NULL, t + rt_think(g), 0);
    hop_close(g, in, t + GEN_SEC);
    if (sched_add(g, in) < 0)
        return -1;
    return sched_add(g, out);
}

static int scen_relay_hop_chaff(struct gen *g)
{
    return chaff_hop(g, 1);
}

static int scen_relay_hop_chaff_miss(struct gen *g)
{
    return chaff_hop(g, 0);
}

const struct gen_scenario gen_scenarios[] = {
    {"la-ci-fanout", "benign: a CI runner on AWS US driving 5-12 GPU hosts of its company",
     scen_la_ci_fanout},
    {"la-fleet-own",
     "benign: 2-4 engineers on a Japanese company's office /24 drive its 6-20 hosts over a day",
     scen_la_fleet_own},
    {"la-tokyo-bastion", "benign: a Japanese team's SSH bastion on AWS Tokyo",
     scen_la_tokyo_bastion},
    {"la-mobile-us", "benign: SSH from a US mobile line with jittery round trips",
     scen_la_mobile_us},
    {"lat-relay-jitter", "SSH through a Malaysian relay adding random 10-60 ms, users in China",
     scen_lat_relay_jitter},
    {"lat-chain", "SSH from a Tokyo VPS fed from a jittering Hong Kong relay, users in China",
     scen_lat_chain},
    {"la-six-countries", "benign: one team driving a GPU host from six ordinary countries",
     scen_la_six_countries},
    {"la-jump-host", "benign: US employees through the company's SSH jump host", scen_la_jump_host},
    {"la-egress-home", "benign: a US researcher copies 1.1 GB of results home after SSH",
     scen_la_egress_home},
    {"la-home-cn", "benign: a home PC in China resolving mirror names", scen_la_home_cn},
    {"la-api-job", "benign: a job calling the OpenAI API every second; web visitors from China",
     scen_la_api_job},
    {"la-office-de", "benign: SSH sessions of a working week in Germany (UTC+1)",
     scen_la_office_de},
    {"la-office-in", "benign: SSH sessions of a working week in India (UTC+5:30)",
     scen_la_office_in},
    {"la-office-jp", "benign: SSH sessions of a working week in Japan (UTC+9)", scen_la_office_jp},
    {"la-tunnel-idle", "benign: an idle ngrok agent on a GPU host, heartbeats only",
     scen_la_tunnel_idle},
    {"ssh", "interactive SSH session, China client to a GPU host (rtt 180 ms)", scen_ssh},
    {"tls", "TLS sessions to pytorch, Hugging Face CDN, OpenAI and Aliyun OSS", scen_tls},
    {"http-jupyter", "Jupyter over plain HTTP on 8888: /lab, /api, kernel websocket",
     scen_http_jupyter},
    {"rdp", "RDP on 3389 with an mstshash cookie, then encrypted traffic", scen_rdp},
    {"relay-ssh", "interactive SSH through a Malaysian relay 1 ms away, user 38-87 ms beyond it",
     scen_relay_ssh},
    {"relay-tls", "TLS Jupyter notebook session through the same relay (user 38-87 ms beyond it)",
     scen_relay_tls},
    {"todesk", "GPU host resolving and connecting to ToDesk over TLS; a look-alike name",
     scen_todesk},
    {"k8s", "Kubernetes API: kubectl over TLS to 6443, and kubectl proxy paths on 8001", scen_k8s},
    {"dns", "A and AAAA lookups of mirror names via 8.8.8.8 and 114.114.114.114", scen_dns},
    {"bulk", "GPU host uploading ~170 MB over TLS to Aliyun OSS, snaplen 96, plus a download",
     scen_bulk},
    {"vxlan", "the sample mix, every frame in VXLAN (VNI 4242)", scen_vxlan},
    {"vlan-ipv6", "SSH, TLS and a small bulk download over IPv6 on VLAN 120", scen_vlan_ipv6},
    {"sample", "README sample: a few minutes of one GPU host's mirror port", scen_sample},
    {"fleet", "GPU fleet mirror port: bulk flows (snaplen 96), ~2% control sessions", scen_fleet},
    {"flood", "SYN flood / port scan: --packets distinct SYNs to one host", scen_flood},
    {"scan", "port scan from many sources over 1024 hosts: --packets SYNs and RSTs", scen_scan},
    {"egress-ctl", "SSH from a US network into a GPU host, uploads to that /24 and to S3",
     scen_egress_ctl},
    {"egress-midnight",
     "egress-ctl with the SSH login at 23:50 UTC held open, the upload after midnight",
     scen_egress_midnight},
    {"egress-midday", "egress-midnight ten hours earlier, inside one UTC day", scen_egress_midday},
    {"egress-parts",
     "a checkpoint uploaded in parts to Alibaba OSS Hong Kong over 8-16 connections, 6-10 /24s",
     scen_egress_parts},
    {"egress-parts-minio",
     "the same parts to a MinIO store on Alibaba Cloud Hong Kong, a name in no list",
     scen_egress_parts_minio},
    {"la-egress-backup",
     "benign: a tenant's multipart backup to its own S3 bucket (us-west-2 or eu-west-1)",
     scen_la_egress_backup},
    {"relay-hop", "stepping stone: CN user -> SSH on a UK host -> SSH to a GPU host, keys relayed",
     scen_relay_hop},
    {"relay-hop-miss", "the same two SSH sessions on the UK host, typed independently",
     scen_relay_hop_miss},
    {"tz-cst", "short SSH sessions into a GPU host on 3-5 days of a CST working week", scen_tz_cst},
    {"tz-us", "short SSH sessions into a GPU host on 3 days of a US Pacific working day",
     scen_tz_us},
    {"rules-rtunnel",
     "GPU host typed into through an outbound TLS connection to Hong Kong (frp-like)",
     scen_rules_rtunnel},
    {"rules-rtunnel-quic", "the same over QUIC (UDP 443)", scen_rules_rtunnel_quic},
    {"rules-rtunnel-us", "the same TLS tunnel to a US VPS", scen_rules_rtunnel_us},
    {"rules-rtunnel-miss",
     "a developer's web tunnel; a typed tunnel beside an inbound login; an idle agent",
     scen_rules_rtunnel_miss},
    {"rules-wg", "WireGuard: a user in China into a GPU host; a GPU host typed into from Hong Kong",
     scen_rules_wg},
    {"rules-wg-miss", "benign: site-to-site WireGuard between two of the tenant's data centres",
     scen_rules_wg_miss},
    {"relay-hop-chaff", "relay-hop with OpenSSH 9.5+ keystroke obfuscation on both legs",
     scen_relay_hop_chaff},
    {"relay-hop-chaff-miss", "the same two obfuscated sessions typed independently",
     scen_relay_hop_chaff_miss},
    {"rules-relay", "SSH to a GPU host from Alibaba Cloud Hong Kong, user 35-70 ms beyond it",
     scen_rules_relay},
    {"rules-relay-miss", "US VPS relay adding 15 ms; plain HTTPS from the Hong Kong cloud",
     scen_rules_relay_miss},
    {"rules-fanout", "one controller in China drives five GPU hosts", scen_rules_fanout},
    {"rules-fanout-spread",
     "8-12 addresses of one Hong Kong hosting /24 each drive 1-2 GPU hosts over a day",
     scen_rules_fanout_spread},
    {"rules-fanout-edge", "5-8 hosts split by midnight UTC, each side 1-4", scen_rules_fanout_edge},
    {"rules-fanin", "one GPU host controlled from CN, HK, US and UK networks", scen_rules_fanin},
    {"rules-ci-fleet", "benign: 12-30 AWS US addresses drive one GPU host", scen_rules_ci_fleet},
    {"rules-researcher", "benign: US researcher over SSH, pulls, checkpoint upload to S3",
     scen_rules_researcher},
    {"rules-eu-notebook", "benign: European notebook over TLS", scen_rules_eu_notebook},
    {"rules-big-upload", "benign: 256 MiB upload from a GPU host to S3 in the US",
     scen_rules_big_upload},
    {"rules-tunnel", "GPU host driven through an ngrok agent connection for 3-20 minutes",
     scen_rules_tunnel},
    {"rules-tunnel-short", "the same ngrok connection closed after 30-75 s",
     scen_rules_tunnel_short},
    {"rules-ai-relay", "40-100 clients in China, each request relayed to api.openai.com",
     scen_rules_ai_relay},
    {"rules-ai-relay-few", "the same relay with 3-12 clients", scen_rules_ai_relay_few},
    {"rules-footprint-few", "GPU host using two China services only", scen_rules_footprint_few},
    {"rules-behavior", "a VPS pulling CUDA and serving Jupyter to China", scen_rules_behavior},
    {"rules-mix4", "relayed and direct SSH from Hong Kong cloud and China over IPv4",
     scen_rules_mix4},
    {"rules-mix6", "the same over IPv6 on VLAN 120 (Singapore cloud relay)", scen_rules_mix6},
    {"rules-ai-relay-far", "30-60 clients in China 180-260 ms away, relayed to api.anthropic.com",
     scen_rules_ai_relay_far},
    {"rules-ai-relay-unlinked", "30-60 clients in China; the host's OpenAI calls 10 min later",
     scen_rules_ai_relay_unlinked},
    {"rules-ai-relay-pooled",
     "30-45 clients in China relayed onto two kept-alive HTTP/2 connections to AI APIs",
     scen_rules_ai_relay_pooled},
    {"la-api-periodic",
     "benign: a job calls the OpenAI API every 3-30 s on one kept-alive connection; visitors "
     "from China",
     scen_la_api_periodic},
    {"rules-tunnel-controlled", "rules-tunnel after the tenant's own SSH session from the US",
     scen_rules_tunnel_controlled},
    {"background",
     "an hour of Internet background on a 20-host GPU fleet: scans, sweeps, SSH "
     "brute force, RDP/VNC/notebook probes, ordinary work",
     scen_background},
    {"background-cn",
     "the background hour with one interactive SSH session from China to a GPU "
     "host half an hour in",
     scen_background_cn},
    {"rules-fep", "GPU host driven through a fully encrypted tunnel to Hong Kong cloud, 3-20 min",
     scen_rules_fep},
    {"rules-fep-miss", "the same over TLS to Hong Kong, and fully encrypted to a US VPS",
     scen_rules_fep_miss},
    {"rules-relay-generated",
     "SSH to a GPU host from a Hong Kong VPS named only by the generated table",
     scen_rules_relay_generated},
    {"rules-relay-generated-miss", "the same SSH session from a Hong Kong home broadband address",
     scen_rules_relay_generated_miss},
    {NULL, NULL, NULL}};
