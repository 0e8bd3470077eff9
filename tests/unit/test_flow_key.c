/* test_flow_key.c -- unit tests of flow keys and the choice of a worker
 * (capture/flow_key.c).
 *
 * The capture thread picks a packet's worker with flow_key_shard() from
 * the decoded packet alone, and the worker keys its flow table with
 * flow_key_make()/flow_key_hash(). Records are the same whatever the
 * number of workers only if every packet of a flow, both ways, reaches
 * one worker: checked on every packet of the real captures under
 * $LOOPHOLE_CORPUS/ndpi, each one also turned around (addresses and ports
 * swapped), for 1 to 8 workers; and the flows must spread over the
 * workers, or a second worker would buy nothing.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "capture/decode.h"
#include "capture/flow_key.h"
#include "corpus_walk.h"

#define MAX_WORKERS 8
#define SLOTS       (1u << 20) /* open addressing, far more than the corpus's flows */

/* The worker each flow key went to, for every worker count. */
typedef struct seen {
    flow_key key;
    int used;
    unsigned shard[MAX_WORKERS + 1];
} seen;

typedef struct corpus_flows {
    seen *slots;
    unsigned flows;
    unsigned per_worker[MAX_WORKERS + 1][MAX_WORKERS];
} corpus_flows;

/* p seen from its flow's other end: addresses and ports swapped. */
static packet turned(const packet *p)
{
    packet back = *p;

    back.src = p->dst;
    back.dst = p->src;
    back.sport = p->dport;
    back.dport = p->sport;
    return back;
}

static void check_packet(corpus_flows *cf, const packet *p)
{
    packet back = turned(p);
    flow_key k;

    int side = flow_key_make(&k, p);
    flow_key kb;
    int bside = flow_key_make(&kb, &back);
    /* the worker's shortcut for a packet of the last packet's flow tells
     * the side flow_key_make() tells, both ways */
    assert_int_equal(flow_key_side(&k, p), side);
    assert_int_equal(flow_key_side(&k, &back), bside);
    uint64_t h = flow_key_hash(&k);
    seen *s = &cf->slots[h & (SLOTS - 1)];
    while (s->used && !flow_key_equal(&s->key, &k))
        s = &cf->slots[(size_t)(s - cf->slots + 1) & (SLOTS - 1)];
    int fresh = !s->used;
    if (fresh) {
        s->used = 1;
        s->key = k;
        cf->flows++;
    }
    for (unsigned n = 1; n <= MAX_WORKERS; n++) {
        unsigned w = flow_key_shard(p, n);
        assert_true(w < n);
        assert_int_equal(flow_key_shard(&back, n), w);
        if (fresh) {
            s->shard[n] = w;
            cf->per_worker[n][w]++;
        } else {
            assert_int_equal(s->shard[n], w);
        }
    }
}

typedef struct corpus_walk_ctx {
    corpus_flows *cf;
    decoder *d;
} corpus_walk_ctx;

static void corpus_packet(void *ctx, int dlt, const struct pcap_pkthdr *h, const u_char *bytes)
{
    corpus_walk_ctx *w = ctx;
    packet p;

    (void)dlt;
    memset(&p, 0, sizeof(p));
    p.ts_us = (uint64_t)h->ts.tv_sec * 1000000 + (uint64_t)h->ts.tv_usec;
    p.caplen = h->caplen;
    p.wirelen = h->len;
    p.data = bytes;
    if (decode_packet(w->d, &p) == DECODE_OK)
        check_packet(w->cf, &p);
}

static void test_corpus_shards(void **state)
{
    glob_t g;
    corpus_flows cf;
    corpus_walk_ctx walk = {.cf = &cf};

    (void)state;
    corpus_glob(&g);
    memset(&cf, 0, sizeof(cf));
    cf.slots = calloc(SLOTS, sizeof(*cf.slots));
    assert_non_null(cf.slots);
    for (size_t i = 0; i < g.gl_pathc; i++) {
        walk.d = decode_new(NULL);
        assert_non_null(walk.d);
        corpus_read(g.gl_pathv[i], walk.d, corpus_packet, &walk);
        decode_free(walk.d);
    }
    globfree(&g);

    /* More than 500 flows; each of 2 to 4 workers gets its share within a
     * third (four standard deviations of a fair draw at 4 workers). */
    assert_true(cf.flows > 500);
    for (unsigned n = 2; n <= 4; n++)
        for (unsigned w = 0; w < n; w++) {
            double share = (double)cf.per_worker[n][w] * n / cf.flows;
            if (share < 0.67 || share > 1.33)
                fail_msg("%u workers: worker %u has %.2f of its fair share of %u flows", n, w,
                         share, cf.flows);
        }
    free(cf.slots);
}

/* A TCP packet from src:sport to dst:dport, nothing else set. */
static void tcp_packet(packet *p, const char *src, uint16_t sport, const char *dst, uint16_t dport)
{
    memset(p, 0, sizeof(*p));
    assert_int_equal(pkt_addr_parse(src, &p->src), 0);
    assert_int_equal(pkt_addr_parse(dst, &p->dst), 0);
    p->sport = sport;
    p->dport = dport;
    p->proto = 6;
}

/* Flows that differ only in what separates tenants (VLAN, tunnel id) or
 * in the protocol are distinct keys; the worker choice must read those
 * fields too, or one tenant's flows would pile onto one worker. */
