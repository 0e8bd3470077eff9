/* roles.c -- control session kinds (see roles.h).
 *
 * The built-in table below comes from the project's indicator list
 * (remote-control tools, tunnels, notebook and GPU cloud control hosts).
 * It is plain data, kept apart from the matching code: a new tool is a
 * new row (kind, by, pattern, ports, apps).
 *
 * Matching is on strings from the wire (SNI, Host, paths): every compare
 * is bounded by the NUL the facts carry or by the length given, and case
 * is ignored for names as DNS does.
 */
#include "roles.h"

#include <string.h>
#include <strings.h>

#include "dpi.h"
#include "http_req.h"

#define R_APP(kind, app)                                                                           \
    {                                                                                              \
        kind, ROLES_BY_APP, 0, 0, 0, app, NULL                                                     \
    }
#define R_NAME(kind, pat)                                                                          \
    {                                                                                              \
        kind, ROLES_BY_NAME, 0, 0, 0, pat, NULL                                                    \
    }
#define R_PATH(kind, pat)                                                                          \
    {                                                                                              \
        kind, ROLES_BY_PATH, 0, 0, 0, pat, NULL                                                    \
    }
#define R_PORT(kind, pr, lo, hi, apps)                                                             \
    {                                                                                              \
        kind, ROLES_BY_PORT, pr, lo, hi, NULL, apps                                                \
    }

