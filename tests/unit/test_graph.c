/* test_graph.c -- the --graph aggregator: node kinds, edge sums, the cap,
 * escaping of hostile names, and the same file whatever the arrival order.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "app/graph.h"

static const char china[][3] = {"CN"};
static const char relay[][3] = {"HK", "SG", "MY"};

static graph *new_graph(unsigned max_nodes, unsigned max_edges)
{
    graph_config gc = {.max_nodes = max_nodes,
                       .max_edges = max_edges,
                       .china = china,
                       .nchina = 1,
                       .relay = relay,
                       .nrelay = 3};
    graph *g = graph_new(&gc);
    assert_non_null(g);
    return g;
}

/* A flow record with the fields the graph reads. */
static json_t *rec(const char *src, const char *dst, const char *app, const char *role,
                   const char *scc, const char *scat, const char *dcc, const char *dcat,
                   long long up, long long down, const char *end)
{
    json_t *r =
        json_pack("{s:s, s:s, s:s, s:s, s:i, s:I, s:I, s:s, s:[], s:{s:s, s:i, s:s, s:s?}, "
                  "s:{s:s, s:i, s:s, s:s?}}",
                  "src_ip", src, "dst_ip", dst, "app", app, "proto", "tcp", "dst_port", 22,
                  "bytes_c2s", (json_int_t)up, "bytes_s2c", (json_int_t)down, "end", end, "roles",
                  "src_geo", "country", scc, "asn", 64500, "as_org", "Src \"Net\"\n", "category",
                  scat, "dst_geo", "country", dcc, "asn", 64501, "as_org", "Dst", "category", dcat);
    if (role)
        json_array_append_new(json_object_get(r, "roles"), json_string(role));
    if (role && strcmp(role, "gpu_dst") == 0)
        json_object_set_new(r, "gpu_host",
                            json_pack("{s:s, s:s}", "ip", dst, "provider", "Lambda"));
    if (role && strcmp(role, "gpu_src") == 0)
        json_object_set_new(r, "gpu_host",
                            json_pack("{s:s, s:s}", "ip", src, "provider", "Lambda"));
    return r;
}

static void add(graph *g, json_t *r)
{
    graph_add_flow(g, r);
    json_decref(r);
}

static char *write_read(graph *g)
{
    char path[] = "/tmp/lhgraph.XXXXXX", err[512];
    int fd = mkstemp(path);
    static char buf[1 << 16];
    FILE *f;
    size_t n;

    assert_true(fd >= 0);
    close(fd);
    if (graph_write_dot(g, path, err, sizeof(err)) != 0)
        fail_msg("%s", err);
    f = fopen(path, "r");
    n = fread(buf, 1, sizeof(buf) - 1, f);
    buf[n] = '\0';
    fclose(f);
    unlink(path);
    return buf;
}

/* The node line of ip, or fail. */
static const char *node_line(const char *dot, const char *ip)
{
    static char line[2048];
    char key[64];
    const char *p;

    snprintf(key, sizeof(key), "  \"%s\" [", ip);
    if ((p = strstr(dot, key)) == NULL)
        fail_msg("no node %s in:\n%s", ip, dot);
    snprintf(line, sizeof(line), "%.*s", (int)strcspn(p, "\n"), p);
    return line;
}