static void test_fields_spread(void **state)
{
    unsigned count[4] = {0};
    packet p;

    (void)state;
    tcp_packet(&p, "10.0.0.1", 40000, "10.0.0.2", 443);
    for (uint32_t i = 0; i < 4000; i++) {
        p.vlan = (uint16_t)(i % 4000);
        count[flow_key_shard(&p, 4)]++;
    }
    for (int w = 0; w < 4; w++)
        assert_true(count[w] > 700 && count[w] < 1300);
    memset(count, 0, sizeof(count));
    p.vlan = 0;
    p.tunnel_type = PKT_TUNNEL_VXLAN;
    for (uint32_t i = 1; i <= 4000; i++) {
        p.tunnel_id = i;
        count[flow_key_shard(&p, 4)]++;
    }
    for (int w = 0; w < 4; w++)
        assert_true(count[w] > 700 && count[w] < 1300);
}

/* flow_key_side(): the side flow_key_make() gives for a packet of the
 * key's flow, either way; -1 for a packet that differs in any field of
 * the key; a tunnel type counts only with a tunnel id, as in the key; a
 * flow from an address and port to themselves is side 0 both ways. */
static void test_key_side(void **state)
{
    packet p, q;
    flow_key k;

    (void)state;
    tcp_packet(&p, "2001:db8::9", 51000, "2001:db8::7", 22);
    p.vlan = 12;
    p.tunnel_id = 7;
    p.tunnel_type = PKT_TUNNEL_VXLAN;
    assert_int_equal(flow_key_make(&k, &p), 1);
    assert_int_equal(flow_key_side(&k, &p), 1);
    q = turned(&p);
    assert_int_equal(flow_key_side(&k, &q), 0);
    for (int field = 0; field < 8; field++) {
        q = p;
        switch (field) {
        case 0:
            q.src.b[15] ^= 1;
            break;
        case 1:
            q.dst.b[0] ^= 1;
            break;
        case 2:
            q.sport++;
            break;
        case 3:
            q.dport++;
            break;
        case 4:
            q.proto = 17;
            break;
        case 5:
            q.vlan++;
            break;
        case 6:
            q.tunnel_id++;
            break;
        case 7:
            q.tunnel_type = PKT_TUNNEL_GRE;
            break;
        }
        if (flow_key_side(&k, &q) != -1)
            fail_msg("a packet with field %d changed is of the key's flow", field);
    }
    /* no tunnel: its type is not part of the key */
    p.tunnel_id = 0;
    flow_key_make(&k, &p);
    q = p;
    q.tunnel_type = PKT_TUNNEL_GRE;
    assert_int_equal(flow_key_side(&k, &q), 1);
    /* an address and port talking to themselves */
    p.dst = p.src;
    p.dport = p.sport;
    assert_int_equal(flow_key_make(&k, &p), 0);
    assert_int_equal(flow_key_side(&k, &p), 0);
}

/* The key holds the packet's fields, each in its place (flow_key_make()
 * writes the last four as one word), both directions give the same key
 * and hash, and an IPv4 address is the IPv4-mapped form
 * (pkt_addr_from_v4() writes it as two words); the hash reads every
 * field. */
static void test_key_fields(void **state)
{
    static const uint8_t v4[8] = {192, 0, 2, 7, 198, 51, 100, 9};
    static const uint8_t mapped[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 198, 51, 100, 9};
    packet p, back;
    flow_key k, kb;

    (void)state;
    memset(&p, 0, sizeof(p));
    pkt_addr_from_v4(&p.src, v4 + 4);
    pkt_addr_from_v4(&p.dst, v4);
    assert_memory_equal(p.src.b, mapped, 16);
    p.sport = 51000;
    p.dport = 22;
    p.proto = 6;
    p.vlan = 0x0abc;
    p.tunnel_id = 0x00123456;
    p.tunnel_type = PKT_TUNNEL_GENEVE;
    assert_int_equal(flow_key_make(&k, &p), 1); /* 192.0.2.7 sorts first */
    assert_memory_equal(k.addr[0].b, p.dst.b, 16);
    assert_memory_equal(k.addr[1].b, p.src.b, 16);
    assert_int_equal(k.port[0], 22);
    assert_int_equal(k.port[1], 51000);
    assert_int_equal(k.tunnel_id, 0x00123456);
    assert_int_equal(k.vlan, 0x0abc);
    assert_int_equal(k.proto, 6);
    assert_int_equal(k.tunnel_type, PKT_TUNNEL_GENEVE);
    back = turned(&p);
    assert_int_equal(flow_key_make(&kb, &back), 0);
    assert_true(flow_key_equal(&k, &kb));
    assert_int_equal(flow_key_hash(&k), flow_key_hash(&kb));
    /* without a tunnel id the type is not part of the key */
    p.tunnel_id = 0;
    flow_key_make(&k, &p);
    assert_int_equal(k.tunnel_type, 0);
    /* each field changes the hash */
    uint64_t h = flow_key_hash(&k);
    flow_key x = k;
    x.vlan++;
    assert_true(flow_key_hash(&x) != h);
    x = k;
    x.proto = 17;
    assert_true(flow_key_hash(&x) != h);
    x = k;
    x.tunnel_id = 1;
    assert_true(flow_key_hash(&x) != h);
    x = k;
    x.port[1]++;
    assert_true(flow_key_hash(&x) != h);
    x = k;
    x.addr[1].b[15]++;
    assert_true(flow_key_hash(&x) != h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_corpus_shards),
        cmocka_unit_test(test_fields_spread),
        cmocka_unit_test(test_key_fields),
        cmocka_unit_test(test_key_side),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
