/* test_decode.c -- unit tests of the packet decoder (capture/decode*.c).
 *
 * Frames are built here, layer by layer, with small builders whose length
 * fields are filled in when the frame is finished. Every decode runs on a
 * heap copy of exactly `caplen` bytes, so under AddressSanitizer a read
 * past the captured bytes fails the test. The truncation tables cut each
 * frame at every byte and check the reason for each cut; the corpus test
 * decodes the real captures under $LOOPHOLE_CORPUS/ndpi.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <pcap/pcap.h>

#include "capture/decode.h"
#include "capture/packet.h"
#include "corpus_walk.h"

/* ---- frame builder ---------------------------------------------------- */

#define FB_MAX 4096

enum fb_fix { FIX_IPV4, FIX_IPV6, FIX_UDP };

typedef struct fb {
    uint8_t b[FB_MAX];
    uint32_t n;
    int nfix;
    struct {
        uint32_t off;
        enum fb_fix kind;
    } fix[16];
} fb;

static void put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
    put16(p, (uint16_t)(v >> 16));
    put16(p + 2, (uint16_t)v);
}

static uint8_t *fb_put(fb *f, uint32_t len)
{
    uint8_t *p = f->b + f->n;

    assert_true(f->n + len <= FB_MAX);
    memset(p, 0, len);
    f->n += len;
    return p;
}

static void fb_fix(fb *f, uint32_t off, enum fb_fix kind)
{
    assert_true(f->nfix < 16);
    f->fix[f->nfix].off = off;
    f->fix[f->nfix].kind = kind;
    f->nfix++;
}

/* Every nested length runs to the end of the frame. */
static void fb_finish(fb *f)
{
    for (int i = 0; i < f->nfix; i++) {
        uint32_t off = f->fix[i].off;
        switch (f->fix[i].kind) {
        case FIX_IPV4:
            put16(f->b + off + 2, (uint16_t)(f->n - off));
            break;
        case FIX_IPV6:
            put16(f->b + off + 4, (uint16_t)(f->n - off - 40));
            break;
        case FIX_UDP:
            put16(f->b + off + 4, (uint16_t)(f->n - off));
            break;
        }
    }
}

static uint32_t fb_eth(fb *f, uint16_t type)
{
    uint32_t off = f->n;
    uint8_t *h = fb_put(f, 14);

    for (int i = 0; i < 12; i++)
        h[i] = (uint8_t)(0x10 + i);
    put16(h + 12, type);
    return off;
}

static void fb_vlan(fb *f, uint16_t vid, uint16_t next)
{
    uint8_t *h = fb_put(f, 4);

    put16(h, (uint16_t)(0x2000 | vid)); /* priority 1 must not leak into the id */
    put16(h + 2, next);
}

static void fb_mpls(fb *f, uint32_t label, int bos)
{
    put32(fb_put(f, 4), (label << 12) | (bos ? 0x100u : 0) | 64);
}

#define IP4(a, b, c, d) (((uint32_t)(a) << 24) | ((b) << 16) | ((c) << 8) | (d))
#define SRC4            IP4(10, 0, 0, 1)
#define DST4            IP4(10, 0, 0, 2)
#define ISRC4           IP4(192, 168, 1, 1)
#define IDST4           IP4(192, 168, 1, 2)

static uint32_t fb_ipv4x(fb *f, uint8_t proto, uint32_t src, uint32_t dst, uint16_t frag,
                         uint16_t id, uint32_t optlen)
{
    uint32_t off = f->n;
    uint8_t *h = fb_put(f, 20 + optlen);

    h[0] = (uint8_t)(0x40 | (5 + optlen / 4));
    put16(h + 4, id);
    put16(h + 6, frag);
    h[8] = 64;
    h[9] = proto;
    put32(h + 12, src);
    put32(h + 16, dst);
    for (uint32_t i = 0; i < optlen; i++)
        h[20 + i] = 1; /* NOP options */
    fb_fix(f, off, FIX_IPV4);
    return off;
}

static uint32_t fb_ipv4(fb *f, uint8_t proto, uint32_t src, uint32_t dst)
{
    return fb_ipv4x(f, proto, src, dst, 0, 0x1234, 0);
}

static uint32_t fb_ipv6(fb *f, uint8_t nh, uint8_t tag)
{
    uint32_t off = f->n;
    uint8_t *h = fb_put(f, 40);

    h[0] = 0x60;
    h[6] = nh;
    h[7] = 55;
    h[8] = 0x20; /* 2001:db8::<tag>:1 -> 2001:db8::<tag>:2 */
    h[9] = 0x01;
    h[10] = 0x0d;
    h[11] = 0xb8;
    memcpy(h + 24, h + 8, 4);
    h[21] = h[37] = tag;
    h[23] = 1;
    h[39] = 2;
    fb_fix(f, off, FIX_IPV6);
    return off;
}

/* Generic extension header of `total` bytes (a multiple of 8). */
static void fb_ext6(fb *f, uint8_t nh, uint32_t total)
{
    uint8_t *h = fb_put(f, total);

    h[0] = nh;
    h[1] = (uint8_t)(total / 8 - 1);
}

static void fb_ah6(fb *f, uint8_t nh, uint32_t total)
{
    uint8_t *h = fb_put(f, total);

    h[0] = nh;
    h[1] = (uint8_t)(total / 4 - 2);
}

static void fb_frag6(fb *f, uint8_t nh, uint16_t fo, int more, uint32_t id)
{
    uint8_t *h = fb_put(f, 8);

    h[0] = nh;
    put16(h + 2, (uint16_t)((fo << 3) | (more ? 1 : 0)));
    put32(h + 4, id);
}

static uint32_t fb_tcp(fb *f, uint16_t sport, uint16_t dport, uint8_t flags)
{
    uint32_t off = f->n;
    uint8_t *h = fb_put(f, 20);

    put16(h, sport);
    put16(h + 2, dport);
    put32(h + 4, 1000);
    put32(h + 8, 2000);
    h[12] = 5 << 4;
    h[13] = flags;
    put16(h + 14, 512);
    return off;
}

static uint32_t fb_udp(fb *f, uint16_t sport, uint16_t dport)
{
    uint32_t off = f->n;
    uint8_t *h = fb_put(f, 8);

    put16(h, sport);
    put16(h + 2, dport);
    fb_fix(f, off, FIX_UDP);
    return off;
}

static void fb_icmp(fb *f, uint8_t type, uint8_t code)
{
    uint8_t *h = fb_put(f, 8);

    h[0] = type;
    h[1] = code;
}

static void fb_payload(fb *f, uint32_t n)
{
    uint8_t *h = fb_put(f, n);

    for (uint32_t i = 0; i < n; i++)
        h[i] = (uint8_t)('a' + i % 26);
}

static void fb_vxlan(fb *f, uint8_t flags, uint32_t vni)
{
    uint8_t *h = fb_put(f, 8);

    h[0] = flags;
    put32(h + 4, vni << 8);
}

static void fb_geneve(fb *f, uint8_t optwords, uint16_t proto, uint32_t vni)
{
    uint8_t *h = fb_put(f, 8 + optwords * 4u);

    h[0] = optwords & 0x3f;
    put16(h + 2, proto);
    put32(h + 4, vni << 8);
    if (optwords) { /* one option TLV spanning the option space */
        put16(h + 8, 0x0103);
        h[11] = (uint8_t)(optwords - 1);
    }
}

#define GRE_C 0x80
#define GRE_K 0x20
#define GRE_S 0x10

static void fb_gre(fb *f, uint8_t flags, uint16_t proto, uint32_t key)
{
    uint8_t *h = fb_put(f, 4);

    h[0] = flags;
    put16(h + 2, proto);
    if (flags & GRE_C)
        fb_put(f, 4);
    if (flags & GRE_K)
        put32(fb_put(f, 4), key);
    if (flags & GRE_S)
        put32(fb_put(f, 4), 77);
}

static void fb_erspan2(fb *f, uint16_t session)
{
    uint8_t *h = fb_put(f, 8);

    put16(h, 0x1000 | 5);                       /* version 1, VLAN 5 */
    put16(h + 2, (uint16_t)(0x0800 | session)); /* En bits set */
}

static void fb_erspan3(fb *f, uint16_t session, int ohdr)
{
    uint8_t *h = fb_put(f, 12);

    put16(h, 0x2000);
    put16(h + 2, session);
    put32(h + 4, 0xabcdef01);
    h[11] = ohdr ? 1 : 0;
    if (ohdr)
        memset(fb_put(f, 8), 0xee, 8);
}

/* ---- decoding a built frame ------------------------------------------- */

static uint8_t *g_copy; /* the last frame decoded, exactly caplen bytes */

static void check_invariants(const packet *p, int r)
{
    if (r != DECODE_OK)
        return;
    assert_true(p->ip_version == 4 || p->ip_version == 6);
    assert_true(p->l3_off < p->caplen);
    assert_true(p->payload_off + p->payload_caplen <= p->caplen);
    assert_true(p->payload_caplen <= p->payload_len || p->payload_caplen == 0);
    assert_true(p->wire_bytes <= p->wirelen);
    assert_true(p->l4_off == 0 || p->l4_off <= p->caplen);
}

/* With DECODE_SEED_DIR set, every whole frame decoded is also written
 * there as a fuzzing seed: the link type's index in fuzz_decode.c's list,
 * then the frame. */
static void dump_seed(int dlt, const uint8_t *b, uint32_t len)
{
    static const int dlts[] = {DLT_EN10MB,       DLT_LINUX_SLL,      DLT_LINUX_SLL2, DLT_RAW,
                               DLT_IPV4,         DLT_IPV6,           DLT_NULL,       DLT_LOOP,
                               DLT_PPP,          DLT_PPP_SERIAL,     DLT_C_HDLC,     DLT_PPP_ETHER,
                               DLT_PPP_WITH_DIR, DLT_C_HDLC_WITH_DIR};
    static unsigned n;
    const char *dir = getenv("DECODE_SEED_DIR");
    char path[4096];
    FILE *f;

    if (!dir)
        return;
    for (uint8_t i = 0; i < sizeof(dlts) / sizeof(dlts[0]); i++) {
        if (dlts[i] != dlt)
            continue;
        snprintf(path, sizeof(path), "%s/unit-%04u", dir, n++);
        f = fopen(path, "wb");
        assert_non_null(f);
        fputc(i, f);
        fwrite(b, 1, len, f);
        fclose(f);
    }
}

static int decode_raw(decoder *d, int dlt, const uint8_t *b, uint32_t caplen, uint32_t wirelen,
                      packet *p)
{
    int r;

    if (caplen == wirelen && caplen > 0)
        dump_seed(dlt, b, caplen);

    free(g_copy);
    g_copy = malloc(caplen);
    assert_true(caplen == 0 || g_copy != NULL);
    if (caplen)
        memcpy(g_copy, b, caplen);
    assert_int_equal(decode_set_linktype(d, dlt), 0);
    /* Garbage in the decoder's fields must not survive the decode. */
    memset(p, 0xa5, sizeof(*p));
    p->ts_us = 1000000;
    p->caplen = caplen;
    p->wirelen = wirelen;
    p->data = g_copy;
    r = decode_packet(d, p);
    check_invariants(p, r);
    return r;
}

static int decode_fb(decoder *d, int dlt, fb *f, packet *p)
{
    fb_finish(f);
    return decode_raw(d, dlt, f->b, f->n, f->n, p);
}

static decoder *g_dec;

static int setup(void **state)
{
    (void)state;
    g_dec = decode_new(NULL);
    return g_dec ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    decode_free(g_dec);
    g_dec = NULL;
    free(g_copy);
    g_copy = NULL;
    return 0;
}

static void assert_v4(const pkt_addr *a, uint32_t v4)
{
    uint8_t want[16] = {0};

    want[10] = want[11] = 0xff;
    put32(want + 12, v4);
    assert_memory_equal(a->b, want, 16);
}

static void assert_v6(const pkt_addr *a, uint8_t tag, uint8_t last)
{
    assert_int_equal(a->b[0], 0x20);
    assert_int_equal(a->b[3], 0xb8);
    assert_int_equal(a->b[13], tag);
    assert_int_equal(a->b[15], last);
}

/* Builds Ethernet / IPv4 / TCP 40000 -> 443 with `n` bytes of payload. */
static void build_eth_tcp4(fb *f, uint32_t n)
{
    memset(f, 0, sizeof(*f));
    fb_eth(f, 0x0800);
    fb_ipv4(f, 6, SRC4, DST4);
    fb_tcp(f, 40000, 443, TCP_SYN | TCP_ACK);
    fb_payload(f, n);
}

/* ---- results and configuration ---------------------------------------- */

