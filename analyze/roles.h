/* roles.h -- is a flow a control session, and of which kind?
 *
 * A control session is one through which someone drives a machine: a
 * shell (SSH), a desktop (RDP, VNC, AnyDesk, ToDesk, ...), a notebook
 * (Jupyter, TensorBoard, Ray dashboard), a cloud provider's control API or
 * console, the Kubernetes API, or a tunnel that exposes a host to the
 * outside (frp, ngrok, cloudflared, dev tunnels, Tailscale). The answer is
 * a kind string, "ssh", "jupyter", "remote_desktop:todesk",
 * "cloud_api:aws-ssm", "kubernetes", "tunnel:ngrok", which the flow record
 * carries as `control` (docs/flow-analysis.md).
 *
 * Evidence comes from four places, each a rule kind of the table:
 *   ROLES_BY_APP   nDPI's application name ("SSH", "AnyDesk");
 *   ROLES_BY_NAME  the TLS SNI or HTTP Host (a DNS query names a tool in
 *                  use, reported apart: roles_lookup());
 *   ROLES_BY_PATH  HTTP request paths, read by roles_packet() from the
 *                  first client payloads, because nDPI keeps only the first
 *                  request's URL;
 *   ROLES_BY_PORT  the server port, only where nDPI found nothing more
 *                  specific (each port rule names the nDPI verdicts it
 *                  accepts).
 * Rules are tried in table order and the first match wins, so specific
 * evidence is listed before ports.
 *
 * The table is data: the rules of data/indicators/controls.csv
 * (geo/controls.h), which the geo snapshot loads and reloads. A worker
 * takes its own copy of them (roles_table_set()) whose kind strings live
 * in the worker's roles_kinds pool, so a flow's `control` stays valid
 * after a reload has freed the snapshot the rules came from.
 *
 * Threads: a table is read-only once built and belongs to one worker;
 * everything else here works on one flow, owned by one worker.
 */
#ifndef LOOPHOLE_ROLES_H
#define LOOPHOLE_ROLES_H

#include <stddef.h>
#include <stdint.h>

#include "capture/packet.h"
#include "flow.h"

#include "geo/controls.h"

enum roles_by {
    ROLES_BY_APP = CONTROLS_BY_APP,
    ROLES_BY_NAME = CONTROLS_BY_NAME,
    ROLES_BY_PATH = CONTROLS_BY_PATH,
    ROLES_BY_PORT = CONTROLS_BY_PORT,
};

typedef controls_rule roles_rule; /* fields: see geo/controls.h */

/* What roles_table_set() measures once in a NAME pattern, so that the
 * match of every ending flow need not: every NAME rule is tried on every
 * flow that ends, and almost every try fails. */
typedef struct roles_name_key {
    uint64_t tail; /* the last (up to 8) characters of the pattern's literal
                      end (after its last '*'), each | 0x20, the last one in
                      the low byte: a name the pattern matches ends with them */
    uint64_t mask; /* the bytes of `tail` that hold characters */
    uint32_t meta; /* length << 1 | 1 when the pattern holds a '*' */
} roles_name_key;

typedef struct roles_table {
    const roles_rule *rules;
    size_t n;
    const roles_name_key *name_keys; /* per rule: NAME patterns, and the length of
                                        APP patterns; NULL in a table not made
                                        by roles_table_set() */
    const struct roles_index *index; /* the rules a name can match, by the end of
                                        the name (roles.c); NULL with name_keys */
} roles_table;

/* Kind strings interned for the life of a worker: one copy of each
 * distinct kind ever loaded (a few dozen), never freed before the pool. */
typedef struct roles_kinds roles_kinds;

roles_kinds *roles_kinds_new(void); /* NULL when out of memory */
void roles_kinds_free(roles_kinds *k);

/* Makes *t a copy of the n rules whose kinds point into k; patterns and
 * apps still point into `rules`, which must outlive the use of t. The
 * previous content of t is freed. Returns 0, or -1 when out of memory
 * (t is then empty). */
int roles_table_set(roles_table *t, roles_kinds *k, const roles_rule *rules, size_t n);

/* Frees a table made by roles_table_set() and leaves it empty. */
void roles_table_clear(roles_table *t);

/* What the classifier looks at; strings may be NULL. */
typedef struct roles_input {
    const char *app;          /* nDPI name, "TLS.Google" */
    const char *sni;          /* TLS/QUIC server name */
    const char *host;         /* HTTP Host, possibly with ":port" */
    const char *path;         /* an HTTP request path, or NULL */
    int path_rule;            /* a PATH rule already matched (roles_match_path()), or -1 */
    uint8_t proto;            /* IP protocol */
    uint16_t sport;           /* server port */
    size_t sni_len, host_len; /* set by roles_classify() itself */
} roles_input;

/* The kind of control session `in` describes, or NULL. The string is the
 * table's. */
const char *roles_classify(const roles_table *t, const roles_input *in);

/* The index of the first PATH rule that the path (not NUL-terminated)
 * matches, or -1. */
int roles_match_path(const roles_table *t, const uint8_t *path, size_t len);

/* The kind named by a host name alone (NAME rules), or NULL: for DNS
 * queries, which show a tool is in use without being a session of it. */
const char *roles_lookup(const roles_table *t, const char *name);

/* 1 when `name` matches a NAME pattern (see roles_rule). Exposed for
 * tests. */
int roles_name_match(const char *pattern, const char *name);

/* Per-packet hook: reads the request line of the first client payloads of
 * f (at most ROLES_MAX_REQ_PKTS of them) and remembers the first path that
 * a PATH rule matches, in the flow's ctl_path. `dir` is flow_dir(). */
#define ROLES_MAX_REQ_PKTS 16
void roles_packet(const roles_table *t, flow *f, const packet *p, int dir);

/* 1 when roles_packet() has something to read in p: a client payload
 * among the first ROLES_MAX_REQ_PKTS. */
static inline int roles_wants(const flow *f, const packet *p, int dir)
{
    return flow_an(f)->ctl_reqs < ROLES_MAX_REQ_PKTS && dir == 0 && p->payload_caplen > 0;
}

/* Sets f->control from everything known about f: inspection facts (when
 * inspection has ended), the remembered path, the server port. A flow that
 * is no control session but whose DNS query names a control tool gets
 * that kind with f->ctl_dns set. Called when inspection ends and again
 * before each record. */
void roles_update(const roles_table *t, flow *f);

#endif
