/* indicators.c -- loading and lookup of the indicator tables (see
 * indicators.h).
 *
 * ASNs: a sorted array of (asn, row) searched by bisection. A range row
 * "N-M" is expanded into its numbers (at most 4096 per row: ranges in the
 * data are a few registrations wide), which keeps lookup one bisection.
 * Networks go into a prefix_table, names into a names_table. Every row is
 * one heap `indicator` owned by the set's row list, so replacing a row in
 * a table never frees memory another table may point to.
 */
#include "indicators.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "csv.h"
#include "names.h"
#include "prefix.h"

#define INDICATORS_MAX_RANGE 4096

typedef struct indicators_asn {
    uint32_t asn;
    uint32_t seq; /* row order: the later row wins */
    const indicator *row;
} indicators_asn_row;

struct indicators {
    indicator **rows;
    size_t nrows, caprows;
    indicators_asn_row *asns;
    size_t nasns, capasns;
    prefix_table *networks;
    names_table *domains;
    controls *controls;
};

indicators *indicators_new(void)
{
    indicators *in = calloc(1, sizeof(*in));

    if (in == NULL)
        return NULL;
    in->networks = prefix_table_new();
    in->domains = names_new();
    in->controls = controls_new();
    if (in->networks == NULL || in->domains == NULL || in->controls == NULL) {
        indicators_free(in);
        return NULL;
    }
    return in;
}

void indicators_free(indicators *in)
{
    if (in == NULL)
        return;
    for (size_t i = 0; i < in->nrows; i++) {
        free((char *)in->rows[i]->category);
        free((char *)in->rows[i]->name);
        free(in->rows[i]);
    }
    free(in->rows);
    free(in->asns);
    prefix_table_free(in->networks, NULL);
    names_free(in->domains);
    controls_free(in->controls);
    free(in);
}

static int indicators_category_ok(const char *s)
{
    size_t n = strlen(s);

    if (n == 0 || n > 32)
        return 0;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '_'))
            return 0;
    return 1;
}

/* A new row owned by the set; NULL when out of memory. */
static indicator *indicators_row(indicators *in, const char *category, const char *name)
{
    indicator *r;

    if (in->nrows == in->caprows) {
        size_t cap = in->caprows ? in->caprows * 2 : 64;
        indicator **rows = realloc(in->rows, cap * sizeof(*rows));
        if (rows == NULL)
            return NULL;
        in->rows = rows, in->caprows = cap;
    }
    if ((r = calloc(1, sizeof(*r))) == NULL)
        return NULL;
    r->category = strdup(category);
    r->name = *name ? strdup(name) : NULL;
    in->rows[in->nrows++] = r;
    if (r->category == NULL || (*name && r->name == NULL))
        return NULL;
    return r;
}

/* Parses "N", "ASN", "N-M" or "ASN-ASM". */
static int indicators_asn_range(const char *s, uint32_t *lo, uint32_t *hi)
{
    unsigned long long a, b;
    char *end;

    if ((s[0] == 'A' || s[0] == 'a') && (s[1] == 'S' || s[1] == 's'))
        s += 2;
    if (*s < '0' || *s > '9' || (a = strtoull(s, &end, 10)) > UINT32_MAX)
        return -1;
    b = a;
    if (*end == '-') {
        s = end + 1;
        if ((s[0] == 'A' || s[0] == 'a') && (s[1] == 'S' || s[1] == 's'))
            s += 2;
        if (*s < '0' || *s > '9' || (b = strtoull(s, &end, 10)) > UINT32_MAX)
            return -1;
    }
    if (*end || b < a || b - a >= INDICATORS_MAX_RANGE || end - s > 10)
        return -1;
    *lo = (uint32_t)a, *hi = (uint32_t)b;
    return 0;
}

static int indicators_add_asn(indicators *in, const char *key, const indicator *row,
                              const char **why)
{
    uint32_t lo, hi;

    if (indicators_asn_range(key, &lo, &hi) != 0) {
        *why = "not an AS number or range N-M (at most 4096 wide)";
        return -1;
    }
    for (uint64_t a = lo; a <= hi; a++) {
        if (in->nasns == in->capasns) {
            size_t cap = in->capasns ? in->capasns * 2 : 256;
            indicators_asn_row *v = realloc(in->asns, cap * sizeof(*v));
            if (v == NULL) {
                *why = "out of memory";
                return -1;
            }
            in->asns = v, in->capasns = cap;
        }
        in->asns[in->nasns] = (indicators_asn_row){(uint32_t)a, (uint32_t)in->nasns, row};
        in->nasns++;
    }
    return 0;
}

static int indicators_add_network(indicators *in, const char *key, indicator *row, const char **why)
{
    pkt_addr net;
    int bits;
    void *old;

    if (prefix_parse(key, &net, &bits, why) != 0)
        return -1;
    if (prefix_table_insert(in->networks, &net, bits, row, &old) != 0) {
        *why = "out of memory";
        return -1;
    }
    return 0;
}

static int indicators_add(indicators *in, indicators_kind kind, char **f, const char **why)
{
    indicator *row;
    void *old;

    if (!indicators_category_ok(f[1])) {
        *why = "category must be 1-32 of a-z, 0-9, _";
        return -1;
    }
    if ((row = indicators_row(in, f[1], f[2])) == NULL) {
        *why = "out of memory";
        return -1;
    }
    switch (kind) {
    case INDICATORS_ASN:
        return indicators_add_asn(in, f[0], row, why);
    case INDICATORS_NETWORKS:
        return indicators_add_network(in, f[0], row, why);
    case INDICATORS_DOMAINS:
        return names_add(in->domains, f[0], strlen(f[0]), row, &old, why);
    case INDICATORS_CONTROLS:
        break; /* parsed by controls_parse() */
    }
    return -1;
}

