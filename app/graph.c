/* graph.c -- flow records into a bounded node/edge table, written as DOT
 * (see graph.h).
 *
 * Two open-addressing hash tables of indices (linear probing, at most half
 * full) over two arrays sized once at graph_new(): nothing is allocated per
 * flow, and nothing is ever removed. Node facts are flags (GRAPH_F_*) that
 * only accumulate, so what a node is does not depend on arrival order.
 *
 * Strings in the DOT file come from the geo database and nDPI (AS names,
 * application names): they are escaped for a DOT quoted string, and bytes
 * outside printable ASCII are replaced, so a hostile AS name cannot end
 * the string or the file.
 */
#include "graph.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

/* What a node did; combined by graph_node_kind(). */
#define GRAPH_F_GPU      1u  /* a GPU host (a gpu_src / gpu_dst end) */
#define GRAPH_F_TO_GPU   2u  /* opened a flow to a GPU host */
#define GRAPH_F_FROM_GPU 4u  /* a GPU host opened a flow to it */
#define GRAPH_F_LEG_IN   8u  /* answered a control or relay-leg flow that touched no GPU host */
#define GRAPH_F_LEG_OUT  16u /* opened such a flow */
#define GRAPH_F_RELAY    32u /* part of a flow with the relay_leg role */

typedef struct graph_node {
    char ip[48];
    char country[3];
    uint32_t asn;
    char as_org[64];
    char category[32];
    char provider[48];
    unsigned flags;
} graph_node;

typedef struct graph_edge {
    uint32_t src, dst; /* node indices; src opened the flows */
    char proto[32];    /* nDPI's application, else "tcp/8888" */
    uint64_t sessions; /* records that ended a session (not cut by the active timeout) */
    uint64_t records;
    uint64_t bytes_up, bytes_down; /* opener to responder, and back */
} graph_edge;

struct graph {
    pthread_mutex_t lock;
    graph_config cfg;
    graph_node *nodes;
    graph_edge *edges;
    unsigned nnodes, nedges;
    uint32_t *nslots, *eslots; /* index + 1; 0 = empty */
    size_t nslot_mask, eslot_mask;
    graph_stats stats;
};

static size_t graph_pow2(size_t n)
{
    size_t p = 16;
    while (p < n)
        p <<= 1;
    return p;
}

graph *graph_new(const graph_config *cfg)
{
    graph *g = calloc(1, sizeof(*g));

    if (g == NULL)
        return NULL;
    g->cfg = *cfg;
    if (g->cfg.max_nodes == 0)
        g->cfg.max_nodes = GRAPH_DEFAULT_MAX_NODES;
    if (g->cfg.max_edges == 0)
        g->cfg.max_edges = GRAPH_DEFAULT_MAX_EDGES;
    g->nslot_mask = graph_pow2(2 * (size_t)g->cfg.max_nodes) - 1;
    g->eslot_mask = graph_pow2(2 * (size_t)g->cfg.max_edges) - 1;
    g->nodes = calloc(g->cfg.max_nodes, sizeof(*g->nodes));
    g->edges = calloc(g->cfg.max_edges, sizeof(*g->edges));
    g->nslots = calloc(g->nslot_mask + 1, sizeof(*g->nslots));
    g->eslots = calloc(g->eslot_mask + 1, sizeof(*g->eslots));
    if (g->nodes == NULL || g->edges == NULL || g->nslots == NULL || g->eslots == NULL) {
        graph_free(g);
        return NULL;
    }
    pthread_mutex_init(&g->lock, NULL);
    return g;
}

void graph_free(graph *g)
{
    if (g == NULL)
        return;
    if (g->nodes && g->edges && g->nslots && g->eslots)
        pthread_mutex_destroy(&g->lock);
    free(g->nodes);
    free(g->edges);
    free(g->nslots);
    free(g->eslots);
    free(g);
}

/* FNV-1a */
static uint64_t graph_hash(const void *p, size_t n, uint64_t h)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++)
        h = (h ^ b[i]) * 0x100000001b3ull;
    return h;
}

static void graph_copy(char *dst, size_t len, const char *src)
{
    snprintf(dst, len, "%s", src ? src : "");
}

