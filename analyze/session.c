/* session.c -- probe, attempt or established session (see session.h).
 *
 * The counts run over the whole flow, so a session cut into records by
 * the active timeout stays established in its later records. Only the
 * first payload of each side and the first SESSION_READ_PKTS server
 * payloads are read; everything after costs a few additions.
 *
 * The constants are protocol facts, each cited where it is defined; the
 * reasoning is in docs/rules.md ("What counts as a session").
 */
#include "session.h"

#include <string.h>
#include <strings.h>

#include "timing.h"
#include "udpctl.h"

/* Server payloads read for the SSH key-exchange reply (banner, KEXINIT,
 * reply: the third or fourth in practice) and for HTTP status lines. */
#define SESSION_READ_PKTS 8

/* SSH. A failed login sends, after the server's key-exchange reply, at
 * most: NEWKEYS, SERVICE_REQUEST "ssh-userauth", USERAUTH_REQUEST "none"
 * (RFC 4253 7.3, 10; RFC 4252 5.2), then MaxAuthTries attempts (6, the
 * OpenSSH default, sshd_config(5); Dropbear allows 10 single-message
 * password attempts) of at most two messages each (keyboard-interactive:
 * USERAUTH_REQUEST and INFO_RESPONSE, RFC 4256 3.4), and DISCONNECT:
 * 3 + 2 x 6 + 1 = 16 packets. The server answers each with one message
 * (SERVICE_ACCEPT, USERAUTH_FAILURE, INFO_REQUEST, DISCONNECT), at most as
 * many. Channel open, pty-req, shell and the typing that follow a success
 * (RFC 4254 5.1, 6.2, 6.5) take both sides past it. Echoed keystrokes
 * alone are no proof: password requests answered at once by FAILURE have
 * the sizes and timing of keys and echoes (timing.c would count them). */
#define SESSION_SSH_AUTH_PKTS 16
/* Payload after the key exchange, either way, that no authentication
 * reaches: its largest message is a publickey request with a 4096-bit RSA
 * key and signature, about 1.1 KB (RFC 4252 7), so 16 of them stay under
 * 20 KB; scp, sftp and forwarded ports move more. */
#define SESSION_SSH_BULK_BYTES (64u * 1024)
/* LoginGraceTime: sshd drops a connection that has not authenticated
 * within 120 s of its start (OpenSSH default, sshd_config(5)), so data
 * both ways later than that after the key exchange is a logged-in
 * session. */
#define SESSION_SSH_GRACE_US (120ULL * 1000000ULL)

/* RDP. A refused or failed logon ends after the X.224 exchange, the TLS
 * handshake (a certificate, 1-4 KB) and the CredSSP/NTLM exchange (three
 * TSRequests of under 1 KB each, MS-CSSP 3.1.5): under 10 KB from the
 * server. A desktop's bitmap and surface updates (MS-RDPBCGR 2.2.9,
 * MS-RDPEGFX) move far more as soon as the screen is drawn. */
#define SESSION_RDP_BYTES (64u * 1024)
#define SESSION_RDP_PKTS  16

/* VNC (RFB 3.8, RFC 6143 7.1-7.3): versions (12 bytes each way), security
 * types, the 16-byte VNC challenge and response, the 4-byte result,
 * ClientInit and ServerInit (24 bytes and the desktop name): well under
 * 1 KB. A failure adds a reason string and ends. FramebufferUpdate
 * (RFC 6143 7.6.1) of even a small screen region compressed is kilobytes;
 * a first full update, tens of them. Input events come only after
 * ServerInit, dozens a second while someone moves the mouse. */
#define SESSION_RFB_BYTES      (16u * 1024)
#define SESSION_RFB_INPUT_PKTS 32

/* Notebooks and other control APIs over plain HTTP: a session is a
 * websocket (kernel channels, terminals) the server accepted with 101
 * and used both ways (RFC 6455 4.2.2), or several requests answered with
 * more than a login page: Jupyter's login page is about 6 KB, a
 * redirect to it or a 401/403 a few hundred bytes. */
