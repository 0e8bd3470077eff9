/* timing.c -- interactivity (either way), keystroke chaff, application
 * round trip and ON periods of a TCP or UDP flow (see timing.h). UDP
 * datagrams go through the same ON/OFF, keystroke and bulk counts as TCP
 * segments (a datagram is a segment without sequence numbers); they give
 * no round-trip samples.
 *
 * APPLICATION ROUND TRIP
 * A relay that terminates TCP (SOCKS, HTTP CONNECT, frp, Shadowsocks)
 * answers the handshake itself, so the handshake round trip to the client
 * side (SYN/ACK -> ACK, flow.rtt_client_us) measures sensor <-> relay
 * only. An application message that the client side can only send after
 * it has read the server's previous message travels sensor -> relay ->
 * user -> relay -> sensor, so its lag carries the relay <-> user path too.
 * A sample is the time from the last server data segment of a flight to
 * the first client data segment after it, and only for exchanges where
 * the client must have read the flight before it can answer:
 *
 *   TLS  the server's first flight after the ClientHello (ServerHello ..
 *        ServerHelloDone in 1.2, ServerHello .. Finished in 1.3) -> the
 *        client's second flight (key exchange, ChangeCipherSpec,
 *        Finished). The client needs the server's key share and
 *        certificate to write it. One sample per connection: later TLS
 *        exchanges are application data, which the client may send on its
 *        own (False Start, HTTP/2 streams, a user clicking).
 *   SSH  from the server's key-exchange reply (SSH_MSG_KEX_ECDH_REPLY, or
 *        the group of a DH group exchange), the next TIMING_SSH_EXCHANGES
 *        flights: the reply -> the client's NEWKEYS (it must check the host
 *        key and derive keys), then the authentication and channel set-up,
 *        where the client waits for each answer (SERVICE_ACCEPT ->
 *        USERAUTH_REQUEST, FAILURE or PK_OK -> the next attempt,
 *        SUCCESS -> CHANNEL_OPEN, OPEN_CONFIRMATION -> pty and shell
 *        requests). Banners and KEXINITs are not sampled: both ends send
 *        them without waiting.
 *   Not sampled: a keystroke after an echo or after command output (a
 *   human decides when to type, not the data), HTTP requests after
 *   responses (browsers pipeline and parallelise), pure ACKs (the relay's
 *   TCP stack sends them).
 * A sample is dropped (Karn's rule) when the server flight held a
 * retransmission or the client segment is not the next in sequence, when
 * the client segment does not acknowledge the whole flight (it was sent
 * before the flight arrived), and when it is longer than TIMING_RTT_MAX_US
 * (nobody answered; a person did). The first TIMING_RTT_SAMPLES samples
 * are kept and their lower quartile (the floor(n/4)-th smallest) is
 * app_rtt. Delay only ever adds to a sample (queues, a relay's random
 * delays, a password typed during set-up), so the low end of several
 * samples is the path and the high end is noise: with four or more
 * samples the statistic exceeds a bound only when three quarters of the
 * samples do, and one late answer, or one early one, moves nothing.
 *
 * TRANSPORT ROUND TRIP
 * What app_rtt is compared with: the least of the handshake's round trip
 * (flow.rtt_client_us) and of every client ACK (pure or on data) that
 * acknowledges exactly the end of the latest server data segment, timed
 * from that segment (not after a retransmission of it: Karn's rule). A
 * TCP-terminating relay's own stack sends those ACKs, so they measure the
 * sensor <-> relay path however the relay delays what it forwards; a
 * relay that delays everything it sends (10-60 ms at random) delays some
 * ACKs little, and the minimum finds those (JA4L and CalcuLatency take
 * the minimum of several samples for the same reason). A single
 * handshake sample carries whatever queueing that one packet met.
 *
 * INTERACTIVITY
 * A keystroke is a client data segment of 1..TIMING_KEY_MAX bytes (an SSH
 * keystroke is 36-100 bytes of ciphertext), sent at least TIMING_KEY_GAP_US
 * after the client's previous data (typing, not a stream), and answered by
 * server data of at most TIMING_ECHO_MAX bytes within TIMING_ECHO_US
 * before the client sends again (the echo). A flow is interactive with at
 * least TIMING_MIN_KEYS keystrokes making up a quarter or more of its
 * small client segments; bulk with TIMING_BULK_BYTES or more of payload in
 * segments of TIMING_BIG bytes or more; mixed when both. A bulk flow that
 * is not a control session releases its state at that point and stays
 * bulk.
 *
 * ON PERIODS (Zhang and Paxson 2000)
 * The flow is OFF after more than TIMING_IDLE_US without data either way;
 * the next data packet starts an ON period. `bursts` counts them; the
 * starts and packet counts of the latest TIMING_BURSTS are kept for the
 * stepping-stone matcher, TIMING_BURSTS_MAX once the flow has keystrokes
 * (a separate ring of 768 bytes, only for sessions people type in).
 *
 * Cost: one calloc per TCP or UDP flow with data, about 340 bytes, freed at
 * the end or once the flow is a bulk transfer; per packet a few compares.
 */