static void test_result_names(void **state)
{
    (void)state;
    assert_string_equal(decode_result_name(DECODE_OK), "ok");
    assert_string_equal(decode_result_name(DECODE_NON_IP), "non_ip");
    assert_string_equal(decode_result_name(DECODE_TRUNCATED_IPV4), "truncated_ipv4");
    assert_string_equal(decode_result_name(DECODE_FRAG_ORPHAN), "frag_orphan");
    assert_string_equal(decode_result_name(DECODE_NRESULTS), "unknown");
    assert_string_equal(decode_result_name(-3), "unknown");
    for (int r = 0; r < DECODE_NRESULTS; r++) {
        const char *s = decode_result_name(r);
        assert_string_not_equal(s, "unknown");
        for (const char *c = s; *c; c++)
            assert_true((*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') || *c == '_');
        for (int o = 0; o < r; o++)
            assert_string_not_equal(s, decode_result_name(o));
        assert_int_equal(decode_result_is_malformed(r), r != DECODE_OK && r != DECODE_NON_IP);
    }
}

static void test_config_defaults(void **state)
{
    decode_config cfg;
    decode_stats st;

    (void)state;
    memset(&cfg, 0x55, sizeof(cfg));
    decode_config_defaults(&cfg);
    assert_int_equal(cfg.vxlan_port, 4789);
    assert_int_equal(cfg.geneve_port, 6081);
    assert_int_equal(cfg.max_depth, 4);
    assert_int_equal(cfg.frag_slots, 4096);
    assert_int_equal(cfg.frag_timeout_us, 30000000);
    decoder *d = decode_new(&cfg);
    assert_non_null(d);
    decode_get_stats(d, &st);
    assert_int_equal(st.frag_tracked, 0);
    assert_int_equal(st.frag_replaced, 0);
    decode_free(d);
    decode_free(NULL);
}

/* ---- link types -------------------------------------------------------- */

static void test_ethernet_tcp(void **state)
{
    fb f;
    packet p;

    (void)state;
    build_eth_tcp4(&f, 10);
    assert_int_equal(decode_fb(g_dec, DLT_EN10MB, &f, &p), DECODE_OK);
    assert_int_equal(p.ip_version, 4);
    assert_int_equal(p.proto, 6);
    assert_v4(&p.src, SRC4);
    assert_v4(&p.dst, DST4);
    assert_int_equal(p.sport, 40000);
    assert_int_equal(p.dport, 443);
    assert_int_equal(p.tcp_flags, TCP_SYN | TCP_ACK);
    assert_int_equal(p.seq, 1000);
    assert_int_equal(p.ack, 2000);
    assert_int_equal(p.win, 512);
    assert_int_equal(p.flags, PKT_F_HAS_TCP);
    assert_int_equal(p.ttl, 64);
    assert_int_equal(p.vlan, 0);
    assert_int_equal(p.l3_off, 14);
    assert_int_equal(p.l4_off, 34);
    assert_int_equal(p.payload_off, 54);
    assert_int_equal(p.payload_len, 10);
    assert_int_equal(p.payload_caplen, 10);
    assert_int_equal(p.l3_len, 50);
    assert_int_equal(p.wire_bytes, 64);
    assert_int_equal(p.tunnel_type, PKT_TUNNEL_NONE);
    assert_int_equal(p.tunnel_depth, 0);
    assert_int_equal(p.tunnel_id, 0);
    assert_memory_equal(g_copy + p.payload_off, "abcdefghij", 10);
}

/* Ethernet frames shorter than 60 bytes are padded on the wire; the
 * padding is neither payload nor an error. */
static void test_ethernet_padding(void **state)
{
    fb f;
    packet p;

    (void)state;
    memset(&f, 0, sizeof(f));
    fb_eth(&f, 0x0800);
    fb_ipv4(&f, 17, SRC4, DST4);
    fb_udp(&f, 53, 5353);
    fb_payload(&f, 2);
    fb_finish(&f);
    memset(fb_put(&f, 16), 0, 16);
    assert_int_equal(decode_raw(g_dec, DLT_EN10MB, f.b, f.n, f.n, &p), DECODE_OK);
    assert_int_equal(p.l3_len, 30);
    assert_int_equal(p.payload_len, 2);
    assert_int_equal(p.payload_caplen, 2);
    assert_int_equal(p.wire_bytes, f.n);
}

static void build_sll(fb *f, int v2, uint16_t proto)
{
    uint8_t *h;

    memset(f, 0, sizeof(*f));
    if (v2) {
        h = fb_put(f, 20);
        put16(h, proto);
        put32(h + 4, 3); /* ifindex */
        put16(h + 8, 1); /* ARPHRD_ETHER */
        h[11] = 6;
    } else {
        h = fb_put(f, 16);
        put16(h + 2, 1);
        put16(h + 4, 6);
        put16(h + 14, proto);
    }
}

static void test_linux_sll(void **state)
{
    fb f;
    packet p;

    (void)state;
    build_sll(&f, 0, 0x0800);
    fb_ipv4(&f, 17, SRC4, DST4);
    fb_udp(&f, 1000, 53);
    assert_int_equal(decode_fb(g_dec, DLT_LINUX_SLL, &f, &p), DECODE_OK);
    assert_int_equal(p.l3_off, 16);
    assert_int_equal(p.dport, 53);

    build_sll(&f, 0, 0x86DD);
    fb_ipv6(&f, 6, 0);
    fb_tcp(&f, 1, 2, TCP_SYN);
    assert_int_equal(decode_fb(g_dec, DLT_LINUX_SLL, &f, &p), DECODE_OK);
    assert_int_equal(p.ip_version, 6);

    build_sll(&f, 0, 0x0806); /* ARP */
    fb_payload(&f, 28);
    assert_int_equal(decode_fb(g_dec, DLT_LINUX_SLL, &f, &p), DECODE_NON_IP);

    build_sll(&f, 1, 0x0800);
    fb_ipv4(&f, 17, SRC4, DST4);
    fb_udp(&f, 1000, 53);
    assert_int_equal(decode_fb(g_dec, DLT_LINUX_SLL2, &f, &p), DECODE_OK);
    assert_int_equal(p.l3_off, 20);
    assert_int_equal(p.sport, 1000);

    build_sll(&f, 1, 0x8100); /* a tag the kernel left in place */
    fb_vlan(&f, 42, 0x86DD);
    fb_ipv6(&f, 17, 0);
    fb_udp(&f, 1000, 53);
    assert_int_equal(decode_fb(g_dec, DLT_LINUX_SLL2, &f, &p), DECODE_OK);
    assert_int_equal(p.vlan, 42);
    assert_int_equal(p.l3_off, 24);
}

static void test_raw_ip(void **state)
{
    static const int dlts[] = {DLT_RAW, DLT_IPV4, DLT_IPV6};
    fb f;
    packet p;

    (void)state;
    for (size_t i = 0; i < sizeof(dlts) / sizeof(dlts[0]); i++) {
        memset(&f, 0, sizeof(f));
        fb_ipv4(&f, 17, SRC4, DST4);
        fb_udp(&f, 5, 6);
        assert_int_equal(decode_fb(g_dec, dlts[i], &f, &p), DECODE_OK);
        assert_int_equal(p.ip_version, 4);
        assert_int_equal(p.l3_off, 0);
        memset(&f, 0, sizeof(f));
        fb_ipv6(&f, 17, 0);
        fb_udp(&f, 5, 6);
        assert_int_equal(decode_fb(g_dec, dlts[i], &f, &p), DECODE_OK);
        assert_int_equal(p.ip_version, 6);
        assert_v6(&p.src, 0, 1);
        assert_v6(&p.dst, 0, 2);
        assert_int_equal(p.ttl, 55);
    }
    memset(&f, 0, sizeof(f));
    fb_payload(&f, 40);
    f.b[0] = 0x20; /* IP version 2 */
    assert_int_equal(decode_fb(g_dec, DLT_RAW, &f, &p), DECODE_NON_IP);
    assert_int_equal(decode_raw(g_dec, DLT_RAW, f.b, 0, 0, &p), DECODE_TRUNCATED_L2);
}

/* DLT_NULL keeps the writer's byte order; DLT_LOOP is network order. */
static void test_null_loop(void **state)
{
    static const struct {
        int dlt;
        uint8_t hdr[4];
        int result;
        int version;
    } cases[] = {
        {DLT_NULL, {2, 0, 0, 0}, DECODE_OK, 4},     {DLT_NULL, {0, 0, 0, 2}, DECODE_OK, 4},
        {DLT_NULL, {10, 0, 0, 0}, DECODE_OK, 6},    {DLT_NULL, {24, 0, 0, 0}, DECODE_OK, 6},
        {DLT_NULL, {28, 0, 0, 0}, DECODE_OK, 6},    {DLT_NULL, {30, 0, 0, 0}, DECODE_OK, 6},
        {DLT_NULL, {0, 0, 0, 30}, DECODE_OK, 6},    {DLT_NULL, {0, 0, 0, 24}, DECODE_OK, 6},
        {DLT_NULL, {7, 0, 0, 0}, DECODE_NON_IP, 0}, {DLT_LOOP, {0, 0, 0, 2}, DECODE_OK, 4},
        {DLT_LOOP, {0, 0, 0, 28}, DECODE_OK, 6},    {DLT_LOOP, {2, 0, 0, 0}, DECODE_NON_IP, 0},
        {DLT_LOOP, {0, 0, 0, 10}, DECODE_OK, 6},
    };
    fb f;
    packet p;

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        memset(&f, 0, sizeof(f));
        memcpy(fb_put(&f, 4), cases[i].hdr, 4);
        if (cases[i].version == 6)
            fb_ipv6(&f, 6, 0);
        else
            fb_ipv4(&f, 6, SRC4, DST4);
        fb_tcp(&f, 3389, 50000, TCP_ACK);
        assert_int_equal(decode_fb(g_dec, cases[i].dlt, &f, &p), cases[i].result);
        if (cases[i].result == DECODE_OK) {
            assert_int_equal(p.ip_version, cases[i].version);
            assert_int_equal(p.l3_off, 4);
            assert_int_equal(p.sport, 3389);
        }
    }
}

/* Serial-line framings of carrier taps: PPP with and without the RFC 1662
 * address/control bytes and with a one-byte (PFC) protocol field, Cisco
 * HDLC on its own link type and under the PPP ones, the direction-byte
 * variants, PPPoE without Ethernet, and the non-IP control protocols. */
static void test_ppp_hdlc(void **state)
{
    static const struct {
        int dlt;
        uint8_t hdr[6];
        uint8_t hlen;
        int version; /* 0: not IP */
        int result;
    } cases[] = {
        {DLT_PPP, {0xff, 0x03, 0x00, 0x21}, 4, 4, DECODE_OK},
        {DLT_PPP, {0xff, 0x03, 0x00, 0x57}, 4, 6, DECODE_OK},
        {DLT_PPP, {0x00, 0x21}, 2, 4, DECODE_OK},                 /* ACFC */
        {DLT_PPP, {0x21}, 1, 4, DECODE_OK},                       /* ACFC + PFC */
        {DLT_PPP, {0xff, 0x03, 0x57}, 3, 6, DECODE_OK},           /* PFC */
        {DLT_PPP, {0xff, 0x03, 0xc0, 0x21}, 4, 4, DECODE_NON_IP}, /* LCP */
        {DLT_PPP, {0xff, 0x03, 0x80, 0x21}, 4, 4, DECODE_NON_IP}, /* IPCP */
        {DLT_PPP, {0x0f, 0x00, 0x08, 0x00}, 4, 4, DECODE_OK},     /* Cisco HDLC */
        {DLT_PPP_SERIAL, {0xff, 0x03, 0x00, 0x21}, 4, 4, DECODE_OK},
        {DLT_PPP_SERIAL, {0x8f, 0x00, 0x86, 0xdd}, 4, 6, DECODE_OK},
        {DLT_C_HDLC, {0x0f, 0x00, 0x08, 0x00}, 4, 4, DECODE_OK},
        {DLT_C_HDLC, {0x8f, 0x00, 0x86, 0xdd}, 4, 6, DECODE_OK},
        {DLT_C_HDLC, {0x8f, 0x00, 0x80, 0x35}, 4, 4, DECODE_NON_IP}, /* SLARP */
        {DLT_PPP_WITH_DIR, {0x01, 0xff, 0x03, 0x00, 0x21}, 5, 4, DECODE_OK},
        {DLT_PPP_WITH_DIR, {0x00, 0x00, 0x57}, 3, 6, DECODE_OK},
        {DLT_C_HDLC_WITH_DIR, {0x00, 0x0f, 0x00, 0x08, 0x00}, 5, 4, DECODE_OK},
        {DLT_PPP_ETHER, {0x11, 0x00, 0x12, 0x34, 0x00, 0x00}, 6, 4, DECODE_OK},
    };
    fb f;
    packet p;

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int pppoe = cases[i].dlt == DLT_PPP_ETHER;

        memset(&f, 0, sizeof(f));
        memcpy(fb_put(&f, cases[i].hlen), cases[i].hdr, cases[i].hlen);
        if (pppoe) /* the PPP protocol after the 6-byte PPPoE header */
            memcpy(fb_put(&f, 2), "\x00\x21", 2);
        if (cases[i].version == 6)
            fb_ipv6(&f, 6, 0);
        else
            fb_ipv4(&f, 6, SRC4, DST4);
        fb_tcp(&f, 443, 50000, TCP_ACK);
        if (decode_fb(g_dec, cases[i].dlt, &f, &p) != cases[i].result)
            fail_msg("case %zu: link type %d", i, cases[i].dlt);
        if (cases[i].result == DECODE_OK) {
            assert_int_equal(p.ip_version, cases[i].version);
            assert_int_equal(p.l3_off, cases[i].hlen + (pppoe ? 2 : 0));
            assert_int_equal(p.sport, 443);
            assert_int_equal(p.dport, 50000);
        }
    }
    /* Frames shorter than their framing, including shorter than the
     * direction byte. */
    static const int dlts[] = {DLT_PPP,          DLT_PPP_SERIAL,      DLT_C_HDLC,
                               DLT_PPP_WITH_DIR, DLT_C_HDLC_WITH_DIR, DLT_PPP_ETHER};
    static const uint8_t stub[] = {0xff, 0x03, 0x00};
    for (size_t i = 0; i < sizeof(dlts) / sizeof(dlts[0]); i++)
        for (uint32_t n = 0; n <= 1; n++)
            assert_int_equal(decode_raw(g_dec, dlts[i], stub, n, n, &p), DECODE_TRUNCATED_L2);
    assert_int_equal(decode_raw(g_dec, DLT_PPP, stub, 3, 3, &p), DECODE_TRUNCATED_L2);
}

