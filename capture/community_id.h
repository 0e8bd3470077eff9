/* community_id.h -- the Community ID of a flow (version 1), the hash that
 * Zeek, Suricata and Wireshark put in their flow logs so one connection can
 * be found in all of them.
 *
 * A flow's endpoints, IP protocol and ports (or ICMP type and code) enter;
 * the text "1:" followed by the base64 of a SHA-1 digest leaves, in a
 * buffer the caller owns. The value is the same for both directions of a
 * conversation. Specification: Corelight's community-id-spec, version 1.
 */
#ifndef LOOPHOLE_COMMUNITY_ID_H
#define LOOPHOLE_COMMUNITY_ID_H

#include <stddef.h>
#include <stdint.h>

#include "packet.h"

/* "1:" + 28 base64 characters + NUL. */
#define COMMUNITY_ID_LEN 31

/* One side of the conversation as the sender of its first packet saw it.
 * For ICMP (1) and ICMPv6 (58), sport and dport carry the first packet's
 * type and code; they are mapped to the specification's port equivalents
 * here. For protocols other than TCP, UDP, SCTP and ICMP the ports are
 * ignored. */
typedef struct community_id_tuple {
    const pkt_addr *src, *dst; /* IPv4-mapped for IPv4 (base/pkt_addr.h) */
    uint16_t sport, dport;
    uint8_t proto;
} community_id_tuple;

/* Writes the Community ID of t with `seed` (0 unless a site agreed on
 * another) into out, which holds at least COMMUNITY_ID_LEN bytes. Returns
 * out. Addresses of different families give an empty string. */
char *community_id_v1(const community_id_tuple *t, uint16_t seed, char *out);

#endif