#include "timing.h"

#include <stdlib.h>
#include <string.h>

#define TIMING_RTT_MAX_US    3000000 /* longer lags are people, not stacks */
#define TIMING_SSH_EXCHANGES 6
#define TIMING_KEY_MAX       128
#define TIMING_KEY_GAP_US    10000
#define TIMING_ECHO_MAX      256
#define TIMING_ECHO_US       600000
#define TIMING_MIN_KEYS      8
#define TIMING_BIG           1000
#define TIMING_BULK_BYTES    (1u << 20)

/* REVERSED INTERACTIVITY
 * In a reverse tunnel (frp, chisel, nps, ssh -R, a self-run relay) the
 * host that opened the connection is the one being typed into: the
 * keystrokes come from the server side and the client echoes them. A
 * reversed keystroke is a server data segment of 1..TIMING_KEY_MAX bytes,
 * at least TIMING_KEY_GAP_US after the server's previous data, answered
 * by client data of at most TIMING_ECHO_MAX bytes within TIMING_RECHO_US
 * and before the server sends again, and following the previous reversed
 * keystroke within TIMING_IDLE_US (a key typed in a run: a lone ping
 * answered by a pong, an agent's heartbeat, never counts).
 * TIMING_RECHO_US is a machine's answer, not a person's: the echo comes
 * from the GPU host beside the sensor (a data-centre round trip under a
 * millisecond, the tunnel agent and sshd a few more), while the other
 * orientation, an echo followed by the next key, is a person's
 * inter-key interval (about 240 ms on average over 136 million
 * keystrokes: Dhakal et al., CHI 2018). It stays below the 20 ms grid of
 * OpenSSH's keystroke obfuscation (below), so that the answer of one tick
 * and the next tick are not taken for key and echo either way.
 * People start typing after a pause, so in a reverse tunnel the typing
 * starts come from the server's end: `sled` counts the ON periods that
 * begin with a keystroke-sized server packet the client answers within
 * TIMING_RECHO_US, `cled` the same from the client (timing_reversed()).
 * An agent's heartbeat ping is answered from the far end, after the
 * round trip to it; an outbound session the host's own user types into
 * starts its ON periods from the client.
 *
 * UDP datagrams of a VPN carry the whole inner packet: a keystroke
 * segment's IP and TCP headers (up to 40 + 32 bytes) and the channel's own
 * (WireGuard: 16 of header, 16 of tag, padding to 16) come on top, so on
 * UDP a keystroke may be TIMING_UDP_EXTRA bytes longer and so may its
 * echo.
 *
 * KEYSTROKE CHAFF (OpenSSH 9.5 and later, ObscureKeystrokeTiming, on by
 * default: https://www.openssh.com/txt/release-9.5)
 * When the server advertises ping@openssh.com, the client sends the
 * keystrokes of a TTY session on a fixed 20 ms grid and, after the last
 * one, keeps sending SSH2_MSG_PING "chaff" of the same size on that grid
 * for a random 1.024-3.072 s; the server answers each with
 * SSH2_MSG_PONG at once (OpenSSH PROTOCOL, section 1.9). Keys and chaff
 * look the same on the wire. A train is TIMING_CHAFF_RUN consecutive
 * keystroke-sized client segments of an SSH flow whose gaps stay within
 * TIMING_GRID_LO_US..TIMING_GRID_HI_US (one tick with jitter, or two
 * when one was merged): the chaff alone lasts at least 1.024 s, 51 ticks;
 * a person's own typing never keeps such a rhythm for a second (keyboard
 * autorepeat, 25-33 Hz, is a person holding a key). Batch use of SSH (scp,
 * sftp, a remote command) has no TTY and no chaff, so a train is a person
 * at a terminal: the flow counts as interactive.
 * An obfuscated flow's OFF transitions are smeared by the chaff tail, each
 * leg of a stepping stone by its own random amount, so for such a flow a
 * typing start (the start of an ON period) needs, beside the usual
 * TIMING_IDLE_US of silence, TIMING_CHAFF_IDLE_US since the latest
 * segment larger than a keystroke either way (the output the last command
 * printed, which both legs carry within milliseconds): above the longest
 * chaff tail plus the idle gap, so both legs of a stepping stone mark the
 * same typing starts whatever their chaff. The packet count of such a
 * period counts only the segments larger than a keystroke (the output,
 * which both legs carry) and its first one: the chaff of each leg is its
 * own.
 */
