/* test_roles.c -- control session kinds (analyze/roles.c) and HTTP request
 * lines (analyze/http_req.c).
 *
 * A table of (nDPI app, SNI, Host, path, protocol, server port) cases
 * goes through the shipped rule table (data/indicators/controls.csv),
 * including near misses that must
 * not match: look-alike names, a bare suffix without the label before it,
 * plain HTTPS to 443, a port rule under a more specific nDPI verdict.
 * Request lines are parsed from raw bytes, whole and cut short; and a flow
 * whose first request says nothing but whose later request names a
 * Jupyter API becomes a Jupyter session through the per-packet hook.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "analyze/dpi.h"
#include "analyze/flow.h"
#include "analyze/http_req.h"
#include "analyze/roles.h"
#include "capture/flow_key.h"
#include "geo/controls.h"
#include "geo/csv.h"

/* The shipped rules, loaded once for every test of this file. */
static const roles_table *shipped(void)
{
    static controls *c;
    static roles_table t;
    char path[1024], err[512] = "";
    const char *data = getenv("LOOPHOLE_TESTDATA");
    size_t len;

    if (c == NULL) {
        snprintf(path, sizeof(path), "%s/../../data/indicators/controls.csv",
                 data ? data : "tests/data");
        char *buf = csv_slurp(path, &len, err, sizeof(err));
        c = controls_new();
        if (buf == NULL || c == NULL || controls_parse(c, path, buf, len, err, sizeof(err)) != 0)
            fail_msg("%s", err);
        free(buf);
        t.rules = controls_rules(c, &t.n);
    }
    return &t;
}

typedef struct rcase {
    const char *app, *sni, *host, *path;
    uint8_t proto;
    uint16_t port;
    const char *want; /* NULL: not a control session */
} rcase;