static const roles_rule roles_builtin_rules[] = {
    /* What nDPI 4.2 names itself. */
    R_APP("ssh", "SSH"),
    R_APP("rdp", "RDP"),
    R_APP("vnc", "VNC"),
    R_APP("remote_desktop:anydesk", "AnyDesk"),
    R_APP("remote_desktop:teamviewer", "TeamViewer"),

    /* Managed notebooks (the session is a Jupyter server behind a proxy). */
    R_NAME("jupyter", "*.notebook.*.sagemaker.aws"),
    R_NAME("jupyter", "*.studio.*.sagemaker.aws"),
    R_NAME("jupyter", "instances.azureml.ms"),
    R_NAME("jupyter", "instances.azureml.net"),
    R_NAME("jupyter", "notebooks.azure.net"),
    R_NAME("jupyter", "notebooks.googleusercontent.com"),
    R_NAME("jupyter", "kernels.googleusercontent.com"),
    R_NAME("jupyter", "colab.research.google.com"),
    R_NAME("jupyter", "lambdaspaces.com"),
    R_NAME("jupyter", "proxy.runpod.net"),
    R_NAME("jupyter", "*.notebooks*.jarvislabs.net"),
    R_NAME("jupyter", "dsw-gateway-*.data.aliyun.com"),
    R_NAME("jupyter", "*.dsw-gateway-*.data.aliyun.com"),

    /* Remote desktops nDPI 4.2 does not know. */
    R_NAME("remote_desktop:anydesk", "net.anydesk.com"),
    R_NAME("remote_desktop:teamviewer", "teamviewer.com"),
    R_NAME("remote_desktop:todesk", "todesk.com"),
    R_NAME("remote_desktop:todesk", "todesk.cn"),
    R_NAME("remote_desktop:sunlogin", "oray.com"),
    R_NAME("remote_desktop:sunlogin", "oray.net"),
    R_NAME("remote_desktop:sunlogin", "orayer.com"),
    R_NAME("remote_desktop:sunlogin", "sunlogin.net"),
    R_NAME("remote_desktop:rustdesk", "rustdesk.com"),
    R_NAME("remote_desktop:parsec", "parsec.app"),
    R_NAME("remote_desktop:parsec", "parsecgaming.com"),
    R_NAME("remote_desktop:splashtop", "splashtop.com"),

    /* Cloud control APIs and consoles. */
    R_NAME("cloud_api:aws-ssm", "ssm.*.amazonaws.com"),
    R_NAME("cloud_api:aws-ssm", "ssmmessages.*.amazonaws.com"),
    R_NAME("cloud_api:aws-ssm", "ec2messages.*.amazonaws.com"),
    R_NAME("cloud_api:aws-ec2-instance-connect", "ec2-instance-connect.*.amazonaws.com"),
    R_NAME("cloud_api:azure", "management.azure.com"),
    R_NAME("cloud_api:azureml", "api.azureml.ms"),
    R_NAME("cloud_api:gcp-iap", "tunnel.cloudproxy.app"),
    R_NAME("cloud_api:gcp-notebooks", "notebooks.googleapis.com"),
    R_NAME("cloud_api:oracle", "cloud.oracle.com"),
    R_NAME("cloud_api:lambda", "cloud.lambda.ai"),
    R_NAME("cloud_api:lambda", "cloud.lambdalabs.com"),
    R_NAME("cloud_api:coreweave", "api.coreweave.com"),
    R_NAME("cloud_api:coreweave", "console.coreweave.com"),
    R_NAME("cloud_api:coreweave", "cloud.coreweave.com"),
    R_NAME("cloud_api:runpod", "api.runpod.io"),
    R_NAME("cloud_api:runpod", "rest.runpod.io"),
    R_NAME("cloud_api:runpod", "console.runpod.io"),
    R_NAME("cloud_api:runpod", "api.runpod.ai"),
    R_NAME("cloud_api:runpod", "ssh.runpod.io"),
    R_NAME("cloud_api:vast", "console.vast.ai"),
    R_NAME("cloud_api:vast", "cloud.vast.ai"),
    R_NAME("cloud_api:paperspace", "api.paperspace.com"),
    R_NAME("cloud_api:paperspace", "api.paperspace.io"),
    R_NAME("cloud_api:crusoe", "api.crusoecloud.com"),
    R_NAME("cloud_api:crusoe", "console.crusoecloud.com"),
    R_NAME("cloud_api:nebius", "api.nebius.cloud"),
    R_NAME("cloud_api:nebius", "console.nebius.com"),
    R_NAME("cloud_api:hyperstack", "infrahub-api.nexgencloud.com"),
    R_NAME("cloud_api:hyperstack", "console.hyperstack.cloud"),
    R_NAME("cloud_api:genesis", "api.genesiscloud.com"),
    R_NAME("cloud_api:fluidstack", "api.fluidstack.io"),
    R_NAME("cloud_api:tensordock", "dashboard.tensordock.com"),
    R_NAME("cloud_api:voltagepark", "dashboard.voltagepark.com"),
    R_NAME("cloud_api:voltagepark", "console.voltagepark.com"),
    R_NAME("cloud_api:jarvislabs", "backendprod.jarvislabs.net"),
    R_NAME("cloud_api:tencent", "tencentcloudapi.com"),
    R_NAME("cloud_api:huawei-modelarts", "modelarts.*.myhuaweicloud.com"),

    /* Tunnels that expose a host. */
    R_NAME("tunnel:ngrok", "connect.ngrok-agent.com"),
    R_NAME("tunnel:ngrok", "tunnel.ngrok.com"),
    R_NAME("tunnel:ngrok", "ngrok-free.app"),
    R_NAME("tunnel:ngrok", "ngrok-free.dev"),
    R_NAME("tunnel:ngrok", "ngrok.app"),
    R_NAME("tunnel:ngrok", "ngrok.io"),
    R_NAME("tunnel:ngrok", "ngrok.dev"),
    R_NAME("tunnel:cloudflared", "cftunnel.com"),
    R_NAME("tunnel:cloudflared", "argotunnel.com"),
    R_NAME("tunnel:cloudflared", "cfargotunnel.com"),
    R_NAME("tunnel:cloudflared", "trycloudflare.com"),
    R_NAME("tunnel:vscode", "rel.tunnels.api.visualstudio.com"),
    R_NAME("tunnel:vscode", "devtunnels.ms"),
    R_NAME("tunnel:tailscale", "controlplane.tailscale.com"),
    R_NAME("tunnel:tailscale", "login.tailscale.com"),
    R_NAME("tunnel:tailscale", "derp*.tailscale.com"),
    R_NAME("tunnel:tailscale", "ts.net"),

    /* Paths of the notebook, dashboard and cluster APIs. */
    R_PATH("jupyter", "/api/kernels"),
    R_PATH("jupyter", "/api/sessions"),
    R_PATH("jupyter", "/api/contents"),
    R_PATH("jupyter", "/api/terminals"),
    R_PATH("jupyter", "/lab"),
    R_PATH("jupyter", "/tree"),
    R_PATH("jupyter", "/hub/"),
    R_PATH("tensorboard", "/data/plugins_listing"),
    R_PATH("kubernetes", "/api/v1/namespaces"),
    R_PATH("kubernetes", "/api/v1/nodes"),
    R_PATH("kubernetes", "/api/v1/pods"),
    R_PATH("kubernetes", "/apis/"),
    R_PATH("tunnel:frp", "/~!frp"),

    /* Default ports, when nothing more specific was seen. */
    R_PORT("ssh", 6, 22, 22, "Unknown"),
    R_PORT("rdp", 6, 3389, 3389, "Unknown|TLS"),
    R_PORT("vnc", 6, 5900, 5909, "Unknown"),
    R_PORT("jupyter", 6, 8888, 8888, "HTTP|WebSocket|Unknown"),
    R_PORT("tensorboard", 6, 6006, 6006, "HTTP|Unknown"),
    R_PORT("ray", 6, 8265, 8265, "HTTP|Unknown"),
    R_PORT("kubernetes", 6, 6443, 6443, "TLS|Unknown"),
    R_PORT("tunnel:frp", 6, 7000, 7000, "TLS|Unknown"),
    R_PORT("tunnel:cloudflared", 0, 7844, 7844, NULL),
    R_PORT("tunnel:tailscale", 17, 41641, 41641, "Unknown|WireGuard"),
    R_PORT("remote_desktop:teamviewer", 0, 5938, 5938, "Unknown"),
    R_PORT("remote_desktop:anydesk", 6, 7070, 7070, "Unknown|TLS"),
    R_PORT("remote_desktop:rustdesk", 0, 21115, 21119, "Unknown"),
};