#define TIMING_RECHO_US      15000
#define TIMING_UDP_EXTRA     120
#define TIMING_GRID_LO_US    15000
#define TIMING_GRID_HI_US    45000
#define TIMING_CHAFF_RUN     50
#define TIMING_CHAFF_IDLE_US 3600000 /* 3.072 s of chaff + TIMING_IDLE_US, rounded up */

struct timing_rev {
    uint64_t last_sdata_us; /* latest server data */
    uint64_t rkey_us;       /* server keystroke candidate awaiting the client's answer */
    uint64_t rkey_last_us;  /* the latest answered one */
    uint64_t grid_us;       /* latest keystroke-sized client segment */
    uint64_t out_us;        /* latest segment larger than a keystroke, either way */
    uint32_t rkeys;         /* reversed keystrokes typed in runs */
    uint32_t rsmall;        /* keystroke-sized server segments */
    uint64_t lead_us;       /* first packet of the latest ON period */
    uint32_t sled, cled;    /* typing starts from the server, from the client */
    uint32_t grid_run;      /* client segments on the grid so far */
    uint32_t chaff;         /* chaff trains */
    uint8_t sdata_seen : 1;
    uint8_t rkey_pending : 1;
    uint8_t rkey_seen : 1;
    uint8_t grid_seen : 1;
    uint8_t out_seen : 1;
    uint8_t lead_pending : 1; /* the latest ON period's first packet awaits its answer */
    uint8_t lead_dir : 1;
    uint8_t udp : 1; /* keystrokes carry TIMING_UDP_EXTRA more */
};

enum { TIMING_K_OTHER = 0, TIMING_K_TLS, TIMING_K_SSH };
enum { TIMING_SEQ_NEXT = 0, TIMING_SEQ_RETX, TIMING_SEQ_HOLE };

