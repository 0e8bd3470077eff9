/* roles.c -- control session kinds (see roles.h).
 *
 * The rules are the operator's (data/indicators/controls.csv, parsed by
 * geo/controls.c); this file only matches them. Matching is on strings
 * from the wire (SNI, Host, paths): every compare is bounded by the NUL
 * the facts carry or by the length given, and case is ignored for names
 * as DNS does.
 */
#include "roles.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "dpi.h"
#include "http_req.h"
#include "udpctl.h"

/* ---- tables ------------------------------------------------------------ */

struct roles_kinds {
    char **kinds;
    size_t n, cap;
};

roles_kinds *roles_kinds_new(void)
{
    return calloc(1, sizeof(roles_kinds));
}

void roles_kinds_free(roles_kinds *k)
{
    if (k == NULL)
        return;
    for (size_t i = 0; i < k->n; i++)
        free(k->kinds[i]);
    free(k->kinds);
    free(k);
}

/* The pool's copy of kind; NULL when out of memory. Linear: a reload
 * happens rarely and a table names a few dozen kinds. */
static const char *roles_kind(roles_kinds *k, const char *kind)
{
    for (size_t i = 0; i < k->n; i++)
        if (strcmp(k->kinds[i], kind) == 0)
            return k->kinds[i];
    if (k->n == k->cap) {
        size_t cap = k->cap ? k->cap * 2 : 32;
        char **v = realloc(k->kinds, cap * sizeof(*v));
        if (v == NULL)
            return NULL;
        k->kinds = v, k->cap = cap;
    }
    if ((k->kinds[k->n] = strdup(kind)) == NULL)
        return NULL;
    return k->kinds[k->n++];
}

/* Where roles_classify() looks, so that an ending flow is not tried on
 * every rule of the table (a hundred and more, most of them NAME rules).
 * Every list holds rule indexes in table order:
 *   app[]        the APP rules, tried when inspection named the flow;
 *   path[]       the PATH rules, tried when a request path was read;
 *   port[]       the PORT rules, tried when one of them covers the
 *                flow's server port (the bitmap `ports`);
 *   names[]      the NAME rules whose literal end (roles_name_key) has
 *                fewer than 8 characters, which any name may match;
 *   bucket[b]    the other NAME rules, by a hash of those 8 characters: a
 *                name can only match the rules of the bucket of its own
 *                last 8 characters (folded as the match folds them). */
#define ROLES_BUCKET_BITS 6
#define ROLES_BUCKETS     (1u << ROLES_BUCKET_BITS)

struct roles_index {
    uint32_t n_app, n_path, n_port, n_names;
    uint32_t bucket_at[ROLES_BUCKETS + 1]; /* bucket b is rule[bucket_at[b] ..
                                               bucket_at[b + 1]) */
    uint32_t *app, *path, *port, *names, *rule;
    uint64_t ports[65536 / 64]; /* bit p: a PORT rule's range holds port p */
};

static unsigned roles_bucket(uint64_t tail)
{
    return (unsigned)((tail * 0x9e3779b97f4a7c15ULL) >> (64 - ROLES_BUCKET_BITS));
}

static void roles_index_free(struct roles_index *x)
{
    if (x == NULL)
        return;
    free(x->app);
    free(x->path);
    free(x->port);
    free(x->names);
    free(x->rule);
    free(x);
}

void roles_table_clear(roles_table *t)
{
    free((roles_rule *)t->rules);
    free((roles_name_key *)t->name_keys);
    roles_index_free((struct roles_index *)t->index);
    t->rules = NULL;
    t->name_keys = NULL;
    t->index = NULL;
    t->n = 0;
}

/* The index of the rules[0..n) whose keys are keys[] (NULL when out of
 * memory). */
