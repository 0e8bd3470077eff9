/* indicators.h -- the operator-editable indicator tables.
 *
 * Four tables, each loaded from a documented CSV file in the indicator
 * directory (data/indicators/ in the source tree, installed under
 * share/loophole/indicators; see docs/geo.md for the format and sources):
 *
 *   asn.csv       asn,category,name       AS number or range "N-M" -> category
 *   networks.csv  cidr,category,name      longest-prefix match, v4 and v6
 *   domains.csv   suffix,category,name    whole-label suffix match on names
 *   controls.csv  kind,by,match,apps      control-session rules (controls.h)
 *
 * Every row becomes an indicator {category, name}: for an ASN, the kind of
 * network and who runs it ("gpu_cloud", "Lambda"); for a network, the same
 * or a finer label ("cn_resolver", "AliDNS"); for a name, what the service
 * is ("cn_mirror", "Tsinghua TUNA"). Categories are lower-case tokens;
 * operators may add their own.
 *
 * Parsing takes bytes in memory (tests and fuzzers call it directly);
 * every error names "FILE:LINE: reason" in the caller's buffer.
 *
 * Ownership: an indicators set owns its tables and every string in them;
 * returned pointers live until indicators_free(). Threads: loaded by one
 * thread; read-only lookups from any number of threads afterwards.
 */
#ifndef LOOPHOLE_INDICATORS_H
#define LOOPHOLE_INDICATORS_H

#include <stddef.h>
#include <stdint.h>

#include "base/pkt_addr.h"
#include "controls.h"

#define INDICATOR_GPU_CLOUD "gpu_cloud" /* the category that marks GPU hosts */

typedef struct indicator {
    const char *category; /* never NULL */
    const char *name;     /* provider or service; NULL when the row left it empty */
} indicator;

typedef enum indicators_kind {
    INDICATORS_ASN,
    INDICATORS_NETWORKS,
    INDICATORS_DOMAINS,
    INDICATORS_CONTROLS,
} indicators_kind;

typedef struct indicators indicators;

/* An empty set; NULL when out of memory. */
indicators *indicators_new(void);
void indicators_free(indicators *in);

/* Adds the rows of one file's content (len bytes, named `file` in
 * messages) to the table of `kind`. A later row for the same ASN, network
 * or name replaces an earlier one, so a site file loaded after the shipped
 * one overrides it. Returns 0, or -1 with "FILE:LINE: reason" in err; the
 * set keeps the rows before the bad one and must still be freed. */
int indicators_parse(indicators *in, indicators_kind kind, const char *file, const char *buf,
                     size_t len, char *err, size_t errlen);

/* Loads asn.csv, networks.csv, domains.csv and controls.csv from dir;
 * each must exist. generated/asn.csv and generated/networks.csv, tables
 * scripts/geo-db.sh derives from packaged data, are loaded first when
 * present, so the hand-written rows override them.
 * Operators extend the tables by editing these files or by pointing
 * [geo] indicators at a directory of their own. Returns NULL with the
 * file (and line) at fault in err. */
indicators *indicators_load_dir(const char *dir, char *err, size_t errlen);

/* Lookups; NULL when nothing is listed. */
const indicator *indicators_asn(const indicators *in, uint32_t asn);
const indicator *indicators_network(const indicators *in, const pkt_addr *a);
const indicator *indicators_domain(const indicators *in, const char *host, size_t len);

/* The control-session rules (never NULL; empty when none were loaded). */
const controls *indicators_controls(const indicators *in);

/* Rows held by each table, for start-up messages and tests. */
size_t indicators_count(const indicators *in, indicators_kind kind);

#endif
