/* decode_int.h -- private interface between the decoder's layer files.
 *
 * The decoder is split by layer: decode.c (public API, dispatch, results,
 * fragment tracker, tunnel bookkeeping), decode_l2.c (link layers, VLAN,
 * MPLS), decode_ip.c (IPv4, IPv6), decode_l4.c (TCP, UDP, ICMP) and
 * decode_tun.c (VXLAN, Geneve, GRE, ERSPAN, IP-in-IP).
 *
 * Every layer decoder has one signature: it takes the per-packet context
 * and the offset of its header in the frame, checks the length it needs
 * against the context's bounds before reading anything, fills the packet,
 * hands the rest of the frame to the next layer and returns that layer's
 * enum decode_result.
 */
#ifndef LOOPHOLE_DECODE_INT_H
#define LOOPHOLE_DECODE_INT_H

#include <stdint.h>

#include "decode.h"

/* Returned by a tunnel decoder that finds the payload is not its
 * encapsulation after all (VXLAN without the I flag, Geneve of an unknown
 * version, PPTP's GRE): the caller keeps the packet as a flow of the outer
 * protocol. Never leaves the decoder. */
#define DECODE_NOT_TUNNEL (-1)

#define DECODE_MAX_VLANS       8  /* stacked 802.1Q/802.1ad tags */
#define DECODE_MAX_MPLS        16 /* labels in one stack */
#define DECODE_MAX_IPV6_EXT    8  /* IPv6 extension headers in one chain */
#define DECODE_MAX_PSEUDOWIRES 4  /* Ethernet pseudowires nested in MPLS */

/* One remembered first fragment: the datagram's identity and its ports. */
struct decode_frag {
    pkt_addr src, dst;
    uint32_t id;
    uint8_t proto;    /* protocol field of the fragmented header (key) */
    uint8_t l4_proto; /* protocol of the L4 header in the first fragment */
    uint8_t ip_version;
    uint8_t used;
    uint16_t sport, dport;
    uint64_t ts_us;
};

struct decoder {
    decode_config cfg;
    int dlt;
    struct decode_frag *frags; /* cfg.frag_slots entries, direct-mapped */
    decode_stats stats;
};

/* State of one decode_packet() call, on its stack. `cap` and `wire` bound
 * the bytes the current layer may use: they start as the frame and narrow
 * to the enclosing datagram each time a tunnel is entered, so an inner
 * header can never claim bytes past its carrier. */
struct decode_ctx {
    decoder *d;
    packet *p;
    const uint8_t *data;
    uint32_t cap;       /* readable bytes end at data + cap */
    uint32_t wire;      /* the enclosing datagram ends here on the wire */
    uint32_t ip_end;    /* current IP datagram's end on the wire */
    uint32_t cap_end;   /* min(cap, ip_end): readable end of that datagram */
    uint8_t in_frag;    /* current datagram is a first fragment */
    uint8_t frag_proto; /* its protocol field, part of the tracker key */
    uint8_t pw_depth;   /* Ethernet pseudowires crossed */
};

/* Big-endian reads; the caller has checked the bytes are there. */
static inline uint16_t decode_rd16(const uint8_t *b)
{
    return (uint16_t)((b[0] << 8) | b[1]);
}

static inline uint32_t decode_rd32(const uint8_t *b)
{
    return ((uint32_t)b[0] << 24) | ((uint32_t)b[1] << 16) | ((uint32_t)b[2] << 8) | b[3];
}

static inline uint32_t decode_min32(uint32_t a, uint32_t b)
{
    return a < b ? a : b;
}

/* decode_l2.c */
int decode_l2_link(struct decode_ctx *c);
int decode_l2_ether(struct decode_ctx *c, uint32_t off);
int decode_l2_ethertype(struct decode_ctx *c, uint16_t type, uint32_t off);
int decode_l2_mpls(struct decode_ctx *c, uint32_t off);

/* decode_ip.c */
int decode_ip_any(struct decode_ctx *c, uint32_t off);
int decode_ip_v4(struct decode_ctx *c, uint32_t off);
int decode_ip_v6(struct decode_ctx *c, uint32_t off);

/* decode_l4.c: `proto` is the IP protocol of the header at `off`. */
int decode_l4(struct decode_ctx *c, uint8_t proto, uint32_t off);
int decode_l4_other(struct decode_ctx *c, uint8_t proto, uint32_t off);

/* decode_tun.c: UDP-based tunnels take the offset of the UDP payload. */
int decode_tun_vxlan(struct decode_ctx *c, uint32_t off);
int decode_tun_geneve(struct decode_ctx *c, uint32_t off);
int decode_tun_gre(struct decode_ctx *c, uint32_t off);
int decode_tun_ipip(struct decode_ctx *c, uint8_t proto, uint32_t off);

/* decode.c */
int decode_tun_enter(struct decode_ctx *c, uint8_t type, uint16_t port, uint32_t id,
                     uint32_t inner_off);
/* `proto` is the protocol field next to the fragment offset (IPv4 header
 * or IPv6 fragment header): unlike the L4 protocol, later fragments carry
 * the same value. */
void decode_frag_remember(decoder *d, const packet *p, uint8_t proto);
int decode_frag_lookup(decoder *d, packet *p, uint8_t proto);

#endif
