/* flow.c -- one TCP or UDP flow as the sensor sees it, and the TCP model.
 *
 * Scripts describe a conversation as segments in sensor time (tcp_open,
 * tcp_send, tcp_close, ...): only who sends what and when. flow_commit()
 * then sorts the new segments by time and derives everything TCP keeps
 * consistent: sequence numbers in sending order, and ACKs from the rule
 * that side X, sending at sensor time t, has received whatever the other
 * side put on the wire at or before t - rtt[X] (rtt[X] is the round trip
 * between the sensor and X). Timestamps options follow the same rule.
 *
 * The flow owns its segment array, its payload arena and its step state;
 * flow_free() releases all of them.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "gen.h"

static void *xgrow(void *p, size_t *cap, size_t need, size_t size)
{
    size_t c = *cap ? *cap : 16;
    while (c < need)
        c *= 2;
    if (c == *cap)
        return p;
    void *q = realloc(p, c * size);
    if (!q) {
        fputs("lhgen: out of memory\n", stderr);
        exit(1);
    }
    *cap = c;
    return q;
}

static uint32_t flow_hash(const struct gen_ep *a, const struct gen_ep *b)
{
    uint32_t h = 2166136261u;
    for (int i = 0; i < 16; i++)
        h = (h ^ (uint32_t)(a->ip.b[i] + 3 * b->ip.b[i])) * 16777619u;
    h = (h ^ a->port) * 16777619u;
    return (h ^ b->port) * 16777619u;
}

struct gen_flow *flow_new(struct gen *g, uint8_t proto, const struct gen_ep *cli,
                          const struct gen_ep *srv, const char *app, const char *host)
{
    struct gen_flow *f = calloc(1, sizeof(*f));
    if (!f) {
        fputs("lhgen: out of memory\n", stderr);
        exit(1);
    }
    f->ep[GEN_C2S] = *cli;
    f->ep[GEN_S2C] = *srv;
    f->proto = proto;
    f->vlan = g->vlan;
    f->vni = g->vni;
    f->app = app;
    snprintf(f->host, sizeof(f->host), "%s", host && *host ? host : "-");
    f->hash = flow_hash(cli, srv);
    f->id = g->next_id++;
    f->mss = cli->ip.v6 ? 1428 : 1448;
    f->gap = 12;
    f->rtt[0] = f->rtt[1] = 1000;
    for (int d = 0; d < 2; d++) {
        f->nxt[d] = (uint32_t)gen_rand(&g->rng);
        f->tsbase[d] = (uint32_t)gen_rand(&g->rng);
        f->win[d] = (uint16_t)gen_range(&g->rng, 501, 1024);
        f->ipid[d] = (uint16_t)gen_rand(&g->rng);
    }
    f->first = UINT64_MAX;
    return f;
}

void flow_free(struct gen_flow *f)
{
    if (!f)
        return;
    free(f->sent[0].v);
    free(f->sent[1].v);
    free(f->seg);
    free(f->buf);
    free(f->st);
    free(f);
}

void flow_rtt(struct gen_flow *f, uint32_t client_us, uint32_t server_us)
{
    f->rtt[GEN_C2S] = client_us;
    f->rtt[GEN_S2C] = server_us;
}

/* Copies payload bytes into the arena; segments refer to them by offset
 * because the arena moves as it grows. */
uint32_t flow_put(struct gen_flow *f, const void *data, size_t len)
{
    f->buf = xgrow(f->buf, &f->bcap, f->blen + len + 1, 1);
    memcpy(f->buf + f->blen, data, len);
    f->blen += len;
    return (uint32_t)(f->blen - len);
}

/* The returned pointer is valid until the next flow_seg() call. */
struct gen_seg *flow_seg(struct gen_flow *f, uint64_t t, int dir, uint8_t flags)
{
    f->seg = xgrow(f->seg, &f->cap, f->nseg + 1, sizeof(*f->seg));
    struct gen_seg *s = &f->seg[f->nseg++];
    memset(s, 0, sizeof(*s));
    s->t = t;
    s->dir = (uint8_t)dir;
    s->flags = flags;
    s->order = f->order++;
    return s;
}