/* The node of ip, created when new; NULL when the table is full. */
static graph_node *graph_node_get(graph *g, const char *ip, uint32_t *idx)
{
    size_t i = graph_hash(ip, strlen(ip), 0xcbf29ce484222325ull) & g->nslot_mask;

    for (; g->nslots[i]; i = (i + 1) & g->nslot_mask) {
        graph_node *n = &g->nodes[g->nslots[i] - 1];
        if (strcmp(n->ip, ip) == 0) {
            *idx = g->nslots[i] - 1;
            return n;
        }
    }
    if (g->nnodes >= g->cfg.max_nodes)
        return NULL;
    *idx = g->nnodes++;
    g->nslots[i] = *idx + 1;
    graph_copy(g->nodes[*idx].ip, sizeof(g->nodes[*idx].ip), ip);
    return &g->nodes[*idx];
}

/* The first slot to probe for an edge. */
static size_t graph_edge_slot(const graph *g, uint32_t src, uint32_t dst, const char *proto)
{
    uint64_t h = graph_hash(&src, sizeof(src), 0xcbf29ce484222325ull);
    h = graph_hash(&dst, sizeof(dst), h);
    return graph_hash(proto, strlen(proto), h) & g->eslot_mask;
}

static graph_edge *graph_edge_get(graph *g, uint32_t src, uint32_t dst, const char *proto)
{
    size_t i = graph_edge_slot(g, src, dst, proto);

    for (; g->eslots[i]; i = (i + 1) & g->eslot_mask) {
        graph_edge *e = &g->edges[g->eslots[i] - 1];
        if (e->src == src && e->dst == dst && strcmp(e->proto, proto) == 0)
            return e;
    }
    if (g->nedges >= g->cfg.max_edges)
        return NULL;
    g->eslots[i] = g->nedges + 1;
    graph_edge *e = &g->edges[g->nedges++];
    e->src = src;
    e->dst = dst;
    graph_copy(e->proto, sizeof(e->proto), proto);
    return e;
}

/* ------------------------------------------------------------------------
 * Reading flow records
 * ---------------------------------------------------------------------- */

static const char *graph_str(const json_t *o, const char *key)
{
    return json_string_value(json_object_get(o, key));
}

static uint64_t graph_uint(const json_t *o, const char *key)
{
    json_int_t v = json_integer_value(json_object_get(o, key));
    return v > 0 ? (uint64_t)v : 0;
}

static int graph_has_role(const json_t *rec, const char *role)
{
    size_t i;
    json_t *v;

    json_array_foreach(json_object_get(rec, "roles"), i, v)
    {
        if (json_is_string(v) && strcmp(json_string_value(v), role) == 0)
            return 1;
    }
    return 0;
}

/* Country, AS and category from src_geo / dst_geo, once known. */
static void graph_node_geo(graph_node *n, const json_t *geo)
{
    if (!json_is_object(geo))
        return;
    if (n->country[0] == '\0')
        graph_copy(n->country, sizeof(n->country), graph_str(geo, "country"));
    if (n->asn == 0)
        n->asn = (uint32_t)graph_uint(geo, "asn");
    if (n->as_org[0] == '\0')
        graph_copy(n->as_org, sizeof(n->as_org), graph_str(geo, "as_org"));
    if (n->category[0] == '\0')
        graph_copy(n->category, sizeof(n->category), graph_str(geo, "category"));
}

/* The edge's protocol label: nDPI's application, else proto/port. */
static void graph_proto(const json_t *rec, char *buf, size_t len)
{
    const char *app = graph_str(rec, "app");
    const char *proto = graph_str(rec, "proto");

    if (app && *app && strcmp(app, "Unknown") != 0)
        snprintf(buf, len, "%s", app);
    else
        snprintf(buf, len, "%s/%" PRIu64, proto ? proto : "ip", graph_uint(rec, "dst_port"));
}

/* Whether a record belongs in the picture: it touches a GPU host, or it
 * is a control session or a relay leg (the legs in front of GPU hosts). */
static int graph_flow_relevant(const json_t *rec, int *gsrc, int *gdst)
{
    *gsrc = graph_has_role(rec, "gpu_src");
    *gdst = graph_has_role(rec, "gpu_dst");
    return *gsrc || *gdst || graph_has_role(rec, "control") || graph_has_role(rec, "relay_leg");
}