static struct roles_index *roles_index_new(const roles_rule *rules, const roles_name_key *keys,
                                           size_t n)
{
    struct roles_index *x = calloc(1, sizeof(*x));

    if (x == NULL || n > UINT32_MAX || (x->app = calloc(n + 1, sizeof(uint32_t))) == NULL ||
        (x->path = calloc(n + 1, sizeof(uint32_t))) == NULL ||
        (x->port = calloc(n + 1, sizeof(uint32_t))) == NULL ||
        (x->names = calloc(n + 1, sizeof(uint32_t))) == NULL ||
        (x->rule = calloc(n + 1, sizeof(uint32_t))) == NULL) {
        roles_index_free(x);
        return NULL;
    }
    for (size_t i = 0; i < n; i++) { /* the lists, and the size of each bucket */
        if (rules[i].by == ROLES_BY_APP)
            x->app[x->n_app++] = (uint32_t)i;
        else if (rules[i].by == ROLES_BY_PATH)
            x->path[x->n_path++] = (uint32_t)i;
        else if (rules[i].by == ROLES_BY_PORT) {
            x->port[x->n_port++] = (uint32_t)i;
            for (uint32_t p = rules[i].port_lo; p <= rules[i].port_hi; p++)
                x->ports[p / 64] |= (uint64_t)1 << (p % 64);
        } else if (rules[i].by != ROLES_BY_NAME)
            continue; /* matches nothing (roles_rule_matches()) */
        else if (keys[i].mask != ~(uint64_t)0)
            x->names[x->n_names++] = (uint32_t)i;
        else
            x->bucket_at[roles_bucket(keys[i].tail) + 1]++;
    }
    for (unsigned b = 0; b < ROLES_BUCKETS; b++)
        x->bucket_at[b + 1] += x->bucket_at[b];
    uint32_t fill[ROLES_BUCKETS];
    memcpy(fill, x->bucket_at, sizeof(fill));
    for (size_t i = 0; i < n; i++)
        if (rules[i].by == ROLES_BY_NAME && keys[i].mask == ~(uint64_t)0)
            x->rule[fill[roles_bucket(keys[i].tail)]++] = (uint32_t)i;
    return x;
}

static uint32_t roles_pattern_meta(const char *pattern)
{
    return pattern
               ? (uint32_t)strnlen(pattern, UINT32_MAX >> 1) << 1 | (strchr(pattern, '*') != NULL)
               : 0;
}

/* The last k (at most 8) characters of s[0..n), each | 0x20, the last one
 * in the low byte: what roles_name_key.tail is compared with. */
static uint64_t roles_tail(const char *s, size_t n, size_t k)
{
    uint64_t tail = 0;

    for (size_t j = 0; j < n && j < k && j < 8; j++)
        tail |= (uint64_t)((unsigned char)s[n - 1 - j] | 0x20) << (8 * j);
    return tail;
}

static roles_name_key roles_name_key_of(const char *pattern)
{
    roles_name_key key = {0, 0, roles_pattern_meta(pattern)};
    size_t m = key.meta >> 1;
    const char *star = pattern ? strrchr(pattern, '*') : NULL;
    size_t lit = star ? m - (size_t)(star + 1 - pattern) : m; /* the literal end */

    key.tail = roles_tail(pattern, m, lit);
    key.mask = lit >= 8 ? ~(uint64_t)0 : ((uint64_t)1 << (8 * lit)) - 1;
    return key;
}

int roles_table_set(roles_table *t, roles_kinds *k, const roles_rule *rules, size_t n)
{
    roles_rule *copy = n ? malloc(n * sizeof(*copy)) : NULL;
    roles_name_key *keys = n ? calloc(n, sizeof(*keys)) : NULL;
    struct roles_index *index = NULL;

    roles_table_clear(t);

    if (n > 0 && (copy == NULL || keys == NULL))
        goto fail;
    for (size_t i = 0; i < n; i++) {
        copy[i] = rules[i];
        if (rules[i].by == ROLES_BY_NAME)
            keys[i] = roles_name_key_of(rules[i].pattern);
        else if (rules[i].by == ROLES_BY_APP) /* its length, for roles_app_part() */
            keys[i].meta = roles_pattern_meta(rules[i].pattern);
        if ((copy[i].kind = roles_kind(k, rules[i].kind)) == NULL)
            goto fail;
    }
    if (n > 0 && (index = roles_index_new(copy, keys, n)) == NULL)
        goto fail;
    t->rules = copy;
    t->name_keys = keys;
    t->index = index;
    t->n = n;
    return 0;
fail:
    free(copy);
    free(keys);
    return -1;
}

/* ---- names ------------------------------------------------------------- */

/* Glob match where '*' stands for any run (maybe empty) of characters
 * other than '.'. Patterns hold a few stars at most, and no star crosses a
 * dot, so the backtracking stays within one label. */
