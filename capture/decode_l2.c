/* decode_l2.c -- link layers down to the first IP header.
 *
 * Owns the capture link types (Ethernet, Linux cooked SLL and SLL2,
 * BSD DLT_NULL and DLT_LOOP, raw IP, and the serial-line framings of
 * carrier taps: PPP, PPP in HDLC-like framing, PPPoE without Ethernet and
 * Cisco HDLC), IEEE 802.1Q / 802.1ad VLAN tags and
 * their stacking (QinQ, including the legacy 0x9100 tag), and MPLS label
 * stacks (RFC 3032) ending in IPv4, IPv6 or an Ethernet pseudowire with a
 * control word (RFC 4448).
 *
 * Data enters from decode_packet() through decode_l2_link(), and from the
 * tunnel decoders through decode_l2_ether() (inner Ethernet frames),
 * decode_l2_ethertype() and decode_l2_mpls(). It leaves to decode_ip.c.
 */
#include "decode_int.h"

#include <pcap/dlt.h>

#define ETH_HLEN       14
#define SLL_HLEN       16
#define SLL2_HLEN      20
#define NULL_HLEN      4
#define VLAN_TAG_LEN   4
#define MPLS_LABEL_LEN 4
#define PW_CW_LEN      4

#define ETHERTYPE_IPV4   0x0800
#define ETHERTYPE_IPV6   0x86DD
#define ETHERTYPE_VLAN   0x8100
#define ETHERTYPE_QINQ   0x88A8
#define ETHERTYPE_QINQ1  0x9100
#define ETHERTYPE_MPLS   0x8847
#define ETHERTYPE_MPLSMC 0x8848
#define ETHERTYPE_PPPOE  0x8864 /* RFC 2516 session stage */
#define PPPOE_HLEN       8      /* PPPoE header and the PPP protocol field */
#define PPP_IPV4         0x0021
#define PPP_IPV6         0x0057
#define PPP_MPLS         0x0281 /* RFC 3032 section 4.3 */
#define PPPOE_SESSION    6      /* PPPoE header before the PPP protocol */
#define CHDLC_HLEN       4      /* address, control, Ethertype */
#define HDLC_ADDR_ALL    0xff   /* RFC 1662 all-stations address */
#define HDLC_UI          0x03   /* RFC 1662 unnumbered information */
#define CHDLC_UNICAST    0x0f   /* Cisco HDLC addresses */
#define CHDLC_BCAST      0x8f

static int decode_l2_is_vlan(uint16_t type)
{
    return type == ETHERTYPE_VLAN || type == ETHERTYPE_QINQ || type == ETHERTYPE_QINQ1;
}

int decode_l2_ether(struct decode_ctx *c, uint32_t off)
{
    if (c->cap - off < ETH_HLEN)
        return DECODE_TRUNCATED_L2;
    return decode_l2_ethertype(c, decode_rd16(c->data + off + 12), off + ETH_HLEN);
}

/* Walks stacked tags; the last one read is the innermost, the one that
 * names the customer's VLAN on a QinQ trunk. */
static int decode_l2_vlans(struct decode_ctx *c, uint16_t *type, uint32_t *off)
{
    int n = 0;

    while (decode_l2_is_vlan(*type)) {
        if (++n > DECODE_MAX_VLANS)
            return DECODE_TOO_MANY_VLANS;
        if (c->cap - *off < VLAN_TAG_LEN)
            return DECODE_TRUNCATED_VLAN;
        c->p->vlan = decode_rd16(c->data + *off) & 0x0fff;
        *type = decode_rd16(c->data + *off + 2);
        *off += VLAN_TAG_LEN;
    }
    return DECODE_OK;
}

/* The network-layer packet behind a PPP protocol field (RFC 1661). LCP,
 * IPCP and the other control protocols are not IP. */
