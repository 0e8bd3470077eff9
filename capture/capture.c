/* capture.c -- the capture thread (see capture.h).
 *
 * Per packet: read, decode, count, pick a worker, copy into its ring. That
 * is all this thread does, because it is the one part of the sensor that
 * cannot be spread over cores; everything per flow happens in the workers.
 */
#include "capture.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#include "base/counters.h"
#include "base/stats.h"
#include "base/wire_json.h"
#include "flow_key.h"

#define CAPTURE_TICK_US  1000000u
#define CAPTURE_RETRY_MS 1000 /* --wait-interface: between attempts to reopen */

struct capture {
    capture_config cfg; /* strings borrowed from the caller */
    ring **rings;
    unsigned nrings;
    size_t max_copy; /* packet bytes that fit in a ring record */
    decoder *dec;
    source *live;
    source *pre[CAPTURE_PREOPEN];   /* files opened by capture_new() */
    char *pre_err[CAPTURE_PREOPEN]; /* or why they could not be */
    uint64_t kbase[3];              /* kernel counters of live handles closed before */
    _Atomic int stop;
    capture_stats stats;
    uint64_t clock_us;
    uint64_t last_tick_us;
    int failed;
    capture_report_fn report;
    void *report_ctx;
};

capture *capture_new(const capture_config *cfg, ring **rings, unsigned nrings, char *err,
                     size_t errlen)
{
    capture *c = calloc(1, sizeof(*c));

    if (c == NULL || (c->dec = decode_new(&cfg->decode)) == NULL) {
        snprintf(err, errlen, "out of memory");
        free(c);
        return NULL;
    }
    c->cfg = *cfg;
    c->rings = rings;
    c->nrings = nrings;
    c->max_copy = ring_max_record(rings[0]) - sizeof(capture_rec);
    for (unsigned i = 1; i < nrings; i++)
        if (ring_max_record(rings[i]) - sizeof(capture_rec) < c->max_copy)
            c->max_copy = ring_max_record(rings[i]) - sizeof(capture_rec);
    if (cfg->interface) {
        c->live = source_open_live(cfg->interface, cfg->filter, &cfg->live, err, errlen);
        if (c->live == NULL || decode_set_linktype(c->dec, source_linktype(c->live)) != 0) {
            if (c->live)
                snprintf(err, errlen, "%s: unsupported link type %d", cfg->interface,
                         source_linktype(c->live));
            capture_free(c);
            return NULL;
        }
    }
    for (int i = 0; i < cfg->nfiles && i < CAPTURE_PREOPEN; i++) {
        char ferr[1024];
        if ((c->pre[i] = source_open_file(cfg->files[i], cfg->filter, ferr, sizeof(ferr))) ==
                NULL &&
            (c->pre_err[i] = strdup(ferr)) == NULL) {
            snprintf(err, errlen, "out of memory");
            capture_free(c);
            return NULL;
        }
    }
    return c;
}

void capture_free(capture *c)
{
    if (c == NULL)
        return;
    source_close(c->live);
    for (int i = 0; i < CAPTURE_PREOPEN; i++) {
        source_close(c->pre[i]);
        free(c->pre_err[i]);
    }
    decode_free(c->dec);
    free(c);
}

void capture_stop(capture *c)
{
    atomic_store(&c->stop, 1);
}

const capture_stats *capture_get_stats(const capture *c)
{
    return &c->stats;
}

static void capture_fail(capture *c, const char *msg)
{
    c->failed = 1;
    STAT_ADD(c->stats.source_errors, 1);
    c->report(c->report_ctx, msg);
}

/* Sends a control record to every worker. Control records always wait for
 * room: a worker that missed the end record would never finish. */
static void capture_broadcast(capture *c, uint32_t kind)
{
    for (unsigned i = 0; i < c->nrings; i++) {
        capture_rec *r = ring_reserve(c->rings[i], sizeof(*r), 1);
        memset(r, 0, sizeof(*r));
        r->kind = kind;
        r->now_us = c->clock_us;
        ring_commit(c->rings[i]);
        ring_flush(c->rings[i]);
    }
}