struct timing {
    uint64_t last_data_us;  /* latest data either way: ON/OFF */
    uint64_t last_cdata_us; /* latest client data */
    uint64_t key_us;        /* keystroke candidate awaiting its echo */
    uint64_t flight_us;     /* latest server segment of the open flight */
    uint64_t sseg_us;       /* latest in-order server data segment ... */
    uint64_t big_bytes;     /* payload in segments of TIMING_BIG or more */
    uint64_t burst_us[TIMING_BURSTS];
    uint32_t burst_pkts[TIMING_BURSTS];
    timing_burst *more; /* TIMING_BURSTS_MAX ring once the flow is typed in */
    uint32_t rtt[TIMING_RTT_SAMPLES];
    uint32_t next_seq[2]; /* sequence number after the latest data, per dir */
    uint32_t sseg_end;    /* ... and the sequence number after it */
    uint32_t tcp_min_us;  /* least ACK round trip; 0: none yet */
    uint32_t small;       /* client segments of keystroke size */
    uint32_t keys;
    uint32_t bursts;
    uint8_t nrtt;
    uint8_t kind;          /* TIMING_K_* */
    uint8_t samples_left;  /* exchanges still to sample */
    uint8_t seq_known;     /* bit per direction */
    uint8_t burst_head;    /* slot of the latest ON period */
    uint8_t data_seen : 1; /* last_data_us is valid */
    uint8_t cdata_seen : 1;
    uint8_t key_pending : 1;
    uint8_t flight_open : 1;
    uint8_t flight_sample : 1; /* this flight's answer is a sample */
    uint8_t flight_bad : 1;    /* it held a retransmission */
    uint8_t ssh_kex : 1;       /* the SSH key-exchange reply went by */
    uint8_t sseg_pending : 1;  /* sseg_us awaits the client's ACK */
    struct timing_rev rev;     /* reversed interactivity and chaff (timing_reverse) */
};

static uint32_t timing_be32(const uint8_t *b)
{
    return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
}

int timing_ssh_kex_reply(const uint8_t *b, size_t len)
{
    size_t off = 0;

    if (b == NULL)
        return 0;
    if (len >= 4 && memcmp(b, "SSH-", 4) == 0) {
        const uint8_t *nl = memchr(b, '\n', len);
        if (nl == NULL)
            return 0;
        off = (size_t)(nl - b) + 1;
    }
    /* Binary packets: uint32 length, byte padding, byte message type. */
    for (int i = 0; i < 4 && len >= 6 && off <= len - 6; i++) {
        uint32_t plen = timing_be32(b + off);
        uint8_t pad = b[off + 4], type = b[off + 5];
        if (plen < 12 || plen > 35000 || pad < 4 || pad >= plen)
            return 0;
        if (type == 31 || type == 33)
            return 1;
        off += 4 + (size_t)plen;
    }
    return 0;
}

static int timing_is_client_hello(const uint8_t *b, size_t len)
{
    return len >= 6 && b[0] == 0x16 && b[1] == 0x03 && b[2] <= 0x04 && b[5] == 0x01;
}

static struct timing *timing_start(flow *f, const packet *p, int dir)
{
    flow_analysis *a = flow_analysis_get(f);
    struct timing *t = a ? calloc(1, sizeof(*t)) : NULL;
    const uint8_t *b = p->data + p->payload_off;

    if (t == NULL) {
        f->tm_state = TIMING_S_DONE; /* counted as never analysed */
        return NULL;
    }
    if (p->payload_caplen >= 4 && memcmp(b, "SSH-", 4) == 0)
        t->kind = TIMING_K_SSH;
    else if (dir == 0 && timing_is_client_hello(b, p->payload_caplen)) {
        t->kind = TIMING_K_TLS;
        t->samples_left = 1;
    }
    t->rev.udp = f->key.proto == 17;
    a->timing = t;
    f->tm_state = TIMING_S_ACTIVE;
    return t;
}

/* Where p sits in its direction's sequence space. */
static int timing_seq(struct timing *t, const packet *p, int dir)
{
    uint32_t end = p->seq + p->payload_len;

    if (!(p->flags & PKT_F_HAS_TCP))
        return TIMING_SEQ_HOLE;
    if (!(t->seq_known & (1u << dir))) {
        t->seq_known |= (uint8_t)(1u << dir);
        t->next_seq[dir] = end;
        return TIMING_SEQ_NEXT;
    }
    int32_t d = (int32_t)(p->seq - t->next_seq[dir]);
    if (d < 0) {
        if ((int32_t)(end - t->next_seq[dir]) > 0)
            t->next_seq[dir] = end;
        return TIMING_SEQ_RETX;
    }
    t->next_seq[dir] = end;
    return d == 0 ? TIMING_SEQ_NEXT : TIMING_SEQ_HOLE;
}