/* The facts one record adds to its two ends. */
static void graph_mark(graph_node *s, graph_node *d, const json_t *rec, int gsrc, int gdst)
{
    const json_t *gh = json_object_get(rec, "gpu_host");
    const char *prov = graph_str(gh, "provider");

    if (gsrc)
        s->flags |= GRAPH_F_GPU;
    if (gdst)
        d->flags |= GRAPH_F_GPU;
    if (gdst && !gsrc)
        s->flags |= GRAPH_F_TO_GPU;
    if (gsrc && !gdst)
        d->flags |= GRAPH_F_FROM_GPU;
    if (!gsrc && !gdst) {
        s->flags |= GRAPH_F_LEG_OUT;
        d->flags |= GRAPH_F_LEG_IN;
    }
    if (graph_has_role(rec, "relay_leg")) {
        s->flags |= gdst ? GRAPH_F_RELAY : 0;
        d->flags |= gdst ? 0 : GRAPH_F_RELAY;
    }
    const char *gip = graph_str(gh, "ip");
    graph_node *gn = gip && strcmp(gip, s->ip) == 0 ? s : d;
    if (prov && gn->provider[0] == '\0')
        graph_copy(gn->provider, sizeof(gn->provider), prov);
}

void graph_add_flow(graph *g, const json_t *rec)
{
    const char *sip = graph_str(rec, "src_ip"), *dip = graph_str(rec, "dst_ip");
    uint64_t up = graph_uint(rec, "bytes_c2s"), down = graph_uint(rec, "bytes_s2c");
    const char *end = graph_str(rec, "end");
    char proto[32];
    uint32_t si, di;
    int gsrc, gdst;

    if (sip == NULL || dip == NULL || !graph_flow_relevant(rec, &gsrc, &gdst))
        return;
    graph_proto(rec, proto, sizeof(proto));
    pthread_mutex_lock(&g->lock);
    graph_node *s = graph_node_get(g, sip, &si);
    graph_node *d = s ? graph_node_get(g, dip, &di) : NULL;
    graph_edge *e = d ? graph_edge_get(g, si, di, proto) : NULL;
    if (e == NULL) {
        g->stats.flows_skipped++;
        g->stats.bytes_skipped += up + down;
    } else {
        graph_node_geo(s, json_object_get(rec, "src_geo"));
        graph_node_geo(d, json_object_get(rec, "dst_geo"));
        graph_mark(s, d, rec, gsrc, gdst);
        e->records++;
        e->sessions += end == NULL || strcmp(end, "active") != 0;
        e->bytes_up += up;
        e->bytes_down += down;
        g->stats.flows++;
    }
    pthread_mutex_unlock(&g->lock);
}

graph_stats graph_get_stats(graph *g)
{
    graph_stats st;

    pthread_mutex_lock(&g->lock);
    st = g->stats;
    st.nodes = g->nnodes;
    st.edges = g->nedges;
    pthread_mutex_unlock(&g->lock);
    return st;
}

/* ------------------------------------------------------------------------
 * What a node is
 * ---------------------------------------------------------------------- */

/* Networks that host relays rather than people: hosting and VPS, VPN and
 * proxy networks, tunnel edges (docs/geo.md, categories). */
static int graph_relay_category(const char *c)
{
    return strcmp(c, "hosting") == 0 || strcmp(c, "vpn_proxy") == 0 ||
           strcmp(c, "tunnel_edge") == 0;
}

/* The column of a node. Grows with the detection work: roles it adds to
 * flow records (control, relay_leg) arrive here as flags. */
static graph_kind graph_node_kind(const graph_node *n)
{
    unsigned f = n->flags;
    int opens = (f & (GRAPH_F_TO_GPU | GRAPH_F_LEG_OUT)) != 0;

    if (f & GRAPH_F_GPU)
        return GRAPH_GPU_HOST;
    if ((f & GRAPH_F_TO_GPU) && ((f & (GRAPH_F_LEG_IN | GRAPH_F_RELAY | GRAPH_F_FROM_GPU)) ||
                                 graph_relay_category(n->category)))
        return GRAPH_RELAY;
    if (opens)
        return GRAPH_END_USER;
    if (f & GRAPH_F_LEG_IN)
        return GRAPH_RELAY;
    return GRAPH_EGRESS;
}

const char *graph_kind_name(graph_kind k)
{
    static const char *const names[GRAPH_NKINDS] = {"end_user", "relay", "gpu_host", "egress"};
    return k < GRAPH_NKINDS ? names[k] : "unknown";
}

/* ------------------------------------------------------------------------
 * DOT
 * ---------------------------------------------------------------------- */

static int graph_in(const char (*list)[3], int n, const char *cc)
{
    for (int i = 0; i < n; i++)
        if (strcmp(list[i], cc) == 0)
            return 1;
    return 0;
}

/* Fill by country: China red, relay countries orange, known elsewhere
 * blue, unknown grey. */
