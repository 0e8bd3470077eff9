/* gen.h -- shared types of lhgen, the scenario capture generator.
 *
 * A scenario (scen.c) creates flows (flow.c) whose payloads come from the
 * protocol builders (proto.c). Each flow holds its own time-sorted list of
 * segments; the scheduler (sched.c) merges flows by timestamp, renders each
 * segment into a frame (pkt.c) and writes it to the pcap dumper, and writes
 * one manifest row per flow when the flow ends. Everything mutable lives in
 * the `struct gen` context that main owns and passes down.
 */
#ifndef LHGEN_GEN_H
#define LHGEN_GEN_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <pcap/pcap.h>

#define GEN_START_US  1772442000000000ULL /* 2026-03-02 09:00:00 UTC */
#define GEN_POOL      65536               /* filler pool for bulk payloads */
#define GEN_POOL_PAD  2048
#define GEN_FRAME_MAX 4096
#define GEN_MS        1000ULL
#define GEN_SEC       1000000ULL

/* Direction of a segment: from the side that opened the flow or back. */
enum { GEN_C2S = 0, GEN_S2C = 1 };

/* TCP flag bits as on the wire. */
#define TCP_FIN 0x01
#define TCP_SYN 0x02
#define TCP_RST 0x04
#define TCP_PSH 0x08
#define TCP_ACK 0x10

struct gen;
struct gen_flow;

/* splitmix64: small, seedable, and identical on every platform. */
struct gen_rng {
    uint64_t s;
};

/* Random delay a side adds to what it sends (queues, a relay's own
 * random delay): per reply, uniform in [a, b] us, or exponential with mean
 * a us and at most b us. */
enum { GEN_JIT_NONE = 0, GEN_JIT_UNIFORM, GEN_JIT_EXP };
struct gen_jitter {
    int kind;
    uint32_t a, b;
};

struct gen_addr {
    int v6;
    uint8_t b[16]; /* IPv4 in the first four bytes */
};

struct gen_ep {
    struct gen_addr ip;
    uint16_t port;
    uint8_t mac[6];
    uint8_t ttl; /* as seen at the sensor */
};

/* One TCP segment or UDP datagram. Scripts fill t, dir, flags and the
 * payload; tcp_commit() fills seq, ack, timestamps and window. */
struct gen_seg {
    uint64_t t; /* sensor time, microseconds since the epoch */
    uint32_t seq, ack, tsval, tsecr;
    uint32_t len; /* payload length */
    uint32_t off; /* payload offset in the flow arena, or in the pool */
    uint32_t order;
    uint16_t win;
    uint8_t dir, flags, filler;
};

/* What a side has sent, so the other side's ACKs can name it once it has
 * had time to arrive there (see tcp_commit). */
struct gen_sent {
    uint64_t t;
    uint32_t end, tsval;
};

struct gen_sentlog {
    struct gen_sent *v;
    size_t head, n, cap;
};

/* A flow refills its segments through step(), called when all earlier
 * segments have been written. It returns 1 while it has more to say, 0 when
 * finished, -1 on error (message in g->err). */
typedef int (*gen_step_fn)(struct gen *g, struct gen_flow *f);

struct gen_flow {
    struct gen_ep ep[2]; /* [GEN_C2S] is the opener */
    uint8_t proto;       /* 6 or 17 */
    uint16_t vlan;
    uint32_t vni;
    uint32_t snaplen; /* 0: frames are kept whole */
    const char *app;
    char host[128];

    /* TCP model: round trips between the sensor and each side. */
    uint32_t rtt[2];
    uint32_t extra[2];            /* what a side's dependent application replies add to
                                     rtt[side]: the way from a TCP-terminating relay to
                                     the real endpoint and back (app_reply) */
    struct gen_jitter jit[2];     /* added to every reply of a side */
    struct gen_jitter jit_app[2]; /* ... and to its dependent replies only:
                                     the way beyond a relay */
    struct gen_rng jrng;          /* draws the jitter (seeded by flow_jitter) */
    uint32_t mss;
    uint32_t gap; /* spacing of back-to-back segments, microseconds */
    uint32_t nxt[2], tsbase[2];
    uint32_t ackv[2], tsecr[2]; /* what each side last acknowledged */
    uint16_t win[2], ipid[2];
    int acked[2]; /* side has acknowledged something: ACK flag on */
    struct gen_sentlog sent[2];
    uint32_t order;

    struct gen_seg *seg;
    size_t nseg, cap, cur, ready;
    uint8_t *buf; /* payload arena for the pending segments */
    size_t blen, bcap;

    uint64_t key; /* heap key: time of the next thing this flow does */
    uint64_t timer;
    gen_step_fn step;
    void *st; /* owned by the flow, freed with it */
    uint32_t hash;
    uint32_t id;

    uint64_t pkts[2], bytes[2], first, last;
};

struct gen_heap {
    struct gen_flow **v;
    size_t n, cap;
};

struct gen {
    struct gen_rng rng;
    uint64_t seed;
    uint64_t packets; /* --packets, 0 when not given */
    uint32_t snaplen; /* --snaplen, 0 when not given */
    uint16_t vlan;    /* applied to flows created while set */
    uint32_t vni;     /* idem */
    uint64_t planned; /* packets promised by the flows created so far */
    uint64_t emitted; /* packets written */
    uint64_t last_ts;
    uint32_t next_id;