/* A flow someone types into keeps TIMING_BURSTS_MAX ON periods, so the
 * stepping-stone matcher sees the overlap of two legs that end at
 * different times; the others keep TIMING_BURSTS inline. The larger ring
 * is allocated when the inline one wraps (out of memory: keep the small
 * one). */
static void timing_grow(struct timing *t)
{
    if (t->more || t->bursts < TIMING_BURSTS || t->keys < TIMING_MIN_KEYS)
        return;
    if ((t->more = calloc(TIMING_BURSTS_MAX, sizeof(*t->more))) == NULL)
        return;
    for (int i = 0; i < TIMING_BURSTS; i++) {
        int slot = (t->burst_head + 1 + i) % TIMING_BURSTS; /* oldest first */
        t->more[i].start_us = t->burst_us[slot];
        t->more[i].pkts = t->burst_pkts[slot];
    }
    t->burst_head = TIMING_BURSTS - 1;
}

/* 1 when data at ts after an idle gap starts an ON period: for a flow
 * with keystroke chaff, only a typing start (see KEYSTROKE CHAFF). */
static int timing_typing_start(const struct timing *t, uint64_t ts)
{
    if (!t->data_seen || ts <= t->last_data_us + TIMING_IDLE_US)
        return 0;
    return t->rev.chaff == 0 || !t->rev.out_seen || ts > t->rev.out_us + TIMING_CHAFF_IDLE_US;
}

/* `len` is the payload length: in a flow with keystroke chaff only
 * segments larger than a keystroke add to an ON period's packets. */
static void timing_on_off(struct timing *t, uint64_t ts, uint32_t len)
{
    uint32_t add = t->rev.chaff == 0 || len > TIMING_KEY_MAX;

    if (timing_typing_start(t, ts)) {
        timing_grow(t);
        t->bursts++;
        if (t->more) {
            t->burst_head = (uint8_t)((t->burst_head + 1) % TIMING_BURSTS_MAX);
            t->more[t->burst_head] = (timing_burst){ts, 1};
        } else {
            t->burst_head = (uint8_t)((t->burst_head + 1) % TIMING_BURSTS);
            t->burst_us[t->burst_head] = ts;
            t->burst_pkts[t->burst_head] = 1;
        }
    } else if (t->bursts > 0 && t->more) {
        if (t->more[t->burst_head].pkts < UINT32_MAX)
            t->more[t->burst_head].pkts += add;
    } else if (t->bursts > 0 && t->burst_pkts[t->burst_head] < UINT32_MAX) {
        t->burst_pkts[t->burst_head] += add;
    }
    if (!t->data_seen || ts > t->last_data_us)
        t->last_data_us = ts;
    t->data_seen = 1;
}

/* Reversed keystrokes, the side that starts ON periods, and keystroke
 * chaff (REVERSED INTERACTIVITY, KEYSTROKE CHAFF above). Called for every
 * data packet after timing_on_off(); `started` is 1 when p started an ON
 * period, `ssh` when the flow speaks SSH. */