static void test_unsupported_link(void **state)
{
    uint8_t frame[64] = {0};
    packet p;
    decoder *d = decode_new(NULL);

    (void)state;
    assert_non_null(d);
    memset(&p, 0, sizeof(p));
    p.data = frame;
    p.caplen = p.wirelen = sizeof(frame);
    /* No link type set yet. */
    assert_int_equal(decode_packet(d, &p), DECODE_UNSUPPORTED_LINK);
    assert_int_equal(decode_set_linktype(d, 105 /* 802.11 */), -1);
    assert_int_equal(decode_packet(d, &p), DECODE_UNSUPPORTED_LINK);
    assert_int_equal(decode_set_linktype(d, DLT_EN10MB), 0);
    assert_int_equal(decode_set_linktype(d, 9999), -1);
    assert_int_equal(decode_packet(d, &p), DECODE_UNSUPPORTED_LINK);
    decode_free(d);
}

/* ---- VLAN and MPLS ----------------------------------------------------- */

static void test_vlan_qinq(void **state)
{
    static const uint16_t tpids[] = {0x8100, 0x88A8, 0x9100};
    fb f;
    packet p;

    (void)state;
    memset(&f, 0, sizeof(f));
    fb_eth(&f, 0x8100);
    fb_vlan(&f, 100, 0x0800);
    fb_ipv4(&f, 17, SRC4, DST4);
    fb_udp(&f, 1, 2);
    assert_int_equal(decode_fb(g_dec, DLT_EN10MB, &f, &p), DECODE_OK);
    assert_int_equal(p.vlan, 100);
    assert_int_equal(p.l3_off, 18);

    for (size_t i = 0; i < 3; i++) { /* outer S-tag of each kind, inner C-tag */
        memset(&f, 0, sizeof(f));
        fb_eth(&f, tpids[i]);
        fb_vlan(&f, 10, 0x8100);
        fb_vlan(&f, 4000, 0x86DD);
        fb_ipv6(&f, 17, 0);
        fb_udp(&f, 1, 2);
        assert_int_equal(decode_fb(g_dec, DLT_EN10MB, &f, &p), DECODE_OK);
        assert_int_equal(p.vlan, 4000);
        assert_int_equal(p.l3_off, 22);
    }

    /* Eight tags are accepted, a ninth is not. */
    for (int ntags = 8; ntags <= 9; ntags++) {
        memset(&f, 0, sizeof(f));
        fb_eth(&f, 0x88A8);
        for (int t = 1; t <= ntags; t++)
            fb_vlan(&f, (uint16_t)t, t == ntags ? 0x0800 : 0x8100);
        fb_ipv4(&f, 17, SRC4, DST4);
        fb_udp(&f, 1, 2);
        assert_int_equal(decode_fb(g_dec, DLT_EN10MB, &f, &p),
                         ntags == 8 ? DECODE_OK : DECODE_TOO_MANY_VLANS);
        if (ntags == 8)
            assert_int_equal(p.vlan, 8);
    }

    memset(&f, 0, sizeof(f));
    fb_eth(&f, 0x8100);
    fb_vlan(&f, 7, 0x88CC); /* LLDP */
    fb_payload(&f, 30);
    assert_int_equal(decode_fb(g_dec, DLT_EN10MB, &f, &p), DECODE_NON_IP);
}

static void fb_pppoe(fb *f, uint16_t ppp_proto)
{
    uint8_t *h = fb_put(f, 8);

    h[0] = 0x11; /* version 1, type 1; code 0 = session data */
    put16(h + 2, 0x1234);
    put16(h + 6, ppp_proto);
}

/* PPPoE session frames, as in dns.pcap: two VLAN tags, PPPoE, PPP, IP. */
static void test_pppoe(void **state)
{
    fb f;
    packet p;

    (void)state;
    memset(&f, 0, sizeof(f));
    fb_eth(&f, 0x8100);
    fb_vlan(&f, 421, 0x8100);
    fb_vlan(&f, 785, 0x8864);
    fb_pppoe(&f, 0x0021);
    fb_ipv4(&f, 17, SRC4, DST4);
    fb_udp(&f, 47255, 53);
    assert_int_equal(decode_fb(g_dec, DLT_EN10MB, &f, &p), DECODE_OK);
    assert_int_equal(p.vlan, 785);
    assert_int_equal(p.l3_off, 14 + 8 + 8);
    assert_int_equal(p.dport, 53);

    memset(&f, 0, sizeof(f));
    fb_eth(&f, 0x8864);
    fb_pppoe(&f, 0x0057);
    fb_ipv6(&f, 17, 0);
    fb_udp(&f, 1, 2);
    assert_int_equal(decode_fb(g_dec, DLT_EN10MB, &f, &p), DECODE_OK);
    assert_int_equal(p.ip_version, 6);

    /* PPP control protocols carry no IP; a cut header is truncated. */
    memset(&f, 0, sizeof(f));
    fb_eth(&f, 0x8864);
    fb_pppoe(&f, 0xc021); /* LCP */
    assert_int_equal(decode_fb(g_dec, DLT_EN10MB, &f, &p), DECODE_NON_IP);
    assert_int_equal(decode_raw(g_dec, DLT_EN10MB, f.b, 20, 20, &p), DECODE_TRUNCATED_L2);
}

static void test_mpls(void **state)
{
    fb f;
    packet p;

    (void)state;
    memset(&f, 0, sizeof(f));
    fb_eth(&f, 0x8847);
    fb_mpls(&f, 100, 0);
    fb_mpls(&f, 200, 1);
    fb_ipv4(&f, 6, SRC4, DST4);
    fb_tcp(&f, 1, 2, TCP_SYN);
    assert_int_equal(decode_fb(g_dec, DLT_EN10MB, &f, &p), DECODE_OK);
    assert_true(p.flags & PKT_F_MPLS);
    assert_int_equal(p.l3_off, 22);

    memset(&f, 0, sizeof(f));
    fb_eth(&f, 0x8848);
    fb_mpls(&f, 2, 1);
    fb_ipv6(&f, 17, 0);
    fb_udp(&f, 1, 2);
    assert_int_equal(decode_fb(g_dec, DLT_EN10MB, &f, &p), DECODE_OK);
    assert_true(p.flags & PKT_F_MPLS);
    assert_int_equal(p.ip_version, 6);
    assert_int_equal(p.l3_off, 18);

    /* Ethernet pseudowire: control word, then a tagged customer frame. */
    memset(&f, 0, sizeof(f));
    fb_eth(&f, 0x8100);
    fb_vlan(&f, 5, 0x8847);
    fb_mpls(&f, 300, 0);
    fb_mpls(&f, 301, 1);
    fb_put(&f, 4);
    fb_eth(&f, 0x8100);
    fb_vlan(&f, 77, 0x0800);
    fb_ipv4(&f, 17, ISRC4, IDST4);
    fb_udp(&f, 1, 2);
    assert_int_equal(decode_fb(g_dec, DLT_EN10MB, &f, &p), DECODE_OK);
    assert_true(p.flags & PKT_F_MPLS);
    assert_int_equal(p.vlan, 77);
    assert_int_equal(p.l3_off, 18 + 8 + 4 + 18);
    assert_v4(&p.src, ISRC4);
    assert_int_equal(p.tunnel_depth, 0);
    assert_int_equal(p.wire_bytes, f.n);

    /* Sixteen labels without a bottom of stack. */
    memset(&f, 0, sizeof(f));
    fb_eth(&f, 0x8847);
    for (int i = 0; i < 16; i++)
        fb_mpls(&f, (uint32_t)i, 0);
    fb_mpls(&f, 99, 1);
    fb_ipv4(&f, 17, SRC4, DST4);
    fb_udp(&f, 1, 2);
    assert_int_equal(decode_fb(g_dec, DLT_EN10MB, &f, &p), DECODE_TRUNCATED_MPLS);

    /* Sixteen labels with the bottom one marked are fine. */
    memset(&f, 0, sizeof(f));
    fb_eth(&f, 0x8847);
    for (int i = 0; i < 16; i++)
        fb_mpls(&f, (uint32_t)i, i == 15);
    fb_ipv4(&f, 17, SRC4, DST4);
    fb_udp(&f, 1, 2);
    assert_int_equal(decode_fb(g_dec, DLT_EN10MB, &f, &p), DECODE_OK);

    /* Pseudowires nested without end are capped. */
    memset(&f, 0, sizeof(f));
    fb_eth(&f, 0x8847);
    for (int i = 0; i < 8; i++) {
        fb_mpls(&f, 1, 1);
        fb_put(&f, 4);
        fb_eth(&f, 0x8847);
    }
    fb_mpls(&f, 1, 1);
    fb_ipv4(&f, 17, SRC4, DST4);
    fb_udp(&f, 1, 2);
    assert_int_equal(decode_fb(g_dec, DLT_EN10MB, &f, &p), DECODE_TOO_DEEP);
}

/* ---- IPv4 ---------------------------------------------------------------- */

static void test_ipv4_options(void **state)
{
    fb f;
    packet p;

    (void)state;
    memset(&f, 0, sizeof(f));
    fb_eth(&f, 0x0800);
    fb_ipv4x(&f, 17, SRC4, DST4, 0, 1, 40); /* the longest header, IHL 15 */
    fb_udp(&f, 123, 123);
    fb_payload(&f, 48);
    assert_int_equal(decode_fb(g_dec, DLT_EN10MB, &f, &p), DECODE_OK);
    assert_int_equal(p.l4_off, 14 + 60);
    assert_int_equal(p.sport, 123);
    assert_int_equal(p.payload_len, 48);
    assert_int_equal(p.l3_len, 60 + 8 + 48);
}

static void test_ipv4_tso(void **state)
{
    fb f;
    packet p;

    (void)state;
    build_eth_tcp4(&f, 3000);
    fb_finish(&f);
    put16(f.b + 16, 0); /* total length 0 */
    assert_int_equal(decode_raw(g_dec, DLT_EN10MB, f.b, f.n, f.n, &p), DECODE_OK);
    assert_true(p.flags & PKT_F_TSO);
    assert_int_equal(p.l3_len, f.n - 14);
    assert_int_equal(p.payload_len, 3000);
    /* Snap length shorter than the frame: lengths come from the wire. */
    assert_int_equal(decode_raw(g_dec, DLT_EN10MB, f.b, 96, f.n, &p), DECODE_OK);
    assert_int_equal(p.l3_len, f.n - 14);
    assert_int_equal(p.payload_len, 3000);
    assert_int_equal(p.payload_caplen, 96 - 54);

    /* IPv6 payload length 0 works the same way. */
    memset(&f, 0, sizeof(f));
    fb_eth(&f, 0x86DD);
    fb_ipv6(&f, 6, 0);
    fb_tcp(&f, 1, 2, TCP_ACK);
    fb_payload(&f, 2000);
    fb_finish(&f);
    put16(f.b + 18, 0);
    assert_int_equal(decode_raw(g_dec, DLT_EN10MB, f.b, f.n, f.n, &p), DECODE_OK);
    assert_true(p.flags & PKT_F_TSO);
    assert_int_equal(p.l3_len, f.n - 14);
    assert_int_equal(p.payload_len, 2000);
}

