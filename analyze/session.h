/* session.h -- how far a flow got: a probe, an attempt, or a session the
 * wire proves.
 *
 * Every host on the Internet is scanned, swept and brute-forced every
 * minute; a SYN to port 22, a banner grab or six wrong passwords are not
 * somebody driving the host. The level of a flow says what its packets
 * prove:
 *
 *   probe        no completed TCP handshake, refused (RST), no payload
 *                either way; for UDP, nothing came back;
 *   attempt      the protocol started but the wire does not prove a
 *                session: a failed or abandoned login, a redirect to a
 *                login page, a TLS handshake with nothing behind it;
 *   established  the session the protocol's own evidence proves: SSH
 *                past the key exchange with channel traffic no failed
 *                login reaches, or echoed keystrokes; RDP and VNC with
 *                screen updates flowing; a notebook's kernel websocket or
 *                substantial API traffic without a login redirect; for
 *                TLS and other protocols, several application exchanges
 *                both ways; for WireGuard, OpenVPN and QUIC (udpctl.h),
 *                data through the channel both ways after its handshake.
 *
 * docs/rules.md ("What counts as a session") gives the per-protocol
 * evidence and the source of every constant in session.c.
 *
 * Data enters per packet with payload through session_packet(), which
 * keeps whole-flow counts (payload packets, bytes and times per
 * direction, which survive the active-timeout cut of records) and reads
 * the first payloads of each side for what protocol they speak (SSH
 * banner and key-exchange reply, HTTP status lines, RDP's X.224 request,
 * RFB's version). session_update() turns them, with the flow's TCP state,
 * control kind and timing facts, into f->session before each record.
 *
 * Threads: everything works on one flow, owned by one worker.
 */
#ifndef LOOPHOLE_SESSION_H
#define LOOPHOLE_SESSION_H

#include <stddef.h>
#include <stdint.h>

#include "capture/packet.h"
#include "flow.h"

/* flow.session */
enum session_level {
    SESSION_PROBE = 0,
    SESSION_ATTEMPT,
    SESSION_ESTABLISHED,
};

/* flow_analysis.sess_proto: what the first payloads showed. */
enum session_proto {
    SESSION_P_UNKNOWN = 0,
    SESSION_P_SSH,  /* "SSH-" banner */
    SESSION_P_HTTP, /* a request line from the client */
    SESSION_P_TLS,  /* a ClientHello */
    SESSION_P_RDP,  /* a TPKT X.224 Connection Request */
    SESSION_P_RFB,  /* the server's "RFB 003.00x" */
};

/* flow_analysis.sess_flags */
#define SESSION_F_KEX     0x01 /* SSH: the server's key-exchange reply went by */
#define SESSION_F_UPGRADE 0x02 /* HTTP: the server switched protocols (101) */
#define SESSION_F_LOGIN   0x04 /* HTTP: a redirect to a login page, or 401/403 */

/* "probe", "attempt", "established". */
const char *session_level_name(int level);

/* Accounts packet p with payload (payload_len > 0) of flow f; `dir` is
 * flow_dir(). Call after flow_update(). */
void session_packet(flow *f, const packet *p, int dir);

/* Sets f->session from everything known about f. Call after
 * roles_update(), before each record. */
void session_update(flow *f);

/* The status code of the HTTP status line at the start of a server
 * payload (b, len), or 0 when there is none; exposed for tests and
 * fuzzing. */
int session_http_status(const uint8_t *b, size_t len);

#endif