static void test_kinds_and_edges(void **state)
{
    graph *g = new_graph(0, 0);
    const char *dot;

    (void)state;
    /* a China client drives a GPU host over SSH, twice (one session cut by
     * the active timeout: two records, two sessions counted as one + one) */
    add(g, rec("175.16.199.23", "104.171.200.17", "SSH", "gpu_dst", "CN", "china_telecom", "US",
               "gpu_cloud", 100, 1000, "active"));
    add(g, rec("175.16.199.23", "104.171.200.17", "SSH", "gpu_dst", "CN", "china_telecom", "US",
               "gpu_cloud", 50, 500, "fin"));
    /* a client reaches a relay (control leg without a GPU host), the relay
     * drives the GPU host */
    add(g, rec("1.180.23.7", "45.76.1.2", "SSH", "control", "CN", "china_telecom", "SG", NULL, 10,
               20, "fin"));
    add(g, rec("45.76.1.2", "104.171.200.17", "SSH", "gpu_dst", "SG", NULL, "US", "gpu_cloud", 10,
               20, "fin"));
    /* a hosting network in front of a GPU host is a relay by category */
    add(g, rec("43.252.36.10", "104.171.201.9", "RDP", "gpu_dst", "MY", "hosting", "US",
               "gpu_cloud", 1, 2, "fin"));
    /* egress from the GPU host */
    add(g, rec("104.171.200.17", "118.31.219.198", "TLS.Alibaba", "gpu_src", "US", "gpu_cloud",
               "CN", "china_cloud", 26313741, 574924, "fin"));
    /* a flow that touches no GPU host and has no control role: not drawn */
    add(g, rec("10.0.0.1", "10.0.0.2", "HTTP", NULL, "US", NULL, "US", NULL, 1, 1, "fin"));

    graph_stats st = graph_get_stats(g);
    assert_int_equal(st.flows, 6);
    assert_int_equal(st.nodes, 7);
    assert_int_equal(st.edges, 5);
    dot = write_read(g);
    assert_non_null(strstr(node_line(dot, "175.16.199.23"), "lh_kind=\"end_user\""));
    assert_non_null(strstr(node_line(dot, "175.16.199.23"), "fillcolor=\"#f4a3a3\""));
    assert_non_null(strstr(node_line(dot, "1.180.23.7"), "lh_kind=\"end_user\""));
    assert_non_null(strstr(node_line(dot, "45.76.1.2"), "lh_kind=\"relay\""));
    assert_non_null(strstr(node_line(dot, "45.76.1.2"), "fillcolor=\"#fdd49e\""));
    assert_non_null(strstr(node_line(dot, "43.252.36.10"), "lh_kind=\"relay\""));
    assert_non_null(strstr(node_line(dot, "104.171.200.17"), "lh_kind=\"gpu_host\""));
    assert_non_null(strstr(node_line(dot, "104.171.200.17"), "GPU: Lambda"));
    assert_non_null(strstr(node_line(dot, "118.31.219.198"), "lh_kind=\"egress\""));
    assert_null(strstr(dot, "10.0.0.1"));
    assert_non_null(strstr(dot, "\"175.16.199.23\" -> \"104.171.200.17\" [label=\"SSH\\n1 "
                                "session\\n150 B up, 1.5 kB down\""));
    assert_non_null(strstr(dot, "lh_proto=\"TLS.Alibaba\", lh_sessions=1, lh_bytes=26888665"));
    /* a hostile AS name cannot end the string or the line */
    assert_non_null(strstr(dot, "Src \\\"Net\\\"?"));
    graph_free(g);
}

/* Past the cap, flows are counted and the file says so. */
static void test_cap(void **state)
{
    graph *g = new_graph(3, 2);
    char ip[32];
    const char *dot;

    (void)state;
    for (int i = 0; i < 5; i++) {
        snprintf(ip, sizeof(ip), "1.180.23.%d", i + 1);
        add(g, rec(ip, "104.171.200.17", "SSH", "gpu_dst", "CN", NULL, "US", "gpu_cloud", 100, 0,
                   "fin"));
    }
    graph_stats st = graph_get_stats(g);
    assert_int_equal(st.nodes, 3);
    assert_int_equal(st.edges, 2);
    assert_int_equal(st.flows, 2);
    assert_int_equal(st.flows_skipped, 3);
    assert_int_equal(st.bytes_skipped, 300);
    dot = write_read(g);
    assert_non_null(
        strstr(dot, "3 flows (300 B) not drawn: the graph holds at most 3 nodes and 2 edges"));
    graph_free(g);
}

typedef struct feeder {
    graph *g;
    int from, to;
} feeder;

static void *feed(void *arg)
{
    feeder *f = arg;
    char ip[32];

    for (int i = f->from; i != f->to; i += f->from < f->to ? 1 : -1) {
        snprintf(ip, sizeof(ip), "1.180.%d.%d", i / 200, i % 200 + 1);
        add(f->g, rec(ip, "104.171.200.17", "SSH", "gpu_dst", "CN", NULL, "US", "gpu_cloud", i, 1,
                      "fin"));
        add(f->g, rec("104.171.200.17", ip, "HTTP", "gpu_src", "US", "gpu_cloud", "CN", NULL, 1, i,
                      "fin"));
    }
    return NULL;
}

/* Two threads adding the same flows in opposite orders give the same file
 * as one thread. */
static void test_order_independent(void **state)
{
    graph *one = new_graph(0, 0), *two = new_graph(0, 0);
    feeder a = {one, 0, 2000}, b = {two, 0, 1000}, c = {two, 1999, 999};
    pthread_t t1, t2;
    char *dot1;

    (void)state;
    feed(&a);
    pthread_create(&t1, NULL, feed, &b);
    pthread_create(&t2, NULL, feed, &c);
    pthread_join(t1, NULL);
    pthread_join(t2, NULL);
    dot1 = strdup(write_read(one));
    assert_string_equal(dot1, write_read(two));
    free(dot1);
    graph_free(one);
    graph_free(two);
}

static void test_unwritable(void **state)
{
    graph *g = new_graph(0, 0);
    char err[512];

    (void)state;
    assert_int_equal(graph_write_dot(g, "/nonexistent/dir/g.dot", err, sizeof(err)), -1);
    assert_non_null(strstr(err, "--graph /nonexistent/dir/g.dot"));
    graph_free(g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_kinds_and_edges),
        cmocka_unit_test(test_cap),
        cmocka_unit_test(test_order_independent),
        cmocka_unit_test(test_unwritable),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