static void capture_refresh_kernel(capture *c)
{
    uint64_t recv, drop, ifdrop;

    if (c->live && source_kernel_stats(c->live, &recv, &drop, &ifdrop) == 0) {
        STAT_SET(c->stats.kernel_recv, c->kbase[0] + recv);
        STAT_SET(c->stats.kernel_drops, c->kbase[1] + drop);
        STAT_SET(c->stats.kernel_ifdrops, c->kbase[2] + ifdrop);
    }
}

static void capture_advance(capture *c, uint64_t ts_us)
{
    if (ts_us <= c->clock_us)
        return;
    c->clock_us = ts_us;
    STAT_SET(c->stats.clock_us, ts_us);
    if (c->clock_us - c->last_tick_us >= CAPTURE_TICK_US) {
        c->last_tick_us = c->clock_us;
        capture_broadcast(c, CAPTURE_REC_TICK);
        capture_refresh_kernel(c);
    }
}

/* The addresses must be the packet's last fields (padding aside) for the
 * block before them to be all the rest. */
_Static_assert(offsetof(packet, dst) == offsetof(packet, src) + sizeof(pkt_addr) &&
                   sizeof(packet) - offsetof(packet, dst) - sizeof(pkt_addr) < 8,
               "packet: src and dst must come last");

void capture_rec_fill(capture_rec *rec, const packet *p, size_t n, uint64_t now_us)
{
    rec->now_us = now_us;
    rec->kind = CAPTURE_REC_PACKET;
    rec->caplen = (uint32_t)n;
    rec->ts_us = p->ts_us;
    rec->wirelen = p->wirelen;
    memcpy(rec->fields, (const char *)p + offsetof(packet, sport), sizeof(rec->fields));
    memcpy(rec->bytes, p->data + p->l3_off, n);
}

void capture_rec_packet(const capture_rec *rec, packet *p)
{
    const uint8_t *ip = rec->bytes;
    uint32_t l3, n = rec->caplen;

    p->ts_us = rec->ts_us;
    p->caplen = n;
    p->wirelen = rec->wirelen;
    p->data = ip;
    memcpy((char *)p + offsetof(packet, sport), rec->fields, sizeof(rec->fields));
    /* the offsets were the frame's; the bytes start at the inner IP header */
    l3 = p->l3_off;
    p->l3_off = 0;
    p->l4_off = p->l4_off ? p->l4_off - l3 : 0;
    p->payload_off = p->payload_off >= l3 ? p->payload_off - l3 : 0;
    if (p->payload_off + p->payload_caplen > n)
        p->payload_caplen = p->payload_off < n ? n - p->payload_off : 0;
    /* where decode_ip.c read them; the decoder checked the header fits */
    if (p->ip_version == 4) {
        pkt_addr_from_v4(&p->src, ip + 12);
        pkt_addr_from_v4(&p->dst, ip + 16);
    } else {
        memcpy(p->src.b, ip + 8, 16);
        memcpy(p->dst.b, ip + 24, 16);
    }
}

/* Copies a decoded packet into its worker's ring, from the inner IP header
 * on: workers need nothing of the outer layers. */
static void capture_enqueue(capture *c, const packet *p)
{
    ring *r = c->rings[c->nrings > 1 ? flow_key_shard(p, c->nrings) : 0];
    size_t n = p->caplen - p->l3_off;

    if (n > c->max_copy) {
        n = c->max_copy;
        STAT_ADD(c->stats.oversize, 1);
    }
    capture_rec *rec = ring_reserve(r, sizeof(*rec) + n, c->live == NULL);
    if (rec == NULL) {
        STAT_ADD(c->stats.queue_drops, 1);
        return;
    }
    capture_rec_fill(rec, p, n, c->clock_us);
    ring_commit(r);
    STAT_ADD(c->stats.decoded, 1);
}

