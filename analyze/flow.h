/* flow.h -- one flow: its identity, counters, TCP state and timing, and the
 * facts deep inspection found in it.
 *
 * A flow lives in exactly one worker's flow table and is touched only by
 * that worker's thread, so nothing here is locked. Packets enter through
 * flow_update(), which keeps the per-direction counters (from the wire
 * length, so short-snaplen captures count right), the TCP state machine
 * and the handshake round trip. The flow leaves as a record when the table
 * ends it (analyze/record.c).
 *
 * Memory: the flow itself is what every flow needs; what the analysis of
 * payload keeps (inspection, session evidence, timing, UDP channels) is a
 * separate block, flow_analysis, that the first packet with payload
 * allocates and flow_release() frees, so that a SYN flood's flows cost
 * only the flow.
 *
 * Direction: side 0/1 are the two endpoints of the flow key; `client` is
 * the key side that opened the flow, so pkts[0]/bytes[0] always count
 * client-to-server whatever order the key sorted the endpoints in.
 */
#ifndef LOOPHOLE_FLOW_H
#define LOOPHOLE_FLOW_H

#include <stdint.h>

#include "capture/flow_key.h"
#include "capture/packet.h"

struct ndpi_flow_struct;
struct dpi_facts;
struct timing;
struct turns;

/* Why a flow record was written (the `end` field of a flow record). */
enum flow_end {
    FLOW_END_NONE = 0,
    FLOW_END_FIN,     /* TCP closed by FIN from both sides */
    FLOW_END_RST,     /* TCP reset */
    FLOW_END_IDLE,    /* no packet for the idle timeout */
    FLOW_END_ACTIVE,  /* open longer than the active timeout: the record
                         is cut and the flow goes on in a new record */
    FLOW_END_EOF,     /* the capture ended */
    FLOW_END_EVICTED, /* the table was full and this was the oldest idle flow */
    FLOW_END_MAX
};

const char *flow_end_name(int end);

/* flow.tcp bits */
#define FLOW_TCP_SYN       0x01 /* client SYN seen */
#define FLOW_TCP_SYNACK    0x02 /* server SYN/ACK seen */
#define FLOW_TCP_ACK       0x04 /* client ACK of the SYN/ACK seen: established */
#define FLOW_TCP_FIN_C     0x08 /* FIN from the client */
#define FLOW_TCP_FIN_S     0x10 /* FIN from the server */
#define FLOW_TCP_RST       0x20
#define FLOW_TCP_MIDSTREAM 0x40 /* first packet was not a SYN */
#define FLOW_TCP_RTT_S     0x80 /* the SYN/ACK followed a SYN timed after 0: rtt_server_us holds */

/* flow.dpi_state */
enum flow_dpi_state { FLOW_DPI_RUNNING = 0, FLOW_DPI_DONE };

/* The analysis state of a flow that carries payload: what session.c,
 * udpctl.c, roles.c (request paths), fep.c, timing.c and turns.c keep. It
 * lives apart from the flow so that the flows that never carry a byte of
 * payload (SYN floods, scans, refused connections: most flows of a busy
 * mirror port's background) stay small. Allocated by flow_analysis_get()
 * at the first packet with payload, freed with the flow (flow_release()). */
typedef struct flow_analysis {
    struct ndpi_flow_struct *ndpi; /* while inspection runs; NULL after */
    struct timing *timing;         /* owned; from the first data packet until
                                      released (timing_release()) */
    struct turns *turns;           /* owned; request starts of a connection to an
                                      AI API (turns.c), NULL for every other flow */

    /* Session evidence (session.c): whole-flow counts, kept across the
     * records an active timeout cuts. [0] client to server. */
    uint64_t data_bytes[2];   /* payload bytes */
    uint64_t data_last_us[2]; /* latest packet with payload */
    uint64_t mark_us;         /* SSH key-exchange reply, or HTTP 101 */
    uint64_t mark_bytes[2];   /* data_bytes at the mark */
    uint32_t data_pkts[2];    /* packets with payload */
    uint32_t mark_pkts[2];    /* data_pkts at the mark */

    /* Timing summary (timing.c), kept once the state is freed. */
    uint32_t tm_app_rtt_us;
    uint32_t tm_tcp_min_us;
    uint16_t tm_keys, tm_bursts;
    uint16_t tm_rkeys, tm_rsmall, tm_sled, tm_cled, tm_chaff; /* timing_summary's reversed
                                                                  keys and chaff */
    uint8_t tm_nrtt;

    uint8_t sess_proto; /* enum session_proto */
    uint8_t sess_flags; /* SESSION_F_* */
    uint8_t sess_srv;   /* server payloads read so far */

    /* UDP VPN and tunnel channels (udpctl.c). */
    uint8_t uc_proto;    /* enum udpctl_proto of the client's first datagram */
    uint8_t uc_flags;    /* UDPCTL_F_* */
    uint32_t uc_data[2]; /* data-channel datagrams, keepalives left out; [0] client to server */

    uint16_t ctl_path; /* 1 + index of the PATH rule a request matched (roles.c) */
    uint8_t ctl_reqs;  /* client payloads read for HTTP request lines */
    uint8_t fep;       /* enum fep_verdict of the first client payload (fep.c) */
} flow_analysis;