static int roles_glob(const char *p, const char *s, size_t n)
{
    while (*p != '\0') {
        if (*p == '*') {
            for (size_t k = 0;; k++) {
                if (roles_glob(p + 1, s + k, n - k))
                    return 1;
                if (k == n || s[k] == '.')
                    return 0;
            }
        }
        if (n == 0 || (unsigned char)(*p | 0x20) != (unsigned char)(*s | 0x20) ||
            (*p == '.') != (*s == '.'))
            return 0;
        p++, s++, n--;
    }
    return n == 0;
}

/* name equals pattern (m characters), or ends in "." + pattern. The last
 * characters are compared first: almost every rule fails there, and every
 * flow that ends is tried against every name rule. */
static int roles_domain(const char *pat, size_t m, const char *name, size_t n)
{
    if (n < m || m == 0 || (pat[m - 1] | 0x20) != (name[n - 1] | 0x20) ||
        strncasecmp(name + n - m, pat, m) != 0)
        return 0;
    return n == m || name[n - m - 1] == '.';
}

/* Host names end at a ":port" (HTTP Host) or a root dot. */
static size_t roles_name_len(const char *name)
{
    size_t n = strnlen(name, 512);
    const char *colon = memchr(name, ':', n);

    if (colon != NULL && memchr(colon + 1, ':', n - (size_t)(colon - name) - 1) == NULL)
        n = (size_t)(colon - name); /* one colon: host:port (IPv6 has more) */
    if (n > 0 && name[n - 1] == '.')
        n--;
    return n;
}

/* The match on a name whose length roles_name_len() gave, for a pattern
 * whose roles_pattern_meta() is `meta`. Every name rule is tried on every
 * flow that ends, and almost all fail on their last character, so that is
 * compared before anything else. */
static int roles_name_match_m(const char *pattern, uint32_t meta, const char *name, size_t n)
{
    size_t m = meta >> 1;

    if (pattern == NULL || name == NULL || n == 0 || m == 0)
        return 0;
    char last = pattern[m - 1];
    if (last != '*' && (last | 0x20) != (name[n - 1] | 0x20))
        return 0;
    if (meta & 1)
        return roles_glob(pattern, name, n);
    return roles_domain(pattern, m, name, n);
}

int roles_name_match(const char *pattern, const char *name)
{
    return name != NULL &&
           roles_name_match_m(pattern, roles_pattern_meta(pattern), name, roles_name_len(name));
}

/* A name (its length from roles_name_len(), its roles_tail()) as NAME
 * rules are tried on it. */
typedef struct roles_name_in {
    const char *s;
    size_t n;
    uint64_t tail;
} roles_name_in;

static roles_name_in roles_name_in_of(const char *name)
{
    roles_name_in in = {name, name ? roles_name_len(name) : 0, 0};

    in.tail = roles_tail(name, in.n, 8);
    return in;
}

/* 1 when NAME rule i matches the name. With the table's keys, a name that
 * does not end with the pattern's literal end (compared as the match
 * compares, | 0x20, which case-blind equality implies) is turned down in
 * a few instructions, before the match proper. */
static int roles_name_rule(const roles_table *t, size_t i, const roles_name_in *in)
{
    const char *pattern = t->rules[i].pattern;

    if (in->n == 0)
        return 0;
    if (t->name_keys == NULL)
        return roles_name_match_m(pattern, roles_pattern_meta(pattern), in->s, in->n);
    const roles_name_key *key = &t->name_keys[i];
    return ((in->tail ^ key->tail) & key->mask) == 0 &&
           roles_name_match_m(pattern, key->meta, in->s, in->n);
}

/* ---- apps, paths, ports ------------------------------------------------ */

/* 1 when one dot-separated part of `app` ("TLS.AnyDesk") is `want`. */
static int roles_app_part(const char *app, const char *want, size_t wlen)
{
    for (const char *s = app; s != NULL && *s != '\0';) {
        const char *dot = strchr(s, '.');
        size_t n = dot ? (size_t)(dot - s) : strlen(s);
        if (n == wlen && strncasecmp(s, want, n) == 0)
            return 1;
        s = dot ? dot + 1 : NULL;
    }
    return 0;
}

/* 1 when app matches one of the '|'-separated names; NULL apps match any,
 * and a flow without a verdict counts as "Unknown". */