/* Short snap length cutting TCP after its ports (mirror captures). */
static void test_tcp_partial(void **state)
{
    fb f;
    packet p;

    (void)state;
    build_eth_tcp4(&f, 1400);
    fb_finish(&f);
    assert_int_equal(decode_raw(g_dec, DLT_EN10MB, f.b, 38, f.n, &p), DECODE_OK);
    assert_int_equal(p.sport, 40000);
    assert_int_equal(p.dport, 443);
    assert_int_equal(p.flags & (PKT_F_L4_PARTIAL | PKT_F_HAS_TCP), PKT_F_L4_PARTIAL);
    assert_int_equal(p.wire_bytes, f.n);
    assert_int_equal(p.l3_len, f.n - 14);
    assert_int_equal(p.payload_caplen, 0);
    assert_int_equal(p.payload_len, 1400);

    assert_int_equal(decode_raw(g_dec, DLT_EN10MB, f.b, 48, f.n, &p), DECODE_OK);
    assert_int_equal(p.seq, 1000);
    assert_int_equal(p.tcp_flags, TCP_SYN | TCP_ACK);
    assert_false(p.flags & PKT_F_HAS_TCP);

    assert_int_equal(decode_raw(g_dec, DLT_EN10MB, f.b, 50, f.n, &p), DECODE_OK);
    assert_int_equal(p.flags & (PKT_F_L4_PARTIAL | PKT_F_HAS_TCP),
                     PKT_F_L4_PARTIAL | PKT_F_HAS_TCP);
    assert_int_equal(p.win, 512);

    assert_int_equal(decode_raw(g_dec, DLT_EN10MB, f.b, 54, f.n, &p), DECODE_OK);
    assert_int_equal(p.flags, PKT_F_HAS_TCP);
    assert_int_equal(p.payload_off, 54);
    assert_int_equal(p.payload_caplen, 0);
    assert_int_equal(p.payload_len, 1400);

    assert_int_equal(decode_raw(g_dec, DLT_EN10MB, f.b, 37, f.n, &p), DECODE_TRUNCATED_L4);

    /* TCP options cut by the snap length. */
    memset(&f, 0, sizeof(f));
    fb_eth(&f, 0x0800);
    fb_ipv4(&f, 6, SRC4, DST4);
    fb_tcp(&f, 1, 2, TCP_SYN);
    f.b[46] = 8 << 4;
    fb_put(&f, 12);
    fb_finish(&f);
    assert_int_equal(decode_raw(g_dec, DLT_EN10MB, f.b, 60, f.n, &p), DECODE_OK);
    assert_int_equal(p.flags, PKT_F_L4_PARTIAL | PKT_F_HAS_TCP);
    assert_int_equal(decode_raw(g_dec, DLT_EN10MB, f.b, f.n, f.n, &p), DECODE_OK);
    assert_int_equal(p.flags, PKT_F_HAS_TCP);
    assert_int_equal(p.payload_off, f.n);
}

static void test_udp_icmp_other(void **state)
{
    fb f;
    packet p;

    (void)state;
    memset(&f, 0, sizeof(f));
    fb_eth(&f, 0x0800);
    fb_ipv4(&f, 17, SRC4, DST4);
    fb_udp(&f, 5000, 53);
    fb_payload(&f, 33);
    assert_int_equal(decode_fb(g_dec, DLT_EN10MB, &f, &p), DECODE_OK);
    assert_int_equal(p.proto, 17);
    assert_int_equal(p.payload_off, 42);
    assert_int_equal(p.payload_len, 33);
    assert_int_equal(p.payload_caplen, 33);
    assert_false(p.flags & PKT_F_HAS_TCP);
    /* UDP header cut after the ports. */
    assert_int_equal(decode_raw(g_dec, DLT_EN10MB, f.b, 39, f.n, &p), DECODE_OK);
    assert_int_equal(p.dport, 53);
    assert_true(p.flags & PKT_F_L4_PARTIAL);
    assert_int_equal(p.payload_caplen, 0);

    memset(&f, 0, sizeof(f));
    fb_eth(&f, 0x0800);
    fb_ipv4(&f, 1, SRC4, DST4);
    fb_icmp(&f, 8, 0);
    fb_payload(&f, 56);
    assert_int_equal(decode_fb(g_dec, DLT_EN10MB, &f, &p), DECODE_OK);
    assert_int_equal(p.proto, 1);
    assert_int_equal(p.icmp_type, 8);
    assert_int_equal(p.icmp_code, 0);
    assert_int_equal(p.sport, 0);
    assert_int_equal(p.dport, 0);
    assert_int_equal(p.payload_len, 56);

    memset(&f, 0, sizeof(f));
    fb_eth(&f, 0x86DD);
    fb_ipv6(&f, 58, 0);
    fb_icmp(&f, 135, 0);
    assert_int_equal(decode_fb(g_dec, DLT_EN10MB, &f, &p), DECODE_OK);
    assert_int_equal(p.proto, 58);
    assert_int_equal(p.icmp_type, 135);
    /* ICMP cut after the type: the type is kept. */
    assert_int_equal(decode_raw(g_dec, DLT_EN10MB, f.b, 55, f.n, &p), DECODE_OK);
    assert_int_equal(p.icmp_type, 135);

    memset(&f, 0, sizeof(f));
    fb_eth(&f, 0x86DD);
    fb_ipv6(&f, 58, 0);
    fb_icmp(&f, 1, 4);
    assert_int_equal(decode_fb(g_dec, DLT_EN10MB, &f, &p), DECODE_OK);
    assert_int_equal(p.icmp_code, 4);

    static const uint8_t others[] = {2, 132, 89, 50, 103};
    for (size_t i = 0; i < sizeof(others); i++) {
        memset(&f, 0, sizeof(f));
        fb_eth(&f, 0x0800);
        fb_ipv4(&f, others[i], SRC4, DST4);
        fb_payload(&f, 24);
        assert_int_equal(decode_fb(g_dec, DLT_EN10MB, &f, &p), DECODE_OK);
        assert_int_equal(p.proto, others[i]);
        assert_int_equal(p.sport, 0);
        assert_int_equal(p.dport, 0);
        assert_int_equal(p.l4_off, 34);
        assert_int_equal(p.payload_len, 24);
    }
}

/* A packet struct reused after a TCP packet keeps nothing of it. */
static void test_packet_reset(void **state)
{
    fb f;
    packet p;

    (void)state;
    build_eth_tcp4(&f, 5);
    assert_int_equal(decode_fb(g_dec, DLT_EN10MB, &f, &p), DECODE_OK);
    memset(&f, 0, sizeof(f));
    fb_eth(&f, 0x0800);
    fb_ipv4(&f, 2, SRC4, DST4);
    fb_payload(&f, 8);
    fb_finish(&f);
    free(g_copy);
    g_copy = malloc(f.n);
    memcpy(g_copy, f.b, f.n);
    p.data = g_copy;
    p.caplen = p.wirelen = f.n;
    assert_int_equal(decode_packet(g_dec, &p), DECODE_OK);
    assert_int_equal(p.sport, 0);
    assert_int_equal(p.seq, 0);
    assert_int_equal(p.tcp_flags, 0);
    assert_int_equal(p.flags, 0);
    assert_int_equal(p.frag_id, 0);
    assert_int_equal(p.tunnel_type, 0);
}

/* ---- fragments ------------------------------------------------------- */

static void build_frag4(fb *f, uint16_t frag, uint16_t id, int with_udp)
{
    memset(f, 0, sizeof(*f));
    fb_eth(f, 0x0800);
    fb_ipv4x(f, 17, SRC4, DST4, frag, id, 0);
    if (with_udp) {
        uint8_t *u = fb_put(f, 8);
        put16(u, 7000);
        put16(u + 2, 7001);
        put16(u + 4, 3000); /* the whole datagram's UDP length */
    }
    fb_payload(f, 64);
}

static void test_ipv4_fragments(void **state)
{
    fb f;
    packet p;
    decode_stats st;
    decoder *d = decode_new(NULL);

    (void)state;
    assert_non_null(d);
    build_frag4(&f, 0x2000, 0x77, 1);
    assert_int_equal(decode_fb(d, DLT_EN10MB, &f, &p), DECODE_OK);
    assert_int_equal(p.flags & (PKT_F_FRAG_FIRST | PKT_F_FRAG_LATER), PKT_F_FRAG_FIRST);
    assert_int_equal(p.sport, 7000);
    assert_int_equal(p.frag_id, 0x77);
    assert_int_equal(p.payload_len, 64);

    build_frag4(&f, 0x2000 | 9, 0x77, 0); /* middle fragment */
    assert_int_equal(decode_fb(d, DLT_EN10MB, &f, &p), DECODE_OK);
    assert_int_equal(p.flags & (PKT_F_FRAG_FIRST | PKT_F_FRAG_LATER), PKT_F_FRAG_LATER);
    assert_int_equal(p.sport, 7000);
    assert_int_equal(p.dport, 7001);
    assert_int_equal(p.proto, 17);
    assert_int_equal(p.l4_off, 0);
    assert_int_equal(p.payload_off, 34);

    build_frag4(&f, 18, 0x77, 0); /* last fragment, MF clear */
    assert_int_equal(decode_fb(d, DLT_EN10MB, &f, &p), DECODE_OK);
    assert_int_equal(p.dport, 7001);

    build_frag4(&f, 18, 0x78, 0); /* another datagram: orphan */
    assert_int_equal(decode_fb(d, DLT_EN10MB, &f, &p), DECODE_FRAG_ORPHAN);
    assert_true(p.flags & PKT_F_FRAG_LATER);

    /* Expiry: 30 s of packet time later the entry is gone. */
    build_frag4(&f, 18, 0x77, 0);
    fb_finish(&f);
    free(g_copy);
    g_copy = malloc(f.n);
    memcpy(g_copy, f.b, f.n);
    p.data = g_copy;
    p.caplen = p.wirelen = f.n;
    p.ts_us = 1000000 + 30000000;
    assert_int_equal(decode_packet(d, &p), DECODE_OK);
    p.ts_us = 1000000 + 30000001;
    assert_int_equal(decode_packet(d, &p), DECODE_FRAG_ORPHAN);

    decode_get_stats(d, &st);
    assert_int_equal(st.frag_tracked, 1);
    assert_int_equal(st.frag_replaced, 0);
    decode_free(d);
}

/* With one slot every datagram collides: a live entry replaced counts. */
static void test_frag_replaced(void **state)
{
    decode_config cfg;
    decode_stats st;
    fb f;
    packet p;
    decoder *d;

    (void)state;
    decode_config_defaults(&cfg);
    cfg.frag_slots = 1;
    d = decode_new(&cfg);
    assert_non_null(d);
    build_frag4(&f, 0x2000, 1, 1);
    assert_int_equal(decode_fb(d, DLT_EN10MB, &f, &p), DECODE_OK);
    build_frag4(&f, 0x2000, 1, 1); /* same datagram again: an update */
    assert_int_equal(decode_fb(d, DLT_EN10MB, &f, &p), DECODE_OK);
    build_frag4(&f, 0x2000, 2, 1);
    assert_int_equal(decode_fb(d, DLT_EN10MB, &f, &p), DECODE_OK);
    decode_get_stats(d, &st);
    assert_int_equal(st.frag_tracked, 3);
    assert_int_equal(st.frag_replaced, 1);
    build_frag4(&f, 100, 1, 0);
    assert_int_equal(decode_fb(d, DLT_EN10MB, &f, &p), DECODE_FRAG_ORPHAN);
    build_frag4(&f, 100, 2, 0);
    assert_int_equal(decode_fb(d, DLT_EN10MB, &f, &p), DECODE_OK);
    decode_free(d);

    cfg.frag_slots = 0; /* tracker off: every later fragment is an orphan */
    d = decode_new(&cfg);
    assert_non_null(d);
    build_frag4(&f, 0x2000, 1, 1);
    assert_int_equal(decode_fb(d, DLT_EN10MB, &f, &p), DECODE_OK);
    build_frag4(&f, 100, 1, 0);
    assert_int_equal(decode_fb(d, DLT_EN10MB, &f, &p), DECODE_FRAG_ORPHAN);
    decode_free(d);
}

static void build_frag6(fb *f, uint16_t fo, int more, uint32_t id, int first)
{
    memset(f, 0, sizeof(*f));
    fb_eth(f, 0x86DD);
    fb_ipv6(f, 0, 0);
    fb_ext6(f, 44, 8); /* hop-by-hop before the fragment header */
    fb_frag6(f, 60, fo, more, id);
    if (first) {
        fb_ext6(f, 6, 16); /* destination options in the fragmentable part */
        fb_tcp(f, 8080, 50123, TCP_PSH | TCP_ACK);
    }
    fb_payload(f, 100);
}

static void test_ipv6_fragments(void **state)
{
    fb f;
    packet p;
    decoder *d = decode_new(NULL);

    (void)state;
    assert_non_null(d);
    build_frag6(&f, 0, 1, 0xdeadbeef, 1);
    assert_int_equal(decode_fb(d, DLT_EN10MB, &f, &p), DECODE_OK);
    assert_int_equal(p.flags & PKT_F_FRAG_FIRST, PKT_F_FRAG_FIRST);
    assert_int_equal(p.frag_id, 0xdeadbeef);
    assert_int_equal(p.proto, 6);
    assert_int_equal(p.sport, 8080);
    assert_int_equal(p.l4_off, 14 + 40 + 8 + 8 + 16);

    build_frag6(&f, 100, 0, 0xdeadbeef, 0);
    assert_int_equal(decode_fb(d, DLT_EN10MB, &f, &p), DECODE_OK);
    assert_int_equal(p.flags & (PKT_F_FRAG_FIRST | PKT_F_FRAG_LATER), PKT_F_FRAG_LATER);
    assert_int_equal(p.proto, 6); /* from the first fragment, past the options */
    assert_int_equal(p.sport, 8080);
    assert_int_equal(p.dport, 50123);
    assert_int_equal(p.l4_off, 0);
    assert_int_equal(p.frag_id, 0xdeadbeef);
    assert_int_equal(p.payload_off, 14 + 40 + 16);
    assert_int_equal(p.payload_len, 100);

    build_frag6(&f, 100, 0, 0xdeadbeee, 0);
    assert_int_equal(decode_fb(d, DLT_EN10MB, &f, &p), DECODE_FRAG_ORPHAN);

    /* An atomic fragment (offset 0, M clear) is a whole datagram. */
    build_frag6(&f, 0, 0, 5, 1);
    assert_int_equal(decode_fb(d, DLT_EN10MB, &f, &p), DECODE_OK);
    assert_int_equal(p.flags & (PKT_F_FRAG_FIRST | PKT_F_FRAG_LATER), 0);
    assert_int_equal(p.sport, 8080);
    decode_free(d);
}