static int decode_l2_ppp_proto(struct decode_ctx *c, uint16_t proto, uint32_t off)
{
    switch (proto) {
    case PPP_IPV4:
        return decode_ip_v4(c, off);
    case PPP_IPV6:
        return decode_ip_v6(c, off);
    case PPP_MPLS:
        return decode_l2_mpls(c, off);
    default:
        return DECODE_NON_IP;
    }
}

/* PPPoE session frames (DSL access networks, seen on carrier mirror
 * ports): version/type 0x11, code 0, then PPP's protocol field. */
static int decode_l2_pppoe(struct decode_ctx *c, uint32_t off)
{
    const uint8_t *h = c->data + off;

    if (c->cap - off < PPPOE_HLEN)
        return DECODE_TRUNCATED_L2;
    if (h[0] != 0x11 || h[1] != 0)
        return DECODE_NON_IP;
    return decode_l2_ppp_proto(c, decode_rd16(h + PPPOE_SESSION), off + PPPOE_HLEN);
}

/* Cisco HDLC: an address (0x0f unicast, 0x8f broadcast), a zero control
 * byte, then an Ethertype (SLARP and CDP are not IP). */
static int decode_l2_chdlc(struct decode_ctx *c, uint32_t off)
{
    if (c->cap < off + CHDLC_HLEN)
        return DECODE_TRUNCATED_L2;
    return decode_l2_ethertype(c, decode_rd16(c->data + off + 2), off + CHDLC_HLEN);
}

/* PPP frames as libpcap stores them for DLT_PPP and DLT_PPP_SERIAL: the
 * RFC 1662 address and control bytes (0xff 0x03) unless they were
 * compressed away (ACFC), then the protocol field, one byte when
 * compressed (PFC: RFC 1661 section 6.5, an odd first byte) or two.
 * Routers that log Cisco HDLC under these link types start with 0x0f or
 * 0x8f, as tcpdump and ndpiReader also accept. `off` is 0, or 1 behind a
 * direction byte; lengths are checked as off + n because the frame may be
 * shorter than off. */
static int decode_l2_ppp(struct decode_ctx *c, uint32_t off)
{
    const uint8_t *h = c->data;

    if (c->cap < off + 2)
        return DECODE_TRUNCATED_L2;
    if (h[off] == CHDLC_UNICAST || h[off] == CHDLC_BCAST)
        return decode_l2_chdlc(c, off);
    if (h[off] == HDLC_ADDR_ALL && h[off + 1] == HDLC_UI)
        off += 2;
    if (c->cap < off + 1)
        return DECODE_TRUNCATED_L2;
    if (h[off] & 0x01)
        return decode_l2_ppp_proto(c, h[off], off + 1);
    if (c->cap < off + 2)
        return DECODE_TRUNCATED_L2;
    return decode_l2_ppp_proto(c, decode_rd16(h + off), off + 2);
}

int decode_l2_ethertype(struct decode_ctx *c, uint16_t type, uint32_t off)
{
    int r = decode_l2_vlans(c, &type, &off);

    if (r != DECODE_OK)
        return r;
    switch (type) {
    case ETHERTYPE_IPV4:
        return decode_ip_v4(c, off);
    case ETHERTYPE_IPV6:
        return decode_ip_v6(c, off);
    case ETHERTYPE_MPLS:
    case ETHERTYPE_MPLSMC:
        return decode_l2_mpls(c, off);
    case ETHERTYPE_PPPOE:
        return decode_l2_pppoe(c, off);
    default:
        return DECODE_NON_IP;
    }
}

/* RFC 3032 gives no next-protocol field: after the bottom label, the
 * first nibble tells IPv4 (4) and IPv6 (6) from a pseudowire control word
 * (0, RFC 4385), behind which an Ethernet frame follows. */
