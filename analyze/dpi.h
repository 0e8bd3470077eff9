/* dpi.h -- deep packet inspection with nDPI on the first packets of a flow.
 *
 * Each worker owns one dpi context (one nDPI module: nDPI keeps per-module
 * caches and the packet being parsed in it, so modules are not shared).
 * A flow's first packets go through dpi_packet() until nDPI has named the
 * application and has nothing more to extract, or until the packet budget
 * is spent (80 TCP or 24 UDP packets, as ndpiReader does); then
 * dpi_finish() keeps the facts (application, category, SNI, HTTP host, DNS
 * query, SSH banners, JA3 client hash, risks) in a small block the flow
 * owns, and frees nDPI's per-flow state at once: a flow past inspection
 * costs no nDPI memory. A flow gets an nDPI state only from its first
 * packet with data, so floods of SYNs and scans never cost one; such
 * flows get nDPI's guess from ports and addresses when they end.
 *
 * nDPI's API changed across versions; the calls that differ are wrapped in
 * dpi.c under NDPI_MAJOR/NDPI_MINOR guards (4.2 is Debian 12's).
 */
#ifndef LOOPHOLE_DPI_H
#define LOOPHOLE_DPI_H

#include <jansson.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "capture/packet.h"
#include "flow.h"

/* Facts kept after inspection. Strings are NUL-terminated and come from
 * the wire: hostile, and escaped by whoever prints them. */
enum dpi_fact {
    DPI_APP,        /* nDPI's name, "TLS.Google", "SSH" */
    DPI_CATEGORY,   /* nDPI's category name, "Web", "RemoteAccess" */
    DPI_SNI,        /* TLS/QUIC server name */
    DPI_HOST,       /* HTTP Host (or another protocol's host name) */
    DPI_DNS_QUERY,  /* DNS query name */
    DPI_SSH_CLIENT, /* SSH client banner */
    DPI_SSH_SERVER, /* SSH server banner */
    DPI_JA3C,       /* JA3 client hash, 32 hex digits */
    DPI_URL,        /* first HTTP request's URL */
    DPI_USER_AGENT, /* first HTTP request's User-Agent */
    DPI_NFACTS
};

typedef struct dpi_facts {
    uint64_t risk;            /* nDPI flow risk bits */
    uint16_t off[DPI_NFACTS]; /* offset into text; DPI_ABSENT when unset */
    char text[];
} dpi_facts;

#define DPI_ABSENT 0xffff

/* Returns the fact, or NULL when inspection did not find it. */
const char *dpi_fact(const dpi_facts *f, int which);

typedef struct dpi dpi;

/* Creates one nDPI module. Not safe to call from two threads at once
 * (nDPI's initialisation is not); main creates the workers' contexts one
 * after the other. Returns NULL with a message in err. */
dpi *dpi_new(char *err, size_t errlen);
void dpi_free(dpi *d);

/* Frees the nDPI module and keeps the counters (dpi_get_stats()): the
 * worker calls it on its own thread once its last flow has ended, so that
 * tearing the module down (milliseconds of small frees) overlaps what the
 * sensor still waits for instead of adding to its exit. Nothing but
 * dpi_get_stats() and dpi_free() may be called after it. */
void dpi_drop_module(dpi *d);

/* Inspects packet p of flow f (p->data starts at the IP header). Returns 1
 * when inspection of f has finished (now or before). */
int dpi_packet(dpi *d, flow *f, const packet *p);

/* 1 when p goes to dpi_packet(): inspection of f still runs, and starts
 * at the first packet that carries data (a flood of SYNs or scans never
 * costs an nDPI state). */
static inline int dpi_wants(const flow *f, const packet *p)
{
    return f->dpi_state != FLOW_DPI_DONE && (flow_an(f)->ndpi != NULL || p->payload_caplen > 0);
}

/* Finishes inspection of f if it is still running (nDPI gives up and
 * guesses from ports), and keeps its facts. */
void dpi_finish(dpi *d, flow *f);

/* Frees what inspection left in f: nDPI state and facts. */
void dpi_release(flow *f);

/* Fills names[] with the names of the risks set in `risk`; returns how
 * many (at most max). The names are static strings. */
int dpi_risk_names(uint64_t risk, const char **names, int max);

/* Counters of one context. */
typedef struct dpi_stats {
    _Atomic uint64_t flows_inspected; /* flows that got an nDPI state */
    _Atomic uint64_t packets;         /* packets given to nDPI */
    _Atomic uint64_t giveups;         /* flows that ended inspection unknown */
} dpi_stats;

/* Describes the counters into o (base/counters.h): dpi_flows,
 * dpi_packets, dpi_unknown. */
void dpi_stats_describe(const dpi_stats *ds, json_t *o);

const dpi_stats *dpi_get_stats(const dpi *d);

#endif