static int roles_app_in(const char *apps, const char *app)
{
    if (apps == NULL)
        return 1;
    if (app == NULL)
        app = "Unknown";
    for (const char *s = apps; *s != '\0';) {
        const char *bar = strchr(s, '|');
        size_t n = bar ? (size_t)(bar - s) : strlen(s);
        if (roles_app_part(app, s, n))
            return 1;
        s = bar ? bar + 1 : s + n;
    }
    return 0;
}

static int roles_path_match(const char *pat, const uint8_t *path, size_t len)
{
    size_t m = strlen(pat);

    if (len < m || memcmp(path, pat, m) != 0)
        return 0;
    if (pat[m - 1] == '/' || len == m)
        return 1;
    return path[m] == '/' || path[m] == '?' || path[m] == '#';
}

int roles_match_path(const roles_table *t, const uint8_t *path, size_t len)
{
    for (size_t i = 0; i < t->n; i++)
        if (t->rules[i].by == ROLES_BY_PATH && roles_path_match(t->rules[i].pattern, path, len))
            return (int)i;
    return -1;
}

static int roles_rule_matches(const roles_table *t, size_t i, const roles_input *in,
                              const roles_name_in *sni, const roles_name_in *host)
{
    const roles_rule *r = &t->rules[i];

    switch (r->by) {
    case ROLES_BY_APP:
        return in->app != NULL &&
               roles_app_part(in->app, r->pattern,
                              t->name_keys ? t->name_keys[i].meta >> 1 : strlen(r->pattern));
    case ROLES_BY_NAME:
        return roles_name_rule(t, i, sni) || roles_name_rule(t, i, host);
    case ROLES_BY_PATH:
        return (in->path_rule >= 0 && (size_t)in->path_rule == i) ||
               (in->path != NULL &&
                roles_path_match(r->pattern, (const uint8_t *)in->path, strlen(in->path)));
    case ROLES_BY_PORT:
        return (r->proto == 0 || r->proto == in->proto) && (in->proto == 6 || in->proto == 17) &&
               in->sport >= r->port_lo && in->sport <= r->port_hi && roles_app_in(r->apps, in->app);
    default:
        return 0;
    }
}

/* The first rule of list[0..n) below `best` that matches, or best. */
static size_t roles_first(const roles_table *t, const uint32_t *list, size_t n, size_t best,
                          const roles_input *in, const roles_name_in *sni,
                          const roles_name_in *host)
{
    for (size_t j = 0; j < n && list[j] < best; j++)
        if (roles_rule_matches(t, list[j], in, sni, host))
            return list[j];
    return best;
}

/* The first NAME rule below `best` that matches the name or, through its
 * bucket, the other one (a rule is tried on both names). */
static size_t roles_first_name(const roles_table *t, size_t best, const roles_input *in,
                               const roles_name_in *name, const roles_name_in *sni,
                               const roles_name_in *host)
{
    const struct roles_index *x = t->index;

    if (name->n < 8)
        return best; /* the rules of the buckets need 8 characters */
    unsigned b = roles_bucket(name->tail);
    return roles_first(t, x->rule + x->bucket_at[b], x->bucket_at[b + 1] - x->bucket_at[b], best,
                       in, sni, host);
}

/* The first APP rule below `best` that one dot-separated part of app
 * ("TLS.AnyDesk") matches, or best: roles_app_part() with the parts of
 * app found once. */
static size_t roles_first_app(const roles_table *t, size_t best, const char *app)
{
    const struct roles_index *x = t->index;
    const char *part[16];
    size_t len[16], n = 0;

    for (const char *s = app; *s != '\0' && n < 16;) {
        size_t k = 0;
        while (s[k] != '\0' && s[k] != '.')
            k++;
        part[n] = s, len[n++] = k;
        s = s[k] == '.' ? s + k + 1 : s + k;
    }
    if (n == 16) /* more parts than kept: the plain way */
        return roles_first(t, x->app, x->n_app, best, &(roles_input){.app = app, .path_rule = -1},
                           NULL, NULL);
    for (size_t j = 0; j < x->n_app && x->app[j] < best; j++) {
        size_t m = t->name_keys[x->app[j]].meta >> 1;
        const char *want = t->rules[x->app[j]].pattern;
        for (size_t i = 0; i < n; i++)
            if (len[i] == m && strncasecmp(part[i], want, m) == 0)
                return x->app[j];
    }
    return best;
}