int decode_l2_mpls(struct decode_ctx *c, uint32_t off)
{
    int n;
    uint8_t nibble;

    for (n = 0;; n++) {
        if (n >= DECODE_MAX_MPLS || c->cap - off < MPLS_LABEL_LEN)
            return DECODE_TRUNCATED_MPLS;
        off += MPLS_LABEL_LEN;
        if (c->data[off - 2] & 0x01) /* bottom of stack */
            break;
    }
    c->p->flags |= PKT_F_MPLS;
    if (c->cap - off < 1)
        return DECODE_TRUNCATED_MPLS;
    nibble = c->data[off] >> 4;
    if (nibble == 4)
        return decode_ip_v4(c, off);
    if (nibble == 6)
        return decode_ip_v6(c, off);
    if (nibble != 0)
        return DECODE_NON_IP;
    /* Pseudowires can nest through further label stacks; cap them so a
     * crafted frame cannot recurse for as long as it has bytes. */
    if (++c->pw_depth > DECODE_MAX_PSEUDOWIRES)
        return DECODE_TOO_DEEP;
    if (c->cap - off < PW_CW_LEN)
        return DECODE_TRUNCATED_MPLS;
    return decode_l2_ether(c, off + PW_CW_LEN);
}

/* DLT_NULL stores the family in the capturing host's byte order, and the
 * file may come from a host of either order; the values fit in 16 bits,
 * so a value with high bits set is the other order. AF_INET6 differs by
 * system (Linux 10, BSDs 24, FreeBSD 28, macOS 30). */
static int decode_l2_family(struct decode_ctx *c, uint32_t fam, uint32_t off)
{
    switch (fam) {
    case 2:
        return decode_ip_v4(c, off);
    case 10:
    case 24:
    case 28:
    case 30:
        return decode_ip_v6(c, off);
    default:
        return DECODE_NON_IP;
    }
}

static int decode_l2_null(struct decode_ctx *c, int swap)
{
    uint32_t fam;

    if (c->cap < NULL_HLEN)
        return DECODE_TRUNCATED_L2;
    fam = decode_rd32(c->data);
    if (swap && fam > 0xffff)
        fam = ((fam & 0xff) << 24) | ((fam & 0xff00) << 8) | ((fam >> 8) & 0xff00) | (fam >> 24);
    return decode_l2_family(c, fam, NULL_HLEN);
}

static int decode_l2_raw(struct decode_ctx *c)
{
    if (c->cap < 1)
        return DECODE_TRUNCATED_L2;
    return decode_ip_any(c, 0);
}

int decode_l2_link(struct decode_ctx *c)
{
    switch (c->d->dlt) {
    case DLT_EN10MB:
        return decode_l2_ether(c, 0);
    case DLT_LINUX_SLL:
        if (c->cap < SLL_HLEN)
            return DECODE_TRUNCATED_L2;
        return decode_l2_ethertype(c, decode_rd16(c->data + 14), SLL_HLEN);
    case DLT_LINUX_SLL2:
        if (c->cap < SLL2_HLEN)
            return DECODE_TRUNCATED_L2;
        return decode_l2_ethertype(c, decode_rd16(c->data), SLL2_HLEN);
    case DLT_RAW:
    case DLT_IPV4:
    case DLT_IPV6:
        return decode_l2_raw(c);
    case DLT_NULL:
        return decode_l2_null(c, 1);
    case DLT_LOOP:
        return decode_l2_null(c, 0);
    case DLT_PPP:
    case DLT_PPP_SERIAL:
        return decode_l2_ppp(c, 0);
    case DLT_C_HDLC:
        return decode_l2_chdlc(c, 0);
    /* Juniper and Linux routers log a direction byte (0 received, 1
     * sent) before the frame. */
    case DLT_PPP_WITH_DIR:
        return decode_l2_ppp(c, 1);
    case DLT_C_HDLC_WITH_DIR:
        return decode_l2_chdlc(c, 1);
    case DLT_PPP_ETHER:
        return decode_l2_pppoe(c, 0);
    default:
        return DECODE_UNSUPPORTED_LINK;
    }
}