static const char *graph_fill(const graph *g, const graph_node *n)
{
    if (n->country[0] == '\0')
        return "#e0e0e0";
    if (graph_in(g->cfg.china, g->cfg.nchina, n->country))
        return "#f4a3a3";
    if (graph_in(g->cfg.relay, g->cfg.nrelay, n->country))
        return "#fdd49e";
    return "#c6dbef";
}

/* Outline by category. */
static const char *graph_outline(const char *c)
{
    if (strncmp(c, "china_", 6) == 0 || strncmp(c, "cn_", 3) == 0)
        return "#a50f15";
    if (graph_relay_category(c))
        return "#e6550d";
    if (strcmp(c, "gpu_cloud") == 0)
        return "#238b45";
    if (strcmp(c, "hyperscaler") == 0)
        return "#2171b5";
    if (strcmp(c, "residential") == 0)
        return "#6a51a3";
    return "#525252";
}

static const char *const graph_shapes[GRAPH_NKINDS] = {"ellipse", "diamond", "box3d", "cylinder"};

/* s as the inside of a DOT quoted string: quotes and backslashes escaped,
 * anything but printable ASCII replaced. */
static void graph_escape(const char *s, char *out, size_t len)
{
    size_t o = 0;

    for (; s && *s && o + 3 < len; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            out[o++] = '\\';
        out[o++] = c >= 0x20 && c < 0x7f ? (char)c : '?';
    }
    out[o] = '\0';
}

static void graph_bytes(uint64_t b, char *buf, size_t len)
{
    if (b < 1000)
        snprintf(buf, len, "%" PRIu64 " B", b);
    else if (b < 1000000)
        snprintf(buf, len, "%.1f kB", (double)b / 1e3);
    else if (b < 1000000000)
        snprintf(buf, len, "%.1f MB", (double)b / 1e6);
    else
        snprintf(buf, len, "%.2f GB", (double)b / 1e9);
}

static void graph_write_node(FILE *f, const graph *g, const graph_node *n, graph_kind k)
{
    char org[160], cat[80], prov[120], line2[200];

    graph_escape(n->as_org, org, sizeof(org));
    graph_escape(n->category, cat, sizeof(cat));
    graph_escape(n->provider, prov, sizeof(prov));
    if (n->asn)
        snprintf(line2, sizeof(line2), "%s AS%" PRIu32 " %s", n->country[0] ? n->country : "??",
                 n->asn, org);
    else
        snprintf(line2, sizeof(line2), "%s", n->country[0] ? n->country : "??");
    fprintf(f,
            "  \"%s\" [label=\"%s\\n%s%s%s%s%s\", shape=%s, style=filled, fillcolor=\"%s\", "
            "color=\"%s\", penwidth=2, lh_kind=\"%s\", lh_country=\"%s\", lh_category=\"%s\"];\n",
            n->ip, n->ip, line2, cat[0] ? "\\n" : "", cat, prov[0] ? "\\nGPU: " : "", prov,
            graph_shapes[k], graph_fill(g, n), graph_outline(n->category), graph_kind_name(k),
            n->country, cat);
}

static void graph_write_edge(FILE *f, const graph *g, const graph_edge *e)
{
    char proto[80], up[32], down[32];
    uint64_t total = e->bytes_up + e->bytes_down;
    double width = 1.0;

    for (uint64_t b = total; b >= 1000000 && width < 6; b /= 10)
        width += 0.5; /* thicker with every tenfold past 1 MB */
    graph_escape(e->proto, proto, sizeof(proto));
    graph_bytes(e->bytes_up, up, sizeof(up));
    graph_bytes(e->bytes_down, down, sizeof(down));
    fprintf(f,
            "  \"%s\" -> \"%s\" [label=\"%s\\n%" PRIu64 " session%s\\n%s up, %s down\", "
            "penwidth=%.1f, lh_proto=\"%s\", lh_sessions=%" PRIu64 ", lh_bytes=%" PRIu64 "];\n",
            g->nodes[e->src].ip, g->nodes[e->dst].ip, proto, e->sessions,
            e->sessions == 1 ? "" : "s", up, down, width, proto, e->sessions, total);
}

/* Sorting for a stable file: by node address, then protocol. */
static int graph_cmp_node(const void *a, const void *b, void *arg)
{
    const graph *g = arg;
    return strcmp(g->nodes[*(const uint32_t *)a].ip, g->nodes[*(const uint32_t *)b].ip);
}

