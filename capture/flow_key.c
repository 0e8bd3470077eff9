/* flow_key.c -- symmetric flow keys and their hash (see flow_key.h).
 *
 * Hashing uses xxHash's XXH3: fast on 44-byte keys and well distributed, so
 * the multiply-shift shard choice and the power-of-two flow tables both get
 * even loads from its bits.
 */
#include "flow_key.h"

#include <string.h>
/* The hash runs once per packet: inline it rather than call the shared
 * library (measured: the call and its dispatch were a tenth of the
 * capture thread on a bulk-transfer capture). */
#define XXH_INLINE_ALL
#include <xxhash.h>

_Static_assert(sizeof(flow_key) == 44, "flow_key must have no padding");

/* Orders two addresses. Any total order makes the key symmetric; comparing
 * two native 64-bit words is cheaper than memcmp's byte order. */
static int flow_key_cmp(const pkt_addr *a, const pkt_addr *b)
{
    uint64_t x[2], y[2];

    memcpy(x, a->b, sizeof(x));
    memcpy(y, b->b, sizeof(y));
    if (x[0] != y[0])
        return x[0] < y[0] ? -1 : 1;
    if (x[1] != y[1])
        return x[1] < y[1] ? -1 : 1;
    return 0;
}

int flow_key_make(flow_key *k, const packet *p)
{
    int c = flow_key_cmp(&p->src, &p->dst);
    int swap = c > 0 || (c == 0 && p->sport > p->dport);

    if (swap) {
        k->addr[0] = p->dst;
        k->addr[1] = p->src;
        k->port[0] = p->dport;
        k->port[1] = p->sport;
    } else {
        k->addr[0] = p->src;
        k->addr[1] = p->dst;
        k->port[0] = p->sport;
        k->port[1] = p->dport;
    }
    k->tunnel_id = p->tunnel_id;
    k->vlan = p->vlan;
    k->proto = p->proto;
    k->tunnel_type = p->tunnel_id ? p->tunnel_type : 0;
    return swap;
}

uint64_t flow_key_hash(const flow_key *k)
{
    return XXH3_64bits(k, sizeof(*k));
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