    pcap_t *pd;
    pcap_dumper_t *dump;
    FILE *out;
    FILE *manifest;
    const char *out_name, *manifest_name;

    struct gen_heap heap;
    uint8_t pool[GEN_POOL + GEN_POOL_PAD];
    uint32_t pool_sum[(GEN_POOL + GEN_POOL_PAD) / 2 + 1];
    uint8_t frame[GEN_FRAME_MAX];
    uint8_t msg[65536]; /* scratch for payload builders */
    char err[512];
};

/* pkt.c */
uint64_t gen_rand(struct gen_rng *r);
uint32_t gen_range(struct gen_rng *r, uint32_t lo, uint32_t hi);
void gen_fill(struct gen_rng *r, uint8_t *p, size_t n);
int gen_err(struct gen *g, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void gen_addr(struct gen_addr *a, const char *text);
void gen_ep_set(struct gen_ep *e, const char *ip, uint16_t port, uint8_t ttl);
void gen_ep_addr(struct gen_ep *e, const struct gen_addr *a, uint16_t port, uint8_t ttl);
void gen_pool_init(struct gen *g);
uint32_t pkt_render(struct gen *g, struct gen_flow *f, const struct gen_seg *s, uint32_t *caplen,
                    uint32_t *inner);
void put16(uint8_t *p, uint16_t v);
void put24(uint8_t *p, uint32_t v);
void put32(uint8_t *p, uint32_t v);

/* flow.c */
struct gen_flow *flow_new(struct gen *g, uint8_t proto, const struct gen_ep *cli,
                          const struct gen_ep *srv, const char *app, const char *host);
void flow_free(struct gen_flow *f);
void flow_rtt(struct gen_flow *f, uint32_t client_us, uint32_t server_us);
uint32_t flow_put(struct gen_flow *f, const void *data, size_t len);
struct gen_seg *flow_seg(struct gen_flow *f, uint64_t t, int dir, uint8_t flags);
void flow_reset(struct gen_flow *f);
uint64_t tcp_open(struct gen_flow *f, uint64_t t);
uint64_t tcp_send(struct gen_flow *f, int dir, uint64_t t, const void *data, size_t len);
uint64_t tcp_fill(struct gen_flow *f, struct gen_rng *r, int dir, uint64_t t, size_t len);
uint64_t tcp_close(struct gen_flow *f, int dir, uint64_t t);
void tcp_ack(struct gen_flow *f, int dir, uint64_t t);
void tcp_rst(struct gen_flow *f, int dir, uint64_t t);
uint64_t tcp_reply(struct gen_flow *f, int dir, uint64_t t);
uint64_t app_reply(struct gen_flow *f, int dir, uint64_t t);
void flow_jitter(struct gen *g, struct gen_flow *f, int dir, const struct gen_jitter *link,
                 const struct gen_jitter *beyond);
void udp_send(struct gen_flow *f, int dir, uint64_t t, const void *data, size_t len);
int flow_commit(struct gen *g, struct gen_flow *f);

/* sched.c */
int sched_add(struct gen *g, struct gen_flow *f);
int sched_run(struct gen *g);
int sched_manifest_header(struct gen *g);
void sched_free(struct gen *g);

/* proto.c: each builder writes into `out` (at least GEN_MSG_MAX bytes) and
 * returns the length. */
#define GEN_MSG_MAX 65536
size_t ssh_banner(uint8_t *out, int server);
size_t ssh_kexinit(uint8_t *out, struct gen_rng *r, int server);
size_t ssh_msg(uint8_t *out, struct gen_rng *r, uint8_t type, size_t body);
size_t ssh_kex_reply(uint8_t *out, struct gen_rng *r);
size_t ssh_packet(uint8_t *out, struct gen_rng *r, size_t len);
size_t tls_client_hello(uint8_t *out, struct gen_rng *r, const char *sni);
size_t tls_server_flight(uint8_t *out, struct gen_rng *r, const char *cn);
size_t tls_client_finish(uint8_t *out, struct gen_rng *r);
size_t tls_server_finish(uint8_t *out, struct gen_rng *r);
size_t tls_appdata(uint8_t *out, struct gen_rng *r, size_t len);
size_t http_request(uint8_t *out, const char *method, const char *path, const char *host,
                    const char *extra);
size_t http_response(uint8_t *out, struct gen_rng *r, int code, const char *server,
                     const char *ctype, const char *extra, size_t body_len);
size_t ws_frame(uint8_t *out, struct gen_rng *r, int masked, const char *text);
size_t rdp_connect_request(uint8_t *out, const char *user);
size_t rdp_connect_confirm(uint8_t *out);
size_t dns_query(uint8_t *out, uint16_t id, const char *name, uint16_t qtype);
size_t dns_response(uint8_t *out, struct gen_rng *r, uint16_t id, const char *name, uint16_t qtype);

/* scen.c */
struct gen_scenario {
    const char *name;
    const char *desc;
    int (*run)(struct gen *g);
};
extern const struct gen_scenario gen_scenarios[];

/* damage.c */
int damage_run(const char *mode, const char *in, const char *out, uint64_t seed, char *err,
               size_t errlen);

#endif