static const rcase cases[] = {
    /* nDPI's own verdicts */
    {"SSH", NULL, NULL, NULL, 6, 22, "ssh"},
    {"SSH", NULL, NULL, NULL, 6, 2222, "ssh"},
    {"RDP", NULL, NULL, NULL, 6, 3389, "rdp"},
    {"VNC", NULL, NULL, NULL, 6, 5901, "vnc"},
    {"AnyDesk", NULL, NULL, NULL, 6, 443, "remote_desktop:anydesk"},
    {"TLS.AnyDesk", "relay-3a1c.net.anydesk.com", NULL, NULL, 6, 443, "remote_desktop:anydesk"},
    {"TeamViewer", NULL, NULL, NULL, 6, 5938, "remote_desktop:teamviewer"},
    /* Jupyter: paths, default port, managed notebooks */
    {"HTTP", NULL, "10.0.0.5:8888", "/lab", 6, 8888, "jupyter"},
    {"HTTP", NULL, "gpu:8000", "/lab/tree/train.ipynb", 6, 8000, "jupyter"},
    {"HTTP", NULL, "gpu:8000", "/tree?", 6, 8000, "jupyter"},
    {"HTTP", NULL, "gpu", "/api/kernels/5d0f6b1e-8c3a-4f2e-9b7d-2a61c9e04f13/channels", 6, 80,
     "jupyter"},
    {"HTTP", NULL, "gpu", "/api/sessions", 6, 80, "jupyter"},
    {"HTTP", NULL, "gpu", "/api/contents/work?type=directory", 6, 80, "jupyter"},
    {"HTTP", NULL, NULL, "/", 6, 8888, "jupyter"},
    {"Unknown", NULL, NULL, NULL, 6, 8888, "jupyter"},
    {"TLS", "ml-gpu-1.notebook.us-west-2.sagemaker.aws", NULL, NULL, 6, 443, "jupyter"},
    {"TLS", "d-abc123.studio.eu-west-1.sagemaker.aws", NULL, NULL, 6, 443, "jupyter"},
    {"TLS", "ci-a100.westeurope.instances.azureml.ms", NULL, NULL, 6, 443, "jupyter"},
    {"TLS", "4f2e-dot-us-central1.notebooks.googleusercontent.com", NULL, NULL, 6, 443, "jupyter"},
    {"TLS", "jupyter-7f3a9c.lambdaspaces.com", NULL, NULL, 6, 443, "jupyter"},
    {"TLS", "q8x2k1-8888.proxy.runpod.net", NULL, NULL, 6, 443, "jupyter"},
    {"TLS", "a1b2c3.notebooksa.jarvislabs.net", NULL, NULL, 6, 443, "jupyter"},
    {"TLS", "a1b2c3.notebooks.jarvislabs.net", NULL, NULL, 6, 443, "jupyter"},
    {"TLS", "dsw-gateway-cn-hangzhou.data.aliyun.com", NULL, NULL, 6, 443, "jupyter"},
    {"TLS", "dsw-1a2b-proxy-8888.dsw-gateway-cn-shanghai.data.aliyun.com", NULL, NULL, 6, 443,
     "jupyter"},
    /* TensorBoard, Ray */
    {"HTTP", NULL, "gpu:6006", "/data/plugins_listing", 6, 6006, "tensorboard"},
    {"HTTP", NULL, "gpu", "/data/plugins_listing", 6, 80, "tensorboard"},
    {"Unknown", NULL, NULL, NULL, 6, 6006, "tensorboard"},
    {"HTTP", NULL, "gpu:8265", "/", 6, 8265, "ray"},
    /* Remote desktops nDPI does not know */
    {"TLS", "api.todesk.com", NULL, NULL, 6, 443, "remote_desktop:todesk"},
    {"TLS", "todesk.com", NULL, NULL, 6, 443, "remote_desktop:todesk"},
    {"HTTP", NULL, "upgrade.todesk.cn", "/", 6, 80, "remote_desktop:todesk"},
    {"TLS", "client-api.oray.net", NULL, NULL, 6, 443, "remote_desktop:sunlogin"},
    {"TLS", "sl-login.sunlogin.net", NULL, NULL, 6, 443, "remote_desktop:sunlogin"},
    {"TLS", "rs-ny.rustdesk.com", NULL, NULL, 6, 443, "remote_desktop:rustdesk"},
    {"Unknown", NULL, NULL, NULL, 6, 21116, "remote_desktop:rustdesk"},
    {"Unknown", NULL, NULL, NULL, 17, 21116, "remote_desktop:rustdesk"},
    {"TLS", "kessel-api.parsec.app", NULL, NULL, 6, 443, "remote_desktop:parsec"},
    {"TLS", "st2-relay.splashtop.com", NULL, NULL, 6, 443, "remote_desktop:splashtop"},
    /* Cloud control APIs and consoles */
    {"TLS.AmazonAWS", "ssm.us-east-1.amazonaws.com", NULL, NULL, 6, 443, "cloud_api:aws-ssm"},
    {"TLS.AmazonAWS", "ssmmessages.ap-east-1.amazonaws.com", NULL, NULL, 6, 443,
     "cloud_api:aws-ssm"},
    {"TLS.AmazonAWS", "ec2-instance-connect.us-west-2.amazonaws.com", NULL, NULL, 6, 443,
     "cloud_api:aws-ec2-instance-connect"},
    {"TLS.Azure", "management.azure.com", NULL, NULL, 6, 443, "cloud_api:azure"},
    {"TLS.Google", "tunnel.cloudproxy.app", NULL, NULL, 6, 443, "cloud_api:gcp-iap"},
    {"TLS", "cloud.lambda.ai", NULL, NULL, 6, 443, "cloud_api:lambda"},
    {"TLS", "api.runpod.io", NULL, NULL, 6, 443, "cloud_api:runpod"},
    {"TLS", "console.vast.ai", NULL, NULL, 6, 443, "cloud_api:vast"},
    {"TLS", "api.coreweave.com", NULL, NULL, 6, 443, "cloud_api:coreweave"},
    {"TLS", "modelarts.cn-north-4.myhuaweicloud.com", NULL, NULL, 6, 443,
     "cloud_api:huawei-modelarts"},
    /* Kubernetes */
    {"TLS", "k8s.example.net", NULL, NULL, 6, 6443, "kubernetes"},
    {"Unknown", NULL, NULL, NULL, 6, 6443, "kubernetes"},
    {"HTTP", NULL, "gpu:8001", "/api/v1/namespaces/default/pods", 6, 8001, "kubernetes"},
    {"HTTP", NULL, "gpu:8080", "/apis/apps/v1/deployments", 6, 8080, "kubernetes"},
    /* Tunnels */
    {"TLS", NULL, NULL, NULL, 6, 7000, "tunnel:frp"},
    {"HTTP", NULL, "relay.example.net", "/~!frp", 6, 80, "tunnel:frp"},
    {"TLS", "connect.ngrok-agent.com", NULL, NULL, 6, 443, "tunnel:ngrok"},
    {"TLS", "8c1f-203-0-113-9.ngrok-free.app", NULL, NULL, 6, 443, "tunnel:ngrok"},
    {"TLS", "h2.cftunnel.com", NULL, NULL, 6, 7844, "tunnel:cloudflared"},
    {"QUIC", NULL, NULL, NULL, 17, 7844, "tunnel:cloudflared"},
    {"TLS", "region1.v2.argotunnel.com", NULL, NULL, 6, 443, "tunnel:cloudflared"},
    {"TLS", "lazy-cat-42.trycloudflare.com", NULL, NULL, 6, 443, "tunnel:cloudflared"},
    {"TLS", "uks1-data.rel.tunnels.api.visualstudio.com", NULL, NULL, 6, 443, "tunnel:vscode"},
    {"TLS", "x7k2-8888.euw.devtunnels.ms", NULL, NULL, 6, 443, "tunnel:vscode"},
    {"TLS", "derp12.tailscale.com", NULL, NULL, 6, 443, "tunnel:tailscale"},
    {"TLS", "controlplane.tailscale.com", NULL, NULL, 6, 443, "tunnel:tailscale"},
    {"Unknown", NULL, NULL, NULL, 17, 41641, "tunnel:tailscale"},
    /* Case and a trailing root dot do not matter for names. */
    {"TLS", "API.ToDesk.COM.", NULL, NULL, 6, 443, "remote_desktop:todesk"},

    /* Near misses */
    {"TLS", "evil-todesk.com.example", NULL, NULL, 6, 443, NULL},
    {"TLS", "eviltodesk.com", NULL, NULL, 6, 443, NULL},
    {"TLS", "todesk.com.cn.example.org", NULL, NULL, 6, 443, NULL},
    {"TLS", "notebook.example.com", NULL, NULL, 6, 443, NULL},
    {"TLS", "notebook.us-west-2.sagemaker.aws", NULL, NULL, 6, 443, NULL},
    {"TLS", "runtime.sagemaker.us-east-1.amazonaws.com", NULL, NULL, 6, 443, NULL},
    {"TLS", "ssm.evil.example.amazonaws.com.example", NULL, NULL, 6, 443, NULL},
    {"TLS", "s3.us-west-2.amazonaws.com", NULL, NULL, 6, 443, NULL},
    {"TLS", "cdn-lfs.huggingface.co", NULL, NULL, 6, 443, NULL},
    {"TLS", NULL, NULL, NULL, 6, 443, NULL},
    {"TLS.Google", "www.google.com", NULL, NULL, 6, 443, NULL},
    {"TLS", "ngrok.com.example", NULL, NULL, 6, 443, NULL},
    {"TLS", "a.notebooks.jarvislabs.net.example", NULL, NULL, 6, 443, NULL},
    {"HTTP", NULL, "shop.example", "/label/123", 6, 80, NULL},
    {"HTTP", NULL, "shop.example", "/treehouse", 6, 80, NULL},
    {"HTTP", NULL, "shop.example", "/api/kernelsx", 6, 80, NULL},
    {"HTTP", NULL, "shop.example", "/api/v1/users", 6, 80, NULL},
    {"HTTP", NULL, "shop.example", "/", 6, 8000, NULL},
    {"HTTP", NULL, "dash.example:8080", "/", 6, 8080, NULL},
    {"HTTP", NULL, "10.0.0.5:8888", "/", 17, 8888, NULL},
    {"TLS", "api.example.com", NULL, NULL, 6, 8888, NULL}, /* TLS is not a port-8888 verdict */
    {"DNS", NULL, NULL, NULL, 17, 53, NULL},
    {"SSH", NULL, NULL, NULL, 1, 0, "ssh"}, /* the verdict alone is enough */
    {"Unknown", NULL, NULL, NULL, 17, 22, NULL},
    {NULL, NULL, NULL, NULL, 6, 443, NULL},
};

