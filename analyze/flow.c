/* flow.c -- per-packet bookkeeping of one flow (see flow.h).
 *
 * Who opened the flow: a SYN names the client, a SYN/ACK names the server.
 * When the first packet seen is neither (the sensor started mid-stream, or
 * the flow is UDP), the sender is taken as the client unless it sends from
 * a well-known port (< 1024) to an ephemeral one, in which case it is the
 * server answering: a long upload that was already running when the sensor
 * started must still count as an upload.
 *
 * Handshake round trip, as seen from the sensor (JA4L's halves): SYN to
 * SYN/ACK is the way to the server and back, SYN/ACK to the client's ACK
 * the way to the client and back. A retransmitted SYN restarts the first
 * half (the SYN/ACK answers the latest SYN); retransmitted SYN/ACKs and
 * later ACKs are ignored.
 */
#include "flow.h"

#include <stdlib.h>
#include <string.h>

const flow_analysis flow_analysis_none;

static const char *const flow_end_names[FLOW_END_MAX] = {
    [FLOW_END_NONE] = "none",       [FLOW_END_FIN] = "fin",       [FLOW_END_RST] = "rst",
    [FLOW_END_IDLE] = "idle",       [FLOW_END_ACTIVE] = "active", [FLOW_END_EOF] = "eof",
    [FLOW_END_EVICTED] = "evicted",
};

const char *flow_end_name(int end)
{
    return end >= 0 && end < FLOW_END_MAX ? flow_end_names[end] : "none";
}

static int flow_sender_is_server(const packet *p)
{
    if (p->proto == 1 || p->proto == 58) /* ICMP echo reply first */
        return p->icmp_type == (p->proto == 1 ? 0 : 129);
    if (p->proto != 6 && p->proto != 17)
        return 0;
    return p->sport < 1024 && p->dport >= 1024;
}

void flow_init(flow *f, const flow_key *k, uint64_t hash, const packet *p, int side)
{
    memset(f, 0, sizeof(*f));
    f->key = *k;
    f->hash = (uint32_t)hash;
    f->client = (uint8_t)side;
    f->tunnel_type = p->tunnel_type;
    f->tunnel_port = p->tunnel_port;
    f->first_side = (uint8_t)side;
    f->icmp_type = p->icmp_type;
    f->icmp_code = p->icmp_code;
    if (p->proto == 6 && (p->flags & PKT_F_HAS_TCP) && (p->tcp_flags & TCP_SYN)) {
        if (p->tcp_flags & TCP_ACK)
            f->client = (uint8_t)!side;
    } else {
        if (p->proto == 6)
            f->tcp |= FLOW_TCP_MIDSTREAM;
        if (flow_sender_is_server(p))
            f->client = (uint8_t)!side;
    }
    f->first_us = f->rec_first_us = f->last_us = p->ts_us;
}

static void flow_tcp(flow *f, const packet *p, int dir)
{
    uint8_t fl = p->tcp_flags;

    if ((fl & (TCP_SYN | TCP_ACK)) == TCP_SYN && dir == 0 && !(f->tcp & FLOW_TCP_SYNACK)) {
        f->tcp |= FLOW_TCP_SYN;
        f->hs_us = p->ts_us;
    } else if ((fl & (TCP_SYN | TCP_ACK)) == (TCP_SYN | TCP_ACK) && dir == 1 &&
               !(f->tcp & FLOW_TCP_SYNACK)) {
        f->tcp |= FLOW_TCP_SYNACK;
        if (f->hs_us) {
            f->tcp |= FLOW_TCP_RTT_S;
            if (p->ts_us >= f->hs_us)
                f->rtt_server_us = (uint32_t)(p->ts_us - f->hs_us);
        }
        f->hs_us = p->ts_us;
    } else if ((fl & (TCP_SYN | TCP_ACK)) == TCP_ACK && dir == 0 && (f->tcp & FLOW_TCP_SYNACK) &&
               !(f->tcp & FLOW_TCP_ACK)) {
        f->tcp |= FLOW_TCP_ACK;
        if (p->ts_us >= f->hs_us)
            f->rtt_client_us = (uint32_t)(p->ts_us - f->hs_us);
    }
    if (fl & TCP_FIN)
        f->tcp |= dir == 0 ? FLOW_TCP_FIN_C : FLOW_TCP_FIN_S;
    if (fl & TCP_RST)
        f->tcp |= FLOW_TCP_RST;
    if (f->close_us == 0 &&
        ((f->tcp & FLOW_TCP_RST) ||
         (f->tcp & (FLOW_TCP_FIN_C | FLOW_TCP_FIN_S)) == (FLOW_TCP_FIN_C | FLOW_TCP_FIN_S)))
        f->close_us = p->ts_us;
}

void flow_update(flow *f, const packet *p, int side)
{
    int dir = flow_dir(f, side);

    if (f->pkts[0] + f->pkts[1] == 0)
        f->rec_first_us = p->ts_us;
    f->pkts[dir]++;
    f->bytes[dir] += p->wire_bytes;
    if (p->ts_us > f->last_us)
        f->last_us = p->ts_us;
    if (p->proto == 6 && (p->flags & PKT_F_HAS_TCP))
        flow_tcp(f, p, dir);
}

int flow_is_reopened(const flow *f, const packet *p)
{
    return f->close_us != 0 && p->proto == 6 && (p->flags & PKT_F_HAS_TCP) &&
           (p->tcp_flags & (TCP_SYN | TCP_ACK)) == TCP_SYN;
}

void flow_reset_record(flow *f)
{
    memset(f->pkts, 0, sizeof(f->pkts));
    memset(f->bytes, 0, sizeof(f->bytes));
}

flow_analysis *flow_analysis_get(flow *f)
{
    if (f->an == NULL)
        f->an = calloc(1, sizeof(*f->an));
    return f->an;
}

void flow_release(flow *f)
{
    free(f->an);
    f->an = NULL;
}
