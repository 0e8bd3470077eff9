/* dpi.c -- nDPI on the first packets of each flow (see dpi.h).
 *
 * When inspection stops: nDPI 4.2 keeps dissecting after it has named the
 * application while more metadata may come (the TLS certificate, the HTTP
 * response, the DNS answer, the SSH key exchange); ndpi_extra_dissection_
 * possible() says when that is over. We follow ndpiReader 4.2's rule so
 * that classifications match its reference output: stop when the
 * application is known and no extra dissection is possible, or when the
 * flow has had 80 (TCP) or 24 (UDP and others) packets; a flow that ends
 * while still unknown gets nDPI's port/address guess.
 */
#include "dpi.h"

#include <ndpi_api.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/counters.h"
#include "base/stats.h"

#define DPI_MAX_TCP_PKTS   80
#define DPI_MAX_OTHER_PKTS 24

#define DPI_NDPI_AT_LEAST(maj, min)                                                                \
    (NDPI_MAJOR > (maj) || (NDPI_MAJOR == (maj) && NDPI_MINOR >= (min)))

/* ndpi_protocol moved its ids into `.proto` in 4.11. */
#if DPI_NDPI_AT_LEAST(4, 11)
#define DPI_MASTER(p) ((p).proto.master_protocol)
#define DPI_APPID(p)  ((p).proto.app_protocol)
#else
#define DPI_MASTER(p) ((p).master_protocol)
#define DPI_APPID(p)  ((p).app_protocol)
#endif

/* nDPI's name of a (master, app) pair, kept: ndpi_protocol2name()
 * formats it with snprintf() (about 700 instructions) for every flow that
 * ends, and a capture holds a few dozen distinct pairs. */
#define DPI_NAME_BITS 6

typedef struct dpi_name {
    uint32_t key; /* master << 16 | app */
    uint8_t used;
    char name[64];
} dpi_name;

struct dpi {
    struct ndpi_detection_module_struct *mod;
    dpi_stats stats;
    dpi_name names[1 << DPI_NAME_BITS]; /* direct-mapped by the pair */
};

dpi *dpi_new(char *err, size_t errlen)
{
    dpi *d = calloc(1, sizeof(*d));
    NDPI_PROTOCOL_BITMASK all;

    if (d == NULL) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
#if DPI_NDPI_AT_LEAST(4, 10)
    d->mod = ndpi_init_detection_module(NULL);
#else
    d->mod = ndpi_init_detection_module(ndpi_no_prefs);
#endif
    if (d->mod == NULL) {
        snprintf(err, errlen, "cannot initialise nDPI %s", ndpi_revision());
        free(d);
        return NULL;
    }
    NDPI_BITMASK_SET_ALL(all);
    ndpi_set_protocol_detection_bitmask2(d->mod, &all);
    ndpi_finalize_initialization(d->mod);
    return d;
}

void dpi_drop_module(dpi *d)
{
    if (d != NULL && d->mod != NULL) {
        ndpi_exit_detection_module(d->mod);
        d->mod = NULL;
    }
}

void dpi_free(dpi *d)
{
    if (d == NULL)
        return;
    dpi_drop_module(d);
    free(d);
}

const dpi_stats *dpi_get_stats(const dpi *d)
{
    return &d->stats;
}

const char *dpi_fact(const dpi_facts *f, int which)
{
    if (f == NULL || which < 0 || which >= DPI_NFACTS || f->off[which] == DPI_ABSENT)
        return NULL;
    return f->text + f->off[which];
}

static ndpi_protocol dpi_process(dpi *d, flow *f, const packet *p)
{
    unsigned len = p->caplen > 0xffff ? 0xffff : p->caplen;
    uint64_t ms = p->ts_us / 1000;
#if DPI_NDPI_AT_LEAST(4, 6)
    return ndpi_detection_process_packet(d->mod, f->an->ndpi, p->data + p->l3_off,
                                         (unsigned short)len, ms, NULL);
#else
    return ndpi_detection_process_packet(d->mod, f->an->ndpi, p->data + p->l3_off,
                                         (unsigned short)len, ms);
#endif
}

static ndpi_protocol dpi_giveup(dpi *d, flow *f)
{
#if DPI_NDPI_AT_LEAST(4, 10)
    return ndpi_detection_giveup(d->mod, f->an->ndpi, NULL);
#else
    u_int8_t guessed = 0;
    return ndpi_detection_giveup(d->mod, f->an->ndpi, 1, &guessed);
#endif
}

static void dpi_set_verdict(dpi *d, flow *f, ndpi_protocol proto)
{
    f->proto_master = DPI_MASTER(proto);
    f->proto_app = DPI_APPID(proto);
    f->proto_category = (uint16_t)ndpi_get_proto_category(d->mod, proto);
}

static int dpi_is(const flow *f, uint16_t id);
static int dpi_is_tls(const flow *f);