#define SESSION_WS_PKTS    2
#define SESSION_HTTP_REQS  4
#define SESSION_HTTP_BYTES (16u * 1024)

/* TLS and anything else over TCP: past the handshake (ClientHello and
 * the client's Finished are two client payloads, RFC 8446 2, RFC 5246
 * 7.3), at least two application exchanges both ways. A scanner's
 * handshake, or handshake and one request, stays below. UDP: as many
 * datagrams each way, more than a probe and its answer or a WireGuard
 * handshake (initiation and response, one each). */
#define SESSION_APP_PKTS 4
/* ... or, with data both ways, a transfer larger than any handshake,
 * login page or banner (an upload answered by ACKs only). */
#define SESSION_BULK_BYTES (64u * 1024)

static const char *const session_names[] = {"probe", "attempt", "established"};

const char *session_level_name(int level)
{
    return level >= SESSION_PROBE && level <= SESSION_ESTABLISHED ? session_names[level] : "probe";
}

int session_http_status(const uint8_t *b, size_t len)
{
    /* "HTTP/1.x NNN" */
    if (b == NULL || len < 12 || memcmp(b, "HTTP/", 5) != 0 || b[8] != ' ')
        return 0;
    for (int i = 9; i < 12; i++)
        if (b[i] < '0' || b[i] > '9')
            return 0;
    return (b[9] - '0') * 100 + (b[10] - '0') * 10 + (b[11] - '0');
}

/* 1 when (b, len) holds "login" (any case) before the end of the headers:
 * a redirect to a login page names it in Location. */
static int session_login_location(const uint8_t *b, size_t len)
{
    for (size_t i = 0; i + 5 <= len; i++) {
        if (b[i] == '\r' && i + 3 < len && b[i + 1] == '\n' && b[i + 2] == '\r')
            return 0;
        if ((b[i] | 0x20) == 'l' && strncasecmp((const char *)b + i, "login", 5) == 0)
            return 1;
    }
    return 0;
}

static int session_is_request(const uint8_t *b, size_t n)
{
    size_t i = 0;

    while (i < n && i < 8 && b[i] >= 'A' && b[i] <= 'Z')
        i++;
    return i >= 3 && i + 1 < n && b[i] == ' ' && (b[i + 1] == '/' || b[i + 1] == 'h');
}

/* What the first payload of a side says the flow speaks. */
static void session_first(flow_analysis *a, const uint8_t *b, size_t n, int dir)
{
    if (n >= 4 && memcmp(b, "SSH-", 4) == 0)
        a->sess_proto = SESSION_P_SSH;
    else if (dir == 1 && n >= 6 && memcmp(b, "RFB 00", 6) == 0)
        a->sess_proto = SESSION_P_RFB;
    else if (dir == 0 && n >= 6 && b[0] == 0x16 && b[1] == 0x03 && b[5] == 0x01)
        a->sess_proto = SESSION_P_TLS;
    else if (dir == 0 && n >= 6 && b[0] == 0x03 && b[1] == 0x00 && (b[5] & 0xf0) == 0xe0)
        a->sess_proto = SESSION_P_RDP; /* TPKT, X.224 Connection Request */
    else if (dir == 0 && session_is_request(b, n))
        a->sess_proto = SESSION_P_HTTP;
}

static void session_mark(flow_analysis *a, uint64_t ts)
{
    a->mark_us = ts;
    memcpy(a->mark_pkts, a->data_pkts, sizeof(a->mark_pkts));
    memcpy(a->mark_bytes, a->data_bytes, sizeof(a->mark_bytes));
}

