/* packet.h -- one captured frame and what the decoder found in it.
 *
 * A packet enters as a frame from a source (timestamp, captured and wire
 * lengths, bytes) and leaves the decoder with the innermost IP packet
 * located: addresses, ports, TCP fields, and offsets into the frame. Every
 * offset is relative to `data`, and every byte between `data` and
 * `data + caplen` is safe to read; nothing past it is.
 *
 * The packet never owns `data`. In the capture thread it points into
 * libpcap's buffer; once copied into a worker's ring (base/ring.c) it
 * points at the copy, rebased so that the inner IP header is at offset 0.
 */
#ifndef LOOPHOLE_PACKET_H
#define LOOPHOLE_PACKET_H

#include <stddef.h>
#include <stdint.h>

#include "base/pkt_addr.h"

/* Outer encapsulation of the flow's packet. Recorded, not part of the
 * flow's identity except through `tunnel_id`. */
enum pkt_tunnel {
    PKT_TUNNEL_NONE = 0,
    PKT_TUNNEL_VXLAN,   /* RFC 7348, UDP 4789 */
    PKT_TUNNEL_GENEVE,  /* RFC 8926, UDP 6081 */
    PKT_TUNNEL_GRE,     /* RFC 2784/2890, IP protocol 47 */
    PKT_TUNNEL_ERSPAN1, /* GRE 0x88BE without sequence number */
    PKT_TUNNEL_ERSPAN2, /* GRE 0x88BE, ERSPAN type II header */
    PKT_TUNNEL_ERSPAN3, /* GRE 0x22EB, ERSPAN type III header */
    PKT_TUNNEL_IPIP,    /* IPv4/IPv6 in IPv4/IPv6, protocols 4 and 41 */
    PKT_TUNNEL_MAX
};

/* packet.flags */
#define PKT_F_L4_PARTIAL 0x0001 /* L4 header cut by the snap length past the ports */
#define PKT_F_FRAG_FIRST 0x0002 /* first fragment of a fragmented datagram */
#define PKT_F_FRAG_LATER 0x0004 /* later fragment: ports come from the first one */
#define PKT_F_MPLS       0x0008 /* an MPLS label stack was crossed */
#define PKT_F_TSO        0x0010 /* IP length 0 on the wire (segmentation offload) */
#define PKT_F_HAS_TCP    0x0020 /* flags, seq, ack and window are valid */
#define PKT_F_LEN_CLIPPED                                                                          \
    0x0040 /* IP length claimed more than the frame held                                           \
              on the wire; clipped to the frame */

typedef struct packet {
    /* Set by the source. */
    uint64_t ts_us;      /* capture time, microseconds since the epoch */
    uint32_t caplen;     /* bytes present at `data` */
    uint32_t wirelen;    /* frame length on the wire (pcap header `len`) */
    const uint8_t *data; /* not owned */

    /* Set by the decoder, from here to the end; the addresses are last so
     * that what comes before them travels to a worker as one block
     * (capture_rec, capture/capture.h). */
    uint16_t sport, dport; /* host order; 0 for protocols without ports */
    uint8_t ip_version;    /* 4 or 6 */
    uint8_t proto;         /* IP protocol of the innermost L4 header */
    uint8_t tcp_flags;     /* valid when PKT_F_HAS_TCP */
    uint8_t ttl;           /* IPv4 TTL or IPv6 hop limit of the inner header */
    uint16_t flags;        /* PKT_F_* */
    uint16_t vlan;         /* innermost 802.1Q VLAN id, 0 when untagged */
    uint8_t icmp_type, icmp_code;
    uint8_t tunnel_type;  /* enum pkt_tunnel of the outermost encapsulation */
    uint8_t tunnel_depth; /* encapsulation layers crossed */
    uint16_t tunnel_port; /* outer UDP port for VXLAN and Geneve */
    uint32_t tunnel_id;   /* VNI, GRE key or ERSPAN session id */

    uint32_t l3_off;         /* innermost IP header */
    uint32_t l4_off;         /* L4 header; 0 for later fragments */
    uint32_t payload_off;    /* L4 payload */
    uint32_t payload_caplen; /* payload bytes present in the capture */
    uint32_t payload_len;    /* payload bytes on the wire, from the IP length */
    uint32_t l3_len;         /* IP datagram length on the wire */
    uint32_t wire_bytes;     /* bytes accounted to the flow: the frame on the
                                wire less any outer encapsulation */
    uint32_t seq, ack;       /* TCP, host order */
    uint16_t win;            /* TCP window, unscaled */
    uint32_t frag_id;        /* IP identification of a fragment */
    /* ip_version says which kind of address the wire carried
     * (base/pkt_addr.h keeps both in one form). */
    pkt_addr src, dst;
} packet;

/* TCP flag bits as on the wire. */
#define TCP_FIN 0x01
#define TCP_SYN 0x02
#define TCP_RST 0x04
#define TCP_PSH 0x08
#define TCP_ACK 0x10
#define TCP_URG 0x20

#endif