static void capture_packet(capture *c, packet *p)
{
    STAT_ADD(c->stats.packets, 1);
    STAT_ADD(c->stats.bytes, p->wirelen);
    capture_advance(c, p->ts_us);
    int res = decode_packet(c->dec, p);
    STAT_ADD(c->stats.results[res], 1);
    if (res != DECODE_OK)
        return;
    if (p->flags & PKT_F_LEN_CLIPPED)
        STAT_ADD(c->stats.len_clipped, 1);
    capture_enqueue(c, p);
}

static uint64_t capture_wall_us(void)
{
    struct timeval tv;
    gettimeofday(&tv, NULL);
    return (uint64_t)tv.tv_sec * 1000000u + (uint64_t)tv.tv_usec;
}

/* Reads one source to its end. Returns 0 at the end, -1 after an error. */
static int capture_source(capture *c, source *s)
{
    packet p;

    memset(&p, 0, sizeof(p));
    STAT_SET(c->stats.file_offset, 0);
    for (uint64_t n = 1; !atomic_load_explicit(&c->stop, memory_order_relaxed); n++) {
        int rc = source_next(s, &p);
        if (rc == SOURCE_PACKET) {
            capture_packet(c, &p);
            /* for the progress line: cheap enough every few thousand packets */
            if ((n & 4095) == 0 && source_offset(s) >= 0)
                STAT_SET(c->stats.file_offset, (uint64_t)source_offset(s));
        } else if (rc == SOURCE_TIMEOUT) {
            for (unsigned i = 0; i < c->nrings; i++)
                ring_flush(c->rings[i]);
            capture_advance(c, capture_wall_us());
        } else if (rc == SOURCE_END) {
            return 0;
        } else if (atomic_load(&c->stop)) {
            return 0; /* a read interrupted by the stop request: the end */
        } else {
            /* --wait-interface: capture_live() reports it and waits */
            if (!(source_is_live(s) && c->cfg.wait_interface))
                capture_fail(c, source_error(s));
            return -1;
        }
    }
    return 0;
}

/* File i: the handle capture_new() opened, or opened now. */
static void capture_file(capture *c, int i)
{
    char err[1024];
    source *s;

    if (i < CAPTURE_PREOPEN) {
        s = c->pre[i];
        c->pre[i] = NULL;
        if (s == NULL)
            snprintf(err, sizeof(err), "%s", c->pre_err[i]);
    } else {
        s = source_open_file(c->cfg.files[i], c->cfg.filter, err, sizeof(err));
    }
    if (s == NULL) {
        capture_fail(c, err);
        return;
    }
    if (decode_set_linktype(c->dec, source_linktype(s)) != 0) {
        snprintf(err, sizeof(err), "%s: unsupported link type %d", source_name(s),
                 source_linktype(s));
        capture_fail(c, err);
    } else {
        capture_source(c, s);
        STAT_ADD(c->stats.files_done, 1);
    }
    source_close(s);
}

/* Sleeps ms in short naps, ticking with wall time; 0, or -1 when asked to
 * stop. */
static int capture_idle(capture *c, int ms)
{
    struct timespec nap = {0, 100 * 1000 * 1000};

    for (int t = 0; t < ms; t += 100) {
        if (atomic_load(&c->stop))
            return -1;
        nanosleep(&nap, NULL);
        for (unsigned i = 0; i < c->nrings; i++)
            ring_flush(c->rings[i]);
        capture_advance(c, capture_wall_us());
    }
    return atomic_load(&c->stop) ? -1 : 0;
}

/* --wait-interface: the live handle failed; closes it and reopens the
 * interface until it is back. Returns 0 with c->live open again, or -1
 * when stopped first. Only the first failure of each attempt is reported,
 * not one line a second. */
