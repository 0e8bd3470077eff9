/* flow_key.h -- the symmetric identity of a flow, and its hash.
 *
 * Both directions of a conversation must map to one key, one hash and so
 * one worker. The key orders its two endpoints (address, then port), so a
 * packet and its reply produce the same bytes; flow_key_make() says which
 * side sent the packet. VLAN id and tunnel id are part of the key because
 * on mirror ports they separate tenants whose private addresses overlap.
 *
 * The hash is computed once, in the capture thread, and travels with the
 * packet to the worker, whose flow table reuses it.
 */
#ifndef LOOPHOLE_FLOW_KEY_H
#define LOOPHOLE_FLOW_KEY_H

#include <stdint.h>

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

int flow_key_equal(const flow_key *a, const flow_key *b);

/* Worker index in [0, nworkers) for a hash: a multiply-shift, which uses
 * the high bits and needs no division. */
static inline unsigned flow_key_shard(uint64_t hash, unsigned nworkers)
{
    return (unsigned)(((hash >> 32) * (uint64_t)nworkers) >> 32);
}

#endif