/* ---- IPv6 extension headers ------------------------------------------- */

static void test_ipv6_ext(void **state)
{
    static const struct {
        uint8_t type;
        uint32_t len;
    } exts[] = {{0, 8}, {43, 24}, {60, 16}, {51, 24}, {135, 8}, {139, 40}, {140, 8}};
    fb f;
    packet p;

    (void)state;
    for (size_t i = 0; i < sizeof(exts) / sizeof(exts[0]); i++) {
        memset(&f, 0, sizeof(f));
        fb_eth(&f, 0x86DD);
        fb_ipv6(&f, exts[i].type, 0);
        if (exts[i].type == 51)
            fb_ah6(&f, 17, exts[i].len);
        else
            fb_ext6(&f, 17, exts[i].len);
        fb_udp(&f, 500, 4500);
        assert_int_equal(decode_fb(g_dec, DLT_EN10MB, &f, &p), DECODE_OK);
        assert_int_equal(p.proto, 17);
        assert_int_equal(p.l4_off, 54 + exts[i].len);
        assert_int_equal(p.dport, 4500);
    }

    /* A chain of all of them. */
    memset(&f, 0, sizeof(f));
    fb_eth(&f, 0x86DD);
    fb_ipv6(&f, 0, 0);
    fb_ext6(&f, 43, 8);
    fb_ext6(&f, 60, 8);
    fb_ext6(&f, 51, 8);
    fb_ah6(&f, 135, 12);
    fb_ext6(&f, 6, 8);
    fb_tcp(&f, 1, 2, TCP_SYN);
    assert_int_equal(decode_fb(g_dec, DLT_EN10MB, &f, &p), DECODE_OK);
    assert_int_equal(p.l4_off, 54 + 44);

    /* Eight headers pass, nine are too many. */
    for (int n = 8; n <= 9; n++) {
        memset(&f, 0, sizeof(f));
        fb_eth(&f, 0x86DD);
        fb_ipv6(&f, 60, 0);
        for (int i = 0; i < n; i++)
            fb_ext6(&f, i == n - 1 ? 17 : 60, 8);
        fb_udp(&f, 1, 2);
        assert_int_equal(decode_fb(g_dec, DLT_EN10MB, &f, &p),
                         n == 8 ? DECODE_OK : DECODE_BAD_IPV6_EXT);
    }

    /* A header claiming more than the datagram holds. */
    memset(&f, 0, sizeof(f));
    fb_eth(&f, 0x86DD);
    fb_ipv6(&f, 43, 0);
    fb_ext6(&f, 17, 8);
    fb_udp(&f, 1, 2);
    fb_finish(&f);
    f.b[55] = 10;
    assert_int_equal(decode_raw(g_dec, DLT_EN10MB, f.b, f.n, f.n, &p), DECODE_BAD_IPV6_EXT);

    /* ESP and No Next Header end the chain: flows without ports. */
    static const uint8_t ends[] = {50, 59};
    for (size_t i = 0; i < 2; i++) {
        memset(&f, 0, sizeof(f));
        fb_eth(&f, 0x86DD);
        fb_ipv6(&f, 60, 0);
        fb_ext6(&f, ends[i], 8);
        fb_payload(&f, 40);
        assert_int_equal(decode_fb(g_dec, DLT_EN10MB, &f, &p), DECODE_OK);
        assert_int_equal(p.proto, ends[i]);
        assert_int_equal(p.sport, 0);
        assert_int_equal(p.l4_off, 62);
        assert_int_equal(p.payload_len, 40);
    }
}

/* ---- bad lengths, field by field ------------------------------------ */

struct patch_case {
    const char *name;
    void (*build)(fb *f);
    uint32_t off; /* byte to overwrite after the frame is finished */
    uint8_t val[2];
    uint8_t nval;
    int result;
};

static void build_tcp4(fb *f)
{
    build_eth_tcp4(f, 20);
}

static void build_udp4(fb *f)
{
    memset(f, 0, sizeof(*f));
    fb_eth(f, 0x0800);
    fb_ipv4(f, 17, SRC4, DST4);
    fb_udp(f, 1, 2);
    fb_payload(f, 20);
}

static void build_udp6(fb *f)
{
    memset(f, 0, sizeof(*f));
    fb_eth(f, 0x86DD);
    fb_ipv6(f, 17, 0);
    fb_udp(f, 1, 2);
    fb_payload(f, 20);
}

static void build_gre4(fb *f)
{
    memset(f, 0, sizeof(*f));
    fb_eth(f, 0x0800);
    fb_ipv4(f, 47, SRC4, DST4);
    fb_gre(f, GRE_K, 0x0800, 9);
    fb_ipv4(f, 17, ISRC4, IDST4);
    fb_udp(f, 1, 2);
    fb_payload(f, 20);
}

static void build_vxlan(fb *f)
{
    memset(f, 0, sizeof(*f));
    fb_eth(f, 0x0800);
    fb_ipv4(f, 17, SRC4, DST4);
    fb_udp(f, 50000, 4789);
    fb_vxlan(f, 0x08, 0x123456);
    fb_eth(f, 0x0800);
    fb_ipv4(f, 6, ISRC4, IDST4);
    fb_tcp(f, 1234, 80, TCP_SYN);
}

static const struct patch_case patch_cases[] = {
    {"ipv4 version 6", build_tcp4, 14, {0x65}, 1, DECODE_BAD_IPV4_HEADER},
    {"ipv4 ihl 4", build_tcp4, 14, {0x44}, 1, DECODE_BAD_IPV4_HEADER},
    {"ipv4 ihl 0", build_tcp4, 14, {0x40}, 1, DECODE_BAD_IPV4_HEADER},
    {"ipv4 ihl past capture", build_udp4, 14, {0x4f}, 1, DECODE_TRUNCATED_IPV4},
    {"ipv4 length < ihl", build_tcp4, 16, {0, 19}, 2, DECODE_BAD_IPV4_LENGTH},
    {"ipv4 length > wire", build_tcp4, 16, {0, 61}, 2, DECODE_OK},
    {"ipv4 length 65535", build_tcp4, 16, {0xff, 0xff}, 2, DECODE_OK},
    {"tcp offset 4", build_tcp4, 46, {0x40}, 1, DECODE_BAD_TCP_HEADER},
    {"tcp offset 0", build_tcp4, 46, {0x00}, 1, DECODE_BAD_TCP_HEADER},
    {"tcp offset past datagram", build_tcp4, 46, {0xf0}, 1, DECODE_BAD_TCP_HEADER},
    {"udp length 7", build_udp4, 38, {0, 7}, 2, DECODE_BAD_UDP_LENGTH},
    {"udp length 0", build_udp4, 38, {0, 0}, 2, DECODE_BAD_UDP_LENGTH},
    {"udp length > ip", build_udp4, 38, {0, 29}, 2, DECODE_BAD_UDP_LENGTH},
    {"ipv6 version 4", build_udp6, 14, {0x40}, 1, DECODE_BAD_IPV6_HEADER},
    {"ipv6 payload > wire", build_udp6, 18, {0, 29}, 2, DECODE_OK},
    {"ipv6 payload 65535", build_udp6, 18, {0xff, 0xff}, 2, DECODE_OK},
    {"udp6 length > ip", build_udp6, 58, {0, 29}, 2, DECODE_BAD_UDP_LENGTH},
    {"gre routing bit", build_gre4, 34, {0x60}, 1, DECODE_BAD_TUNNEL},
    {"gre inner ipv4 version", build_gre4, 42, {0x55}, 1, DECODE_BAD_IPV4_HEADER},
    {"gre inner ipv6 wrong version", build_gre4, 36, {0x86, 0xdd}, 2, DECODE_BAD_IPV6_HEADER},
    {"gre inner length > outer", build_gre4, 44, {0, 49}, 2, DECODE_OK},
    {"vxlan inner ipv4 ihl", build_vxlan, 64, {0x43}, 1, DECODE_BAD_IPV4_HEADER},
    {"vxlan inner tcp offset", build_vxlan, 96, {0x10}, 1, DECODE_BAD_TCP_HEADER},
    {"vxlan inner length > udp", build_vxlan, 66, {0, 41}, 2, DECODE_OK},
};

static void test_bad_lengths(void **state)
{
    fb f;
    packet p;

    (void)state;
    for (size_t i = 0; i < sizeof(patch_cases) / sizeof(patch_cases[0]); i++) {
        const struct patch_case *pc = &patch_cases[i];
        int r;

        pc->build(&f);
        assert_int_equal(decode_fb(g_dec, DLT_EN10MB, &f, &p), DECODE_OK);
        memcpy(f.b + pc->off, pc->val, pc->nval);
        r = decode_raw(g_dec, DLT_EN10MB, f.b, f.n, f.n, &p);
        if (r != pc->result)
            fail_msg("%s: got %s, want %s", pc->name, decode_result_name(r),
                     decode_result_name(pc->result));
        /* An IP length past the frame is clipped, not fatal. */
        if (r == DECODE_OK && !(p.flags & PKT_F_LEN_CLIPPED))
            fail_msg("%s: decoded without PKT_F_LEN_CLIPPED", pc->name);
    }
}

/* ---- tunnels ------------------------------------------------------------- */

static void test_vxlan(void **state)
{
    fb f;
    packet p;

    (void)state;
    memset(&f, 0, sizeof(f));
    fb_eth(&f, 0x8100);
    fb_vlan(&f, 3, 0x0800);
    fb_ipv4(&f, 17, SRC4, DST4);
    fb_udp(&f, 50000, 4789);
    fb_vxlan(&f, 0x08, 0xabcdef);
    fb_eth(&f, 0x0800);
    fb_ipv4(&f, 6, ISRC4, IDST4);
    fb_tcp(&f, 1234, 80, TCP_SYN);
    fb_payload(&f, 7);
    assert_int_equal(decode_fb(g_dec, DLT_EN10MB, &f, &p), DECODE_OK);
    assert_int_equal(p.tunnel_type, PKT_TUNNEL_VXLAN);
    assert_int_equal(p.tunnel_port, 4789);
    assert_int_equal(p.tunnel_id, 0xabcdef);
    assert_int_equal(p.tunnel_depth, 1);
    assert_v4(&p.src, ISRC4);
    assert_v4(&p.dst, IDST4);
    assert_int_equal(p.sport, 1234);
    assert_int_equal(p.dport, 80);
    assert_int_equal(p.proto, 6);
    assert_int_equal(p.vlan, 3);
    assert_int_equal(p.l3_off, 18 + 20 + 8 + 8 + 14);
    assert_int_equal(p.wire_bytes, f.n - (18 + 20 + 8 + 8));
    assert_int_equal(p.payload_len, 7);

    /* Without the I flag it is plain UDP to port 4789. */
    f.b[18 + 28] = 0x00;
    assert_int_equal(decode_raw(g_dec, DLT_EN10MB, f.b, f.n, f.n, &p), DECODE_OK);
    assert_int_equal(p.tunnel_type, PKT_TUNNEL_NONE);
    assert_int_equal(p.tunnel_depth, 0);
    assert_int_equal(p.proto, 17);
    assert_int_equal(p.dport, 4789);
    assert_v4(&p.src, SRC4);
    assert_int_equal(p.wire_bytes, f.n);
    assert_int_equal(p.payload_len, f.n - 18 - 28);

    /* A UDP payload too short to hold a VXLAN header is plain UDP too. */
    memset(&f, 0, sizeof(f));
    fb_eth(&f, 0x0800);
    fb_ipv4(&f, 17, SRC4, DST4);
    fb_udp(&f, 50000, 4789);
    fb_payload(&f, 4);
    assert_int_equal(decode_fb(g_dec, DLT_EN10MB, &f, &p), DECODE_OK);
    assert_int_equal(p.tunnel_type, PKT_TUNNEL_NONE);

    /* Another VXLAN port by configuration. */
    decode_config cfg;
    decode_config_defaults(&cfg);
    cfg.vxlan_port = 8472;
    decoder *d = decode_new(&cfg);
    build_vxlan(&f);
    assert_int_equal(decode_fb(d, DLT_EN10MB, &f, &p), DECODE_OK);
    assert_int_equal(p.tunnel_type, PKT_TUNNEL_NONE);
    put16(f.b + 36, 8472);
    assert_int_equal(decode_raw(d, DLT_EN10MB, f.b, f.n, f.n, &p), DECODE_OK);
    assert_int_equal(p.tunnel_type, PKT_TUNNEL_VXLAN);
    assert_int_equal(p.tunnel_port, 8472);
    decode_free(d);
}

