/* flow_key.c -- symmetric flow keys and their hash (see flow_key.h).
 *
 * Hashing uses xxHash's XXH3: fast on 44-byte keys and well distributed, so
 * the multiply-shift shard choice and the power-of-two flow tables both get
 * even loads from its bits.
 */
#include "flow_key.h"

#include <string.h>
#include <xxhash.h>

_Static_assert(sizeof(flow_key) == 44, "flow_key must have no padding");

int flow_key_make(flow_key *k, const packet *p)
{
    int c = memcmp(p->src.b, p->dst.b, sizeof(p->src.b));
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

int flow_key_equal(const flow_key *a, const flow_key *b)
{
    return memcmp(a, b, sizeof(*a)) == 0;
}