/* ndpi_protocol2name() of (master, app), from d->names when it is there. */
static const char *dpi_app_name(dpi *d, uint16_t master, uint16_t app)
{
    uint32_t key = (uint32_t)master << 16 | app;
    dpi_name *e = &d->names[(key * 2654435761u) >> (32 - DPI_NAME_BITS)];

    if (!e->used || e->key != key) {
        ndpi_protocol pr;
        memset(&pr, 0, sizeof(pr));
        DPI_MASTER(pr) = master;
        DPI_APPID(pr) = app;
        ndpi_protocol2name(d->mod, pr, e->name, sizeof(e->name));
        e->key = key;
        e->used = 1;
    }
    return e->name;
}

/* 1 when nDPI has given every fact the sensor keeps, even if it could go
 * on (the TLS certificate, the HTTP response and the SSH key exchange are
 * of no use here; a DNS answer can still refine the application, so DNS
 * runs its course). Stopping there spares about a third of
 * the packets inspected on the nDPI test captures, with the same
 * classification (the corpus test checks it). */
static int dpi_has_facts(const flow *f)
{
    const struct ndpi_flow_struct *n = f->an->ndpi;

    if (dpi_is_tls(f))
        return n->host_server_name[0] != 0 && n->protos.tls_quic.ja3_client[0] != 0;
    if (dpi_is(f, NDPI_PROTOCOL_SSH))
        return n->protos.ssh.client_signature[0] && n->protos.ssh.server_signature[0];
    if (dpi_is(f, NDPI_PROTOCOL_HTTP))
        return n->host_server_name[0] != 0 && n->http.url != NULL;
    return 0;
}

int dpi_packet(dpi *d, flow *f, const packet *p)
{
    if (f->dpi_state == FLOW_DPI_DONE)
        return 1;
    if (p->flags & PKT_F_FRAG_LATER)
        return 0; /* nDPI ignores them: no L4 header */
    flow_analysis *a = flow_analysis_get(f);
    if (a == NULL) {
        f->dpi_state = FLOW_DPI_DONE; /* out of memory: inspection is skipped, the flow counted */
        return 1;
    }
    if (a->ndpi == NULL) {
        a->ndpi = calloc(1, SIZEOF_FLOW_STRUCT);
        if (a->ndpi == NULL) {
            f->dpi_state = FLOW_DPI_DONE; /* inspection is skipped, the flow counted */
            return 1;
        }
        STAT_ADD(d->stats.flows_inspected, 1);
    }
    STAT_ADD(d->stats.packets, 1);
    f->dpi_pkts++;
    dpi_set_verdict(d, f, dpi_process(d, f, p));
    int budget = f->key.proto == 6 ? DPI_MAX_TCP_PKTS : DPI_MAX_OTHER_PKTS;
    int enough = f->dpi_pkts > budget;
    if ((f->proto_app != NDPI_PROTOCOL_UNKNOWN || enough) &&
        (enough || dpi_has_facts(f) || !ndpi_extra_dissection_possible(d->mod, f->an->ndpi))) {
        dpi_finish(d, f);
        return 1;
    }
    return 0;
}

/* Strings kept per fact, at most this long: nDPI's own buffers are shorter
 * for everything but URLs and user agents. */
#define DPI_FACT_MAX 512

typedef struct dpi_builder {
    const char *s[DPI_NFACTS];
} dpi_builder;

static int dpi_is(const flow *f, uint16_t id)
{
    return f->proto_master == id || f->proto_app == id;
}

static int dpi_is_tls(const flow *f)
{
    return dpi_is(f, NDPI_PROTOCOL_TLS) || dpi_is(f, NDPI_PROTOCOL_DTLS) ||
           dpi_is(f, NDPI_PROTOCOL_QUIC) || dpi_is(f, NDPI_PROTOCOL_MAIL_SMTPS) ||
           dpi_is(f, NDPI_PROTOCOL_MAIL_IMAPS) || dpi_is(f, NDPI_PROTOCOL_MAIL_POPS);
}

static const char *dpi_nonempty(const char *s)
{
    return s != NULL && s[0] != '\0' ? s : NULL;
}

/* Picks the facts out of nDPI's flow state. `protos` is a union: only the
 * member of the detected protocol is read. */