static void test_classify_table(void **state)
{
    const roles_table *t = shipped();
    int bad = 0;

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const rcase *c = &cases[i];
        roles_input in = {c->app, c->sni, c->host, c->path, -1, c->proto, c->port, 0, 0};
        const char *got = roles_classify(t, &in);
        if ((got == NULL) != (c->want == NULL) || (got && strcmp(got, c->want) != 0)) {
            print_error("case %zu (%s %s %s %s %u/%u): got %s, want %s\n", i, c->app ? c->app : "-",
                        c->sni ? c->sni : "-", c->host ? c->host : "-", c->path ? c->path : "-",
                        c->proto, c->port, got ? got : "none", c->want ? c->want : "none");
            bad++;
        }
    }
    assert_int_equal(bad, 0);
}

/* "none" for NULL, so that two answers compare as strings. */
static const char *kind_or_none(const char *k)
{
    return k ? k : "none";
}

/* A table made by roles_table_set() looks rules up through its index (by
 * the last characters of a name, by the kind of evidence); its answers
 * must be those of the plain table, which tries every rule in order, on
 * the cases above, on names made from every NAME pattern (the name
 * itself, a subdomain, upper case, with a port and a root dot, a
 * look-alike with a letter before it, the pattern's end cut short), and
 * on the apps, paths and port ranges of every other rule. */