static const roles_table roles_builtin = {roles_builtin_rules, sizeof(roles_builtin_rules) /
                                                                   sizeof(roles_builtin_rules[0])};

const roles_table *roles_table_builtin(void)
{
    return &roles_builtin;
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

/* name equals pattern, or ends in "." + pattern. The last characters are
 * compared first: almost every rule fails there, and every flow that ends
 * is tried against every name rule. */
static int roles_domain(const char *pat, const char *name, size_t n)
{
    size_t m = strlen(pat);

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

/* The match on a name whose length roles_name_len() gave. Every name rule
 * is tried on every flow that ends, and almost all fail on their last
 * character, so that is compared before anything else. */
static int roles_name_match_n(const char *pattern, const char *name, size_t n)
{
    if (pattern == NULL || name == NULL || n == 0 || pattern[0] == '\0')
        return 0;
    char last = pattern[strlen(pattern) - 1];
    if (last != '*' && (last | 0x20) != (name[n - 1] | 0x20))
        return 0;
    if (strchr(pattern, '*') != NULL)
        return roles_glob(pattern, name, n);
    return roles_domain(pattern, name, n);
}

int roles_name_match(const char *pattern, const char *name)
{
    return name != NULL && roles_name_match_n(pattern, name, roles_name_len(name));
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

static int roles_rule_matches(const roles_table *t, size_t i, const roles_input *in)
{
    const roles_rule *r = &t->rules[i];

    switch (r->by) {
    case ROLES_BY_APP:
        return in->app != NULL && roles_app_part(in->app, r->pattern, strlen(r->pattern));
    case ROLES_BY_NAME:
        return roles_name_match_n(r->pattern, in->sni, in->sni_len) ||
               roles_name_match_n(r->pattern, in->host, in->host_len);
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

const char *roles_classify(const roles_table *t, const roles_input *in)
{
    roles_input x = *in;

    x.sni_len = x.sni ? roles_name_len(x.sni) : 0;
    x.host_len = x.host ? roles_name_len(x.host) : 0;
    for (size_t i = 0; i < t->n; i++)
        if (roles_rule_matches(t, i, &x))
            return t->rules[i].kind;
    return NULL;
}

const char *roles_lookup(const roles_table *t, const char *name)
{
    size_t n = name ? roles_name_len(name) : 0;

    for (size_t i = 0; n > 0 && i < t->n; i++)
        if (t->rules[i].by == ROLES_BY_NAME && roles_name_match_n(t->rules[i].pattern, name, n))
            return t->rules[i].kind;
    return NULL;
}

/* ---- flows ------------------------------------------------------------- */

void roles_packet(const roles_table *t, flow *f, const packet *p, int dir)
{
    http_req r;

    if (dir != 0 || p->payload_caplen == 0 || f->ctl_reqs >= ROLES_MAX_REQ_PKTS)
        return;
    f->ctl_reqs++;
    const uint8_t *b = p->data + p->payload_off;
    if (f->ctl_path != 0 || b[0] < 'A' || b[0] > 'Z')
        return;
    if (http_req_parse(b, p->payload_caplen, &r)) {
        int i = roles_match_path(t, r.path, r.path_len);
        if (i >= 0 && i < UINT16_MAX)
            f->ctl_path = (uint16_t)(i + 1);
    }
}

/* The path part of nDPI's URL ("host:port/path" or "/path"). */
static const char *roles_url_path(const char *url)
{
    return url ? strchr(url, '/') : NULL;
}

void roles_update(const roles_table *t, flow *f)
{
    roles_input in;

    memset(&in, 0, sizeof(in));
    in.proto = f->key.proto;
    in.sport = f->key.port[!f->client];
    in.path_rule = (int)f->ctl_path - 1;
    if (f->dpi_state == FLOW_DPI_DONE) {
        in.app = dpi_fact(f->facts, DPI_APP);
        in.sni = dpi_fact(f->facts, DPI_SNI);
        in.host = dpi_fact(f->facts, DPI_HOST);
        in.path = roles_url_path(dpi_fact(f->facts, DPI_URL));
    }
    f->control = roles_classify(t, &in);
    f->ctl_dns = 0;
    if (f->control == NULL && in.app != NULL) {
        f->control = roles_lookup(t, dpi_fact(f->facts, DPI_DNS_QUERY));
        f->ctl_dns = f->control != NULL;
    }
}
