/* decode_l4.c -- TCP (RFC 9293), UDP (RFC 768), ICMP (RFC 792) and
 * ICMPv6 (RFC 4443) headers, and the hand-off to tunnels.
 *
 * Data enters from decode_ip.c at the L4 header, with the context bounded
 * to the IP datagram: `cap_end` is the last byte captured, `ip_end` the
 * last on the wire. The header fills ports, TCP fields or ICMP type and
 * code, and the payload's offset and lengths. UDP to the VXLAN or Geneve
 * port, GRE (47) and IP-in-IP (4, 41) leave to decode_tun.c; every other
 * protocol is a flow without ports.
 *
 * Mirror ports often capture with a short snap length, so a header cut
 * after its ports still makes a flow packet: the ports are kept, what else
 * was captured is read, and PKT_F_L4_PARTIAL says the rest is missing.
 */
#include "decode_int.h"

#define TCP_HLEN  20
#define UDP_HLEN  8
#define ICMP_HLEN 8
#define PORTS_LEN 4

/* Payload from `hlen` bytes into the L4 header to `wire_len`, clipped to
 * the capture. A header the capture cut leaves no payload to read. */
static void decode_l4_payload(struct decode_ctx *c, uint32_t off, uint32_t hlen, uint32_t wire_len)
{
    packet *p = c->p;
    uint32_t avail = c->cap_end - off;

    p->payload_len = wire_len > hlen ? wire_len - hlen : 0;
    if (avail < hlen) {
        p->payload_off = c->cap_end;
        p->payload_caplen = 0;
        return;
    }
    p->payload_off = off + hlen;
    p->payload_caplen = decode_min32(avail - hlen, p->payload_len);
}

int decode_l4_other(struct decode_ctx *c, uint8_t proto, uint32_t off)
{
    c->p->proto = proto;
    c->p->l4_off = off;
    decode_l4_payload(c, off, 0, c->ip_end - off);
    return DECODE_OK;
}

/* The fields after the ports, as far as the capture goes. */
static void decode_l4_tcp_fields(packet *p, const uint8_t *h, uint32_t avail)
{
    if (avail >= 8)
        p->seq = decode_rd32(h + 4);
    if (avail >= 12)
        p->ack = decode_rd32(h + 8);
    if (avail >= 14)
        p->tcp_flags = h[13] & 0x3f;
    if (avail >= 16) {
        p->win = decode_rd16(h + 14);
        p->flags |= PKT_F_HAS_TCP;
    }
}

static int decode_l4_tcp(struct decode_ctx *c, uint32_t off)
{
    const uint8_t *h = c->data + off;
    packet *p = c->p;
    uint32_t avail = c->cap_end - off, wire_len = c->ip_end - off, hl;

    if (avail < PORTS_LEN)
        return DECODE_TRUNCATED_L4;
    p->sport = decode_rd16(h);
    p->dport = decode_rd16(h + 2);
    if (avail > 12) {
        hl = (uint32_t)(h[12] >> 4) * 4;
        if (hl < TCP_HLEN || hl > wire_len)
            return DECODE_BAD_TCP_HEADER;
    } else {
        hl = TCP_HLEN;
    }
    decode_l4_tcp_fields(p, h, avail);
    if (avail < hl)
        p->flags |= PKT_F_L4_PARTIAL;
    decode_l4_payload(c, off, hl, wire_len);
    return DECODE_OK;
}

/* Narrows the datagram to the UDP length, so a tunnel inside takes only
 * the UDP payload, then offers the payload to the tunnel on its port. */
static int decode_l4_udp_tunnel(struct decode_ctx *c, uint32_t off, uint32_t ulen)
{
    const decode_config *cfg = &c->d->cfg;
    uint16_t dport = c->p->dport;
    int r = DECODE_NOT_TUNNEL;

    c->ip_end = off + ulen;
    c->cap_end = decode_min32(c->cap_end, c->ip_end);
    if (dport == cfg->vxlan_port)
        r = decode_tun_vxlan(c, off + UDP_HLEN);
    else if (dport == cfg->geneve_port)
        r = decode_tun_geneve(c, off + UDP_HLEN);
    return r == DECODE_NOT_TUNNEL ? DECODE_OK : r;
}

static int decode_l4_udp(struct decode_ctx *c, uint32_t off)
{
    const uint8_t *h = c->data + off;
    packet *p = c->p;
    uint32_t avail = c->cap_end - off, wire_len = c->ip_end - off, ulen = wire_len;

    if (avail < PORTS_LEN)
        return DECODE_TRUNCATED_L4;
    p->sport = decode_rd16(h);
    p->dport = decode_rd16(h + 2);
    if (avail >= 6) {
        ulen = decode_rd16(h + 4);
        /* A first fragment's UDP length counts the whole datagram. */
        if (ulen < UDP_HLEN || (ulen > wire_len && !c->in_frag))
            return DECODE_BAD_UDP_LENGTH;
        ulen = decode_min32(ulen, wire_len);
    }
    decode_l4_payload(c, off, UDP_HLEN, ulen);
    if (avail < UDP_HLEN) {
        p->flags |= PKT_F_L4_PARTIAL;
        return DECODE_OK;
    }
    /* Later fragments cannot be followed into a tunnel, so neither is
     * the first: the whole datagram stays one outer flow. */
    if (c->in_frag)
        return DECODE_OK;
    return decode_l4_udp_tunnel(c, off, ulen);
}

static int decode_l4_icmp(struct decode_ctx *c, uint32_t off)
{
    const uint8_t *h = c->data + off;
    uint32_t avail = c->cap_end - off;

    if (avail >= 1)
        c->p->icmp_type = h[0];
    if (avail >= 2)
        c->p->icmp_code = h[1];
    decode_l4_payload(c, off, ICMP_HLEN, c->ip_end - off);
    return DECODE_OK;
}

int decode_l4(struct decode_ctx *c, uint8_t proto, uint32_t off)
{
    int r;

    c->p->proto = proto;
    c->p->l4_off = off;
    switch (proto) {
    case 6:
        return decode_l4_tcp(c, off);
    case 17:
        return decode_l4_udp(c, off);
    case 1:
    case 58:
        return decode_l4_icmp(c, off);
    case 4:
    case 41:
    case 47:
        if (c->in_frag)
            break;
        r = proto == 47 ? decode_tun_gre(c, off) : decode_tun_ipip(c, proto, off);
        if (r != DECODE_NOT_TUNNEL)
            return r;
        break;
    default:
        break;
    }
    return decode_l4_other(c, proto, off);
}