static void test_geneve(void **state)
{
    fb f;
    packet p;

    (void)state;
    memset(&f, 0, sizeof(f));
    fb_eth(&f, 0x86DD);
    fb_ipv6(&f, 17, 9);
    fb_udp(&f, 40000, 6081);
    fb_geneve(&f, 5, 0x6558, 0x000042);
    fb_eth(&f, 0x0800);
    fb_ipv4(&f, 17, ISRC4, IDST4);
    fb_udp(&f, 5353, 5353);
    assert_int_equal(decode_fb(g_dec, DLT_EN10MB, &f, &p), DECODE_OK);
    assert_int_equal(p.tunnel_type, PKT_TUNNEL_GENEVE);
    assert_int_equal(p.tunnel_port, 6081);
    assert_int_equal(p.tunnel_id, 0x42);
    assert_int_equal(p.ip_version, 4);
    assert_v4(&p.src, ISRC4);
    assert_int_equal(p.l3_off, 14 + 40 + 8 + 28 + 14);
    assert_int_equal(p.wire_bytes, f.n - (14 + 40 + 8 + 28));

    /* Options longer than the capture. */
    assert_int_equal(decode_raw(g_dec, DLT_EN10MB, f.b, 14 + 40 + 8 + 20, f.n, &p),
                     DECODE_TRUNCATED_TUNNEL);

    /* Inner IPv6 without Ethernet. */
    memset(&f, 0, sizeof(f));
    fb_eth(&f, 0x0800);
    fb_ipv4(&f, 17, SRC4, DST4);
    fb_udp(&f, 40000, 6081);
    fb_geneve(&f, 0, 0x86DD, 7);
    fb_ipv6(&f, 6, 3);
    fb_tcp(&f, 1, 2, TCP_SYN);
    assert_int_equal(decode_fb(g_dec, DLT_EN10MB, &f, &p), DECODE_OK);
    assert_int_equal(p.ip_version, 6);
    assert_v6(&p.src, 3, 1);
    assert_int_equal(p.wire_bytes, f.n - 50);

    /* Version 1 or an unknown protocol: plain UDP. */
    f.b[42] = 0x40;
    assert_int_equal(decode_raw(g_dec, DLT_EN10MB, f.b, f.n, f.n, &p), DECODE_OK);
    assert_int_equal(p.tunnel_type, PKT_TUNNEL_NONE);
    assert_int_equal(p.dport, 6081);
    f.b[42] = 0;
    put16(f.b + 44, 0x1234);
    assert_int_equal(decode_raw(g_dec, DLT_EN10MB, f.b, f.n, f.n, &p), DECODE_OK);
    assert_int_equal(p.tunnel_type, PKT_TUNNEL_NONE);
}

static void test_gre(void **state)
{
    static const uint8_t flag_sets[] = {
        0, GRE_C, GRE_K, GRE_S, GRE_C | GRE_K, GRE_K | GRE_S, GRE_C | GRE_K | GRE_S};
    fb f;
    packet p;

    (void)state;
    for (size_t i = 0; i < sizeof(flag_sets); i++) {
        uint32_t ghl = 4 + 4 * (uint32_t)__builtin_popcount(flag_sets[i]);
        memset(&f, 0, sizeof(f));
        fb_eth(&f, 0x0800);
        fb_ipv4(&f, 47, SRC4, DST4);
        fb_gre(&f, flag_sets[i], 0x0800, 0x01020304);
        fb_ipv4(&f, 6, ISRC4, IDST4);
        fb_tcp(&f, 22, 60000, TCP_ACK);
        assert_int_equal(decode_fb(g_dec, DLT_EN10MB, &f, &p), DECODE_OK);
        assert_int_equal(p.tunnel_type, PKT_TUNNEL_GRE);
        assert_int_equal(p.tunnel_id, (flag_sets[i] & GRE_K) ? 0x01020304 : 0);
        assert_int_equal(p.tunnel_port, 0);
        assert_int_equal(p.l3_off, 34 + ghl);
        assert_int_equal(p.wire_bytes, f.n - (34 + ghl));
        assert_v4(&p.src, ISRC4);
        assert_int_equal(p.sport, 22);
    }

    /* GRE carrying IPv6. */
    memset(&f, 0, sizeof(f));
    fb_eth(&f, 0x86DD);
    fb_ipv6(&f, 47, 1);
    fb_gre(&f, 0, 0x86DD, 0);
    fb_ipv6(&f, 17, 2);
    fb_udp(&f, 1, 2);
    assert_int_equal(decode_fb(g_dec, DLT_EN10MB, &f, &p), DECODE_OK);
    assert_int_equal(p.tunnel_type, PKT_TUNNEL_GRE);
    assert_v6(&p.src, 2, 1);
    assert_int_equal(p.l3_off, 14 + 40 + 4);

    /* Transparent Ethernet bridging: wire bytes from the inner Ethernet. */
    memset(&f, 0, sizeof(f));
    fb_eth(&f, 0x0800);
    fb_ipv4(&f, 47, SRC4, DST4);
    fb_gre(&f, GRE_K, 0x6558, 5);
    fb_eth(&f, 0x8100);
    fb_vlan(&f, 600, 0x0800);
    fb_ipv4(&f, 17, ISRC4, IDST4);
    fb_udp(&f, 1, 2);
    assert_int_equal(decode_fb(g_dec, DLT_EN10MB, &f, &p), DECODE_OK);
    assert_int_equal(p.tunnel_id, 5);
    assert_int_equal(p.vlan, 600);
    assert_int_equal(p.wire_bytes, f.n - 42);

    /* GRE carrying MPLS. */
    memset(&f, 0, sizeof(f));
    fb_eth(&f, 0x0800);
    fb_ipv4(&f, 47, SRC4, DST4);
    fb_gre(&f, 0, 0x8847, 0);
    fb_mpls(&f, 16, 1);
    fb_ipv4(&f, 17, ISRC4, IDST4);
    fb_udp(&f, 1, 2);
    assert_int_equal(decode_fb(g_dec, DLT_EN10MB, &f, &p), DECODE_OK);
    assert_true(p.flags & PKT_F_MPLS);
    assert_int_equal(p.tunnel_type, PKT_TUNNEL_GRE);
    assert_v4(&p.src, ISRC4);

    /* PPTP's version 1 and unknown protocols stay GRE flows. */
    memset(&f, 0, sizeof(f));
    fb_eth(&f, 0x0800);
    fb_ipv4(&f, 47, SRC4, DST4);
    fb_gre(&f, GRE_K, 0x880B, 0x00100020);
    fb_payload(&f, 30);
    fb_finish(&f);
    f.b[35] = 0x01;
    assert_int_equal(decode_raw(g_dec, DLT_EN10MB, f.b, f.n, f.n, &p), DECODE_OK);
    assert_int_equal(p.proto, 47);
    assert_int_equal(p.tunnel_type, PKT_TUNNEL_NONE);
    assert_v4(&p.src, SRC4);
    assert_int_equal(p.sport, 0);
    f.b[35] = 0x00;
    assert_int_equal(decode_raw(g_dec, DLT_EN10MB, f.b, f.n, f.n, &p), DECODE_OK);
    assert_int_equal(p.proto, 47);
    assert_int_equal(p.tunnel_depth, 0);
}

static void test_erspan(void **state)
{
    fb f;
    packet p;

    (void)state;
    /* Type I: no sequence number, no ERSPAN header. */
    memset(&f, 0, sizeof(f));
    fb_eth(&f, 0x0800);
    fb_ipv4(&f, 47, SRC4, DST4);
    fb_gre(&f, 0, 0x88BE, 0);
    fb_eth(&f, 0x0800);
    fb_ipv4(&f, 6, ISRC4, IDST4);
    fb_tcp(&f, 1, 2, TCP_SYN);
    assert_int_equal(decode_fb(g_dec, DLT_EN10MB, &f, &p), DECODE_OK);
    assert_int_equal(p.tunnel_type, PKT_TUNNEL_ERSPAN1);
    assert_int_equal(p.wire_bytes, f.n - 38);
    assert_v4(&p.src, ISRC4);

    /* Type II: sequence number and an 8-byte header. */
    memset(&f, 0, sizeof(f));
    fb_eth(&f, 0x0800);
    fb_ipv4(&f, 47, SRC4, DST4);
    fb_gre(&f, GRE_S, 0x88BE, 0);
    fb_erspan2(&f, 0x3ff);
    fb_eth(&f, 0x86DD);
    fb_ipv6(&f, 17, 4);
    fb_udp(&f, 1, 2);
    assert_int_equal(decode_fb(g_dec, DLT_EN10MB, &f, &p), DECODE_OK);
    assert_int_equal(p.tunnel_type, PKT_TUNNEL_ERSPAN2);
    assert_int_equal(p.tunnel_id, 0x3ff);
    assert_int_equal(p.l3_off, 34 + 8 + 8 + 14);
    assert_int_equal(p.wire_bytes, f.n - 50);
    f.b[42] = 0x20; /* version 2 in a type II header */
    assert_int_equal(decode_raw(g_dec, DLT_EN10MB, f.b, f.n, f.n, &p), DECODE_BAD_TUNNEL);

    /* Type III with and without the platform specific subheader. */
    for (int o = 0; o <= 1; o++) {
        uint32_t inner = 34 + 4 + 12 + (o ? 8 : 0);
        memset(&f, 0, sizeof(f));
        fb_eth(&f, 0x0800);
        fb_ipv4(&f, 47, SRC4, DST4);
        fb_gre(&f, 0, 0x22EB, 0);
        fb_erspan3(&f, 77, o);
        fb_eth(&f, 0x0800);
        fb_ipv4(&f, 17, ISRC4, IDST4);
        fb_udp(&f, 1, 2);
        assert_int_equal(decode_fb(g_dec, DLT_EN10MB, &f, &p), DECODE_OK);
        assert_int_equal(p.tunnel_type, PKT_TUNNEL_ERSPAN3);
        assert_int_equal(p.tunnel_id, 77);
        assert_int_equal(p.l3_off, inner + 14);
        assert_int_equal(p.wire_bytes, f.n - inner);
        assert_int_equal(decode_raw(g_dec, DLT_EN10MB, f.b, inner - 1, f.n, &p),
                         DECODE_TRUNCATED_TUNNEL);
        f.b[38] = 0x10; /* version 1 in a type III header */
        assert_int_equal(decode_raw(g_dec, DLT_EN10MB, f.b, f.n, f.n, &p), DECODE_BAD_TUNNEL);
    }
}

static void test_ipip(void **state)
{
    fb f;
    packet p;

    (void)state;
    memset(&f, 0, sizeof(f));
    fb_eth(&f, 0x0800);
    fb_ipv4(&f, 4, SRC4, DST4);
    fb_ipv4(&f, 17, ISRC4, IDST4);
    fb_udp(&f, 1, 2);
    assert_int_equal(decode_fb(g_dec, DLT_EN10MB, &f, &p), DECODE_OK);
    assert_int_equal(p.tunnel_type, PKT_TUNNEL_IPIP);
    assert_int_equal(p.tunnel_depth, 1);
    assert_v4(&p.src, ISRC4);
    assert_int_equal(p.l3_off, 34);
    assert_int_equal(p.wire_bytes, f.n - 34);
    assert_int_equal(p.ttl, 64);

    memset(&f, 0, sizeof(f));
    fb_eth(&f, 0x0800);
    fb_ipv4(&f, 41, SRC4, DST4);
    fb_ipv6(&f, 6, 1);
    fb_tcp(&f, 1, 2, TCP_SYN);
    assert_int_equal(decode_fb(g_dec, DLT_EN10MB, &f, &p), DECODE_OK);
    assert_int_equal(p.tunnel_type, PKT_TUNNEL_IPIP);
    assert_int_equal(p.ip_version, 6);
    assert_int_equal(p.ttl, 55);

    memset(&f, 0, sizeof(f));
    fb_eth(&f, 0x86DD);
    fb_ipv6(&f, 4, 1);
    fb_ipv4(&f, 1, ISRC4, IDST4);
    fb_icmp(&f, 0, 0);
    assert_int_equal(decode_fb(g_dec, DLT_EN10MB, &f, &p), DECODE_OK);
    assert_int_equal(p.ip_version, 4);
    assert_int_equal(p.proto, 1);
    assert_int_equal(p.l3_off, 54);

    /* Protocol 41 whose payload is IPv4 is malformed. */
    memset(&f, 0, sizeof(f));
    fb_eth(&f, 0x0800);
    fb_ipv4(&f, 41, SRC4, DST4);
    fb_ipv4(&f, 17, ISRC4, IDST4);
    fb_udp(&f, 1, 2);
    fb_payload(&f, 20);
    assert_int_equal(decode_fb(g_dec, DLT_EN10MB, &f, &p), DECODE_BAD_IPV6_HEADER);
}

/* The fragment of a tunnel is accounted to the outer flow: later
 * fragments could not be followed inside. */
static void test_fragmented_tunnel(void **state)
{
    fb f;
    packet p;

    (void)state;
    memset(&f, 0, sizeof(f));
    fb_eth(&f, 0x0800);
    fb_ipv4x(&f, 17, SRC4, DST4, 0x2000, 9, 0);
    fb_udp(&f, 50000, 4789);
    fb_vxlan(&f, 0x08, 1);
    fb_eth(&f, 0x0800);
    fb_ipv4(&f, 6, ISRC4, IDST4);
    fb_tcp(&f, 1, 2, TCP_SYN);
    assert_int_equal(decode_fb(g_dec, DLT_EN10MB, &f, &p), DECODE_OK);
    assert_int_equal(p.tunnel_type, PKT_TUNNEL_NONE);
    assert_int_equal(p.dport, 4789);
    assert_true(p.flags & PKT_F_FRAG_FIRST);
}

