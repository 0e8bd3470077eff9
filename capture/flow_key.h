/* flow_key.h -- the symmetric identity of a flow, and its hash.
 *
 * Both directions of a conversation must map to one key, one hash and so
 * one worker. The key orders its two endpoints (address, then port), so a
 * packet and its reply produce the same bytes; flow_key_make() says which
 * side sent the packet. VLAN id and tunnel id are part of the key because
 * on mirror ports they separate tenants whose private addresses overlap.
 *
 * Two functions, for two threads: the capture thread only picks the
 * worker of a packet (flow_key_shard(), read straight from the decoded
 * packet); the worker makes the key and its hash (flow_key_make(),
 * flow_key_hash()) for its flow table. Building a key and running XXH3 on
 * it was a tenth of the capture thread's instructions on a bulk capture,
 * in the one thread that cannot be spread over cores.
 */
#ifndef LOOPHOLE_FLOW_KEY_H
#define LOOPHOLE_FLOW_KEY_H

#include <stdint.h>
#include <string.h>

#include "packet.h"

typedef struct flow_key {
    pkt_addr addr[2];    /* addr[0] sorts before addr[1] (with its port) */
    uint16_t port[2];    /* port[i] belongs to addr[i] */
    uint32_t tunnel_id;  /* VNI, GRE key or ERSPAN session; 0 without */
    uint16_t vlan;       /* innermost VLAN id; 0 untagged */
    uint8_t proto;       /* IP protocol */
    uint8_t tunnel_type; /* enum pkt_tunnel, so a VNI and a GRE key differ */
} flow_key;

/* Fills k from a decoded packet. Returns the side (0 or 1) of the key that
 * sent the packet. The padding-free layout makes the key safe to hash and
 * compare as bytes. */
int flow_key_make(flow_key *k, const packet *p);

uint64_t flow_key_hash(const flow_key *k);

/* The side (0 or 1) of key k that sent packet p, as flow_key_make() would
 * say it, or -1 when p is not of k's flow; no key is built. The worker
 * asks it of the flow of the packet before, which the next packet of a
 * transfer most often belongs to. */
int flow_key_side(const flow_key *k, const packet *p);

/* Inline: the flow table compares a key once per packet, and a constant
 * size lets the compiler compare in a few words instead of calling
 * memcmp(). */
static inline int flow_key_equal(const flow_key *a, const flow_key *b)
{
    return memcmp(a, b, sizeof(*a)) == 0;
}

/* Worker index in [0, nworkers) for decoded packet p. It depends only on
 * the fields of p's flow key and is symmetric in the two endpoints, so
 * every packet of a flow, in both directions, goes to the same worker.
 * It is not flow_key_hash(): a few multiplications, no key built. */
unsigned flow_key_shard(const packet *p, unsigned nworkers);

#endif
