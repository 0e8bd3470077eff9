/* decode.c -- the decoder's public API: results, configuration, link-type
 * selection, the per-packet entry point, tunnel bookkeeping and the
 * fragment tracker.
 *
 * A frame enters through decode_packet(), which clears every field the
 * decoder owns, bounds the readable bytes and hands the frame to the link
 * layer (decode_l2.c); the layers below fill the packet and return the
 * result, which leaves here unchanged.
 *
 * The fragment tracker is the decoder's only state between packets: a
 * direct-mapped table of cfg.frag_slots entries, allocated once in
 * decode_new(), keyed by the datagram's identity (RFC 791 section 2.3:
 * source, destination, protocol, identification; RFC 8200 section 4.5 for
 * IPv6). It maps a datagram to the ports of its first fragment so later
 * fragments, which carry no L4 header, count to the same flow. Entries age
 * out after cfg.frag_timeout_us of packet time; a colliding datagram
 * simply takes the slot, which is counted.
 */
#include "decode.h"
#include "decode_int.h"

#include <pcap/dlt.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

static const char *const decode_result_names[DECODE_NRESULTS] = {
    [DECODE_OK] = "ok",
    [DECODE_NON_IP] = "non_ip",
    [DECODE_UNSUPPORTED_LINK] = "unsupported_link",
    [DECODE_TRUNCATED_L2] = "truncated_l2",
    [DECODE_TRUNCATED_VLAN] = "truncated_vlan",
    [DECODE_TOO_MANY_VLANS] = "too_many_vlans",
    [DECODE_TRUNCATED_MPLS] = "truncated_mpls",
    [DECODE_TRUNCATED_IPV4] = "truncated_ipv4",
    [DECODE_BAD_IPV4_HEADER] = "bad_ipv4_header",
    [DECODE_BAD_IPV4_LENGTH] = "bad_ipv4_length",
    [DECODE_TRUNCATED_IPV6] = "truncated_ipv6",
    [DECODE_BAD_IPV6_LENGTH] = "bad_ipv6_length",
    [DECODE_BAD_IPV6_EXT] = "bad_ipv6_ext",
    [DECODE_TRUNCATED_L4] = "truncated_l4",
    [DECODE_BAD_TCP_HEADER] = "bad_tcp_header",
    [DECODE_BAD_UDP_LENGTH] = "bad_udp_length",
    [DECODE_TRUNCATED_TUNNEL] = "truncated_tunnel",
    [DECODE_BAD_TUNNEL] = "bad_tunnel",
    [DECODE_TOO_DEEP] = "too_deep",
    [DECODE_FRAG_ORPHAN] = "frag_orphan",
    [DECODE_BAD_IPV6_HEADER] = "bad_ipv6_header",
};

const char *decode_result_name(int result)
{
    if (result < 0 || result >= DECODE_NRESULTS || !decode_result_names[result])
        return "unknown";
    return decode_result_names[result];
}

int decode_result_is_malformed(int result)
{
    return result != DECODE_OK && result != DECODE_NON_IP;
}

void decode_config_defaults(decode_config *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    cfg->vxlan_port = 4789;
    cfg->geneve_port = 6081;
    cfg->max_depth = 4;
    cfg->frag_slots = 4096;
    cfg->frag_timeout_us = 30u * 1000 * 1000;
}

decoder *decode_new(const decode_config *cfg)
{
    decoder *d = calloc(1, sizeof(*d));

    if (!d)
        return NULL;
    if (cfg)
        d->cfg = *cfg;
    else
        decode_config_defaults(&d->cfg);
    if (d->cfg.frag_slots) {
        d->frags = calloc(d->cfg.frag_slots, sizeof(*d->frags));
        if (!d->frags) {
            free(d);
            return NULL;
        }
    }
    d->dlt = -1;
    return d;
}

void decode_free(decoder *d)
{
    if (!d)
        return;
    free(d->frags);
    free(d);
}

int decode_set_linktype(decoder *d, int dlt)
{
    switch (dlt) {
    case DLT_EN10MB:
    case DLT_LINUX_SLL:
    case DLT_LINUX_SLL2:
    case DLT_RAW:
    case DLT_IPV4:
    case DLT_IPV6:
    case DLT_NULL:
    case DLT_LOOP:
    case DLT_PPP:
    case DLT_PPP_SERIAL:
    case DLT_PPP_ETHER:
    case DLT_C_HDLC:
    case DLT_PPP_WITH_DIR:
    case DLT_C_HDLC_WITH_DIR:
        d->dlt = dlt;
        return 0;
    default:
        d->dlt = -1;
        return -1;
    }
}