static void test_classify_indexed(void **state)
{
    const roles_table *plain = shipped();
    roles_table t = {0};
    roles_kinds *k = roles_kinds_new();
    int bad = 0, matched = 0, tried = 0;

    assert_non_null(k);
    assert_int_equal(roles_table_set(&t, k, plain->rules, plain->n), 0);
    assert_non_null(t.index);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const rcase *c = &cases[i];
        roles_input in = {c->app, c->sni, c->host, c->path, -1, c->proto, c->port, 0, 0};
        const char *a = roles_classify(plain, &in), *b = roles_classify(&t, &in);
        if (strcmp(kind_or_none(a), kind_or_none(b)) != 0) {
            print_error("case %zu: plain %s, indexed %s\n", i, kind_or_none(a), kind_or_none(b));
            bad++;
        }
    }
    for (size_t r = 0; r < plain->n; r++) {
        const char *pat = plain->rules[r].pattern;
        char base[256], names[8][300];
        size_t m = 0;

        if (plain->rules[r].by != ROLES_BY_NAME || pat == NULL || strlen(pat) >= 200)
            continue;
        for (const char *s = pat; *s; s++) /* a '*' stands for one label's letters */
            m += (size_t)snprintf(base + m, sizeof(base) - m, "%s",
                                  *s == '*' ? "node7" : (char[]){*s, 0});
        snprintf(names[0], sizeof(names[0]), "%s", base);
        snprintf(names[1], sizeof(names[1]), "a.b.%s", base);
        snprintf(names[2], sizeof(names[2]), "%s", base);
        for (char *s = names[2]; *s; s++)
            if (*s >= 'a' && *s <= 'z')
                *s = (char)(*s - 32);
        snprintf(names[3], sizeof(names[3]), "%s:8443", base);
        snprintf(names[4], sizeof(names[4]), "www.%s.", base);
        snprintf(names[5], sizeof(names[5]), "x%s", base);
        snprintf(names[6], sizeof(names[6]), "%s", base + (strlen(base) > 3 ? 3 : 0));
        snprintf(names[7], sizeof(names[7]), "%.*s", (int)(strlen(base) - 1), base);
        for (int j = 0; j < 8; j++) {
            roles_input as_sni = {"TLS", names[j], NULL, NULL, -1, 6, 443, 0, 0};
            roles_input as_host = {"HTTP", NULL, names[j], NULL, -1, 6, 80, 0, 0};
            const char *a = roles_classify(plain, &as_sni), *b = roles_classify(&t, &as_sni);
            const char *c = roles_classify(plain, &as_host), *d = roles_classify(&t, &as_host);
            const char *e = roles_lookup(plain, names[j]), *f = roles_lookup(&t, names[j]);
            tried++;
            matched += a != NULL;
            if (strcmp(kind_or_none(a), kind_or_none(b)) != 0 ||
                strcmp(kind_or_none(c), kind_or_none(d)) != 0 ||
                strcmp(kind_or_none(e), kind_or_none(f)) != 0) {
                print_error("%s (rule %zu): plain %s/%s/%s, indexed %s/%s/%s\n", names[j], r,
                            kind_or_none(a), kind_or_none(c), kind_or_none(e), kind_or_none(b),
                            kind_or_none(d), kind_or_none(f));
                bad++;
            }
        }
    }
    /* APP, PATH and PORT rules: their own apps, paths and port ranges,
     * under other apps, and just outside. */
    static const char *const apps[] = {NULL, "Unknown", "TLS", "HTTP", "TLS.Google", "SSH"};
    for (size_t r = 0; r < plain->n; r++) {
        const roles_rule *rule = &plain->rules[r];
        char app[128], path[300];
        uint16_t ports[3] = {rule->port_lo, rule->port_hi, (uint16_t)(rule->port_hi + 1)};

        if (rule->by == ROLES_BY_NAME || rule->pattern == NULL || strlen(rule->pattern) >= 100)
            continue;
        snprintf(app, sizeof(app), "TLS.%s", rule->pattern);
        snprintf(path, sizeof(path), "%sx", rule->pattern);
        for (size_t a = 0; a < sizeof(apps) / sizeof(apps[0]) + 1; a++)
            for (int q = 0; q < 3; q++) {
                const char *ap = a < sizeof(apps) / sizeof(apps[0]) ? apps[a] : app;
                roles_input in[3] = {
                    {ap, NULL, NULL, NULL, -1, rule->proto ? rule->proto : 6, ports[q], 0, 0},
                    {ap, NULL, NULL, rule->pattern, -1, 6, 80, 0, 0},
                    {ap, NULL, NULL, path, -1, 17, ports[q], 0, 0}};
                for (int j = 0; j < 3; j++) {
                    const char *x = roles_classify(plain, &in[j]), *y = roles_classify(&t, &in[j]);
                    tried++;
                    matched += x != NULL;
                    if (strcmp(kind_or_none(x), kind_or_none(y)) != 0) {
                        print_error("rule %zu, app %s, port %u: plain %s, indexed %s\n", r,
                                    ap ? ap : "-", in[j].sport, kind_or_none(x), kind_or_none(y));
                        bad++;
                    }
                }
            }
    }
    roles_table_clear(&t);
    roles_kinds_free(k);
    assert_int_equal(bad, 0);
    assert_true(tried > 200);         /* the shipped table has dozens of NAME rules */
    assert_true(matched > tried / 3); /* and most of the names made from them match */
}

