/* decode.h -- from a captured frame to the innermost IP packet.
 *
 * The decoder takes a packet whose source fields are set (timestamp,
 * lengths, bytes) and fills in the rest: it walks the link layer, VLAN
 * tags, MPLS labels and the tunnels of cloud traffic mirroring (VXLAN,
 * Geneve, GRE, ERSPAN II/III, IP-in-IP) down to the innermost IPv4 or IPv6
 * header, then its L4 header. The inner packet is the flow; the outermost
 * encapsulation is recorded in the packet.
 *
 * Every layer checks its length against what was captured before it reads,
 * and nesting is capped, so any byte string is safe input. A frame that
 * cannot be decoded returns the reason (enum decode_result) and is counted
 * by the caller; the decoder never prints and never aborts.
 *
 * The decoder owns one piece of state: the fragment tracker, which maps an
 * IP datagram (addresses, protocol, identification) to the ports of its
 * first fragment so later fragments count to the same flow. One decoder
 * per capture thread; it is not shared between threads.
 */
#ifndef LOOPHOLE_DECODE_H
#define LOOPHOLE_DECODE_H

#include <stddef.h>
#include <stdint.h>

#include "packet.h"

/* Outcome of decoding one frame. DECODE_OK means the packet belongs to a
 * flow; DECODE_NON_IP frames are ignored (ARP, LLDP, STP...) and not an
 * error; every other value is a malformed or unusable frame. */
enum decode_result {
    DECODE_OK = 0,
    DECODE_NON_IP,           /* link payload is not IP: ignored */
    DECODE_UNSUPPORTED_LINK, /* capture link type the decoder does not know */
    DECODE_TRUNCATED_L2,     /* shorter than its link-layer header */
    DECODE_TRUNCATED_VLAN,   /* 802.1Q/802.1ad tag cut short */
    DECODE_TOO_MANY_VLANS,   /* more stacked tags than the cap */
    DECODE_TRUNCATED_MPLS,   /* label stack cut short or without bottom */
    DECODE_TRUNCATED_IPV4,   /* fewer than 20 bytes, or options cut */
    DECODE_BAD_IPV4_HEADER,  /* version or header length invalid */
    DECODE_BAD_IPV4_LENGTH,  /* total length shorter than the header */
    DECODE_TRUNCATED_IPV6,   /* fewer than 40 bytes */
    DECODE_BAD_IPV6_LENGTH,  /* unused: kept so values do not move */
    DECODE_BAD_IPV6_EXT,     /* extension header chain cut or too long */
    DECODE_TRUNCATED_L4,     /* L4 header cut before the ports */
    DECODE_BAD_TCP_HEADER,   /* data offset below 5 or beyond the datagram */
    DECODE_BAD_UDP_LENGTH,   /* UDP length below 8 or beyond the datagram */
    DECODE_TRUNCATED_TUNNEL, /* encapsulation header cut short */
    DECODE_BAD_TUNNEL,       /* encapsulation header invalid */
    DECODE_TOO_DEEP,         /* more nested encapsulations than the cap */
    DECODE_FRAG_ORPHAN,      /* later fragment whose first was not seen */
    DECODE_BAD_IPV6_HEADER,  /* IPv6 ethertype or tunnel with another version */
    DECODE_NRESULTS
};

/* Name of a result for counters and messages ("truncated_ipv4"). */
const char *decode_result_name(int result);

/* 1 when the result counts as a malformed frame, 0 when it is OK or an
 * ignored kind of traffic. */
int decode_result_is_malformed(int result);

typedef struct decode_config {
    uint16_t vxlan_port;  /* default 4789 */
    uint16_t geneve_port; /* default 6081 */
    uint8_t max_depth;    /* encapsulation layers; default 4 */
    uint32_t frag_slots;  /* fragment tracker entries; default 4096 */
    uint32_t frag_timeout_us;
} decode_config;

void decode_config_defaults(decode_config *cfg);

typedef struct decoder decoder;

/* Returns a decoder or NULL when out of memory. The caller frees it with
 * decode_free(). */
decoder *decode_new(const decode_config *cfg);
void decode_free(decoder *d);

/* Sets the link type (a DLT_* value from pcap_datalink()) of the frames
 * that follow. Returns 0, or -1 when the link type is not supported. */
int decode_set_linktype(decoder *d, int dlt);

/* Decodes p->data[0 .. p->caplen) and fills the decoder's fields of p.
 * Returns DECODE_OK or the reason the frame is not a flow packet. */
int decode_packet(decoder *d, packet *p);

/* Counters the decoder keeps for itself. */
typedef struct decode_stats {
    uint64_t frag_tracked;  /* first fragments remembered */
    uint64_t frag_replaced; /* tracker entries overwritten while live */
} decode_stats;

void decode_get_stats(const decoder *d, decode_stats *out);

#endif