/* The per-packet entry: what every flow needs, a SYN alone included. The
 * fields are ordered so that the struct has no holes but one byte (216
 * bytes on 64-bit targets); a million concurrent flows cost this much each, plus
 * the table's bucket pointer. */
typedef struct flow {
    /* Table links (flow_table.c). */
    struct flow *hnext;
    struct flow *lru_prev, *lru_next; /* by last packet: idle expiry, eviction */
    struct flow *age_prev, *age_next; /* by record start, or by close time */
    flow_key key;
    uint32_t hash; /* the low half of the key's hash: the table's buckets
                      never need more */

    uint8_t client;       /* key side that opened the flow */
    uint8_t tcp;          /* FLOW_TCP_* */
    uint8_t dpi_state;    /* enum flow_dpi_state */
    uint8_t closing;      /* on the table's closing list */
    uint8_t tunnel_type;  /* outer encapsulation of the first packet */
    uint8_t first_side;   /* key side that sent the first packet */
    uint8_t icmp_type;    /* ICMP/ICMPv6 type and code of the first packet, */
    uint8_t icmp_code;    /* for the flow's Community ID (record_community_id) */
    uint16_t tunnel_port; /* its UDP port (VXLAN, Geneve) */
    uint16_t dpi_pkts;    /* packets given to deep inspection */

    uint16_t proto_master, proto_app; /* nDPI's latest verdict */
    uint16_t proto_category;
    uint8_t tm_state;    /* enum timing_state */
    uint8_t tm_class;    /* enum timing_class, once released */
    uint8_t ctl_dns;     /* `control` is the tool a DNS query named, not a
                            session of it */
    uint8_t dpi_guessed; /* the verdict is nDPI's give-up guess (ports), not
                            a dissector's */
    uint8_t session;     /* enum session_level, set before each record */

    uint64_t first_us;     /* first packet of the flow */
    uint64_t rec_first_us; /* first packet of the current record (valid
                              while the record counts any packet) */
    uint64_t last_us;      /* latest packet */
    uint64_t close_us;     /* when FIN/FIN or RST closed it */
    uint64_t pkts[2];      /* [0] client to server, [1] server to client */
    uint64_t bytes[2];     /* wire bytes, same order */

    uint64_t hs_us;         /* the SYN, then the SYN/ACK once seen: what the
                               next handshake packet is timed from; 0 unseen */
    uint32_t rtt_server_us; /* SYN -> SYN/ACK: sensor to server and back,
                               valid with FLOW_TCP_RTT_S */
    uint32_t rtt_client_us; /* SYN/ACK -> ACK: sensor to client and back */

    struct dpi_facts *facts; /* owned; NULL until inspection ends */
    const char *control;     /* control session kind (roles.c), or NULL;
                                the string belongs to the roles table */
    flow_analysis *an;       /* owned; NULL until the first payload */
} flow;

/* An all-zero analysis state: what a flow without one reads as. */
extern const flow_analysis flow_analysis_none;

/* The analysis state of f for reading: flow_analysis_none when f has
 * none (no payload yet, or it could not be allocated). */
static inline const flow_analysis *flow_an(const flow *f)
{
    return f->an ? f->an : &flow_analysis_none;
}

/* The analysis state of f for writing, allocated (zeroed) on first use.
 * NULL when memory ran out: the caller skips its analysis of the packet,
 * the flow is still counted. */
flow_analysis *flow_analysis_get(flow *f);

/* Frees what flow_analysis_get() allocated; the owned states inside it
 * (ndpi, timing, turns: dpi_release(), timing_release(), turns_release())
 * must have been released first. Safe to call again. */
void flow_release(flow *f);

/* Initialises a flow for its first packet p, sent by key side `side`. */
void flow_init(flow *f, const flow_key *k, uint64_t hash, const packet *p, int side);

/* Accounts packet p, sent by key side `side`. */
void flow_update(flow *f, const packet *p, int side);

/* Direction of a packet from key side `side`: 0 client to server, 1 back. */
static inline int flow_dir(const flow *f, int side)
{
    return side != f->client;
}

/* 1 when a TCP packet p opens a new connection on a flow that has closed
 * (port reuse), so the old flow must end first. */
int flow_is_reopened(const flow *f, const packet *p);

/* Starts a new record of the same flow after an active timeout cut. */
void flow_reset_record(flow *f);

#endif