static int capture_reopen(capture *c)
{
    const char *iface = c->cfg.interface;
    const int linktype_was = source_linktype(c->live);
    char err[1024], msg[1200];
    int reported = 0;

    capture_refresh_kernel(c);
    c->kbase[0] = STAT_GET(c->stats.kernel_recv);
    c->kbase[1] = STAT_GET(c->stats.kernel_drops);
    c->kbase[2] = STAT_GET(c->stats.kernel_ifdrops);
    source_close(c->live);
    c->live = NULL;
    while (capture_idle(c, CAPTURE_RETRY_MS) == 0) {
        source *s = source_open_live(iface, c->cfg.filter, &c->cfg.live, err, sizeof(err));
        if (s && source_linktype(s) == linktype_was) {
            c->live = s;
            snprintf(msg, sizeof(msg), "%s: capture resumed", iface);
            c->report(c->report_ctx, msg);
            return 0;
        }
        if (s)
            snprintf(err, sizeof(err), "%s: came back with another link type (%d)", iface,
                     source_linktype(s));
        source_close(s);
        if (!reported++) {
            snprintf(msg, sizeof(msg), "%s; still waiting", err);
            c->report(c->report_ctx, msg);
        }
    }
    return -1;
}

/* The live interface to its end: a failure ends it, or with
 * --wait-interface is reported and waited out. */
static void capture_live(capture *c)
{
    char msg[1200];

    while (capture_source(c, c->live) != 0 && c->cfg.wait_interface) {
        snprintf(msg, sizeof(msg), "%s; waiting for %s to come back (--wait-interface)",
                 source_error(c->live), c->cfg.interface);
        c->report(c->report_ctx, msg);
        STAT_ADD(c->stats.source_errors, 1);
        if (capture_reopen(c) != 0)
            return;
    }
}

int capture_run(capture *c, capture_report_fn report, void *ctx)
{
    c->report = report;
    c->report_ctx = ctx;
    if (c->live) {
        capture_live(c);
        if (c->live)
            capture_refresh_kernel(c);
    } else {
        for (int i = 0; i < c->cfg.nfiles && !atomic_load(&c->stop); i++)
            capture_file(c, i);
    }
    capture_broadcast(c, CAPTURE_REC_END);
    for (unsigned i = 0; i < c->nrings; i++)
        ring_close(c->rings[i]);
    return c->failed;
}

uint64_t capture_drop_reasons(const capture_stats *cs, json_t *reasons)
{
    uint64_t total = 0;

    for (int r = 0; r < DECODE_NRESULTS; r++) {
        uint64_t n = STAT_GET(cs->results[r]);
        if (n && decode_result_is_malformed(r)) {
            json_object_set_new(reasons, decode_result_name(r), json_integer((json_int_t)n));
            total += n;
        }
    }
    const struct {
        const char *name;
        uint64_t n;
    } extra[] = {
        {"queue_full", STAT_GET(cs->queue_drops)},
        {"kernel", STAT_GET(cs->kernel_drops)},
        {"interface", STAT_GET(cs->kernel_ifdrops)},
    };
    for (size_t i = 0; i < sizeof(extra) / sizeof(extra[0]); i++) {
        if (extra[i].n) {
            json_object_set_new(reasons, extra[i].name, json_integer((json_int_t)extra[i].n));
            total += extra[i].n;
        }
    }
    return total;
}

void capture_stats_describe(const capture_stats *cs, json_t *o)
{
    uint64_t clock = STAT_GET(cs->clock_us);
    json_t *reasons = json_object();

    json_object_set_new(o, "clock", clock ? wjson_time(clock) : json_null());
    counters_add(o, "packets", STAT_GET(cs->packets));
    counters_add(o, "bytes", STAT_GET(cs->bytes));
    counters_add(o, "decoded", STAT_GET(cs->decoded));
    counters_add(o, "ignored_non_ip", STAT_GET(cs->results[DECODE_NON_IP]));
    counters_add(o, "drops", capture_drop_reasons(cs, reasons));
    json_object_set_new(o, "drop_reasons", reasons);
    counters_add(o, "truncated_copies", STAT_GET(cs->oversize));
    counters_add(o, "ip_length_clipped", STAT_GET(cs->len_clipped));
}
