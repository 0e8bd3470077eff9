/* decode_tun.c -- the encapsulations of cloud traffic mirroring.
 *
 * Owns VXLAN (RFC 7348), Geneve (RFC 8926), GRE (RFC 2784 with the key
 * and sequence number of RFC 2890), ERSPAN types I, II and III carried in
 * GRE (draft-foschiano-erspan), and IP-in-IP (IPv4 or IPv6 in IPv4 or
 * IPv6, protocols 4 and 41).
 *
 * Data enters from decode_l4.c: the UDP payload for VXLAN and Geneve, the
 * IP payload for GRE and IP-in-IP, with the context bounded to the
 * carrying datagram. Each decoder checks its header, counts the layer
 * through decode_tun_enter() (which caps the nesting and records the
 * outermost tunnel) and leaves to decode_l2.c or decode_ip.c for the inner
 * frame, whose result it returns. A payload that turns out not to be the
 * encapsulation returns DECODE_NOT_TUNNEL, and the caller keeps the
 * packet as a flow of the outer protocol.
 */
#include "decode_int.h"

#define VXLAN_HLEN      8
#define VXLAN_FLAG_I    0x08
#define GENEVE_HLEN     8
#define GRE_HLEN        4
#define GRE_FLAG_C      0x80
#define GRE_FLAG_R      0x40
#define GRE_FLAG_K      0x20
#define GRE_FLAG_S      0x10
#define ERSPAN2_HLEN    8
#define ERSPAN3_HLEN    12
#define ERSPAN3_PLATLEN 8

#define PROTO_TEB     0x6558 /* transparent Ethernet bridging */
#define PROTO_IPV4    0x0800
#define PROTO_IPV6    0x86DD
#define PROTO_MPLS    0x8847
#define PROTO_MPLSMC  0x8848
#define PROTO_ERSPAN  0x88BE /* types I and II */
#define PROTO_ERSPAN3 0x22EB

/* The 24-bit VNI of VXLAN and Geneve, bytes 4..6 of either header. */
static uint32_t decode_tun_vni(const uint8_t *h)
{
    return decode_rd32(h + 4) >> 8;
}

int decode_tun_vxlan(struct decode_ctx *c, uint32_t off)
{
    const uint8_t *h = c->data + off;
    int r;

    /* Too short on the wire to be VXLAN: some other use of the port. */
    if (c->ip_end - off < VXLAN_HLEN)
        return DECODE_NOT_TUNNEL;
    if (c->cap_end - off < VXLAN_HLEN)
        return DECODE_TRUNCATED_TUNNEL;
    if (!(h[0] & VXLAN_FLAG_I))
        return DECODE_NOT_TUNNEL;
    r = decode_tun_enter(c, PKT_TUNNEL_VXLAN, c->p->dport, decode_tun_vni(h), off + VXLAN_HLEN);
    if (r != DECODE_OK)
        return r;
    return decode_l2_ether(c, off + VXLAN_HLEN);
}

int decode_tun_geneve(struct decode_ctx *c, uint32_t off)
{
    const uint8_t *h = c->data + off;
    uint32_t hl;
    uint16_t type;
    int r;

    if (c->ip_end - off < GENEVE_HLEN)
        return DECODE_NOT_TUNNEL;
    if (c->cap_end - off < GENEVE_HLEN)
        return DECODE_TRUNCATED_TUNNEL;
    type = decode_rd16(h + 2);
    if (h[0] >> 6 != 0 || (type != PROTO_TEB && type != PROTO_IPV4 && type != PROTO_IPV6))
        return DECODE_NOT_TUNNEL;
    hl = GENEVE_HLEN + (uint32_t)(h[0] & 0x3f) * 4;
    if (c->ip_end - off < hl)
        return DECODE_BAD_TUNNEL;
    if (c->cap_end - off < hl)
        return DECODE_TRUNCATED_TUNNEL;
    r = decode_tun_enter(c, PKT_TUNNEL_GENEVE, c->p->dport, decode_tun_vni(h), off + hl);
    if (r != DECODE_OK)
        return r;
    if (type == PROTO_TEB)
        return decode_l2_ether(c, off + hl);
    return decode_l2_ethertype(c, type, off + hl);
}

