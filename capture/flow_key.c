/* flow_key.c -- symmetric flow keys and their hash (see flow_key.h).
 *
 * Hashing uses xxHash's XXH3: fast on 44-byte keys and well distributed, so
 * the multiply-shift shard choice and the power-of-two flow tables both get
 * even loads from its bits.
 */
#include "flow_key.h"

#include <stddef.h>
#include <string.h>
/* The hash runs once per packet: inline it rather than call the shared
 * library (measured: the call and its dispatch were a tenth of the
 * capture thread on a bulk-transfer capture). */
#define XXH_INLINE_ALL
#include <xxhash.h>

_Static_assert(sizeof(flow_key) == 44, "flow_key must have no padding");

/* Orders two addresses given as their two native 64-bit words. Any total
 * order makes the key symmetric; comparing words is cheaper than memcmp's
 * byte order. */
static int flow_key_cmp(const uint64_t x[2], const uint64_t y[2])
{
    if (x[0] != y[0])
        return x[0] < y[0] ? -1 : 1;
    if (x[1] != y[1])
        return x[1] < y[1] ? -1 : 1;
    return 0;
}

/* tunnel_id, vlan, proto and tunnel_type, the key's last 8 bytes, as one
 * word: flow_key_make() stores it at once (XXH3 reads it as one word,
 * which four small stores could not forward either) and flow_key_side()
 * compares it at once. */
static uint64_t flow_key_tail(const packet *p)
{
    uint64_t type = p->tunnel_id ? p->tunnel_type : 0;
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    return (uint64_t)p->tunnel_id | (uint64_t)p->vlan << 32 | (uint64_t)p->proto << 48 | type << 56;
#else
    return (uint64_t)p->tunnel_id << 32 | (uint64_t)p->vlan << 16 | (uint64_t)p->proto << 8 | type;
#endif
}

_Static_assert(offsetof(flow_key, tunnel_id) + 8 == sizeof(flow_key) &&
                   offsetof(flow_key, vlan) == offsetof(flow_key, tunnel_id) + 4 &&
                   offsetof(flow_key, proto) == offsetof(flow_key, vlan) + 2 &&
                   offsetof(flow_key, tunnel_type) == offsetof(flow_key, proto) + 1,
               "the key ends with tunnel_id, vlan, proto, tunnel_type");

int flow_key_make(flow_key *k, const packet *p)
{
    /* The addresses are read once, as the two 8-byte words the decoder
     * wrote (pkt_addr_from_v4()), and the key is written from those
     * registers: copying them whole with 16-byte loads, right after the
     * decoder's 8-byte stores, waited for the stores to retire on every
     * packet (no store forwarding from two stores into one load;
     * docs/performance.md, "Sixth round"). */
    uint64_t s[2], d[2];
    memcpy(s, p->src.b, sizeof(s));
    memcpy(d, p->dst.b, sizeof(d));
    int c = flow_key_cmp(s, d);
    int swap = c > 0 || (c == 0 && p->sport > p->dport);

    if (swap) {
        memcpy(k->addr[0].b, d, sizeof(d));
        memcpy(k->addr[1].b, s, sizeof(s));
        k->port[0] = p->dport;
        k->port[1] = p->sport;
    } else {
        memcpy(k->addr[0].b, s, sizeof(s));
        memcpy(k->addr[1].b, d, sizeof(d));
        k->port[0] = p->sport;
        k->port[1] = p->dport;
    }
    uint64_t tail = flow_key_tail(p);
    memcpy(&k->tunnel_id, &tail, sizeof(tail));
    return swap;
}