static void timing_reverse(struct timing_rev *r, const packet *p, int dir, int started, int ssh)
{
    uint64_t ts = p->ts_us;
    uint32_t extra = r->udp ? TIMING_UDP_EXTRA : 0;
    int small = p->payload_len <= TIMING_KEY_MAX + extra;
    int quick = p->payload_len <= TIMING_ECHO_MAX + extra;

    if (r->lead_pending && dir != r->lead_dir) {
        if (quick && ts - r->lead_us <= TIMING_RECHO_US) {
            r->sled += r->lead_dir;
            r->cled += !r->lead_dir;
        }
        r->lead_pending = 0;
    }
    if (started) {
        r->lead_pending = small;
        r->lead_dir = (uint8_t)dir;
        r->lead_us = ts;
    }
    if (!small) {
        r->out_us = ts;
        r->out_seen = 1;
    }
    if (dir == 1) {
        r->rsmall += (uint32_t)small;
        r->rkey_pending = small && (!r->sdata_seen || ts >= r->last_sdata_us + TIMING_KEY_GAP_US);
        r->rkey_us = ts;
        r->last_sdata_us = ts;
        r->sdata_seen = 1;
        return;
    }
    if (r->rkey_pending && ts - r->rkey_us <= TIMING_RECHO_US && quick) {
        if (r->rkey_seen && r->rkey_us - r->rkey_last_us <= TIMING_IDLE_US)
            r->rkeys++;
        r->rkey_last_us = r->rkey_us;
        r->rkey_seen = 1;
    }
    r->rkey_pending = 0;
    if (!ssh || !(p->flags & PKT_F_HAS_TCP))
        return;
    if (small && r->grid_seen && ts - r->grid_us >= TIMING_GRID_LO_US &&
        ts - r->grid_us <= TIMING_GRID_HI_US) {
        if (++r->grid_run == TIMING_CHAFF_RUN)
            r->chaff++;
    } else {
        r->grid_run = (uint32_t)small;
    }
    if (small) {
        r->grid_us = ts;
        r->grid_seen = 1;
    }
}

static void timing_server(struct timing *t, const packet *p, int order)
{
    uint64_t ts = p->ts_us;

    if (!t->flight_open) {
        t->flight_open = 1;
        t->flight_sample = t->samples_left > 0;
        t->flight_bad = 0;
        t->flight_us = ts;
    }
    if (order == TIMING_SEQ_RETX) {
        t->flight_bad = 1;
        t->sseg_pending = 0; /* an ACK now may answer either copy */
    } else {
        t->flight_us = ts;
        t->sseg_us = ts;
        t->sseg_end = p->seq + p->payload_len;
        t->sseg_pending = 1;
    }
    if (t->kind == TIMING_K_SSH && !t->ssh_kex &&
        timing_ssh_kex_reply(p->data + p->payload_off, p->payload_caplen)) {
        t->ssh_kex = 1;
        t->samples_left = TIMING_SSH_EXCHANGES;
        t->flight_sample = 1;
    }
    if (t->key_pending && ts - t->key_us <= TIMING_ECHO_US &&
        p->payload_len <= TIMING_ECHO_MAX + (t->rev.udp ? TIMING_UDP_EXTRA : 0))
        t->keys++;
    t->key_pending = 0;
}

/* A client segment that acknowledges exactly the latest server data
 * segment times the transport round trip to the client side. */
static void timing_ack(struct timing *t, const packet *p)
{
    if (!t->sseg_pending || !(p->tcp_flags & TCP_ACK) || p->ack != t->sseg_end ||
        p->ts_us < t->sseg_us || p->ts_us - t->sseg_us > TIMING_RTT_MAX_US)
        return;
    uint32_t rtt = (uint32_t)(p->ts_us - t->sseg_us);
    if (t->tcp_min_us == 0 || rtt < t->tcp_min_us)
        t->tcp_min_us = rtt ? rtt : 1;
    t->sseg_pending = 0;
}

/* The client answers the open flight: a sample when the exchange is one
 * that needs the whole flight and nothing muddles the timing. */
static void timing_answer(struct timing *t, const packet *p, int order)
{
    uint64_t ts = p->ts_us;

    if (!t->flight_sample)
        return;
    t->samples_left--;
    if (t->flight_bad || order != TIMING_SEQ_NEXT || !(t->seq_known & 2) ||
        !(p->tcp_flags & TCP_ACK) || p->ack != t->next_seq[1] || ts < t->flight_us ||
        ts - t->flight_us > TIMING_RTT_MAX_US || t->nrtt >= TIMING_RTT_SAMPLES)
        return;
    t->rtt[t->nrtt++] = (uint32_t)(ts - t->flight_us);
}

