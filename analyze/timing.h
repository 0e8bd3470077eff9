/* timing.h -- per-flow timing facts of TCP and UDP sessions: interactive
 * or bulk, typed into from either side, OpenSSH keystroke chaff,
 * application round trip, and the ON periods for stepping-stone matching.
 *
 * A TCP or UDP flow gets a small fixed-size timing state at its first packet
 * with data (a SYN flood or a scan never gets one) and feeds it every
 * later packet through timing_packet(): data packets, and pure ACKs for
 * the transport round trip. The state is freed, and a few summary bytes
 * kept in the flow's analysis state (flow_analysis), when the flow is
 * known not to need it any more: a bulk transfer that is not a control
 * session, or the flow's end (timing_release()). Records read the
 * facts through timing_summarize(); the cross-flow matcher reads the ON
 * periods through timing_bursts(). All counts run from the flow's first
 * data packet, across records cut by the active timeout.
 *
 * What is measured, and why, is in the header comment of timing.c and in
 * docs/flow-analysis.md.
 *
 * Threads: a flow and its timing state belong to one worker.
 */
#ifndef LOOPHOLE_TIMING_H
#define LOOPHOLE_TIMING_H

#include <stddef.h>
#include <stdint.h>

#include "capture/packet.h"
#include "flow.h"

/* Application RTT samples kept (the first), and how many the extra round
 * trip needs before it counts. Xue et al. (NDSS 2025) decide by a
 * sequential test over many binarised exchanges, never one; CalcuLatency
 * (USENIX Security 2024) and JA4L compare low ends of several samples.
 * With 4, the lower quartile passes a bound only when 3 of 4 samples do:
 * about 4p^3 for a direct client whose samples pass by chance with
 * probability p (handshake RTT noise is +19.5 ms at p99.9 on a stable
 * path, detection-notes.md). An SSH login gives 6. */
#define TIMING_RTT_SAMPLES 16
#define TIMING_RTT_DECIDE  4
#define TIMING_BURSTS      8      /* ON-period starts kept (the latest) */
#define TIMING_BURSTS_MAX  64     /* ... once the flow has keystrokes */
#define TIMING_IDLE_US     500000 /* OFF after more than this without data */

/* flow.tm_state */
enum timing_state {
    TIMING_S_NONE = 0, /* no data seen yet: no state */
    TIMING_S_ACTIVE,   /* the flow's analysis state holds the timing state */
    TIMING_S_DONE      /* released; the summary is in the flow's analysis state */
};

/* What kind of session the flow is (flow.tm_class, timing_summary.cls). */
enum timing_class {
    TIMING_C_UNKNOWN = 0, /* never analysed (no TCP or UDP data, or out of memory) */
    TIMING_C_QUIET,       /* neither interactive nor bulk */
    TIMING_C_INTERACTIVE, /* keystrokes answered by echoes, or keystroke chaff */
    TIMING_C_BULK,        /* a megabyte or more in full-sized segments */
    TIMING_C_MIXED        /* both */
};

typedef struct timing_summary {
    int cls;             /* enum timing_class */
    uint32_t keystrokes; /* client keystroke-sized packets echoed by the server */
    uint32_t bursts;     /* ON periods that began after more than TIMING_IDLE_US */
    uint32_t app_rtt_us; /* lower quartile of the application round-trip
                            samples; valid if nrtt > 0 */
    uint32_t nrtt;       /* samples behind it */
    uint32_t tcp_min_us; /* least transport round trip to the client side:
                            the handshake's and the client's ACKs of server
                            data; 0 when none was measured */
    uint32_t rev_keys;   /* server keystroke-sized packets the client echoed at once, in runs */
    uint32_t rev_small;  /* keystroke-sized server packets */
    uint32_t server_led; /* typing starts from the server: ON periods it began with a
                            keystroke-sized packet the client answered at once */
    uint32_t client_led; /* the same from the client */
    uint32_t chaff;      /* trains of OpenSSH keystroke chaff from the client */
} timing_summary;

/* 1 when the flow is typed into from the server's side: the client (who
 * opened it) echoes keystrokes that arrive from the server at once, and
 * typing starts come from the server at least as often as from the
 * client; the mark of a reverse tunnel someone
 * drives (timing.c, REVERSED INTERACTIVITY). */
int timing_reversed(const timing_summary *s);

typedef struct timing_burst {
    uint64_t start_us; /* time of the first data packet of the ON period */
    uint32_t pkts;     /* data packets in it so far (saturates) */
} timing_burst;

/* Accounts packet p of flow f: a TCP data packet, or a pure ACK once the
 * flow has a state, or a UDP datagram with data; `dir` is flow_dir().
 * Allocates the state at the first data packet and may
 * release it (bulk transfer, not a control session). Call after
 * flow_update() and after inspection has seen the packet. */
void timing_packet(flow *f, const packet *p, int dir);

/* 1 when p goes to timing_packet(): f keeps a timing state, or p carries
 * data and f has not had one yet (a bulk flow past its first packets is
 * dropped from timing for good). */
static inline int timing_wants(const flow *f, const packet *p)
{
    return flow_an(f)->timing != NULL || (p->payload_len > 0 && f->tm_state == TIMING_S_NONE);
}

/* Frees f's timing state, keeping its summary in the flow's analysis
 * state. Safe to call on any flow, any number of times. */
void timing_release(flow *f);

/* The timing facts of f. */
void timing_summarize(const flow *f, timing_summary *s);

/* Copies the latest ON periods of f, oldest first, at most max (up to
 * TIMING_BURSTS are kept, TIMING_BURSTS_MAX for a flow with keystrokes). Returns how many; 0 when
 * the flow has no timing state (any more). The periods are the ones `bursts` counts: the first data
 * of the flow does not start one. */
int timing_bursts(const flow *f, timing_burst *out, int max);

/* 1 when the start of an SSH server payload (b, len) holds a key-exchange
 * reply (SSH_MSG_KEX_ECDH_REPLY/KEXDH_REPLY 31 or KEX_DH_GEX_REPLY 33),
 * possibly after the banner line. Exposed for tests and fuzzing. */
int timing_ssh_kex_reply(const uint8_t *b, size_t len);

#endif
