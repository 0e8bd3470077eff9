/* decode_ip.c -- IPv4 (RFC 791) and IPv6 (RFC 8200) headers.
 *
 * Owns the IP header checks, IPv4 options (skipped through the header
 * length), the IPv6 extension header chain (hop-by-hop, routing,
 * fragment, destination options, AH per RFC 4302, mobility, HIP and
 * shim6, which share the generic length layout of RFC 6564), and the
 * fragment flags of both versions.
 *
 * Data enters from the link layer or a tunnel at the IP header's offset;
 * the header fills addresses, protocol, TTL and lengths, bounds the
 * context to the datagram (so Ethernet padding is never taken for
 * payload) and leaves to decode_l4() at the L4 header. A later fragment
 * leaves nowhere: its ports come from the fragment tracker.
 *
 * A datagram's total length may be 0 where segmentation offload hands the
 * capture an oversized packet (IPv6: payload length 0, as for a
 * jumbogram); its length is then the bytes on the wire.
 */
#include "decode_int.h"

#include <string.h>

#define IPV4_HLEN     20
#define IPV6_HLEN     40
#define IPV6_FRAG_LEN 8
#define IPV4_MF       0x2000
#define IPV4_OFFMASK  0x1fff

/* Each IP header starts the flow over: an inner packet inherits nothing
 * from the L4 header of the packet that carried it. */
static void decode_ip_reset_l4(packet *p)
{
    p->sport = p->dport = 0;
    p->tcp_flags = 0;
    p->icmp_type = p->icmp_code = 0;
    p->seq = p->ack = 0;
    p->win = 0;
    p->frag_id = 0;
    p->l4_off = p->payload_off = p->payload_caplen = p->payload_len = 0;
    p->flags &=
        (uint16_t) ~(PKT_F_L4_PARTIAL | PKT_F_HAS_TCP | PKT_F_FRAG_FIRST | PKT_F_FRAG_LATER);
}

/* Records the datagram's extent: [off, off + len) on the wire. */
static void decode_ip_bound(struct decode_ctx *c, uint32_t off, uint32_t len)
{
    c->p->l3_off = off;
    c->p->l3_len = len;
    c->ip_end = off + len;
    c->cap_end = decode_min32(c->cap, c->ip_end);
    c->in_frag = 0;
}

/* A later fragment has no L4 header: it counts to the flow of its first
 * fragment, and its bytes are all payload. */
static int decode_ip_later_frag(struct decode_ctx *c, uint8_t proto, uint32_t id, uint32_t off)
{
    packet *p = c->p;

    /* A second fragment header behind a first one wins: no L4 either way. */
    p->flags = (uint16_t)((p->flags & ~PKT_F_FRAG_FIRST) | PKT_F_FRAG_LATER);
    p->frag_id = id;
    p->proto = proto;
    p->payload_off = off;
    p->payload_caplen = c->cap_end - off;
    p->payload_len = c->ip_end - off;
    return decode_frag_lookup(c->d, p, proto);
}

static void decode_ip_first_frag(struct decode_ctx *c, uint8_t proto, uint32_t id)
{
    c->p->flags |= PKT_F_FRAG_FIRST;
    c->p->frag_id = id;
    c->in_frag = 1;
    c->frag_proto = proto;
}

/* Decodes the L4 header and, for a first fragment, remembers its ports. */
static int decode_ip_l4(struct decode_ctx *c, uint8_t proto, uint32_t off)
{
    int in_frag = c->in_frag;
    uint8_t frag_proto = c->frag_proto;
    int r = decode_l4(c, proto, off);

    if (r == DECODE_OK && in_frag)
        decode_frag_remember(c->d, c->p, frag_proto);
    return r;
}