int flow_key_side(const flow_key *k, const packet *p)
{
    /* the ports first: a packet of another flow most often differs there */
    uint32_t pp = (uint32_t)p->sport | (uint32_t)p->dport << 16;
    uint32_t kp = (uint32_t)k->port[0] | (uint32_t)k->port[1] << 16;
    uint32_t kr = (uint32_t)k->port[1] | (uint32_t)k->port[0] << 16;
    uint64_t tail, s[2], d[2], a[2], b[2];

    if (pp != kp && pp != kr)
        return -1;
    memcpy(&tail, &k->tunnel_id, sizeof(tail));
    if (tail != flow_key_tail(p))
        return -1;
    memcpy(s, p->src.b, sizeof(s));
    memcpy(d, p->dst.b, sizeof(d));
    memcpy(a, k->addr[0].b, sizeof(a));
    memcpy(b, k->addr[1].b, sizeof(b));
    /* side 0 first: a flow between one address and port and itself is
     * side 0 both ways, as flow_key_make() makes it */
    if (pp == kp && ((s[0] ^ a[0]) | (s[1] ^ a[1]) | (d[0] ^ b[0]) | (d[1] ^ b[1])) == 0)
        return 0;
    if (pp == kr && ((s[0] ^ b[0]) | (s[1] ^ b[1]) | (d[0] ^ a[0]) | (d[1] ^ a[1])) == 0)
        return 1;
    return -1;
}

/* XXH3 of the key as six 8-byte words (the addresses' four, then ports
 * and tunnel id, then VLAN, protocol and tunnel type), not of its 44
 * bytes: XXH3 reads 44 bytes at offsets 12, 20, 28 and 36, each across
 * two of the key's stores, which cannot be forwarded to the load and
 * stalled every packet (docs/performance.md, "Sixth round"); 48 bytes it
 * reads in aligned words. */
uint64_t flow_key_hash(const flow_key *k)
{
    uint64_t w[6];

    memcpy(&w[0], k->addr[0].b, 8);
    memcpy(&w[1], k->addr[0].b + 8, 8);
    memcpy(&w[2], k->addr[1].b, 8);
    memcpy(&w[3], k->addr[1].b + 8, 8);
    w[4] = (uint64_t)k->port[0] | (uint64_t)k->port[1] << 16 | (uint64_t)k->tunnel_id << 32;
    w[5] = (uint64_t)k->vlan | (uint64_t)k->proto << 16 | (uint64_t)k->tunnel_type << 24;
    return XXH3_64bits(w, sizeof(w));
}

/* 64x64 -> 128-bit multiply folded to 64 bits: one instruction that mixes
 * every input bit into the middle of the result (the mixing step of the
 * wyhash family; the constants are its odd secrets). */
static uint64_t flow_key_mum(uint64_t a, uint64_t b)
{
    unsigned __int128 m = (unsigned __int128)a * b;
    return (uint64_t)m ^ (uint64_t)(m >> 64);
}

#define FLOW_KEY_K0 0xa0761d6478bd642fULL
#define FLOW_KEY_K1 0xe7037ed1a0b428dbULL
#define FLOW_KEY_K2 0x8ebc6af09c88c6e3ULL

/* One endpoint: the address's two words, the port in the first (which is
 * all zeros for an IPv4 address, base/pkt_addr.h). */
static uint64_t flow_key_end(const pkt_addr *a, uint16_t port)
{
    uint64_t x[2];

    memcpy(x, a->b, sizeof(x));
    return flow_key_mum(x[0] ^ port ^ FLOW_KEY_K0, x[1] ^ FLOW_KEY_K1);
}

unsigned flow_key_shard(const packet *p, unsigned nworkers)
{
    /* The sum of the two endpoints does not depend on their order. */
    uint64_t h = flow_key_end(&p->src, p->sport) + flow_key_end(&p->dst, p->dport);
    uint64_t rest = (uint64_t)p->proto | (uint64_t)p->vlan << 8 |
                    (uint64_t)(p->tunnel_id ? p->tunnel_type : 0) << 24 |
                    (uint64_t)p->tunnel_id << 32;

    h = flow_key_mum(h ^ FLOW_KEY_K2, rest ^ FLOW_KEY_K0);
    /* multiply-shift on the high bits: no division */
    return (unsigned)(((h >> 32) * (uint64_t)nworkers) >> 32);
}