static int graph_cmp_edge(const void *a, const void *b, void *arg)
{
    const graph *g = arg;
    const graph_edge *x = a, *y = b;
    int c = strcmp(g->nodes[x->src].ip, g->nodes[y->src].ip);
    if (c == 0)
        c = strcmp(g->nodes[x->dst].ip, g->nodes[y->dst].ip);
    return c ? c : strcmp(x->proto, y->proto);
}

/* Sorting moved the edges: their slots are rebuilt, so flows added after
 * a write (a live sensor writes only at its end, but tests add more)
 * still find them. */
static void graph_reindex_edges(graph *g)
{
    memset(g->eslots, 0, (g->eslot_mask + 1) * sizeof(*g->eslots));
    for (uint32_t i = 0; i < g->nedges; i++) {
        const graph_edge *e = &g->edges[i];
        size_t s = graph_edge_slot(g, e->src, e->dst, e->proto);
        while (g->eslots[s])
            s = (s + 1) & g->eslot_mask;
        g->eslots[s] = i + 1;
    }
}

static void graph_write_body(FILE *f, graph *g, uint32_t *order)
{
    static const char *const titles[GRAPH_NKINDS] = {"end users", "intermediaries and relays",
                                                     "GPU hosts", "egress destinations"};

    for (uint32_t i = 0; i < g->nnodes; i++)
        order[i] = i;
    qsort_r(order, g->nnodes, sizeof(*order), graph_cmp_node, g);
    for (int k = 0; k < GRAPH_NKINDS; k++) {
        fprintf(f, "  subgraph \"col_%s\" {\n  rank=same;\n  /* %s */\n",
                graph_kind_name((graph_kind)k), titles[k]);
        for (uint32_t i = 0; i < g->nnodes; i++)
            if (graph_node_kind(&g->nodes[order[i]]) == (graph_kind)k)
                graph_write_node(f, g, &g->nodes[order[i]], (graph_kind)k);
        fprintf(f, "  }\n");
    }
    qsort_r(g->edges, g->nedges, sizeof(*g->edges), graph_cmp_edge, g);
    graph_reindex_edges(g);
    for (uint32_t i = 0; i < g->nedges; i++)
        graph_write_edge(f, g, &g->edges[i]);
}

int graph_write_dot(graph *g, const char *path, char *err, size_t errlen)
{
    FILE *f = fopen(path, "w");

    if (f == NULL) {
        snprintf(err, errlen, "--graph %s: %s", path, strerror(errno));
        return -1;
    }
    return graph_write_dot_file(g, f, path, err, errlen);
}

int graph_write_dot_file(graph *g, FILE *f, const char *path, char *err, size_t errlen)
{
    char skipped[200] = "", bytes[32];
    uint32_t *order = malloc(((size_t)g->nnodes + 1) * sizeof(*order));

    if (order == NULL) {
        snprintf(err, errlen, "--graph %s: out of memory", path);
        fclose(f);
        return -1;
    }
    pthread_mutex_lock(&g->lock);
    if (g->stats.flows_skipped) {
        graph_bytes(g->stats.bytes_skipped, bytes, sizeof(bytes));
        snprintf(skipped, sizeof(skipped),
                 "\\n%" PRIu64 " flows (%s) not drawn: the graph holds at most %u nodes and %u "
                 "edges",
                 g->stats.flows_skipped, bytes, g->cfg.max_nodes, g->cfg.max_edges);
    }
    fprintf(f,
            "/* loophole --graph: end users -> intermediaries and relays -> GPU hosts -> egress\n"
            " * destinations. Render: dot -Tsvg FILE.dot -o FILE.svg */\n"
            "digraph loophole {\n"
            "  rankdir=LR; nodesep=0.3; ranksep=1.2; fontname=\"Helvetica\";\n"
            "  node [fontname=\"Helvetica\", fontsize=10];\n"
            "  edge [fontname=\"Helvetica\", fontsize=9, color=\"#555555\"];\n"
            "  labelloc=b; label=\"fill: red China, orange relay country, blue elsewhere, grey "
            "unknown; outline: category (red Chinese networks, orange hosting/VPN, green GPU "
            "cloud, blue hyperscaler)%s\";\n",
            skipped);
    graph_write_body(f, g, order);
    fprintf(f, "}\n");
    pthread_mutex_unlock(&g->lock);
    free(order);
    if (ferror(f) | (fclose(f) != 0)) {
        snprintf(err, errlen, "--graph %s: write failed: %s", path, strerror(errno));
        return -1;
    }
    return 0;
}