int decode_ip_v4(struct decode_ctx *c, uint32_t off)
{
    const uint8_t *h = c->data + off;
    packet *p = c->p;
    uint32_t hl, tl, rem;
    uint16_t frag;

    if (c->cap - off < IPV4_HLEN)
        return DECODE_TRUNCATED_IPV4;
    hl = (uint32_t)(h[0] & 0x0f) * 4;
    if (h[0] >> 4 != 4 || hl < IPV4_HLEN)
        return DECODE_BAD_IPV4_HEADER;
    if (c->cap - off < hl)
        return DECODE_TRUNCATED_IPV4;
    rem = c->wire - off;
    tl = decode_rd16(h + 2);
    if (tl == 0) {
        p->flags |= PKT_F_TSO;
        tl = rem;
    } else if (tl < hl) {
        return DECODE_BAD_IPV4_LENGTH;
    } else if (tl > rem) {
        p->flags |= PKT_F_LEN_CLIPPED;
        tl = rem;
    }
    decode_ip_reset_l4(p);
    decode_ip_bound(c, off, tl);
    p->ip_version = 4;
    p->ttl = h[8];
    pkt_addr_from_v4(&p->src, h + 12);
    pkt_addr_from_v4(&p->dst, h + 16);

    frag = decode_rd16(h + 6);
    if (frag & IPV4_OFFMASK)
        return decode_ip_later_frag(c, h[9], decode_rd16(h + 4), off + hl);
    if (frag & IPV4_MF)
        decode_ip_first_frag(c, h[9], decode_rd16(h + 4));
    return decode_ip_l4(c, h[9], off + hl);
}

/* Length of the extension header at `b`, or 0 when `nh` ends the chain. */
static uint32_t decode_ip_ext_len(uint8_t nh, const uint8_t *b)
{
    switch (nh) {
    case 0:   /* hop-by-hop options */
    case 43:  /* routing */
    case 60:  /* destination options */
    case 135: /* mobility */
    case 139: /* HIP */
    case 140: /* shim6 */
        return ((uint32_t)b[1] + 1) * 8;
    case 51: /* AH counts 4-byte units, less 2 */
        return ((uint32_t)b[1] + 2) * 4;
    case 44:
        return IPV6_FRAG_LEN;
    default:
        return 0;
    }
}

static int decode_ip_is_ext(uint8_t nh)
{
    return nh == 0 || nh == 43 || nh == 44 || nh == 51 || nh == 60 || nh == 135 || nh == 139 ||
           nh == 140;
}

/* Walks the extension headers to the upper-layer header. ESP (50) and No
 * Next Header (59) are not extension headers here: nothing past them can
 * be read, so they end the chain as the flow's protocol. */
static int decode_ip_v6_ext(struct decode_ctx *c, uint8_t nh, uint32_t off)
{
    const uint8_t *b;
    uint32_t len;
    int n;

    for (n = 0; decode_ip_is_ext(nh); n++) {
        if (n >= DECODE_MAX_IPV6_EXT || c->cap_end - off < 2)
            return DECODE_BAD_IPV6_EXT;
        b = c->data + off;
        len = decode_ip_ext_len(nh, b);
        if (c->cap_end - off < len)
            return DECODE_BAD_IPV6_EXT;
        if (nh == 44) {
            uint16_t fo = decode_rd16(b + 2);
            if (fo >> 3)
                return decode_ip_later_frag(c, b[0], decode_rd32(b + 4), off + len);
            /* An atomic fragment (RFC 6946) is a whole datagram. */
            if ((fo & 1) && !c->in_frag)
                decode_ip_first_frag(c, b[0], decode_rd32(b + 4));
        }
        nh = b[0];
        off += len;
    }
    return decode_ip_l4(c, nh, off);
}

int decode_ip_v6(struct decode_ctx *c, uint32_t off)
{
    const uint8_t *h = c->data + off;
    packet *p = c->p;
    uint32_t pl, rem;

    if (c->cap - off < IPV6_HLEN)
        return DECODE_TRUNCATED_IPV6;
    if (h[0] >> 4 != 6)
        return DECODE_BAD_IPV6_HEADER;
    rem = c->wire - off;
    pl = decode_rd16(h + 4);
    if (pl == 0) {
        p->flags |= PKT_F_TSO;
        pl = rem - IPV6_HLEN;
    } else if (pl > rem - IPV6_HLEN) {
        p->flags |= PKT_F_LEN_CLIPPED;
        pl = rem - IPV6_HLEN;
    }
    decode_ip_reset_l4(p);
    decode_ip_bound(c, off, IPV6_HLEN + pl);
    p->ip_version = 6;
    p->ttl = h[7];
    memcpy(p->src.b, h + 8, 16);
    memcpy(p->dst.b, h + 24, 16);
    return decode_ip_v6_ext(c, h[6], off + IPV6_HLEN);
}

int decode_ip_any(struct decode_ctx *c, uint32_t off)
{
    if (c->cap - off < 1)
        return DECODE_TRUNCATED_L2;
    switch (c->data[off] >> 4) {
    case 4:
        return decode_ip_v4(c, off);
    case 6:
        return decode_ip_v6(c, off);
    default:
        return DECODE_NON_IP;
    }
}