/* ERSPAN type II: an 8-byte header, version 1, a 10-bit session id. */
static int decode_tun_erspan2(struct decode_ctx *c, uint32_t off, uint32_t key)
{
    const uint8_t *h = c->data + off;
    uint32_t session;
    int r;

    if (c->cap_end - off < ERSPAN2_HLEN)
        return DECODE_TRUNCATED_TUNNEL;
    if (h[0] >> 4 != 1)
        return DECODE_BAD_TUNNEL;
    session = decode_rd16(h + 2) & 0x3ff;
    r = decode_tun_enter(c, PKT_TUNNEL_ERSPAN2, 0, session ? session : key, off + ERSPAN2_HLEN);
    if (r != DECODE_OK)
        return r;
    return decode_l2_ether(c, off + ERSPAN2_HLEN);
}

/* ERSPAN type III: a 12-byte header, version 2, then an 8-byte platform
 * specific subheader when the O flag (last bit) is set. The frame type
 * (FT) says whether the mirrored frame is Ethernet (0) or IP (2). */
static int decode_tun_erspan3(struct decode_ctx *c, uint32_t off, uint32_t key)
{
    const uint8_t *h = c->data + off;
    uint32_t hl = ERSPAN3_HLEN, session;
    unsigned ft;
    int r;

    if (c->cap_end - off < ERSPAN3_HLEN)
        return DECODE_TRUNCATED_TUNNEL;
    if (h[0] >> 4 != 2)
        return DECODE_BAD_TUNNEL;
    if (h[11] & 0x01)
        hl += ERSPAN3_PLATLEN;
    if (c->cap_end - off < hl)
        return DECODE_TRUNCATED_TUNNEL;
    ft = (decode_rd16(h + 10) >> 10) & 0x1f;
    if (ft != 0 && ft != 2)
        return DECODE_BAD_TUNNEL;
    session = decode_rd16(h + 2) & 0x3ff;
    r = decode_tun_enter(c, PKT_TUNNEL_ERSPAN3, 0, session ? session : key, off + hl);
    if (r != DECODE_OK)
        return r;
    if (ft == 2)
        return decode_ip_any(c, off + hl);
    return decode_l2_ether(c, off + hl);
}

/* The GRE payload at `off`, by its protocol type. */
static int decode_tun_gre_inner(struct decode_ctx *c, uint16_t type, uint8_t gflags, uint32_t key,
                                uint32_t off)
{
    int r;

    switch (type) {
    case PROTO_ERSPAN:
        /* Type I has no header and no sequence number; type II has both. */
        if (gflags & GRE_FLAG_S)
            return decode_tun_erspan2(c, off, key);
        r = decode_tun_enter(c, PKT_TUNNEL_ERSPAN1, 0, key, off);
        return r != DECODE_OK ? r : decode_l2_ether(c, off);
    case PROTO_ERSPAN3:
        return decode_tun_erspan3(c, off, key);
    case PROTO_IPV4:
    case PROTO_IPV6:
    case PROTO_TEB:
    case PROTO_MPLS:
    case PROTO_MPLSMC:
        r = decode_tun_enter(c, PKT_TUNNEL_GRE, 0, key, off);
        if (r != DECODE_OK)
            return r;
        if (type == PROTO_TEB)
            return decode_l2_ether(c, off);
        return decode_l2_ethertype(c, type, off);
    default:
        return DECODE_NOT_TUNNEL;
    }
}

int decode_tun_gre(struct decode_ctx *c, uint32_t off)
{
    const uint8_t *h = c->data + off;
    uint32_t hl = GRE_HLEN, key = 0;
    uint16_t type;

    if (c->cap_end - off < GRE_HLEN)
        return DECODE_TRUNCATED_TUNNEL;
    /* Version 1 is PPTP's enhanced GRE (RFC 2637): a flow of its own. */
    if ((h[1] & 0x07) != 0)
        return DECODE_NOT_TUNNEL;
    if (h[0] & GRE_FLAG_R)
        return DECODE_BAD_TUNNEL;
    type = decode_rd16(h + 2);
    if (h[0] & GRE_FLAG_C)
        hl += 4;
    if (h[0] & GRE_FLAG_K)
        hl += 4;
    if (h[0] & GRE_FLAG_S)
        hl += 4;
    if (c->cap_end - off < hl)
        return DECODE_TRUNCATED_TUNNEL;
    if (h[0] & GRE_FLAG_K)
        key = decode_rd32(h + ((h[0] & GRE_FLAG_C) ? 8 : 4));
    return decode_tun_gre_inner(c, type, h[0], key, off + hl);
}

int decode_tun_ipip(struct decode_ctx *c, uint8_t proto, uint32_t off)
{
    int r = decode_tun_enter(c, PKT_TUNNEL_IPIP, 0, 0, off);

    if (r != DECODE_OK)
        return r;
    return proto == 4 ? decode_ip_v4(c, off) : decode_ip_v6(c, off);
}