const char *roles_classify(const roles_table *t, const roles_input *in)
{
    roles_input x = *in;
    roles_name_in sni = roles_name_in_of(x.sni), host = roles_name_in_of(x.host);
    const struct roles_index *ix = t->index;
    size_t best = t->n; /* no rule */

    x.sni_len = sni.n;
    x.host_len = host.n;
    if (ix == NULL) {
        for (size_t i = 0; i < t->n; i++)
            if (roles_rule_matches(t, i, &x, &sni, &host))
                return t->rules[i].kind;
        return NULL;
    }
    /* The first match of the table is the first of each list's first
     * match: the NAME rules a name may match, then the others below it. */
    if (sni.n > 0 || host.n > 0) {
        best = roles_first(t, ix->names, ix->n_names, best, &x, &sni, &host);
        best = roles_first_name(t, best, &x, &sni, &sni, &host);
        best = roles_first_name(t, best, &x, &host, &sni, &host);
    }
    if (x.app != NULL)
        best = roles_first_app(t, best, x.app);
    if (x.path_rule >= 0 || x.path != NULL)
        best = roles_first(t, ix->path, ix->n_path, best, &x, &sni, &host);
    if (ix->ports[x.sport / 64] >> (x.sport % 64) & 1)
        best = roles_first(t, ix->port, ix->n_port, best, &x, &sni, &host);
    return best < t->n ? t->rules[best].kind : NULL;
}

const char *roles_lookup(const roles_table *t, const char *name)
{
    roles_name_in in = roles_name_in_of(name), none = {NULL, 0, 0};
    roles_input x;

    if (t->index != NULL && in.n > 0) { /* as roles_classify() with a name alone */
        memset(&x, 0, sizeof(x));
        size_t best = roles_first(t, t->index->names, t->index->n_names, t->n, &x, &in, &none);
        best = roles_first_name(t, best, &x, &in, &in, &none);
        return best < t->n ? t->rules[best].kind : NULL;
    }
    for (size_t i = 0; in.n > 0 && i < t->n; i++)
        if (t->rules[i].by == ROLES_BY_NAME && roles_name_rule(t, i, &in))
            return t->rules[i].kind;
    return NULL;
}

/* ---- flows ------------------------------------------------------------- */

void roles_packet(const roles_table *t, flow *f, const packet *p, int dir)
{
    http_req r;
    flow_analysis *a;

    if (dir != 0 || p->payload_caplen == 0 || (a = flow_analysis_get(f)) == NULL ||
        a->ctl_reqs >= ROLES_MAX_REQ_PKTS)
        return;
    a->ctl_reqs++;
    const uint8_t *b = p->data + p->payload_off;
    if (a->ctl_path != 0 || b[0] < 'A' || b[0] > 'Z')
        return;
    if (http_req_parse(b, p->payload_caplen, &r)) {
        int i = roles_match_path(t, r.path, r.path_len);
        if (i >= 0 && i < UINT16_MAX)
            a->ctl_path = (uint16_t)(i + 1);
    }
}

/* The path part of nDPI's URL ("host:port/path" or "/path"). */
static const char *roles_url_path(const char *url)
{
    return url ? strchr(url, '/') : NULL;
}

void roles_update(const roles_table *t, flow *f)
{
    const flow_analysis *a = flow_an(f);
    roles_input in;

    memset(&in, 0, sizeof(in));
    in.proto = f->key.proto;
    in.sport = f->key.port[!f->client];
    in.path_rule = (int)a->ctl_path - 1;
    if (f->dpi_state == FLOW_DPI_DONE) {
        in.app = dpi_fact(f->facts, DPI_APP);
        in.sni = dpi_fact(f->facts, DPI_SNI);
        in.host = dpi_fact(f->facts, DPI_HOST);
        in.path = roles_url_path(dpi_fact(f->facts, DPI_URL));
    }
    /* A UDP channel nDPI did not name (newer OpenVPN variants, QUIC it
     * could not read): the name udpctl.c read, once the server answered
     * the handshake, so that a stray datagram is not taken for one. */
    if ((in.app == NULL || strcmp(in.app, "Unknown") == 0) && (a->uc_flags & UDPCTL_F_REPLY))
        in.app = udpctl_name(a->uc_proto);
    f->control = roles_classify(t, &in);
    f->ctl_dns = 0;
    if (f->control == NULL && in.app != NULL) {
        f->control = roles_lookup(t, dpi_fact(f->facts, DPI_DNS_QUERY));
        f->ctl_dns = f->control != NULL;
    }
}