int decode_packet(decoder *d, packet *p)
{
    struct decode_ctx c;
    size_t first = offsetof(packet, sport);

    /* Callers reuse packet structs: nothing from the last frame may leak. */
    memset((char *)p + first, 0, sizeof(*p) - first);
    p->wire_bytes = p->wirelen;

    memset(&c, 0, sizeof(c));
    c.d = d;
    c.p = p;
    c.data = p->data;
    /* Bytes past the wire length cannot belong to the frame, whatever the
     * source claims; this keeps every offset within both lengths. */
    c.cap = p->data ? decode_min32(p->caplen, p->wirelen) : 0;
    c.wire = p->wirelen;
    c.ip_end = c.wire;
    c.cap_end = c.cap;
    return decode_l2_link(&c);
}

void decode_get_stats(const decoder *d, decode_stats *out)
{
    *out = d->stats;
}

/* Counts one more encapsulation and records the outermost one. The inner
 * frame may use only the bytes of the datagram that carries it. */
int decode_tun_enter(struct decode_ctx *c, uint8_t type, uint16_t port, uint32_t id,
                     uint32_t inner_off)
{
    packet *p = c->p;

    if (p->tunnel_depth >= c->d->cfg.max_depth)
        return DECODE_TOO_DEEP;
    if (p->tunnel_depth++ == 0) {
        p->tunnel_type = type;
        p->tunnel_port = port;
    }
    if (p->tunnel_id == 0)
        p->tunnel_id = id;
    p->wire_bytes = p->wirelen - inner_off;
    c->cap = c->cap_end;
    c->wire = c->ip_end;
    c->in_frag = 0;
    return DECODE_OK;
}

/* The tracker key, laid out without padding so it hashes as bytes. */
struct decode_frag_key {
    pkt_addr src, dst;
    uint32_t id;
    uint8_t proto, ip_version, pad[2];
};

static struct decode_frag *decode_frag_slot(decoder *d, const packet *p, uint8_t proto)
{
    struct decode_frag_key k;
    uint64_t h;

    memset(&k, 0, sizeof(k));
    k.src = p->src;
    k.dst = p->dst;
    k.id = p->frag_id;
    k.proto = proto;
    k.ip_version = p->ip_version;
    h = XXH3_64bits(&k, sizeof(k));
    return &d->frags[((h >> 32) * d->cfg.frag_slots) >> 32];
}

static int decode_frag_match(const struct decode_frag *e, const packet *p, uint8_t proto)
{
    return e->used && e->id == p->frag_id && e->proto == proto && e->ip_version == p->ip_version &&
           memcmp(&e->src, &p->src, sizeof(e->src)) == 0 &&
           memcmp(&e->dst, &p->dst, sizeof(e->dst)) == 0;
}

/* Packet time may step back a little between interfaces; such an entry
 * counts as fresh rather than expired. */
static int decode_frag_live(const decoder *d, const struct decode_frag *e, uint64_t now)
{
    return e->used && (now <= e->ts_us || now - e->ts_us <= d->cfg.frag_timeout_us);
}

void decode_frag_remember(decoder *d, const packet *p, uint8_t proto)
{
    struct decode_frag *e;

    if (!d->frags)
        return;
    e = decode_frag_slot(d, p, proto);
    if (decode_frag_live(d, e, p->ts_us) && !decode_frag_match(e, p, proto))
        d->stats.frag_replaced++;
    e->src = p->src;
    e->dst = p->dst;
    e->id = p->frag_id;
    e->proto = proto;
    e->l4_proto = p->proto;
    e->ip_version = p->ip_version;
    e->sport = p->sport;
    e->dport = p->dport;
    e->ts_us = p->ts_us;
    e->used = 1;
    d->stats.frag_tracked++;
}

/* Fills the L4 protocol and ports of a later fragment from its first one
 * (behind IPv6 extension headers they may differ from `proto`). */
int decode_frag_lookup(decoder *d, packet *p, uint8_t proto)
{
    struct decode_frag *e;

    if (!d->frags)
        return DECODE_FRAG_ORPHAN;
    e = decode_frag_slot(d, p, proto);
    if (!decode_frag_match(e, p, proto) || !decode_frag_live(d, e, p->ts_us))
        return DECODE_FRAG_ORPHAN;
    p->proto = e->l4_proto;
    p->sport = e->sport;
    p->dport = e->dport;
    return DECODE_OK;
}