static void dpi_collect(const flow *f, dpi_builder *b)
{
    const struct ndpi_flow_struct *n = f->an->ndpi;
    const char *name = dpi_nonempty((const char *)n->host_server_name);

    if (dpi_is_tls(f)) {
        b->s[DPI_SNI] = name;
        b->s[DPI_JA3C] = dpi_nonempty(n->protos.tls_quic.ja3_client);
    } else if (dpi_is(f, NDPI_PROTOCOL_DNS)) {
        b->s[DPI_DNS_QUERY] = name;
    } else if (dpi_is(f, NDPI_PROTOCOL_SSH)) {
        b->s[DPI_SSH_CLIENT] = dpi_nonempty(n->protos.ssh.client_signature);
        b->s[DPI_SSH_SERVER] = dpi_nonempty(n->protos.ssh.server_signature);
    } else {
        b->s[DPI_HOST] = name;
    }
    if (dpi_is(f, NDPI_PROTOCOL_HTTP) || dpi_is(f, NDPI_PROTOCOL_HTTP_CONNECT) ||
        dpi_is(f, NDPI_PROTOCOL_HTTP_PROXY)) {
        b->s[DPI_URL] = dpi_nonempty(n->http.url);
        b->s[DPI_USER_AGENT] = dpi_nonempty(n->http.user_agent);
    }
}

static dpi_facts *dpi_build(const dpi_builder *b)
{
    size_t len[DPI_NFACTS], total = 0;

    for (int i = 0; i < DPI_NFACTS; i++) {
        len[i] = b->s[i] ? strnlen(b->s[i], DPI_FACT_MAX) : 0;
        total += b->s[i] ? len[i] + 1 : 0;
    }
    dpi_facts *fa = malloc(sizeof(*fa) + total);
    if (fa == NULL)
        return NULL;
    size_t at = 0;
    for (int i = 0; i < DPI_NFACTS; i++) {
        if (b->s[i] == NULL) {
            fa->off[i] = DPI_ABSENT;
            continue;
        }
        fa->off[i] = (uint16_t)at;
        memcpy(fa->text + at, b->s[i], len[i]);
        fa->text[at + len[i]] = '\0';
        at += len[i] + 1;
    }
    return fa;
}

static uint32_t dpi_host_v4(const pkt_addr *a)
{
    if (!pkt_addr_is_v4(a))
        return 0;
    return (uint32_t)a->b[12] << 24 | (uint32_t)a->b[13] << 16 | (uint32_t)a->b[14] << 8 | a->b[15];
}

/* A flow that never carried data never had an nDPI state (see
 * worker.c); it gets the guess ndpiReader's give-up would make, from the
 * ports and the server address. The call takes host byte order. */
static void dpi_guess(dpi *d, flow *f)
{
    const flow_key *k = &f->key;
    int c = f->client, s = !f->client;

    if (k->proto != 6 && k->proto != 17)
        return;
    dpi_set_verdict(d, f,
                    ndpi_guess_undetected_protocol(d->mod, NULL, k->proto, dpi_host_v4(&k->addr[c]),
                                                   k->port[c], dpi_host_v4(&k->addr[s]),
                                                   k->port[s]));
}

void dpi_finish(dpi *d, flow *f)
{
    dpi_builder b;
    uint64_t risk = 0;

    if (f->dpi_state == FLOW_DPI_DONE && f->facts != NULL)
        return;
    memset(&b, 0, sizeof(b));
    if (flow_an(f)->ndpi != NULL) {
        if (f->proto_app == NDPI_PROTOCOL_UNKNOWN) {
            f->dpi_guessed = 1;
            dpi_set_verdict(d, f, dpi_giveup(d, f));
            if (f->proto_app == NDPI_PROTOCOL_UNKNOWN)
                STAT_ADD(d->stats.giveups, 1);
        }
        dpi_collect(f, &b);
        risk = f->an->ndpi->risk;
    } else if (f->dpi_state != FLOW_DPI_DONE) {
        dpi_guess(d, f);
    }
    b.s[DPI_APP] = dpi_app_name(d, f->proto_master, f->proto_app);
    b.s[DPI_CATEGORY] = ndpi_category_get_name(d->mod, (ndpi_protocol_category_t)f->proto_category);
    f->facts = dpi_build(&b);
    if (f->facts)
        f->facts->risk = risk;
    if (flow_an(f)->ndpi != NULL) {
        ndpi_free_flow(f->an->ndpi);
        f->an->ndpi = NULL;
    }
    f->dpi_state = FLOW_DPI_DONE;
}

void dpi_release(flow *f)
{
    if (flow_an(f)->ndpi != NULL) {
        ndpi_free_flow(f->an->ndpi);
        f->an->ndpi = NULL;
    }
    free(f->facts);
    f->facts = NULL;
}

int dpi_risk_names(uint64_t risk, const char **names, int max)
{
    int n = 0;

    for (int i = 1; i < NDPI_MAX_RISK && i < 64 && n < max; i++)
        if (risk & ((uint64_t)1 << i))
            names[n++] = ndpi_risk2str((ndpi_risk_enum)i);
    return n;
}

void dpi_stats_describe(const dpi_stats *ds, json_t *o)
{
    counters_add(o, "dpi_flows", STAT_GET(ds->flows_inspected));
    counters_add(o, "dpi_packets", STAT_GET(ds->packets));
    counters_add(o, "dpi_unknown", STAT_GET(ds->giveups));
}