static void session_server(flow_analysis *a, const uint8_t *b, size_t n, uint64_t ts)
{
    if (a->sess_proto == SESSION_P_SSH && !(a->sess_flags & SESSION_F_KEX)) {
        if (timing_ssh_kex_reply(b, n)) {
            a->sess_flags |= SESSION_F_KEX;
            session_mark(a, ts);
        }
        return;
    }
    if (a->sess_proto != SESSION_P_HTTP)
        return;
    int code = session_http_status(b, n);
    if (code == 101 && !(a->sess_flags & SESSION_F_UPGRADE)) {
        a->sess_flags |= SESSION_F_UPGRADE;
        session_mark(a, ts);
    } else if (code == 401 || code == 403 ||
               (code >= 301 && code <= 308 && session_login_location(b, n))) {
        a->sess_flags |= SESSION_F_LOGIN;
    }
}

void session_packet(flow *f, const packet *p, int dir)
{
    const uint8_t *b = p->data + p->payload_off;
    size_t n = p->payload_caplen;

    if (p->payload_len == 0)
        return;
    flow_analysis *a = flow_analysis_get(f);
    if (a == NULL)
        return; /* out of memory: the flow is counted, not judged */
    if (a->sess_proto == SESSION_P_UNKNOWN && a->data_pkts[dir] == 0 && n > 0)
        session_first(a, b, n, dir);
    if (a->data_pkts[dir] < UINT32_MAX)
        a->data_pkts[dir]++;
    a->data_bytes[dir] += p->payload_len;
    if (p->ts_us > a->data_last_us[dir])
        a->data_last_us[dir] = p->ts_us;
    if (dir == 1 && n > 0 && a->sess_srv < SESSION_READ_PKTS) {
        a->sess_srv++;
        session_server(a, b, n, p->ts_us);
    }
}

static int session_kind_is(const flow *f, const char *kind)
{
    return f->control != NULL && !f->ctl_dns && strcmp(f->control, kind) == 0;
}

/* SSH past the key exchange: channel traffic beyond what a failed login
 * sends, a bulk transfer, or data both ways after LoginGraceTime. A flow
 * the sensor joined mid-stream (it started before the capture, or an idle
 * gap longer than the idle timeout split it) shows no key exchange; the
 * same bounds then apply to all of its data, which only a logged-in
 * session exceeds, since a failed login's whole exchange after the
 * banners stays within them. */
static int session_ssh(const flow *f)
{
    const flow_analysis *a = flow_an(f);
    int mid = (f->tcp & FLOW_TCP_MIDSTREAM) && a->sess_proto != SESSION_P_SSH;
    uint32_t pc = a->data_pkts[0] - a->mark_pkts[0], ps = a->data_pkts[1] - a->mark_pkts[1];
    uint64_t bytes = a->data_bytes[0] - a->mark_bytes[0] + a->data_bytes[1] - a->mark_bytes[1];
    uint64_t since = a->mark_us;

    if (!(a->sess_flags & SESSION_F_KEX) && !mid)
        return 0;
    if (mid && !(a->sess_flags & SESSION_F_KEX))
        since = f->first_us;
    if (pc > SESSION_SSH_AUTH_PKTS && ps > SESSION_SSH_AUTH_PKTS)
        return 1;
    if (bytes >= SESSION_SSH_BULK_BYTES)
        return 1;
    return a->data_last_us[0] > since + SESSION_SSH_GRACE_US &&
           a->data_last_us[1] > since + SESSION_SSH_GRACE_US;
}

/* VNC past the security handshake: framebuffer updates, or input events
 * (KeyEvent, PointerEvent, RFC 6143 7.5.4-7.5.5), which a client sends
 * only after ServerInit; a failed handshake is at most four client
 * messages (version, security type, response, and nothing after the
 * failure). Either direction: a reverse connection (a viewer listening,
 * the server dialling out) swaps the sides. */
static int session_rfb(const flow *f)
{
    const flow_analysis *a = flow_an(f);
    for (int d = 0; d < 2; d++)
        if (a->data_bytes[d] >= SESSION_RFB_BYTES ||
            (a->data_pkts[d] >= SESSION_RFB_INPUT_PKTS && a->data_pkts[!d] > 0))
            return 1;
    return 0;
}