static void test_nesting(void **state)
{
    fb f;
    packet p;

    (void)state;
    /* VXLAN inside GRE: the outermost tunnel is recorded; the id is the
     * outermost non-zero one. */
    memset(&f, 0, sizeof(f));
    fb_eth(&f, 0x0800);
    fb_ipv4(&f, 47, SRC4, DST4);
    fb_gre(&f, 0, 0x0800, 0);
    fb_ipv4(&f, 17, IP4(172, 16, 0, 1), IP4(172, 16, 0, 2));
    fb_udp(&f, 40000, 4789);
    fb_vxlan(&f, 0x08, 555);
    fb_eth(&f, 0x0800);
    fb_ipv4(&f, 6, ISRC4, IDST4);
    fb_tcp(&f, 1, 2, TCP_SYN);
    assert_int_equal(decode_fb(g_dec, DLT_EN10MB, &f, &p), DECODE_OK);
    assert_int_equal(p.tunnel_type, PKT_TUNNEL_GRE);
    assert_int_equal(p.tunnel_port, 0);
    assert_int_equal(p.tunnel_depth, 2);
    assert_int_equal(p.tunnel_id, 555);
    assert_v4(&p.src, ISRC4);
    assert_int_equal(p.l3_off, 14 + 20 + 4 + 20 + 8 + 8 + 14);
    assert_int_equal(p.wire_bytes, f.n - (14 + 20 + 4 + 20 + 8 + 8));

    /* An inner failure is the packet's failure. */
    assert_int_equal(decode_raw(g_dec, DLT_EN10MB, f.b, f.n - 25, f.n, &p), DECODE_TRUNCATED_IPV4);

    /* IP-in-IP nested to the cap (4) and one past it. */
    for (int depth = 4; depth <= 5; depth++) {
        memset(&f, 0, sizeof(f));
        fb_eth(&f, 0x0800);
        for (int i = 0; i < depth; i++)
            fb_ipv4(&f, 4, SRC4 + (uint32_t)i, DST4);
        fb_ipv4(&f, 17, ISRC4, IDST4);
        fb_udp(&f, 1, 2);
        assert_int_equal(decode_fb(g_dec, DLT_EN10MB, &f, &p),
                         depth == 4 ? DECODE_OK : DECODE_TOO_DEEP);
        if (depth == 4) {
            assert_int_equal(p.tunnel_depth, 4);
            assert_v4(&p.src, ISRC4);
        }
    }

    /* A smaller cap by configuration. */
    decode_config cfg;
    decode_config_defaults(&cfg);
    cfg.max_depth = 1;
    decoder *d = decode_new(&cfg);
    build_vxlan(&f);
    assert_int_equal(decode_fb(d, DLT_EN10MB, &f, &p), DECODE_OK);
    memset(&f, 0, sizeof(f));
    fb_eth(&f, 0x0800);
    fb_ipv4(&f, 47, SRC4, DST4);
    fb_gre(&f, GRE_K, 0x6558, 3);
    fb_eth(&f, 0x0800);
    fb_ipv4(&f, 17, SRC4, DST4);
    fb_udp(&f, 40000, 4789);
    fb_vxlan(&f, 0x08, 555);
    fb_eth(&f, 0x0800);
    fb_ipv4(&f, 6, ISRC4, IDST4);
    fb_tcp(&f, 1, 2, TCP_SYN);
    assert_int_equal(decode_fb(d, DLT_EN10MB, &f, &p), DECODE_TOO_DEEP);
    cfg.max_depth = 0;
    decode_free(d);
    d = decode_new(&cfg);
    build_vxlan(&f);
    assert_int_equal(decode_fb(d, DLT_EN10MB, &f, &p), DECODE_TOO_DEEP);
    decode_free(d);
}

/* ---- truncation at every byte ------------------------------------------ */

#define ANY_MALFORMED (-100)
#define OK_PARTIAL    (-101)

struct cut_range {
    uint32_t from, to; /* caplen in [from, to) */
    int result;
};

struct cut_case {
    const char *name;
    int dlt;
    void (*build)(fb *f);
    struct cut_range ranges[12];
};

static void build_qinq_udp(fb *f)
{
    memset(f, 0, sizeof(*f));
    fb_eth(f, 0x88A8);
    fb_vlan(f, 10, 0x8100);
    fb_vlan(f, 20, 0x0800);
    fb_ipv4(f, 17, SRC4, DST4);
    fb_udp(f, 1, 2);
    fb_payload(f, 4);
}

static void build_mpls6(fb *f)
{
    memset(f, 0, sizeof(*f));
    fb_eth(f, 0x8847);
    fb_mpls(f, 1, 0);
    fb_mpls(f, 2, 1);
    fb_ipv6(f, 17, 0);
    fb_udp(f, 1, 2);
}

static void build_mpls_pw(fb *f)
{
    memset(f, 0, sizeof(*f));
    fb_eth(f, 0x8847);
    fb_mpls(f, 1, 1);
    fb_put(f, 4);
    fb_eth(f, 0x0800);
    fb_ipv4(f, 6, SRC4, DST4);
    fb_tcp(f, 1, 2, 0);
}

static void build_opts_tcp(fb *f)
{
    memset(f, 0, sizeof(*f));
    fb_eth(f, 0x0800);
    fb_ipv4x(f, 6, SRC4, DST4, 0, 1, 8);
    fb_tcp(f, 1, 2, TCP_SYN);
}

static void build_ext6_tcp(fb *f)
{
    memset(f, 0, sizeof(*f));
    fb_eth(f, 0x86DD);
    fb_ipv6(f, 0, 0);
    fb_ext6(f, 60, 8);
    fb_ext6(f, 51, 16);
    fb_ah6(f, 44, 12);
    fb_frag6(f, 6, 0, 1, 1);
    fb_tcp(f, 1, 2, TCP_SYN);
}

static void build_sll_udp(fb *f)
{
    build_sll(f, 0, 0x0800);
    fb_ipv4(f, 17, SRC4, DST4);
    fb_udp(f, 1, 2);
}

static void build_sll2_udp(fb *f)
{
    build_sll(f, 1, 0x86DD);
    fb_ipv6(f, 17, 0);
    fb_udp(f, 1, 2);
}

static void build_null_tcp(fb *f)
{
    memset(f, 0, sizeof(*f));
    fb_put(f, 4)[0] = 2;
    fb_ipv4(f, 6, SRC4, DST4);
    fb_tcp(f, 1, 2, TCP_SYN);
}

static void build_raw_icmp6(fb *f)
{
    memset(f, 0, sizeof(*f));
    fb_ipv6(f, 58, 0);
    fb_icmp(f, 128, 0);
}

static void build_geneve_opts(fb *f)
{
    memset(f, 0, sizeof(*f));
    fb_eth(f, 0x0800);
    fb_ipv4(f, 17, SRC4, DST4);
    fb_udp(f, 1, 6081);
    fb_geneve(f, 2, 0x6558, 9);
    fb_eth(f, 0x0800);
    fb_ipv4(f, 17, ISRC4, IDST4);
    fb_udp(f, 1, 2);
}

static void build_gre_cks(fb *f)
{
    memset(f, 0, sizeof(*f));
    fb_eth(f, 0x0800);
    fb_ipv4(f, 47, SRC4, DST4);
    fb_gre(f, GRE_C | GRE_K | GRE_S, 0x86DD, 1);
    fb_ipv6(f, 6, 0);
    fb_tcp(f, 1, 2, TCP_SYN);
}

static void build_erspan2(fb *f)
{
    memset(f, 0, sizeof(*f));
    fb_eth(f, 0x0800);
    fb_ipv4(f, 47, SRC4, DST4);
    fb_gre(f, GRE_S, 0x88BE, 0);
    fb_erspan2(f, 3);
    fb_eth(f, 0x0800);
    fb_ipv4(f, 17, ISRC4, IDST4);
    fb_udp(f, 1, 2);
}

static void build_erspan3(fb *f)
{
    memset(f, 0, sizeof(*f));
    fb_eth(f, 0x0800);
    fb_ipv4(f, 47, SRC4, DST4);
    fb_gre(f, GRE_S, 0x22EB, 0);
    fb_erspan3(f, 3, 1);
    fb_eth(f, 0x0800);
    fb_ipv4(f, 17, ISRC4, IDST4);
    fb_udp(f, 1, 2);
}

static void build_ipip6(fb *f)
{
    memset(f, 0, sizeof(*f));
    fb_eth(f, 0x0800);
    fb_ipv4(f, 41, SRC4, DST4);
    fb_ipv6(f, 17, 0);
    fb_udp(f, 1, 2);
}

static const struct cut_case cut_cases[] = {
    {"eth/ipv4/tcp",
     DLT_EN10MB,
     build_tcp4,
     {{0, 14, DECODE_TRUNCATED_L2},
      {14, 34, DECODE_TRUNCATED_IPV4},
      {34, 38, DECODE_TRUNCATED_L4},
      {38, 54, OK_PARTIAL},
      {54, 75, DECODE_OK}}},
    {"qinq/ipv4/udp",
     DLT_EN10MB,
     build_qinq_udp,
     {{0, 14, DECODE_TRUNCATED_L2},
      {14, 22, DECODE_TRUNCATED_VLAN},
      {22, 42, DECODE_TRUNCATED_IPV4},
      {42, 46, DECODE_TRUNCATED_L4},
      {46, 50, OK_PARTIAL},
      {50, 55, DECODE_OK}}},
    {"mpls/ipv6/udp",
     DLT_EN10MB,
     build_mpls6,
     {{0, 14, DECODE_TRUNCATED_L2},
      {14, 23, DECODE_TRUNCATED_MPLS},
      {23, 62, DECODE_TRUNCATED_IPV6},
      {62, 66, DECODE_TRUNCATED_L4},
      {66, 70, OK_PARTIAL},
      {70, 71, DECODE_OK}}},
    {"mpls/pw/ipv4/tcp",
     DLT_EN10MB,
     build_mpls_pw,
     {{0, 14, DECODE_TRUNCATED_L2},
      {14, 22, DECODE_TRUNCATED_MPLS},
      {22, 36, DECODE_TRUNCATED_L2},
      {36, 56, DECODE_TRUNCATED_IPV4},
      {56, 60, DECODE_TRUNCATED_L4},
      {60, 76, OK_PARTIAL},
      {76, 77, DECODE_OK}}},
    {"ipv4 options/tcp",
     DLT_EN10MB,
     build_opts_tcp,
     {{0, 14, DECODE_TRUNCATED_L2},
      {14, 42, DECODE_TRUNCATED_IPV4},
      {42, 46, DECODE_TRUNCATED_L4},
      {46, 62, OK_PARTIAL},
      {62, 63, DECODE_OK}}},
    {"ipv6 ext chain/tcp",
     DLT_EN10MB,
     build_ext6_tcp,
     {{0, 14, DECODE_TRUNCATED_L2},
      {14, 54, DECODE_TRUNCATED_IPV6},
      {54, 98, DECODE_BAD_IPV6_EXT},
      {98, 102, DECODE_TRUNCATED_L4},
      {102, 118, OK_PARTIAL},
      {118, 119, DECODE_OK}}},
    {"sll/ipv4/udp",
     DLT_LINUX_SLL,
     build_sll_udp,
     {{0, 16, DECODE_TRUNCATED_L2},
      {16, 36, DECODE_TRUNCATED_IPV4},
      {36, 40, DECODE_TRUNCATED_L4},
      {40, 44, OK_PARTIAL},
      {44, 45, DECODE_OK}}},
    {"sll2/ipv6/udp",
     DLT_LINUX_SLL2,
     build_sll2_udp,
     {{0, 20, DECODE_TRUNCATED_L2},
      {20, 60, DECODE_TRUNCATED_IPV6},
      {60, 64, DECODE_TRUNCATED_L4},
      {64, 68, OK_PARTIAL},
      {68, 69, DECODE_OK}}},
    {"null/ipv4/tcp",
     DLT_NULL,
     build_null_tcp,
     {{0, 4, DECODE_TRUNCATED_L2},
      {4, 24, DECODE_TRUNCATED_IPV4},
      {24, 28, DECODE_TRUNCATED_L4},
      {28, 44, OK_PARTIAL},
      {44, 45, DECODE_OK}}},
    {"raw/ipv6/icmpv6",
     DLT_RAW,
     build_raw_icmp6,
     {{0, 1, DECODE_TRUNCATED_L2}, {1, 40, DECODE_TRUNCATED_IPV6}, {40, 49, DECODE_OK}}},
    {"vxlan",
     DLT_EN10MB,
     build_vxlan,
     {{0, 14, DECODE_TRUNCATED_L2},
      {14, 34, DECODE_TRUNCATED_IPV4},
      {34, 38, DECODE_TRUNCATED_L4},
      {38, 42, OK_PARTIAL},
      {42, 50, DECODE_TRUNCATED_TUNNEL},
      {50, 64, DECODE_TRUNCATED_L2},
      {64, 84, DECODE_TRUNCATED_IPV4},
      {84, 88, DECODE_TRUNCATED_L4},
      {88, 104, OK_PARTIAL},
      {104, 105, DECODE_OK}}},
    {"geneve options",
     DLT_EN10MB,
     build_geneve_opts,
     {{0, 14, DECODE_TRUNCATED_L2},
      {14, 34, DECODE_TRUNCATED_IPV4},
      {34, 38, DECODE_TRUNCATED_L4},
      {38, 42, OK_PARTIAL},
      {42, 58, DECODE_TRUNCATED_TUNNEL},
      {58, 72, DECODE_TRUNCATED_L2},
      {72, 92, DECODE_TRUNCATED_IPV4},
      {92, 96, DECODE_TRUNCATED_L4},
      {96, 100, OK_PARTIAL},
      {100, 101, DECODE_OK}}},
    {"gre c/k/s ipv6",
     DLT_EN10MB,
     build_gre_cks,
     {{0, 14, DECODE_TRUNCATED_L2},
      {14, 34, DECODE_TRUNCATED_IPV4},
      {34, 50, DECODE_TRUNCATED_TUNNEL},
      {50, 90, DECODE_TRUNCATED_IPV6},
      {90, 94, DECODE_TRUNCATED_L4},
      {94, 110, OK_PARTIAL},
      {110, 111, DECODE_OK}}},
    {"erspan ii",
     DLT_EN10MB,
     build_erspan2,
     {{0, 14, DECODE_TRUNCATED_L2},
      {14, 34, DECODE_TRUNCATED_IPV4},
      {34, 50, DECODE_TRUNCATED_TUNNEL},
      {50, 64, DECODE_TRUNCATED_L2},
      {64, 84, DECODE_TRUNCATED_IPV4},
      {84, 88, DECODE_TRUNCATED_L4},
      {88, 92, OK_PARTIAL},
      {92, 93, DECODE_OK}}},
    {"erspan iii + subheader",
     DLT_EN10MB,
     build_erspan3,
     {{0, 14, DECODE_TRUNCATED_L2},
      {14, 34, DECODE_TRUNCATED_IPV4},
      {34, 62, DECODE_TRUNCATED_TUNNEL},
      {62, 76, DECODE_TRUNCATED_L2},
      {76, 96, DECODE_TRUNCATED_IPV4},
      {96, 100, DECODE_TRUNCATED_L4},
      {100, 104, OK_PARTIAL},
      {104, 105, DECODE_OK}}},
    {"ipv6 in ipv4",
     DLT_EN10MB,
     build_ipip6,
     {{0, 14, DECODE_TRUNCATED_L2},
      {14, 34, DECODE_TRUNCATED_IPV4},
      {34, 74, DECODE_TRUNCATED_IPV6},
      {74, 78, DECODE_TRUNCATED_L4},
      {78, 82, OK_PARTIAL},
      {82, 83, DECODE_OK}}},
};