static void timing_client(struct timing *t, const packet *p, int order)
{
    uint64_t ts = p->ts_us;

    if (t->flight_open) {
        timing_answer(t, p, order);
        t->flight_open = 0;
    }
    int small = p->payload_len <= TIMING_KEY_MAX + (t->rev.udp ? TIMING_UDP_EXTRA : 0);
    t->small += (uint32_t)small;
    t->key_pending = small && order != TIMING_SEQ_RETX &&
                     (!t->cdata_seen || ts >= t->last_cdata_us + TIMING_KEY_GAP_US);
    t->key_us = ts;
    t->last_cdata_us = ts;
    t->cdata_seen = 1;
}

static int timing_class_of(const struct timing *t)
{
    int inter =
        (t->keys >= TIMING_MIN_KEYS && (uint64_t)t->keys * 4 >= t->small) || t->rev.chaff > 0;
    int bulk = t->big_bytes >= TIMING_BULK_BYTES;

    if (inter)
        return bulk ? TIMING_C_MIXED : TIMING_C_INTERACTIVE;
    return bulk ? TIMING_C_BULK : TIMING_C_QUIET;
}

/* TCP segments with their header, and UDP datagrams, are timed. */
static int timing_carried(const flow *f, const packet *p)
{
    return f->key.proto == 17 || (f->key.proto == 6 && (p->flags & PKT_F_HAS_TCP));
}

void timing_packet(flow *f, const packet *p, int dir)
{
    struct timing *t = flow_an(f)->timing;

    if (p->payload_len == 0 || !timing_carried(f, p)) {
        /* A pure ACK from the client times the transport round trip;
         * SYNs, other ACKs and later fragments say nothing here; a flow
         * that is neither TCP nor UDP is never timed, and stops asking. */
        if (t != NULL && dir == 0 && (p->flags & PKT_F_HAS_TCP))
            timing_ack(t, p);
        else if (t == NULL && f->key.proto != 6 && f->key.proto != 17)
            f->tm_state = TIMING_S_DONE;
        return;
    }
    if (t == NULL) {
        if (f->tm_state != TIMING_S_NONE || (t = timing_start(f, p, dir)) == NULL)
            return;
    }
    uint32_t bursts = t->bursts;
    timing_on_off(t, p->ts_us, p->payload_len);
    timing_reverse(&t->rev, p, dir, t->bursts != bursts,
                   t->kind == TIMING_K_SSH || (f->control && strcmp(f->control, "ssh") == 0));
    int order = timing_seq(t, p, dir);
    if (dir == 1) {
        timing_server(t, p, order);
    } else {
        timing_ack(t, p);
        timing_client(t, p, order);
    }
    if (p->payload_len < TIMING_BIG)
        return;
    t->big_bytes += p->payload_len;
    /* A bulk transfer that is not a control session needs no more
     * timing: free the state now rather than at the flow's end. */
    if (t->big_bytes >= TIMING_BULK_BYTES && f->dpi_state == FLOW_DPI_DONE && f->control == NULL &&
        timing_class_of(t) == TIMING_C_BULK)
        timing_release(f);
}

static uint32_t timing_lower_quartile(const struct timing *t)
{
    uint32_t v[TIMING_RTT_SAMPLES];
    int n = t->nrtt;

    memcpy(v, t->rtt, sizeof(v[0]) * (size_t)n);
    for (int i = 1; i < n; i++) /* insertion sort: n <= 16 */
        for (int j = i; j > 0 && v[j - 1] > v[j]; j--) {
            uint32_t x = v[j];
            v[j] = v[j - 1];
            v[j - 1] = x;
        }
    return v[n / 4];
}

/* The least of the handshake's round trip (when the sensor saw all of
 * it) and the ACK samples. */