/* Called once everything pending has been written. */
void flow_reset(struct gen_flow *f)
{
    f->nseg = f->cur = f->ready = 0;
    f->blen = 0;
}

/* Side `dir` of f delays what it sends by a random amount: `link` on
 * every reply (a cellular queue, a relay that holds every packet), `beyond`
 * on dependent replies only (a relay further back that does so). The
 * draws come from the flow's own generator, seeded here, so a flow without
 * jitter draws nothing and scenarios without it stay as they were. */
void flow_jitter(struct gen *g, struct gen_flow *f, int dir, const struct gen_jitter *link,
                 const struct gen_jitter *beyond)
{
    static const struct gen_jitter none = {GEN_JIT_NONE, 0, 0};
    f->jit[dir] = link ? *link : none;
    f->jit_app[dir] = beyond ? *beyond : none;
    f->jrng.s = gen_rand(&g->rng);
}

static uint64_t jitter(struct gen_flow *f, const struct gen_jitter *j)
{
    if (j->kind == GEN_JIT_UNIFORM)
        return gen_range(&f->jrng, j->a, j->b);
    if (j->kind != GEN_JIT_EXP)
        return 0;
    double u = (double)(gen_rand(&f->jrng) >> 11) / 9007199254740992.0; /* [0, 1) */
    double v = -(double)j->a * log(1.0 - u);
    return v > j->b ? j->b : (uint64_t)v;
}

/* When side `dir` answers at the earliest what reached the sensor at t:
 * the base round trip to it, plus what its link adds this time. The TCP
 * model (tcp_learn) counts arrival by the base round trip, so an answer
 * always acknowledges what it answers. */
uint64_t tcp_reply(struct gen_flow *f, int dir, uint64_t t)
{
    return t + f->rtt[dir] + jitter(f, &f->jit[dir]);
}

/* When side `dir` can send something that needs what reached the sensor
 * at t: the TCP round trip to that side, plus the way beyond it when that
 * side is a relay (its TCP stack ACKs at rtt[dir], the person behind it
 * answers extra[dir] later), each with its jitter. Equal to tcp_reply()
 * without a relay. */
uint64_t app_reply(struct gen_flow *f, int dir, uint64_t t)
{
    uint64_t j = jitter(f, &f->jit[dir]);
    return t + f->rtt[dir] + f->extra[dir] + j + jitter(f, &f->jit_app[dir]);
}

uint64_t tcp_open(struct gen_flow *f, uint64_t t)
{
    flow_seg(f, t, GEN_C2S, TCP_SYN);
    t = tcp_reply(f, GEN_S2C, t);
    flow_seg(f, t, GEN_S2C, TCP_SYN);
    t = tcp_reply(f, GEN_C2S, t);
    flow_seg(f, t, GEN_C2S, 0);
    return t;
}

/* MSS-sized segments back to back; the receiver ACKs every second one and
 * the last (Linux's delayed ACK under a stream). Returns the time of the
 * last segment. */
static uint64_t send_segs(struct gen_flow *f, int dir, uint64_t t, size_t len, uint32_t off,
                          struct gen_rng *r)
{
    size_t done = 0;
    for (int k = 0; done < len; k++) {
        size_t n = len - done < f->mss ? len - done : f->mss;
        int last = done + n == len;
        struct gen_seg *s = flow_seg(f, t, dir, last ? TCP_PSH : 0);
        s->len = (uint32_t)n;
        s->filler = r != NULL;
        s->off = r ? (gen_range(r, 0, GEN_POOL - 1) & ~1u) : off + (uint32_t)done;
        if ((k & 1) || (last && k > 0))
            flow_seg(f, tcp_reply(f, !dir, t), !dir, 0);
        done += n;
        if (!last)
            t += f->gap;
    }
    return t;
}

