/* pkt.c -- frames on the wire: Ethernet (optional 802.1Q), IPv4/IPv6,
 * TCP/UDP with correct checksums, optional VXLAN outer headers.
 *
 * pkt_render() takes one committed segment of a flow and writes the frame
 * into g->frame; it returns the wire length and reports how many bytes a
 * capture with the flow's snap length keeps. Bulk payloads are not stored:
 * they are slices of a fixed random pool whose 16-bit prefix sums make the
 * checksum of any slice O(1), so only the captured bytes are ever copied.
 * Also here: the PRNG and small helpers every other file uses.
 */
#include <arpa/inet.h>
#include <stdarg.h>
#include <string.h>

#include "gen.h"

#define ETH_LEN   14
#define VLAN_LEN  4
#define VXLAN_OUT 50 /* outer Ethernet + IPv4 + UDP + VXLAN */

uint64_t gen_rand(struct gen_rng *r)
{
    uint64_t z = (r->s += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/* Inclusive range; the modulo bias is irrelevant for test traffic. */
uint32_t gen_range(struct gen_rng *r, uint32_t lo, uint32_t hi)
{
    if (hi <= lo)
        return lo;
    return lo + (uint32_t)(gen_rand(r) % ((uint64_t)hi - lo + 1));
}

void gen_fill(struct gen_rng *r, uint8_t *p, size_t n)
{
    while (n > 0) {
        uint64_t v = gen_rand(r);
        size_t k = n < 8 ? n : 8;
        memcpy(p, &v, k);
        p += k;
        n -= k;
    }
}

int gen_err(struct gen *g, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(g->err, sizeof(g->err), fmt, ap);
    va_end(ap);
    return -1;
}

void put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

void put24(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 16);
    put16(p + 1, (uint16_t)v);
}

void put32(uint8_t *p, uint32_t v)
{
    put16(p, (uint16_t)(v >> 16));
    put16(p + 2, (uint16_t)v);
}

/* Addresses in scenarios are literals, so a bad one is a programming error
 * caught the first time the scenario runs: it becomes 0.0.0.0. */
void gen_addr(struct gen_addr *a, const char *text)
{
    memset(a, 0, sizeof(*a));
    a->v6 = strchr(text, ':') != NULL;
    if (inet_pton(a->v6 ? AF_INET6 : AF_INET, text, a->b) != 1)
        memset(a->b, 0, sizeof(a->b));
}

/* MAC addresses follow from the IP so the same host always has the same
 * one: a NIC vendor prefix and three bytes of an address hash. */
void gen_ep_set(struct gen_ep *e, const char *ip, uint16_t port, uint8_t ttl)
{
    struct gen_addr a;
    gen_addr(&a, ip);
    gen_ep_addr(e, &a, port, ttl);
}

void gen_ep_addr(struct gen_ep *e, const struct gen_addr *a, uint16_t port, uint8_t ttl)
{
    uint32_t h = 2166136261u;
    e->ip = *a;
    for (int i = 0; i < 16; i++)
        h = (h ^ e->ip.b[i]) * 16777619u;
    e->mac[0] = 0x3c;
    e->mac[1] = 0xfd;
    e->mac[2] = 0xfe;
    e->mac[3] = (uint8_t)(h >> 16);
    e->mac[4] = (uint8_t)(h >> 8);
    e->mac[5] = (uint8_t)h;
    e->port = port;
    e->ttl = ttl;
}

void gen_pool_init(struct gen *g)
{
    struct gen_rng r = {0x6c6f6f70686f6c65ULL}; /* the pool is the same for all seeds */
    gen_fill(&r, g->pool, sizeof(g->pool));
    g->pool_sum[0] = 0;
    for (size_t i = 0; i < sizeof(g->pool) / 2; i++)
        g->pool_sum[i + 1] = g->pool_sum[i] + (uint32_t)(g->pool[2 * i] << 8 | g->pool[2 * i + 1]);
}

static uint64_t csum_add(uint64_t s, const uint8_t *p, size_t n)
{
    for (; n > 1; p += 2, n -= 2)
        s += (uint32_t)(p[0] << 8 | p[1]);
    if (n)
        s += (uint32_t)p[0] << 8;
    return s;
}

/* Sum of a pool slice; slices start at even offsets. */
static uint64_t csum_pool(const struct gen *g, uint32_t off, uint32_t len)
{
    uint64_t s = g->pool_sum[(off + len) / 2] - g->pool_sum[off / 2];
    if (len & 1)
        s += (uint32_t)g->pool[off + len - 1] << 8;
    return s;
}

static uint16_t csum_fold(uint64_t s)
{
    while (s >> 16)
        s = (s & 0xffff) + (s >> 16);
    return (uint16_t)~s;
}

static size_t eth_write(uint8_t *p, const uint8_t *dst, const uint8_t *src, uint16_t vlan,
                        uint16_t type)
{
    size_t n = 12;
    memcpy(p, dst, 6);
    memcpy(p + 6, src, 6);
    if (vlan) {
        put16(p + 12, 0x8100);
        put16(p + 14, vlan & 0x0fff);
        n += 4;
    }
    put16(p + n, type);
    return n + 2;
}

static void ip4_write(uint8_t *p, const uint8_t *src, const uint8_t *dst, uint8_t ttl,
                      uint8_t proto, uint16_t id, size_t l4len)
{
    p[0] = 0x45;
    p[1] = 0;
    put16(p + 2, (uint16_t)(20 + l4len));
    put16(p + 4, id);
    put16(p + 6, 0x4000); /* DF */
    p[8] = ttl;
    p[9] = proto;
    put16(p + 10, 0);
    memcpy(p + 12, src, 4);
    memcpy(p + 16, dst, 4);
    put16(p + 10, csum_fold(csum_add(0, p, 20)));
}

static void ip6_write(uint8_t *p, const uint8_t *src, const uint8_t *dst, uint8_t hops,
                      uint8_t proto, uint32_t label, size_t l4len)
{
    put32(p, 0x60000000u | (label & 0xfffff));
    put16(p + 4, (uint16_t)l4len);
    p[6] = proto;
    p[7] = hops;
    memcpy(p + 8, src, 16);
    memcpy(p + 24, dst, 16);
}

static uint64_t pseudo_sum(const struct gen_addr *s, const struct gen_addr *d, uint8_t proto,
                           size_t l4len)
{
    size_t alen = s->v6 ? 16 : 4;
    uint64_t sum = csum_add(csum_add(0, s->b, alen), d->b, alen);
    return sum + proto + (uint32_t)l4len;
}

/* TCP header with options: SYNs carry MSS, SACK-permitted, timestamps and
 * window scale (what Linux sends), RSTs none, the rest timestamps. */
static size_t tcp_write(uint8_t *p, const struct gen_flow *f, const struct gen_seg *s)
{
    const struct gen_ep *src = &f->ep[s->dir], *dst = &f->ep[!s->dir];
    size_t hl = 20;
    put16(p, src->port);
    put16(p + 2, dst->port);
    put32(p + 4, s->seq);
    put32(p + 8, s->ack);
    p[13] = s->flags;
    put16(p + 14, s->win);
    put32(p + 16, 0);
    if (s->flags & TCP_SYN) {
        static const uint8_t o[] = {2, 4, 0, 0, 4, 2, 8, 10};
        memcpy(p + 20, o, sizeof(o));
        put16(p + 22, (uint16_t)f->mss);
        put32(p + 28, s->tsval);
        put32(p + 32, s->tsecr);
        p[36] = 1, p[37] = 3, p[38] = 3, p[39] = 7;
        hl = 40;
    } else if (!(s->flags & TCP_RST)) {
        p[20] = 1, p[21] = 1, p[22] = 8, p[23] = 10;
        put32(p + 24, s->tsval);
        put32(p + 28, s->tsecr);
        hl = 32;
    }
    p[12] = (uint8_t)(hl / 4) << 4;
    return hl;
}

static const uint8_t *seg_data(const struct gen *g, const struct gen_flow *f,
                               const struct gen_seg *s)
{
    return s->filler ? g->pool + s->off : f->buf + s->off;
}

/* L4 header, payload (as much as is captured) and checksum at p. */
static size_t l4_write(struct gen *g, struct gen_flow *f, const struct gen_seg *s, uint8_t *p,
                       size_t room)
{
    const struct gen_ep *src = &f->ep[s->dir], *dst = &f->ep[!s->dir];
    size_t hl, l4len;
    uint64_t sum;
    if (f->proto == 6) {
        hl = tcp_write(p, f, s);
    } else {
        hl = 8;
        put16(p, src->port);
        put16(p + 2, dst->port);
        put16(p + 4, (uint16_t)(8 + s->len));
        put16(p + 6, 0);
    }
    l4len = hl + s->len;
    sum = pseudo_sum(&src->ip, &dst->ip, f->proto, l4len) + csum_add(0, p, hl);
    if (s->len)
        sum += s->filler ? csum_pool(g, s->off, s->len) : csum_add(0, f->buf + s->off, s->len);
    uint16_t c = csum_fold(sum);
    if (f->proto == 17 && c == 0)
        c = 0xffff;
    put16(p + (f->proto == 6 ? 16 : 6), c);
    size_t keep = room > hl ? room - hl : 0;
    if (keep && s->len)
        memcpy(p + hl, seg_data(g, f, s), keep < s->len ? keep : s->len);
    return l4len;
}

/* Outer headers of a VXLAN tunnel between two fixed VTEPs; the UDP source
 * port comes from the inner flow hash as switches do. The outer UDP
 * checksum is zero, which RFC 7348 recommends for IPv4. */
static void vxlan_write(uint8_t *p, const struct gen_flow *f, int dir, size_t inner, uint16_t id)
{
    static const uint8_t vtep_mac[2][6] = {{0x00, 0x1c, 0x73, 0x10, 0x00, 0x01},
                                           {0x00, 0x1c, 0x73, 0x10, 0x00, 0x02}};
    static const uint8_t vtep_ip[2][4] = {{10, 40, 0, 11}, {10, 40, 0, 12}};
    uint8_t *u = p + ETH_LEN + 20;
    eth_write(p, vtep_mac[!dir], vtep_mac[dir], 0, 0x0800);
    ip4_write(p + ETH_LEN, vtep_ip[dir], vtep_ip[!dir], 64, 17, id, 8 + 8 + inner);
    put16(u, (uint16_t)(49152 + (f->hash % 16384)));
    put16(u + 2, 4789);
    put16(u + 4, (uint16_t)(16 + inner));
    put16(u + 6, 0);
    put32(u + 8, 0x08000000u);
    put32(u + 12, f->vni << 8);
}

uint32_t pkt_render(struct gen *g, struct gen_flow *f, const struct gen_seg *s, uint32_t *caplen,
                    uint32_t *inner)
{
    const struct gen_ep *src = &f->ep[s->dir], *dst = &f->ep[!s->dir];
    size_t o = f->vni ? VXLAN_OUT : 0;
    uint8_t *p = g->frame + o;
    int v6 = src->ip.v6;
    size_t eth = eth_write(p, dst->mac, src->mac, f->vlan, v6 ? 0x86dd : 0x0800);
    size_t iph = v6 ? 40 : 20;
    size_t hdrs = o + eth + iph;
    size_t room = GEN_FRAME_MAX - hdrs - 64;
    uint32_t snap = s->filler ? f->snaplen : 0; /* handshakes stay whole */
    if (snap && snap < hdrs + room)
        room = snap > hdrs ? snap - hdrs : 0;
    size_t l4len = l4_write(g, f, s, p + eth + iph, room);
    uint16_t id = f->ipid[s->dir]++;
    if (v6)
        ip6_write(p + eth, src->ip.b, dst->ip.b, src->ttl, f->proto, f->hash ^ s->dir, l4len);
    else
        ip4_write(p + eth, src->ip.b, dst->ip.b, src->ttl, f->proto, id, l4len);
    *inner = (uint32_t)(eth + iph + l4len);
    if (f->vni)
        vxlan_write(g->frame, f, s->dir, *inner, id);
    uint32_t wire = (uint32_t)o + *inner;
    *caplen = snap && snap < wire ? snap : wire;
    return wire;
}
