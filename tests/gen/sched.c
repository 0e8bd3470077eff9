/* sched.c -- merges flows by time and writes them out.
 *
 * Flows enter through sched_add() and sit in a min-heap keyed by the time
 * of the next thing they do: write their next committed segment, or run
 * their step() to make more (bulk flows, spawners). Because a step only
 * runs once its earlier segments are written, the capture never holds more
 * than one step's worth of packets per live flow. Frames leave through the
 * pcap dumper; each flow's counters leave as a manifest row when it ends,
 * and the flow is freed there.
 */
#include <arpa/inet.h>
#include <inttypes.h>
#include <stdlib.h>

#include "gen.h"

static int heap_less(const struct gen_flow *a, const struct gen_flow *b)
{
    if (a->key != b->key)
        return a->key < b->key;
    return a->id < b->id;
}

static void heap_up(struct gen_heap *h, size_t i)
{
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (!heap_less(h->v[i], h->v[p]))
            break;
        struct gen_flow *t = h->v[i];
        h->v[i] = h->v[p];
        h->v[p] = t;
        i = p;
    }
}

static void heap_down(struct gen_heap *h, size_t i)
{
    for (;;) {
        size_t l = 2 * i + 1, m = i;
        if (l < h->n && heap_less(h->v[l], h->v[m]))
            m = l;
        if (l + 1 < h->n && heap_less(h->v[l + 1], h->v[m]))
            m = l + 1;
        if (m == i)
            return;
        struct gen_flow *t = h->v[i];
        h->v[i] = h->v[m];
        h->v[m] = t;
        i = m;
    }
}

static void flow_key(struct gen_flow *f)
{
    f->key = f->cur < f->ready ? f->seg[f->cur].t : f->timer;
}

int sched_add(struct gen *g, struct gen_flow *f)
{
    struct gen_heap *h = &g->heap;
    if (f->nseg > f->ready && flow_commit(g, f) < 0) {
        flow_free(f);
        return -1;
    }
    if (h->n == h->cap) {
        size_t c = h->cap ? h->cap * 2 : 64;
        struct gen_flow **v = realloc(h->v, c * sizeof(*v));
        if (!v) {
            flow_free(f);
            return gen_err(g, "out of memory");
        }
        h->v = v;
        h->cap = c;
    }
    flow_key(f);
    h->v[h->n++] = f;
    heap_up(h, h->n - 1);
    return 0;
}

static struct gen_flow *heap_pop(struct gen_heap *h)
{
    struct gen_flow *f = h->v[0];
    h->v[0] = h->v[--h->n];
    heap_down(h, 0);
    return f;
}

static int emit(struct gen *g, struct gen_flow *f, const struct gen_seg *s)
{
    uint32_t caplen, inner;
    uint32_t wire = pkt_render(g, f, s, &caplen, &inner);
    if (s->t < g->last_ts)
        return gen_err(g, "flow %u: packet at %" PRIu64 " before %" PRIu64, f->id, s->t,
                       g->last_ts);
    struct pcap_pkthdr h = {.caplen = caplen, .len = wire};
    h.ts.tv_sec = (time_t)(s->t / GEN_SEC);
    h.ts.tv_usec = (suseconds_t)(s->t % GEN_SEC);
    pcap_dump((u_char *)g->dump, &h, g->frame);
    g->last_ts = s->t;
    g->emitted++;
    f->pkts[s->dir]++;
    f->bytes[s->dir] += inner;
    if (f->first == UINT64_MAX)
        f->first = s->t;
    f->last = s->t;
    return 0;
}

/* One row per flow: what the capture holds (5-tuple, counts, times), then
 * what the generator modelled for it (the client's round trip from the
 * sensor and the extra way beyond a relaying client, app_reply), so tests
 * compare the sensor's measurements with the drawn values of any seed. */
int sched_manifest_header(struct gen *g)
{
    if (!g->manifest)
        return 0;
    fputs("proto\tsrc_ip\tsrc_port\tdst_ip\tdst_port\tvlan\tvni\tapp_hint\tsni_or_host\t"
          "pkts_c2s\tbytes_c2s\tpkts_s2c\tbytes_s2c\tfirst_us\tlast_us\trtt_c_us\textra_c_us\n",
          g->manifest);
    return 0;
}

static void addr_text(const struct gen_addr *a, char *out, size_t len)
{
    inet_ntop(a->v6 ? AF_INET6 : AF_INET, a->b, out, (socklen_t)len);
}

static void flow_done(struct gen *g, struct gen_flow *f)
{
    char src[64], dst[64];
    if (g->manifest && f->proto && f->first != UINT64_MAX) {
        addr_text(&f->ep[0].ip, src, sizeof(src));
        addr_text(&f->ep[1].ip, dst, sizeof(dst));
        fprintf(g->manifest,
                "%s\t%s\t%u\t%s\t%u\t%u\t%u\t%s\t%s\t%" PRIu64 "\t%" PRIu64 "\t%" PRIu64
                "\t%" PRIu64 "\t%" PRIu64 "\t%" PRIu64 "\t%u\t%u\n",
                f->proto == 6 ? "tcp" : "udp", src, f->ep[0].port, dst, f->ep[1].port, f->vlan,
                f->vni, f->app ? f->app : "-", f->host, f->pkts[0], f->bytes[0], f->pkts[1],
                f->bytes[1], f->first, f->last, f->rtt[GEN_C2S], f->extra[GEN_C2S]);
    }
    flow_free(f);
}

/* Runs the flow's step with the flow out of the heap, since a step may
 * add flows of its own. */
static int run_step(struct gen *g)
{
    struct gen_flow *f = heap_pop(&g->heap);
    flow_reset(f);
    if (!f->step) {
        flow_done(g, f);
        return 0;
    }
    int rc = f->step(g, f);
    if (rc < 0) {
        flow_free(f);
        return -1;
    }
    if (rc == 0)
        f->step = NULL;
    if (f->timer < g->last_ts)
        f->timer = g->last_ts;
    return sched_add(g, f);
}

int sched_run(struct gen *g)
{
    while (g->heap.n) {
        struct gen_flow *f = g->heap.v[0];
        if (f->cur < f->ready) {
            if (emit(g, f, &f->seg[f->cur++]) < 0)
                return -1;
            flow_key(f);
            heap_down(&g->heap, 0);
        } else if (run_step(g) < 0) {
            return -1;
        }
    }
    return 0;
}

void sched_free(struct gen *g)
{
    while (g->heap.n)
        flow_free(g->heap.v[--g->heap.n]);
    free(g->heap.v);
    g->heap.v = NULL;
    g->heap.cap = 0;
}