static int session_http(const flow *f)
{
    const flow_analysis *a = flow_an(f);
    if ((a->sess_flags & SESSION_F_UPGRADE) &&
        a->data_pkts[0] - a->mark_pkts[0] >= SESSION_WS_PKTS &&
        a->data_pkts[1] - a->mark_pkts[1] >= SESSION_WS_PKTS)
        return 1;
    return !(a->sess_flags & SESSION_F_LOGIN) && a->data_pkts[0] >= SESSION_HTTP_REQS &&
           a->data_bytes[1] >= SESSION_HTTP_BYTES;
}

static int session_tcp_level(const flow *f)
{
    const flow_analysis *a = flow_an(f);
    int opened = (f->tcp & (FLOW_TCP_SYN | FLOW_TCP_SYNACK | FLOW_TCP_ACK)) ==
                 (FLOW_TCP_SYN | FLOW_TCP_SYNACK | FLOW_TCP_ACK);

    /* A flow the sensor joined mid-stream has no handshake to see: data
     * both ways shows it was open. */
    if ((f->tcp & FLOW_TCP_MIDSTREAM) || (f->tcp & FLOW_TCP_SYNACK))
        opened |= a->data_pkts[0] > 0 && a->data_pkts[1] > 0;
    if (!opened || a->data_pkts[0] + a->data_pkts[1] == 0)
        return SESSION_PROBE;
    int est;
    if (a->sess_proto == SESSION_P_SSH || session_kind_is(f, "ssh"))
        est = session_ssh(f);
    else if (a->sess_proto == SESSION_P_RDP || session_kind_is(f, "rdp"))
        est = a->data_bytes[1] >= SESSION_RDP_BYTES && a->data_pkts[1] >= SESSION_RDP_PKTS;
    else if (a->sess_proto == SESSION_P_RFB || session_kind_is(f, "vnc"))
        est = session_rfb(f);
    else if (a->sess_proto == SESSION_P_HTTP)
        est = session_http(f);
    else
        est = (a->data_pkts[0] >= SESSION_APP_PKTS && a->data_pkts[1] >= SESSION_APP_PKTS) ||
              a->data_bytes[0] + a->data_bytes[1] >= SESSION_BULK_BYTES;
    return est ? SESSION_ESTABLISHED : SESSION_ATTEMPT;
}

/* WireGuard, OpenVPN, QUIC (udpctl.c): the handshake answered, then data
 * both ways. A WireGuard responder sends transport data only under keys
 * of a completed handshake, OpenVPN's data channel carries traffic only
 * after the TLS handshake inside its control channel authenticated both
 * ends, and QUIC's short-header packets only follow a completed
 * handshake: SESSION_APP_PKTS of them each way (keepalives left out) is
 * traffic through the channel, not its set-up. A handshake answered and
 * nothing more is an attempt; a flow the sensor joined mid-stream (data
 * first) needs the same data both ways. */
static int session_udp_channel(const flow *f)
{
    const flow_analysis *a = flow_an(f);
    int answered = (a->uc_flags & UDPCTL_F_REPLY) || !(a->uc_flags & UDPCTL_F_HELLO);

    if (a->data_pkts[0] == 0 || a->data_pkts[1] == 0)
        return SESSION_PROBE;
    if (answered && a->uc_data[0] >= SESSION_APP_PKTS && a->uc_data[1] >= SESSION_APP_PKTS)
        return SESSION_ESTABLISHED;
    return SESSION_ATTEMPT;
}

void session_update(flow *f)
{
    const flow_analysis *a = flow_an(f);
    if (f->key.proto == 6)
        f->session = (uint8_t)session_tcp_level(f);
    else if (f->key.proto == 17 && a->uc_proto != UDPCTL_NONE)
        f->session = (uint8_t)session_udp_channel(f);
    else if (a->data_pkts[0] == 0 || a->data_pkts[1] == 0)
        f->session = SESSION_PROBE; /* nothing came back (or nothing was asked) */
    else if (a->data_pkts[0] >= SESSION_APP_PKTS && a->data_pkts[1] >= SESSION_APP_PKTS)
        f->session = SESSION_ESTABLISHED;
    else
        f->session = SESSION_ATTEMPT;
}
