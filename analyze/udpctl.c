/* udpctl.c -- WireGuard, OpenVPN and QUIC message types (see udpctl.h).
 *
 * Written here: nDPI 4.2 names two of the three but exposes neither the
 * message types nor whether a handshake was answered, and no Debian
 * library parses these headers. Only the first bytes of each datagram are
 * read, each read bounded by the length given. The formats:
 *
 *   WireGuard (Donenfeld, "WireGuard: Next Generation Kernel Network
 *   Tunnel", NDSS 2017, section 5.4; https://www.wireguard.com/protocol/):
 *   one type byte 1-4 and three zero bytes; an initiation is 148 bytes, a
 *   response 92, a cookie reply 64;
 *   a transport message is a 16-byte header, the padded packet (a
 *   multiple of 16) and a 16-byte tag: 32 + 16k bytes, 32 for a keepalive.
 *   OpenVPN over UDP (https://build.openvpn.net/doxygen/network_protocol.html):
 *   one byte of opcode << 3 | key id; the client opens with
 *   P_CONTROL_HARD_RESET_CLIENT_V2 (7) or _V3 (10) and an 8-byte session
 *   id, the server answers P_CONTROL_HARD_RESET_SERVER_V2 (8); the control
 *   channel is 3, 4, 5 and 11, the data channel P_DATA_V1 (6) and
 *   P_DATA_V2 (9), which carry traffic only once the TLS handshake inside
 *   the control channel has authenticated both ends.
 *   QUIC (RFC 9000 17.2-17.3, RFC 9369 for version 2): a long header has
 *   the two top bits set and a 32-bit version; a client's first datagram
 *   is an Initial of at least 1200 bytes (RFC 9000 14.1) with a
 *   destination connection id of 8-20 bytes (7.2); a short header (1-RTT
 *   data, only after the handshake) has the top bit clear and the fixed
 *   bit set.
 */
#include "udpctl.h"

#include <string.h>

#define UDPCTL_WG_INIT     148
#define UDPCTL_WG_RESPONSE 92
#define UDPCTL_WG_COOKIE   64
#define UDPCTL_WG_EMPTY    32

#define UDPCTL_OVPN_MIN 14 /* opcode, session id, ack count, packet id */

#define UDPCTL_QUIC_INITIAL_MIN 1200
#define UDPCTL_QUIC_V1          0x00000001u
#define UDPCTL_QUIC_V2          0x6b3343cfu

static const char *const udpctl_names[] = {NULL, "WireGuard", "OpenVPN", "QUIC"};

const char *udpctl_name(int proto)
{
    return proto > UDPCTL_NONE && proto <= UDPCTL_QUIC ? udpctl_names[proto] : NULL;
}

static int udpctl_wireguard(const uint8_t *b, size_t len)
{
    if (len < 4 || b[1] != 0 || b[2] != 0 || b[3] != 0)
        return UDPCTL_M_NONE;
    switch (b[0]) {
    case 1:
        return len == UDPCTL_WG_INIT ? UDPCTL_M_HELLO : UDPCTL_M_NONE;
    case 2:
        return len == UDPCTL_WG_RESPONSE ? UDPCTL_M_REPLY : UDPCTL_M_NONE;
    case 3:
        return len == UDPCTL_WG_COOKIE ? UDPCTL_M_REPLY : UDPCTL_M_NONE;
    case 4:
        if (len < UDPCTL_WG_EMPTY || (len - UDPCTL_WG_EMPTY) % 16 != 0)
            return UDPCTL_M_NONE;
        return len == UDPCTL_WG_EMPTY ? UDPCTL_M_KEEPALIVE : UDPCTL_M_DATA;
    default:
        return UDPCTL_M_NONE;
    }
}

static int udpctl_openvpn(const uint8_t *b, size_t len, int dir)
{
    if (len < 1)
        return UDPCTL_M_NONE;
    int op = b[0] >> 3, key = b[0] & 7;
    switch (op) {
    case 7:
    case 10:
        return dir == 0 && key == 0 && len >= UDPCTL_OVPN_MIN ? UDPCTL_M_HELLO : UDPCTL_M_NONE;
    case 8:
        return dir == 1 && key == 0 && len >= UDPCTL_OVPN_MIN ? UDPCTL_M_REPLY : UDPCTL_M_NONE;
    case 3:
    case 4:
    case 5:
    case 11:
        return len >= 9 ? UDPCTL_M_CONTROL : UDPCTL_M_NONE;
    case 6:
    case 9:
        return len >= 5 ? UDPCTL_M_DATA : UDPCTL_M_NONE;
    default:
        return UDPCTL_M_NONE;
    }
}