static void test_name_patterns(void **state)
{
    assert_true(roles_name_match("todesk.com", "todesk.com"));
    assert_true(roles_name_match("todesk.com", "a.b.todesk.com"));
    assert_true(roles_name_match("todesk.com", "todesk.com:443"));
    assert_false(roles_name_match("todesk.com", "xtodesk.com"));
    assert_false(roles_name_match("todesk.com", "todesk.co"));
    assert_false(roles_name_match("todesk.com", ""));
    assert_false(roles_name_match("todesk.com", NULL));
    /* '*' stays inside one label. */
    assert_true(roles_name_match("ssm.*.amazonaws.com", "ssm.eu-west-1.amazonaws.com"));
    assert_false(roles_name_match("ssm.*.amazonaws.com", "ssm.a.b.amazonaws.com"));
    assert_true(roles_name_match("derp*.tailscale.com", "derp.tailscale.com"));
    assert_false(roles_name_match("derp*.tailscale.com", "x.derp1.tailscale.com"));
    /* IPv6 literals are not names with a port. */
    assert_false(roles_name_match("todesk.com", "2001:db8::1"));
    /* A long hostile name costs little and matches nothing. */
    char longname[600];
    memset(longname, 'a', sizeof(longname) - 1);
    longname[sizeof(longname) - 1] = '\0';
    assert_false(roles_name_match("*.notebooks*.jarvislabs.net", longname));
    assert_false(roles_name_match("todesk.com", longname));
}

