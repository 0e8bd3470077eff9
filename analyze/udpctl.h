/* udpctl.h -- VPN and tunnel channels over UDP: WireGuard, OpenVPN and
 * QUIC, from the first bytes of each datagram.
 *
 * nDPI 4.2 names WireGuard and OpenVPN but says nothing of how far a
 * channel got, and misses newer OpenVPN variants and QUIC tunnels whose
 * Initial it cannot read (docs/flow-analysis.md). A handshake alone is not
 * a session: a WireGuard responder answers only an initiation made with
 * its public key, but the answer proves nothing was used; data both ways
 * after it does. So each datagram with payload goes through
 * udpctl_packet(), which reads the message type, remembers the protocol
 * the client's first datagram speaks, whether the server answered the
 * handshake, and counts data-channel datagrams per direction
 * (keepalives left out). session.c turns the counts into the flow's
 * level; roles.c uses the protocol name where nDPI had none.
 *
 * Threads: one flow, one worker.
 */
#ifndef LOOPHOLE_UDPCTL_H
#define LOOPHOLE_UDPCTL_H

#include <stddef.h>
#include <stdint.h>

#include "capture/packet.h"
#include "flow.h"

/* flow_analysis.uc_proto */
enum udpctl_proto {
    UDPCTL_NONE = 0,
    UDPCTL_WIREGUARD,
    UDPCTL_OPENVPN,
    UDPCTL_QUIC,
};

/* What one datagram is (udpctl_parse). */
enum udpctl_msg {
    UDPCTL_M_NONE = 0,  /* none of the three */
    UDPCTL_M_HELLO,     /* opens a handshake: WireGuard initiation, OpenVPN
                           client hard reset, QUIC Initial of 1200 bytes or more */
    UDPCTL_M_REPLY,     /* answers it: WireGuard response or cookie reply,
                           OpenVPN server hard reset, a QUIC long header */
    UDPCTL_M_CONTROL,   /* OpenVPN control channel or ACK */
    UDPCTL_M_KEEPALIVE, /* WireGuard's empty transport message */
    UDPCTL_M_DATA,      /* data channel: WireGuard transport, OpenVPN P_DATA, QUIC short header */
};

/* flow_analysis.uc_flags */
#define UDPCTL_F_HELLO 0x01 /* the client opened a handshake */
#define UDPCTL_F_REPLY 0x02 /* the server answered it */

/* Reads datagram payload (b, len) as protocol `proto` (UDPCTL_NONE: any
 * of them, from a client's first datagram) and returns its enum
 * udpctl_msg; *proto_out gets the protocol it belongs to. Bounded by len;
 * exposed for tests and fuzzing. */
int udpctl_parse(const uint8_t *b, size_t len, int proto, int dir, int *proto_out);

/* Accounts UDP datagram p with payload of flow f; `dir` is flow_dir(). */
void udpctl_packet(flow *f, const packet *p, int dir);

/* "WireGuard", "OpenVPN", "QUIC", or NULL. */
const char *udpctl_name(int proto);

#endif