static uint32_t timing_tcp_min(const flow *f, uint32_t ack_min)
{
    int full = (f->tcp & (FLOW_TCP_SYN | FLOW_TCP_SYNACK | FLOW_TCP_ACK)) ==
               (FLOW_TCP_SYN | FLOW_TCP_SYNACK | FLOW_TCP_ACK);
    uint32_t hs = full ? f->rtt_client_us : 0;

    if (hs == 0 || (ack_min != 0 && ack_min < hs))
        return ack_min;
    return hs;
}

static uint16_t timing_sat16(uint32_t v)
{
    return v > UINT16_MAX ? UINT16_MAX : (uint16_t)v;
}

void timing_summarize(const flow *f, timing_summary *s)
{
    const flow_analysis *a = flow_an(f);
    const struct timing *t = a->timing;

    memset(s, 0, sizeof(*s));
    if (t == NULL) {
        s->cls = f->tm_class;
        s->keystrokes = a->tm_keys;
        s->bursts = a->tm_bursts;
        s->app_rtt_us = a->tm_app_rtt_us;
        s->nrtt = a->tm_nrtt;
        s->tcp_min_us = timing_tcp_min(f, a->tm_tcp_min_us);
        s->rev_keys = a->tm_rkeys;
        s->rev_small = a->tm_rsmall;
        s->server_led = a->tm_sled;
        s->client_led = a->tm_cled;
        s->chaff = a->tm_chaff;
        return;
    }
    s->rev_keys = t->rev.rkeys;
    s->rev_small = t->rev.rsmall;
    s->server_led = t->rev.sled;
    s->client_led = t->rev.cled;
    s->chaff = t->rev.chaff;
    s->cls = timing_class_of(t);
    s->keystrokes = t->keys;
    s->bursts = t->bursts;
    s->nrtt = t->nrtt;
    if (t->nrtt > 0)
        s->app_rtt_us = timing_lower_quartile(t);
    s->tcp_min_us = timing_tcp_min(f, t->tcp_min_us);
}

void timing_release(flow *f)
{
    flow_analysis *a = f->an;
    timing_summary s;

    if (a == NULL || a->timing == NULL)
        return;
    timing_summarize(f, &s);
    f->tm_class = (uint8_t)s.cls;
    a->tm_keys = timing_sat16(s.keystrokes);
    a->tm_bursts = timing_sat16(s.bursts);
    a->tm_app_rtt_us = s.app_rtt_us;
    a->tm_nrtt = (uint8_t)s.nrtt;
    a->tm_tcp_min_us = a->timing->tcp_min_us;
    a->tm_rkeys = timing_sat16(s.rev_keys);
    a->tm_rsmall = timing_sat16(s.rev_small);
    a->tm_sled = timing_sat16(s.server_led);
    a->tm_cled = timing_sat16(s.client_led);
    a->tm_chaff = timing_sat16(s.chaff);
    free(a->timing->more);
    free(a->timing);
    a->timing = NULL;
    f->tm_state = TIMING_S_DONE;
}

int timing_reversed(const timing_summary *s)
{
    return s->rev_keys >= TIMING_MIN_KEYS && (uint64_t)s->rev_keys * 4 >= s->rev_small &&
           s->server_led > 0 && s->server_led >= s->client_led;
}

int timing_bursts(const flow *f, timing_burst *out, int max)
{
    const struct timing *t = flow_an(f)->timing;

    if (t == NULL || max <= 0)
        return 0;
    int cap = t->more ? TIMING_BURSTS_MAX : TIMING_BURSTS;
    int n = t->bursts < (uint32_t)cap ? (int)t->bursts : cap;
    if (n > max)
        n = max;
    for (int i = 0; i < n; i++) {
        int slot = (t->burst_head + cap - (n - 1 - i)) % cap;
        out[i] = t->more
                     ? t->more[slot]
                     : (timing_burst){.start_us = t->burst_us[slot], .pkts = t->burst_pkts[slot]};
    }
    return n;
}