static int udpctl_quic_version(uint32_t v)
{
    return v == UDPCTL_QUIC_V1 || v == UDPCTL_QUIC_V2 || (v & 0xffffff00u) == 0xff000000u;
}

static int udpctl_quic(const uint8_t *b, size_t len, int dir)
{
    if (len < 1)
        return UDPCTL_M_NONE;
    if ((b[0] & 0xc0) == 0x40)
        return UDPCTL_M_DATA;
    if ((b[0] & 0x80) == 0 || len < 7)
        return UDPCTL_M_NONE;
    uint32_t v = (uint32_t)b[1] << 24 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 8 | b[4];
    int dcid = b[5];
    if (dcid > 20 || len < 7 + (size_t)dcid || b[6 + dcid] > 20)
        return UDPCTL_M_NONE;
    if (dir == 1)
        return v == 0 || udpctl_quic_version(v) ? UDPCTL_M_REPLY : UDPCTL_M_NONE;
    if (!udpctl_quic_version(v) || (b[0] & 0x40) == 0)
        return UDPCTL_M_NONE;
    int type = (b[0] >> 4) & 3, initial = v == UDPCTL_QUIC_V2 ? 1 : 0;
    if (type == initial && len >= UDPCTL_QUIC_INITIAL_MIN && dcid >= 8)
        return UDPCTL_M_HELLO;
    return UDPCTL_M_CONTROL;
}

int udpctl_parse(const uint8_t *b, size_t len, int proto, int dir, int *proto_out)
{
    int m;

    *proto_out = proto;
    if (b == NULL)
        return UDPCTL_M_NONE;
    switch (proto) {
    case UDPCTL_WIREGUARD:
        return udpctl_wireguard(b, len);
    case UDPCTL_OPENVPN:
        return udpctl_openvpn(b, len, dir);
    case UDPCTL_QUIC:
        return udpctl_quic(b, len, dir);
    default:
        break;
    }
    /* A client's first datagram: each protocol's opening message only. */
    if (dir != 0)
        return UDPCTL_M_NONE;
    if ((m = udpctl_wireguard(b, len)) == UDPCTL_M_HELLO || m == UDPCTL_M_DATA) {
        *proto_out = UDPCTL_WIREGUARD; /* data: the sensor joined mid-stream */
        return m;
    }
    if (udpctl_quic(b, len, 0) == UDPCTL_M_HELLO) {
        *proto_out = UDPCTL_QUIC;
        return UDPCTL_M_HELLO;
    }
    if (udpctl_openvpn(b, len, 0) == UDPCTL_M_HELLO) {
        *proto_out = UDPCTL_OPENVPN;
        return UDPCTL_M_HELLO;
    }
    return UDPCTL_M_NONE;
}

void udpctl_packet(flow *f, const packet *p, int dir)
{
    int proto;

    flow_analysis *a;

    if (f->key.proto != 17 || p->payload_caplen == 0 || (a = flow_analysis_get(f)) == NULL)
        return;
    if (a->uc_proto == UDPCTL_NONE && (dir != 0 || a->data_pkts[0] > 1))
        return; /* not one of them from the client's first datagram on */
    int m = udpctl_parse(p->data + p->payload_off, p->payload_caplen, a->uc_proto, dir, &proto);
    if (proto == UDPCTL_NONE)
        return;
    a->uc_proto = (uint8_t)proto;
    if (m == UDPCTL_M_HELLO && dir == 0)
        a->uc_flags |= UDPCTL_F_HELLO;
    else if (m == UDPCTL_M_REPLY && dir == 1)
        a->uc_flags |= UDPCTL_F_REPLY;
    else if (m == UDPCTL_M_DATA && a->uc_data[dir] < UINT32_MAX)
        a->uc_data[dir]++;
}