static void test_lookup(void **state)
{
    const roles_table *t = shipped();
    assert_string_equal(roles_lookup(t, "api.todesk.com"), "remote_desktop:todesk");
    assert_string_equal(roles_lookup(t, "connect.ngrok-agent.com"), "tunnel:ngrok");
    assert_null(roles_lookup(t, "evil-todesk.com.example"));
    assert_null(roles_lookup(t, "pypi.tuna.tsinghua.edu.cn"));
    assert_null(roles_lookup(t, NULL));
}

static void test_match_path(void **state)
{
    const roles_table *t = shipped();
    const char *p = "/api/kernels/abc/channels?x=1 HTTP/1.1";
    int i = roles_match_path(t, (const uint8_t *)p, 25);
    assert_true(i >= 0);
    assert_string_equal(t->rules[i].kind, "jupyter");
    assert_int_equal(roles_match_path(t, (const uint8_t *)"/lab", 3), -1); /* "/la" */
    assert_int_equal(roles_match_path(t, (const uint8_t *)"/index.html", 11), -1);
}

/* ------------------------------------------------------------------------
 * Request lines
 * ---------------------------------------------------------------------- */

static int parse(const char *s, http_req *r)
{
    return http_req_parse((const uint8_t *)s, strlen(s), r);
}

static void test_request_lines(void **state)
{
    http_req r;
    assert_true(parse("GET /lab?token=x HTTP/1.1\r\nHost: a\r\n\r\n", &r));
    assert_int_equal(r.method_len, 3);
    assert_int_equal(r.path_len, 12);
    assert_memory_equal(r.path, "/lab?token=x", 12);
    assert_int_equal(r.minor, 1);
    assert_true(parse("POST /api/sessions HTTP/1.0\n", &r));
    assert_memory_equal(r.path, "/api/sessions", r.path_len);
    assert_int_equal(r.minor, 0);
    /* Absolute form, as sent to a proxy. */
    assert_true(parse("GET http://gpu:8888/api/contents HTTP/1.1\r\n", &r));
    assert_int_equal(r.path_len, 13);
    assert_memory_equal(r.path, "/api/contents", 13);
    assert_true(parse("GET http://gpu:8888 HTTP/1.1\r\n", &r));
    assert_int_equal(r.path_len, 1);
    /* Not requests, or not whole ones. */
    assert_false(parse("CONNECT gpu:22 HTTP/1.1\r\n", &r));
    assert_false(parse("OPTIONS * HTTP/1.1\r\n", &r));
    assert_false(parse("GET /lab HTTP/1.1", &r)); /* cut before the line end */
    assert_false(parse("GET /lab", &r));
    assert_false(parse("GET /lab HTTP/2\r\n", &r));
    assert_false(parse("get /lab HTTP/1.1\r\n", &r));
    assert_false(parse("GE /lab HTTP/1.1\r\n", &r));
    assert_false(parse("GET  /lab HTTP/1.1\r\n", &r));
    assert_false(parse("GET /l\x01"
                       "ab HTTP/1.1\r\n",
                       &r));
    assert_false(parse("SSH-2.0-OpenSSH_9.6\r\n", &r));
    assert_false(parse("", &r));
    assert_false(http_req_parse(NULL, 10, &r));
    /* A line longer than the limit is not read. */
    size_t n = HTTP_REQ_LINE_MAX + 64;
    char *big = malloc(n + 1);
    assert_non_null(big);
    memset(big, 'a', n);
    memcpy(big, "GET /", 5);
    memcpy(big + n - 11, " HTTP/1.1\r\n", 11);
    big[n] = '\0';
    assert_false(parse(big, &r));
    free(big);
}

/* ------------------------------------------------------------------------
 * Flows: the per-packet hook and the update at inspection's end
 * ---------------------------------------------------------------------- */

static dpi_facts *facts_app_url(const char *app, const char *url)
{
    size_t la = strlen(app) + 1, lu = url ? strlen(url) + 1 : 0;
    dpi_facts *fa = calloc(1, sizeof(*fa) + la + lu);
    assert_non_null(fa);
    for (int i = 0; i < DPI_NFACTS; i++)
        fa->off[i] = DPI_ABSENT;
    fa->off[DPI_APP] = 0;
    memcpy(fa->text, app, la);
    if (url) {
        fa->off[DPI_URL] = (uint16_t)la;
        memcpy(fa->text + la, url, lu);
    }
    return fa;
}