uint64_t tcp_send(struct gen_flow *f, int dir, uint64_t t, const void *data, size_t len)
{
    return send_segs(f, dir, t, len, flow_put(f, data, len), NULL);
}

/* Like tcp_send with incompressible filler bytes that are not stored. */
uint64_t tcp_fill(struct gen_flow *f, struct gen_rng *r, int dir, uint64_t t, size_t len)
{
    return send_segs(f, dir, t, len, 0, r);
}

uint64_t tcp_close(struct gen_flow *f, int dir, uint64_t t)
{
    flow_seg(f, t, dir, TCP_FIN);
    t = tcp_reply(f, !dir, t);
    flow_seg(f, t, !dir, TCP_FIN);
    t = tcp_reply(f, dir, t);
    flow_seg(f, t, dir, 0);
    return t;
}

void tcp_ack(struct gen_flow *f, int dir, uint64_t t)
{
    flow_seg(f, t, dir, 0);
}

void tcp_rst(struct gen_flow *f, int dir, uint64_t t)
{
    flow_seg(f, t, dir, TCP_RST);
}

void udp_send(struct gen_flow *f, int dir, uint64_t t, const void *data, size_t len)
{
    uint32_t off = flow_put(f, data, len);
    struct gen_seg *s = flow_seg(f, t, dir, 0);
    s->off = off;
    s->len = (uint32_t)len;
}

static int seg_cmp(const void *a, const void *b)
{
    const struct gen_seg *x = a, *y = b;
    if (x->t != y->t)
        return x->t < y->t ? -1 : 1;
    return x->order < y->order ? -1 : x->order > y->order;
}

/* Everything the peer put on the wire by t - rtt[dir] has reached `dir`. */
static void tcp_learn(struct gen_flow *f, int dir, uint64_t t)
{
    struct gen_sentlog *l = &f->sent[!dir];
    while (l->head < l->n && l->v[l->head].t + f->rtt[dir] <= t) {
        f->ackv[dir] = l->v[l->head].end;
        f->tsecr[dir] = l->v[l->head].tsval;
        f->acked[dir] = 1;
        l->head++;
    }
    if (l->head > 1024 && l->head * 2 > l->n) {
        memmove(l->v, l->v + l->head, (l->n - l->head) * sizeof(*l->v));
        l->n -= l->head;
        l->head = 0;
    }
}

static void tcp_number(struct gen_flow *f, struct gen_seg *s)
{
    int d = s->dir;
    tcp_learn(f, d, s->t);
    s->seq = f->nxt[d];
    s->ack = f->acked[d] ? f->ackv[d] : 0;
    if (f->acked[d])
        s->flags |= TCP_ACK;
    s->tsval = f->tsbase[d] + (uint32_t)(s->t / 1000);
    s->tsecr = f->acked[d] ? f->tsecr[d] : 0;
    s->win = (s->flags & TCP_SYN) ? 64240 : f->win[d];
    if (s->flags & TCP_RST)
        s->win = 0;
    f->nxt[d] += s->len + !!(s->flags & TCP_SYN) + !!(s->flags & TCP_FIN);
    struct gen_sentlog *l = &f->sent[d];
    l->v = xgrow(l->v, &l->cap, l->n + 1, sizeof(*l->v));
    l->v[l->n++] = (struct gen_sent){s->t, f->nxt[d], s->tsval};
}

/* Makes the segments added since the last commit ready for writing. They
 * must not be earlier than anything already written for this flow. */
int flow_commit(struct gen *g, struct gen_flow *f)
{
    struct gen_seg *v = f->seg + f->ready;
    size_t n = f->nseg - f->ready;
    qsort(v, n, sizeof(*v), seg_cmp);
    if (n && f->ready && v[0].t < f->seg[f->ready - 1].t)
        return gen_err(g, "flow %u: segments out of order", f->id);
    if (f->proto == 6)
        for (size_t i = 0; i < n; i++)
            tcp_number(f, &v[i]);
    f->ready = f->nseg;
    return 0;
}