static int indicators_asn_cmp(const void *a, const void *b)
{
    const indicators_asn_row *x = a, *y = b;

    if (x->asn != y->asn)
        return x->asn < y->asn ? -1 : 1;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* Sorts by ASN and keeps only the last row of each ASN. */
static void indicators_asn_finish(indicators *in)
{
    size_t w = 0;

    if (in->nasns == 0)
        return; /* qsort's pointer must not be NULL */
    qsort(in->asns, in->nasns, sizeof(*in->asns), indicators_asn_cmp);
    for (size_t i = 0; i < in->nasns; i++) {
        if (w > 0 && in->asns[w - 1].asn == in->asns[i].asn)
            w--;
        in->asns[w++] = in->asns[i];
    }
    in->nasns = w;
    for (size_t i = 0; i < w; i++)
        in->asns[i].seq = (uint32_t)i; /* later files keep winning */
}

int indicators_parse(indicators *in, indicators_kind kind, const char *file, const char *buf,
                     size_t len, char *err, size_t errlen)
{
    static const char *const headers[] = {"asn", "cidr", "suffix"};
    char scratch[CSV_MAX_LINE + 1];
    char *f[3];
    const char *why = NULL;
    csv_reader r;
    int n, rc = 0, header = 1;

    if (kind == INDICATORS_CONTROLS)
        return controls_parse(in->controls, file, buf, len, err, errlen);
    csv_init(&r, buf, len);
    while ((n = csv_next(&r, scratch, f, 3, &why)) != 0) {
        if (n > 0 && header) {
            header = 0;
            if (n == 3 && strcmp(f[0], headers[kind]) == 0 && strcmp(f[1], "category") == 0)
                continue;
            why = kind == INDICATORS_ASN       ? "expected the header asn,category,name"
                  : kind == INDICATORS_DOMAINS ? "expected the header suffix,category,name"
                                               : "expected the header cidr,category,name";
            n = -1;
        } else if (n > 0 && n != 3) {
            why = "expected 3 fields", n = -1;
        } else if (n > 0 && indicators_add(in, kind, f, &why) != 0) {
            n = -1;
        }
        if (n < 0) {
            snprintf(err, errlen, "%s:%u: %s", file, r.line, why);
            rc = -1;
            break;
        }
    }
    if (rc == 0 && header) {
        snprintf(err, errlen, "%s: empty: expected a header line", file);
        rc = -1;
    }
    if (kind == INDICATORS_ASN)
        indicators_asn_finish(in);
    return rc;
}

/* Parses DIR/NAME into the table of `kind`. `optional`: a file that does
 * not exist is no error. Returns 0 or -1 with the reason in err. */
static int indicators_load_file(indicators *in, indicators_kind kind, const char *dir,
                                const char *name, int optional, char *err, size_t errlen)
{
    char path[4096];
    size_t len;

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    if (optional && access(path, F_OK) != 0 && errno == ENOENT)
        return 0;
    char *buf = csv_slurp(path, &len, err, errlen);
    int rc = buf ? indicators_parse(in, kind, path, buf, len, err, errlen) : -1;
    free(buf);
    return rc;
}

indicators *indicators_load_dir(const char *dir, char *err, size_t errlen)
{
    static const char *const files[] = {"asn.csv", "networks.csv", "domains.csv", "controls.csv"};
    indicators *in = indicators_new();
    int rc = 0;

    if (in == NULL) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    /* Tables derived from packaged data (scripts/geo-db.sh) come first, so
     * a hand-written row for the same AS or network replaces theirs. */
    rc = indicators_load_file(in, INDICATORS_ASN, dir, "generated/asn.csv", 1, err, errlen);
    if (rc == 0)
        rc = indicators_load_file(in, INDICATORS_NETWORKS, dir, "generated/networks.csv", 1, err,
                                  errlen);
    for (int k = 0; k < 4 && rc == 0; k++)
        rc = indicators_load_file(in, (indicators_kind)k, dir, files[k], 0, err, errlen);
    if (rc != 0) {
        indicators_free(in);
        return NULL;
    }
    return in;
}

const indicator *indicators_asn(const indicators *in, uint32_t asn)
{
    size_t lo = 0, hi = in->nasns;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (in->asns[mid].asn < asn)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < in->nasns && in->asns[lo].asn == asn ? in->asns[lo].row : NULL;
}

const indicator *indicators_network(const indicators *in, const pkt_addr *a)
{
    return prefix_table_lookup(in->networks, a, NULL);
}

const indicator *indicators_domain(const indicators *in, const char *host, size_t len)
{
    return names_match(in->domains, host, len);
}

const controls *indicators_controls(const indicators *in)
{
    return in->controls;
}

size_t indicators_count(const indicators *in, indicators_kind kind)
{
    switch (kind) {
    case INDICATORS_ASN:
        return in->nasns;
    case INDICATORS_NETWORKS:
        return prefix_table_count(in->networks);
    case INDICATORS_DOMAINS:
        return names_count(in->domains);
    case INDICATORS_CONTROLS: {
        size_t n;
        controls_rules(in->controls, &n);
        return n;
    }
    }
    return 0;
}