static void client_payload(const roles_table *t, flow *f, const char *s)
{
    packet p;
    memset(&p, 0, sizeof(p));
    p.data = (const uint8_t *)s;
    p.payload_caplen = p.payload_len = (uint32_t)strlen(s);
    roles_packet(t, f, &p, 0);
}

static void http_flow(flow *f, uint16_t port)
{
    packet p;
    flow_key k;
    memset(&p, 0, sizeof(p));
    p.proto = 6;
    assert_int_equal(pkt_addr_parse("192.0.2.7", &p.src), 0);
    assert_int_equal(pkt_addr_parse("198.51.100.3", &p.dst), 0);
    p.sport = 50000;
    p.dport = port;
    p.flags = PKT_F_HAS_TCP;
    p.tcp_flags = TCP_SYN;
    int side = flow_key_make(&k, &p);
    flow_init(f, &k, 1, &p, side);
}

static void test_later_request_path(void **state)
{
    const roles_table *t = shipped();
    flow f;
    http_flow(&f, 80);
    client_payload(t, &f, "GET / HTTP/1.1\r\nHost: gpu\r\n\r\n");
    f.dpi_state = FLOW_DPI_DONE;
    f.facts = facts_app_url("HTTP", "gpu/");
    roles_update(t, &f);
    assert_null(f.control); /* "/" on port 80 is nothing */
    client_payload(t, &f, "\x17\x03\x03 binary");
    client_payload(t, &f, "GET /api/kernels HTTP/1.1\r\nHost: gpu\r\n\r\n");
    roles_update(t, &f);
    assert_string_equal(f.control, "jupyter");
    assert_int_equal(f.ctl_dns, 0);
    free(f.facts);
    flow_release(&f);

    /* The hook reads only the first ROLES_MAX_REQ_PKTS client payloads. */
    http_flow(&f, 80);
    for (int i = 0; i < ROLES_MAX_REQ_PKTS; i++)
        client_payload(t, &f, "GET /static/app.js HTTP/1.1\r\n\r\n");
    client_payload(t, &f, "GET /lab HTTP/1.1\r\n\r\n");
    f.dpi_state = FLOW_DPI_DONE;
    f.facts = facts_app_url("HTTP", "gpu/static/app.js");
    roles_update(t, &f);
    assert_null(f.control);
    free(f.facts);
    flow_release(&f);
}

static void test_update_before_inspection_ends(void **state)
{
    const roles_table *t = shipped();
    flow f;
    http_flow(&f, 3389);
    roles_update(t, &f); /* no facts yet: the port and "Unknown" */
    assert_string_equal(f.control, "rdp");
    http_flow(&f, 443);
    roles_update(t, &f);
    assert_null(f.control);
}

static void test_dns_query_names_a_tool(void **state)
{
    const roles_table *t = shipped();
    flow f;
    http_flow(&f, 53);
    f.key.proto = 17;
    dpi_facts *fa = facts_app_url("DNS", NULL);
    /* Put the query in as inspection would. */
    static const char q[] = "relay-7.todesk.com";
    dpi_facts *fq = realloc(fa, sizeof(*fa) + 4 + sizeof(q));
    assert_non_null(fq);
    fq->off[DPI_DNS_QUERY] = 4;
    memcpy(fq->text + 4, q, sizeof(q));
    f.facts = fq;
    f.dpi_state = FLOW_DPI_DONE;
    roles_update(t, &f);
    assert_string_equal(f.control, "remote_desktop:todesk");
    assert_int_equal(f.ctl_dns, 1);
    free(f.facts);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_classify_table),
        cmocka_unit_test(test_classify_indexed),
        cmocka_unit_test(test_name_patterns),
        cmocka_unit_test(test_lookup),
        cmocka_unit_test(test_match_path),
        cmocka_unit_test(test_request_lines),
        cmocka_unit_test(test_later_request_path),
        cmocka_unit_test(test_update_before_inspection_ends),
        cmocka_unit_test(test_dns_query_names_a_tool),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