static void check_cut(const struct cut_case *cc, const fb *f, uint32_t caplen, int want)
{
    packet p;
    int r = decode_raw(g_dec, cc->dlt, f->b, caplen, f->n, &p);

    if (want == OK_PARTIAL) {
        if (r != DECODE_OK || !(p.flags & PKT_F_L4_PARTIAL) || p.sport == 0 || p.dport == 0 ||
            p.wire_bytes > f->n)
            fail_msg("%s cut at %u: got %s flags %#x, want partial", cc->name, caplen,
                     decode_result_name(r), p.flags);
        return;
    }
    if (want == ANY_MALFORMED ? !decode_result_is_malformed(r) : r != want)
        fail_msg("%s cut at %u: got %s, want %s", cc->name, caplen, decode_result_name(r),
                 decode_result_name(want));
    if (want == DECODE_OK && (p.flags & PKT_F_L4_PARTIAL))
        fail_msg("%s cut at %u: partial flag on a whole header", cc->name, caplen);
}

static void test_truncation_every_byte(void **state)
{
    fb f;

    (void)state;
    for (size_t i = 0; i < sizeof(cut_cases) / sizeof(cut_cases[0]); i++) {
        const struct cut_case *cc = &cut_cases[i];
        uint32_t covered = 0;

        cc->build(&f);
        fb_finish(&f);
        for (const struct cut_range *r = cc->ranges; r->to; r++) {
            assert_int_equal(r->from, covered); /* the table has no gaps */
            for (uint32_t cap = r->from; cap < r->to && cap <= f.n; cap++)
                check_cut(cc, &f, cap, r->result);
            covered = r->to;
        }
        if (covered <= f.n)
            fail_msg("%s: table covers %u of %u bytes", cc->name, covered, f.n);
        /* Cutting the wire length too (caplen == wirelen) must never
         * pass unflagged (a cut inside the IP datagram is clipped), and
         * never read past the bytes given. */
        for (uint32_t cap = 0; cap < f.n; cap++) {
            packet p;
            int r = decode_raw(g_dec, cc->dlt, f.b, cap, cap, &p);
            if (!decode_result_is_malformed(r) && !(p.flags & PKT_F_LEN_CLIPPED))
                fail_msg("%s: frame cut on the wire at %u decoded", cc->name, cap);
        }
    }
}

/* ---- the real captures ---------------------------------------------- */

struct corpus_count {
    unsigned packets, ok, ipv6, vlan1108, vlan1308, bad_length;
};

/* An untagged Ethernet IPv4 frame whose IP total length is more than the
 * frame's recorded length: the writer cut the frame and recorded the cut
 * length as the wire length. Checked on the raw bytes, apart from the
 * decoder, so only such frames may be reported malformed. */
static int corpus_cut_frame(int dlt, const u_char *b, const struct pcap_pkthdr *h)
{
    return dlt == DLT_EN10MB && h->caplen >= 34 && b[12] == 0x08 && b[13] == 0x00 &&
           (b[14] >> 4) == 4 && (uint32_t)((b[16] << 8) | b[17]) > h->len - 14;
}

typedef struct corpus_walk_ctx {
    decoder *d;
    const char *path;
    struct corpus_count *cnt;
} corpus_walk_ctx;

static void corpus_packet(void *ctx, int dlt, const struct pcap_pkthdr *h, const u_char *bytes)
{
    corpus_walk_ctx *w = ctx;
    struct corpus_count *cnt = w->cnt;
    packet p;
    int r;

    free(g_copy);
    g_copy = malloc(h->caplen);
    assert_true(h->caplen == 0 || g_copy != NULL);
    memcpy(g_copy, bytes, h->caplen);
    memset(&p, 0, sizeof(p));
    p.ts_us = (uint64_t)h->ts.tv_sec * 1000000 + (uint64_t)h->ts.tv_usec;
    p.caplen = h->caplen;
    p.wirelen = h->len;
    p.data = g_copy;
    r = decode_packet(w->d, &p);
    cnt->packets++;
    if (r == DECODE_OK && (p.flags & PKT_F_LEN_CLIPPED)) {
        if (!corpus_cut_frame(dlt, bytes, h))
            fail_msg("%s: packet %u clipped but fits its frame", w->path, cnt->packets + 1);
        cnt->bad_length++;
    }
    if (decode_result_is_malformed(r))
        fail_msg("%s: packet %u: %s", w->path, cnt->packets, decode_result_name(r));
    check_invariants(&p, r);
    if (r == DECODE_OK) {
        cnt->ok++;
        cnt->ipv6 += p.ip_version == 6;
        cnt->vlan1108 += p.vlan == 1108;
        cnt->vlan1308 += p.vlan == 1308;
    }
}

static void decode_capture(decoder *d, const char *path, struct corpus_count *cnt)
{
    corpus_walk_ctx w = {.d = d, .path = path, .cnt = cnt};
    corpus_read(path, d, corpus_packet, &w);
}

static void corpus_file(const char *dir, const char *name, struct corpus_count *cnt)
{
    char path[4096];
    decoder *d = decode_new(NULL);

    assert_non_null(d);
    snprintf(path, sizeof(path), "%s/ndpi/%s", dir, name);
    memset(cnt, 0, sizeof(*cnt));
    decode_capture(d, path, cnt);
    decode_free(d);
}

static void test_corpus(void **state)
{
    const char *dir = getenv("LOOPHOLE_CORPUS");
    glob_t g;
    struct corpus_count cnt, total = {0};

    (void)state;
    corpus_glob(&g);
    for (size_t i = 0; i < g.gl_pathc; i++) {
        decoder *d = decode_new(NULL);
        memset(&cnt, 0, sizeof(cnt));
        decode_capture(d, g.gl_pathv[i], &cnt);
        decode_free(d);
        assert_true(cnt.packets > 0);
        total.packets += cnt.packets;
        total.ok += cnt.ok;
        total.bad_length += cnt.bad_length;
    }
    globfree(&g);
    assert_true(total.ok > total.packets / 2);
    assert_true(total.bad_length < 10);

    /* telnet.pcap has 5 frames cut below their IP length: clipped, and
     * counted to their flow as tshark counts them. */
    corpus_file(dir, "telnet.pcap", &cnt);
    assert_int_equal(cnt.packets, 92);
    assert_int_equal(cnt.bad_length, 5);
    assert_int_equal(cnt.ok, 92);

    corpus_file(dir, "tls_ech.pcapng", &cnt);
    assert_int_equal(cnt.packets, 10);
    assert_true(cnt.ipv6 > 0);
    corpus_file(dir, "rdp2.pcap", &cnt);
    assert_true(cnt.vlan1108 > 0);
    assert_true(cnt.vlan1308 > 0);
    corpus_file(dir, "rdp.pcap", &cnt); /* DLT_NULL */
    assert_int_equal(cnt.ok, cnt.packets);
}

/* ---- lengths a source may get wrong ---------------------------------- */

static void test_source_lengths(void **state)
{
    fb f;
    packet p;

    (void)state;
    /* Bytes past the wire length are not part of the frame: the IP length
     * is clipped to it. */
    build_eth_tcp4(&f, 10);
    fb_finish(&f);
    assert_int_equal(decode_raw(g_dec, DLT_EN10MB, f.b, f.n, f.n - 10, &p), DECODE_OK);
    assert_true(p.flags & PKT_F_LEN_CLIPPED);
    assert_int_equal(p.wire_bytes, f.n - 10);
    assert_int_equal(p.l3_len, f.n - 10 - 14);
    assert_int_equal(decode_raw(g_dec, DLT_EN10MB, f.b, f.n, 0, &p), DECODE_TRUNCATED_L2);
    /* No bytes at all. */
    assert_int_equal(decode_raw(g_dec, DLT_EN10MB, f.b, 0, 0, &p), DECODE_TRUNCATED_L2);
    memset(&p, 0, sizeof(p));
    p.caplen = p.wirelen = 100;
    assert_int_equal(decode_packet(g_dec, &p), DECODE_TRUNCATED_L2);
    /* A snap length cut inside the payload leaves the lengths on the wire. */
    assert_int_equal(decode_raw(g_dec, DLT_EN10MB, f.b, 60, f.n, &p), DECODE_OK);
    assert_int_equal(p.payload_len, 10);
    assert_int_equal(p.payload_caplen, 6);
    assert_int_equal(p.wire_bytes, f.n);
}

/* Two fragment headers, a first then a later one: a later fragment. */
static void test_double_fragment_header(void **state)
{
    fb f;
    packet p;
    decoder *d = decode_new(NULL);

    (void)state;
    assert_non_null(d);
    memset(&f, 0, sizeof(f));
    fb_eth(&f, 0x86DD);
    fb_ipv6(&f, 44, 0);
    fb_frag6(&f, 44, 0, 1, 1);
    fb_frag6(&f, 17, 3, 1, 2);
    fb_payload(&f, 16);
    assert_int_equal(decode_fb(d, DLT_EN10MB, &f, &p), DECODE_FRAG_ORPHAN);
    assert_int_equal(p.flags & (PKT_F_FRAG_FIRST | PKT_F_FRAG_LATER), PKT_F_FRAG_LATER);
    assert_int_equal(p.frag_id, 2);
    decode_free(d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_result_names),
        cmocka_unit_test(test_config_defaults),
        cmocka_unit_test(test_ethernet_tcp),
        cmocka_unit_test(test_pppoe),
        cmocka_unit_test(test_ethernet_padding),
        cmocka_unit_test(test_linux_sll),
        cmocka_unit_test(test_raw_ip),
        cmocka_unit_test(test_null_loop),
        cmocka_unit_test(test_ppp_hdlc),
        cmocka_unit_test(test_unsupported_link),
        cmocka_unit_test(test_vlan_qinq),
        cmocka_unit_test(test_mpls),
        cmocka_unit_test(test_ipv4_options),
        cmocka_unit_test(test_ipv4_tso),
        cmocka_unit_test(test_tcp_partial),
        cmocka_unit_test(test_udp_icmp_other),
        cmocka_unit_test(test_packet_reset),
        cmocka_unit_test(test_ipv4_fragments),
        cmocka_unit_test(test_frag_replaced),
        cmocka_unit_test(test_ipv6_fragments),
        cmocka_unit_test(test_ipv6_ext),
        cmocka_unit_test(test_bad_lengths),
        cmocka_unit_test(test_vxlan),
        cmocka_unit_test(test_geneve),
        cmocka_unit_test(test_gre),
        cmocka_unit_test(test_erspan),
        cmocka_unit_test(test_ipip),
        cmocka_unit_test(test_fragmented_tunnel),
        cmocka_unit_test(test_nesting),
        cmocka_unit_test(test_truncation_every_byte),
        cmocka_unit_test(test_corpus),
        cmocka_unit_test(test_source_lengths),
        cmocka_unit_test(test_double_fragment_header),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
