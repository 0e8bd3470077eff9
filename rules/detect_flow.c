/* detect_flow.c -- rules one flow decides, and observations for the
 * library's distinct-count windows (see detect.h; docs/rules.md has the
 * reasoning, thresholds and blind spots of every rule).
 *
 * Data enters as one detect_view per finished flow record and leaves as
 * events on the worker's queue: event_raise() for the rules one flow
 * decides (cn_direct_control, relay_control, proxy_latency),
 * event_absent_add() for reverse_tunnel and the inbound control sessions
 * that rule out a tunnel, event_observe() for the windowed ones
 * (reseller_fanout, shared_access_fanin, cn_footprint) and for
 * GPU-behaviour evidence, event_follow_add() for the two legs of
 * ai_api_relay. Nothing is kept between flows: every
 * observation is a union into a fixed packet-time bucket, so the alerts
 * do not depend on which worker saw which flow, or in which order; the
 * one exception is reverse_tunnel's "no inbound control", an absence
 * decided when the tunnel's record arrives (docs/rules.md).
 *
 * Ownership: every JSON value built here is created and released within
 * the function that raises it (event_raise/event_observe copy what they
 * need); the strings of the view are borrowed.
 */
#include "detect_int.h"

#include <stdlib.h>

#include <stdio.h>
#include <string.h>

#include "analyze/dpi.h"
#include "analyze/session.h"
#include "analyze/fep.h"
#include "analyze/turns.h"
#include "base/json_text.h"

/* Per-flow alerts are raised once per (rule, entity, hour): a long
 * session cut into records by the active timeout, or a host reached
 * again and again, makes one alert an hour, not one per record. Source:
 * none; how often an operator is told again, not a measured bound. */
#define DETECT_FLOW_WINDOW_US (3600ULL * 1000000ULL)

/* The footprint (footprint_services, footprint_window), API relay
 * (ai_relay_*) and tunnel (tunnel_*) thresholds are [thresholds] keys
 * (rules/detect_config.c, with their sources). GPU-behaviour evidence is
 * kept per day, whatever the footprint window (source: none, the
 * footprint window's default). */
#define DETECT_BEHAVIOR_WINDOW_US (24ULL * 3600ULL * 1000000ULL)

/* ---- what a flow is ------------------------------------------------- */

static int detect_is_tunnel(const char *kind)
{
    return kind && strncmp(kind, "tunnel:", 7) == 0;
}

/* An inbound control session: someone drives the server, and the wire
 * proves the session (analyze/session.c): a SYN, a scan, a banner grab or
 * a failed login to a control port is no session, whatever the port or
 * nDPI's guess says. DNS lookups naming a tool and tunnels (outbound by
 * nature) are not either. */
static int detect_inbound_control(const detect_view *v)
{
    const flow *f = v->f;
    return f->control && !f->ctl_dns && !detect_is_tunnel(f->control) &&
           f->session == SESSION_ESTABLISHED;
}

/* Kinds whose server is, by its behaviour, a GPU workstation: notebooks,
 * TensorBoard and Ray dashboards (issue 5 item 1, docs/rules.md). */
static int detect_gpu_kind(const char *kind)
{
    return kind && (strcmp(kind, "jupyter") == 0 || strcmp(kind, "tensorboard") == 0 ||
                    strcmp(kind, "ray") == 0);
}

/* 1 when the server of a control session is a GPU host: by the
 * inventory or a provider range (the geo answer), or by the session
 * itself (a notebook, TensorBoard or Ray server: source "behavior"). */
static int detect_server_gpu(const detect_view *v)
{
    return v->server->gpu || detect_gpu_kind(v->f->control);
}

/* A VPS or hosting network (or a Chinese cloud): a relay there is rented
 * for the purpose more often than not. */
static int detect_is_hosting(const geo_party *p)
{
    return p->category &&
           (strcmp(p->category, "hosting") == 0 || strcmp(p->category, "china_cloud") == 0);
}

/* The controller's network: /24 for IPv4, /48 for IPv6, as text: routes
 * more specific than these are commonly filtered in global routing
 * (Sediqi et al., "Hyper-Specific Prefixes", ACM CCR 2022), so they are
 * the smallest blocks one party announces; /48 is also the usual
 * end-site assignment (RFC 6177). */
static void detect_network(const pkt_addr *a, char *buf, size_t len)
{
    pkt_addr n = *a;
    char ip[PKT_ADDR_STRLEN];

    if (pkt_addr_is_v4(&n)) {
        n.b[15] = 0;
        snprintf(buf, len, "%s/24", pkt_addr_format(&n, ip, sizeof(ip)));
    } else {
        memset(n.b + 6, 0, 10);
        snprintf(buf, len, "%s/48", pkt_addr_format(&n, ip, sizeof(ip)));
    }
}

static const pkt_addr *detect_client_addr(const detect_view *v)
{
    return &v->f->key.addr[v->f->client];
}

static const char *detect_cc(const geo_party *p)
{
    return p->info.country[0] ? p->info.country : "??";
}

/* ---- raising (the alert itself: detect_alert_make in detect.c) ------- */

/* Raises a rule one flow decided, at the record's last packet. */
static void detect_raise(event_queue *q, const detect_view *v, const detect_parts *p)
{
    detect_alert da;

    detect_alert_make(&da, p, v, v->f->last_us, DETECT_FLOW_WINDOW_US);
    event_raise(q, &da.a);
    detect_alert_done(&da);
}

/* The mark of an inbound control session (lh_absent kind). */
#define DETECT_INBOUND_CONTROL "inbound_control"

/* Raises p at the record's last packet unless the entity has a session
 * of `kind` marked in a window the flow spans (lh_absent). */
static void detect_raise_unless(event_queue *q, const detect_view *v, const detect_parts *p,
                                const char *kind)
{
    detect_alert da;
    event_absent ab = {
        p->ip, kind, v->f->last_us, v->f->first_us, v->f->last_us, DETECT_FLOW_WINDOW_US, &da.a};

    detect_alert_make(&da, p, v, v->f->last_us, DETECT_FLOW_WINDOW_US);
    event_absent_add(q, &ab);
    detect_alert_done(&da);
}

/* Observes `value` for `entity` and raises the alert of p when the
 * window's distinct count reaches threshold (and, when need is not 0, the
 * window holds a value observed with need 1; event_observation). The flow
 * goes along as an
 * evidence item, which the library keeps per window, so the alert shows
 * the flows that added up to it (up to 16), not only the last one. */
static void detect_observe(event_queue *q, const detect_view *v, const char *entity,
                           const char *kind, const char *value, uint64_t window_us, int need,
                           uint32_t threshold, const detect_parts *p)
{
    detect_alert da;
    json_t *item = detect_evidence(v, p->detail);
    size_t item_len = 0;
    char *item_text = jtext_dump(item, 0, &item_len);
    event_observation o = {
        .entity = entity,
        .kind = kind,
        .value = value,
        .value_len = strlen(value),
        .ts_us = v->f->last_us,
        .window_us = window_us,
        .threshold = threshold,
        .need = need,
        .alert = &da.a,
        .evidence = item_text,
        .evidence_len = item_len,
    };

    detect_alert_make(&da, p, NULL, v->f->last_us, window_us);
    event_observe(q, &o);
    free(item_text);
    json_decref(item);
    detect_alert_done(&da);
}

/* ---- rules one flow decides ----------------------------------------- */

/* cn_direct_control: a control session reaches a GPU host straight from
 * an address in China. The entity is the GPU host: its operator acts. */
static void detect_cn_direct(detect *d, event_queue *q, const detect_view *v)
{
    char detail[256], summary[320];

    if (!detect_inbound_control(v) || !detect_server_gpu(v) || !detect_is_china(d, v->client))
        return;
    snprintf(detail, sizeof(detail), "%s session from %s (%s, AS%u) to GPU host %s", v->f->control,
             v->client_ip, detect_cc(v->client), v->client->info.asn, v->server_ip);
    snprintf(summary, sizeof(summary),
             "GPU host %s is controlled over %s directly from %s in %s; check who the tenant "
             "lets in",
             v->server_ip, v->f->control, v->client_ip, detect_cc(v->client));
    detect_parts p = {
        "cn_direct_control", "gpu_host", v->server_ip, &G_CN_DIRECT, v->server_ip, v->server,
        v->client_ip,        v->client,  NULL,         NULL,         detail,       summary};
    detect_raise(q, v, &p);
}

/* relay_control: a control session reaches a GPU host from a hosting,
 * VPN, proxy or cloud network in a relay country. The entity is the
 * relay; the user behind it is unknown. */
static void detect_relay_control(detect *d, event_queue *q, const detect_view *v)
{
    char detail[256], summary[320];

    if (!detect_inbound_control(v) || !detect_server_gpu(v) || !detect_is_relay_space(d, v->client))
        return;
    snprintf(detail, sizeof(detail), "%s session to GPU host %s from %s network %s (%s, AS%u)",
             v->f->control, v->server_ip, v->client->category, v->client_ip, detect_cc(v->client),
             v->client->info.asn);
    snprintf(summary, sizeof(summary),
             "%s, a %s address in %s, controls GPU host %s over %s: a relay in front of the "
             "real user",
             v->client_ip, v->client->category, detect_cc(v->client), v->server_ip, v->f->control);
    detect_parts p = {"relay_control", "relay",   v->client_ip, &G_RELAY,
                      v->server_ip,    v->server, NULL,         NULL,
                      v->client_ip,    v->client, detail,       summary};
    detect_raise(q, v, &p);
}

/* proxy_latency: the application round trip of a control session to a
 * GPU host (the lower quartile of 4 or more dependent exchanges) exceeds
 * its least TCP round trip by more than proxy_latency_ms: the TCP peer
 * terminates the connection and the user is further away (CalcuLatency;
 * Xue et al., NDSS 2025; detection-notes.md). 1 ms of round trip is at
 * most ~100 km of fibre, so the extra bounds the user's distance from the
 * relay. */
static void detect_proxy_latency(detect *d, event_queue *q, const detect_view *v)
{
    char detail[320], summary[320];
    int64_t extra;

    if (!detect_inbound_control(v) || !detect_server_gpu(v) || !detect_extra_rtt(v, &extra) ||
        extra <= (int64_t)d->cfg->proxy_latency_us)
        return;
    double ms = (double)extra / 1000.0;
    snprintf(detail, sizeof(detail),
             "%s: application round trip %.1f ms (lower quartile of %u exchanges), least TCP "
             "round trip to %s %.1f ms: %.1f ms extra (threshold %.0f ms), so the user is up "
             "to %.0f km beyond %s",
             v->f->control, v->timing.app_rtt_us / 1000.0, v->timing.nrtt, v->client_ip,
             v->timing.tcp_min_us / 1000.0, ms, d->cfg->proxy_latency_us / 1000.0, ms * 100.0,
             v->client_ip);
    snprintf(summary, sizeof(summary),
             "%s relays a %s session to GPU host %s for a user %.0f ms (up to %.0f km) further "
             "away",
             v->client_ip, v->f->control, v->server_ip, ms, ms * 100.0);
    /* A relay on an ordinary network outside China and the relay
     * countries is most often a company's jump host with a remote
     * employee behind it (docs/rules.md): low. */
    const detect_grade *g = detect_is_china(d, v->client) ||
                                    detect_is_relay_country(d, v->client) ||
                                    detect_is_anonymiser(v->client) || detect_is_hosting(v->client)
                                ? &G_PROXY
                                : &G_PROXY_WEAK;
    detect_parts p = {"proxy_latency", "relay",   v->client_ip, g,
                      v->server_ip,    v->server, NULL,         NULL,
                      v->client_ip,    v->client, detail,       summary};
    detect_raise(q, v, &p);
}

/* Heartbeats of an idle tunnel agent: one ping and one pong (2 data
 * packets) at a fixed interval (ngrok's heartbeat_interval defaults to
 * 10 s, frp's to 30 s, Tailscale's DERP keepalive to 60 s); the gaps vary
 * only by scheduling and network jitter, milliseconds against seconds, a
 * coefficient of variation far below 0.05. A person driving the host
 * through the tunnel pauses for as long as they think: interarrival times
 * of interactive sessions are heavy-tailed (Paxson and Floyd, "Wide-Area
 * Traffic: The Failure of Poisson Modeling", 1995), a coefficient of
 * variation near or above 1. 0.2 sits far from both. */
#define DETECT_HEARTBEAT_PKTS   2
#define DETECT_HEARTBEAT_CV_PCT 20

/* 1 when the n times (at least 5, ascending; source: none, the fewest
 * whose 4 gaps give a spread worth reading) follow each other at a
 * regular interval: the coefficient of variation of their gaps is under
 * DETECT_HEARTBEAT_CV_PCT, a timer's and not a person's. */
static int detect_regular(const uint64_t *t, int n)
{
    double sum = 0, sq = 0;

    if (n < 5)
        return 0;
    for (int i = 1; i < n; i++) {
        double gap = (double)(t[i] - t[i - 1]);
        sum += gap;
        sq += gap * gap;
    }
    double mean = sum / (n - 1), var = sq / (n - 1) - mean * mean;
    return mean > 0 &&
           var * 10000.0 < mean * mean * DETECT_HEARTBEAT_CV_PCT * DETECT_HEARTBEAT_CV_PCT;
}

/* 1 when the latest ON periods of the flow (at least 5) are all
 * heartbeat-sized and start at a regular interval: a tunnel agent keeping
 * its connection alive, nobody driving it. */
static int detect_heartbeats_only(const flow *f)
{
    timing_burst b[TIMING_BURSTS];
    uint64_t t[TIMING_BURSTS];
    int n = timing_bursts(f, b, TIMING_BURSTS);

    for (int i = 0; i < n; i++) {
        if (b[i].pkts > DETECT_HEARTBEAT_PKTS)
            return 0;
        t[i] = b[i].start_us;
    }
    return detect_regular(t, n);
}

/* Networks where a relay is rented: hosting, VPN and proxy services,
 * clouds (a hyperscaler included: a VPS there is a VPS), tunnel edges. */
static int detect_anonymising(const geo_party *p)
{
    static const char *const cats[] = {"hosting",     "vpn_proxy",   "china_cloud",
                                       "hyperscaler", "tunnel_edge", "proxy"};
    if (p->category == NULL)
        return 0;
    for (size_t i = 0; i < sizeof(cats) / sizeof(cats[0]); i++)
        if (strcmp(p->category, cats[i]) == 0)
            return 1;
    return 0;
}

/* A fully encrypted TCP connection (Shadowsocks, VMess, obfs4 and the
 * like: analyze/fep.h) to a hosting, VPN, proxy or cloud address in China
 * or a relay country: the shape of a self-run tunnel to a rented relay. */
static int detect_fep_relay(detect *d, const detect_view *v)
{
    return fep_flow(v->f) && detect_anonymising(v->server) &&
           (detect_is_china(d, v->server) || detect_is_relay_country(d, v->server));
}

/* Typed into from the far end (timing_reversed(): the host echoes at once
 * keystrokes that arrive from the server, and typing starts come from the
 * server at least as often as from the host), whatever the port, protocol
 * or name. The provider's own
 * console reaches a host the same way (AWS Systems Manager's agent holds
 * an outbound connection to ssmmessages over which the console's shell
 * arrives): a cloud_api kind is the provider's way in, not a hidden
 * controller. */
static int detect_reversed_drive(const detect_view *v)
{
    const char *k = v->f->control;
    return timing_reversed(&v->timing) &&
           !(k && !v->f->ctl_dns && strncmp(k, "cloud_api:", 10) == 0);
}

/* Where a tunnel driven by behaviour alone leads to a controller the rule
 * is about: an address in China, a rented network (hosting, VPN, proxy,
 * cloud) in a relay country, or an anonymiser anywhere. */
static int detect_tunnel_far_end(detect *d, const geo_party *p)
{
    return detect_is_china(d, p) || (detect_anonymising(p) && detect_is_relay_country(d, p)) ||
           detect_is_anonymiser(p);
}

/* reverse_tunnel: a GPU host holds a long outbound connection, TCP or
 * UDP, to a tunnel service (a `tunnel:*` kind), to a tunnel edge network,
 * or a fully encrypted one to a relay address (detect_fep_relay()), or
 * one it is typed into from the far end (detect_reversed_drive()); it
 * carries interactive bursts both ways, and the host has no inbound
 * control session in the hours the tunnel's record spans. The absence is
 * decided by the library (lh_absent) when the tunnel's record arrives:
 * inbound control sessions of GPU hosts mark their hours
 * (detect_tunnel_mark), and a mark that arrives after the alert cannot
 * take it back (docs/rules.md). A tunnel known by behaviour alone is high
 * when its far end is in China, a relay country's rented space or an
 * anonymiser; elsewhere (a developer's own VPS) low. */
static void detect_reverse_tunnel(detect *d, event_queue *q, const detect_view *v)
{
    const flow *f = v->f;
    char detail[400], summary[320], typed[128] = "";
    const char *kind = f->control;

    if (f->ctl_dns || !v->client->gpu || v->timing.cls == TIMING_C_BULK)
        return;
    int named = detect_is_tunnel(kind) ||
                (v->server->category && strcmp(v->server->category, "tunnel_edge") == 0) ||
                detect_fep_relay(d, v);
    int typed_in = detect_reversed_drive(v);
    if (!named && !typed_in)
        return;
    if (f->last_us - f->first_us < d->cfg->tunnel_min_us ||
        v->timing.bursts < d->cfg->tunnel_bursts || v->bytes_up < d->cfg->tunnel_min_bytes ||
        v->bytes_down < d->cfg->tunnel_min_bytes)
        return;
    if (kind == NULL)
        kind = detect_fep_relay(d, v) ? "fully encrypted connection"
               : named                ? "tunnel edge"
                                      : "connection";
    if (typed_in)
        snprintf(typed, sizeof(typed),
                 "; %u keystrokes typed in from %s, echoed by the host at once", v->timing.rev_keys,
                 v->server_ip);
    int idle = detect_heartbeats_only(f);
    const detect_grade *g = idle                                           ? &G_TUNNEL_IDLE
                            : named || detect_tunnel_far_end(d, v->server) ? &G_TUNNEL
                                                                           : &G_TUNNEL_PLAIN;
    snprintf(detail, sizeof(detail),
             "%s from GPU host %s to %s (%s) held %llu s with %u bursts of traffic both ways%s%s",
             kind, v->client_ip, v->server_ip, f->key.proto == 17 ? "udp" : "tcp",
             (unsigned long long)((f->last_us - f->first_us) / 1000000ULL), v->timing.bursts, typed,
             idle ? "; the latest are heartbeats at a regular interval" : "");
    if (idle)
        snprintf(summary, sizeof(summary),
                 "GPU host %s keeps an outbound %s tunnel to %s (%s) open, heartbeats only: "
                 "nobody drives it now; check who installed the agent",
                 v->client_ip, kind, v->server_ip, detect_cc(v->server));
    else if (g == &G_TUNNEL_PLAIN)
        snprintf(summary, sizeof(summary),
                 "GPU host %s is driven through an outbound %s it opened to %s (%s), an ordinary "
                 "network: more often a developer's own relay than a reseller's; check it is the "
                 "tenant's",
                 v->client_ip, kind, v->server_ip, detect_cc(v->server));
    else
        snprintf(summary, sizeof(summary),
                 "GPU host %s is driven through an outbound %s tunnel to %s (%s)", v->client_ip,
                 kind, v->server_ip, detect_cc(v->server));
    detect_parts p = {"reverse_tunnel", "gpu_host", v->client_ip, g,
                      v->client_ip,     v->client,  NULL,         NULL,
                      v->server_ip,     v->server,  detail,       summary};
    detect_raise_unless(q, v, &p, DETECT_INBOUND_CONTROL);
}

/* An inbound control session of a listed GPU host marks the hours it
 * spans: a tunnel of the host in those hours is not raised. */
static void detect_tunnel_mark(event_queue *q, const detect_view *v)
{
    event_absent ab = {v->server_ip,  DETECT_INBOUND_CONTROL, v->f->last_us, v->f->first_us,
                       v->f->last_us, DETECT_FLOW_WINDOW_US,  NULL};

    if (detect_inbound_control(v) && v->server->gpu)
        event_absent_add(q, &ab);
}

/* ---- windowed rules --------------------------------------------------- */

/* reseller_fanout: one controller touches fanout_hosts distinct GPU
 * hosts in fanout_window. Observed for two entities, the controller's
 * address and its /24 (/48) network (a reseller's pool of addresses:
 * several addresses of one hosting /24 each driving one or two hosts are
 * one access point). Hosts are counted, not tenants: a reseller's gateway
 * drives many hosts under a handful of accounts, and collapsing a
 * tenant's hosts into one would hide it. What keeps a company's own
 * bastion or CI quiet is the grade, not the count: controllers in China,
 * in a relay country's hosting/VPN/proxy space or on an anonymiser make
 * it high; anyone else (on a hyperscaler or not) only low
 * (interface.md). */
static void detect_fanout(detect *d, event_queue *q, const detect_view *v)
{
    char value[320], net[80], entity[96], detail[256], summary[320];
    int strong = detect_is_strong_controller(d, v->client);

    if (!detect_inbound_control(v) || !detect_server_gpu(v))
        return;
    snprintf(value, sizeof(value), "host:%s", v->server_ip);
    snprintf(detail, sizeof(detail), "%s session from %s (%s) to GPU host %s%s%s", v->f->control,
             v->client_ip, detect_cc(v->client), v->server_ip,
             v->server->tenant ? " of tenant " : "", v->server->tenant ? v->server->tenant : "");
    detect_network(detect_client_addr(v), net, sizeof(net));

    const char *who[2] = {v->client_ip, net};
    for (int i = 0; i < 2; i++) {
        snprintf(entity, sizeof(entity), "ctl:%s", who[i]);
        snprintf(summary, sizeof(summary),
                 "controller %s (%s) controls %u or more GPU hosts within %llu h: %s", who[i],
                 detect_cc(v->client), d->cfg->fanout_hosts,
                 (unsigned long long)(d->cfg->fanout_window_us / 3600000000ULL),
                 strong ? "a reseller's access point"
                        : "from an ordinary network, more often a company's bastion or CI than a "
                          "reseller; check it is the tenants' own");
        detect_parts p = {"reseller_fanout",
                          "controller",
                          who[i],
                          strong ? &G_FANOUT : &G_FANOUT_WEAK,
                          v->server_ip,
                          v->server,
                          v->client_ip,
                          v->client,
                          NULL,
                          NULL,
                          detail,
                          summary};
        detect_observe(q, v, entity, "fanout", value, d->cfg->fanout_window_us, 0,
                       d->cfg->fanout_hosts, &p);
    }
}

/* shared_access_fanin: a GPU host is controlled from fanin_networks
 * distinct controller networks in fanin_window, China or relay countries
 * among them. A controller in China or a relay country counts per /24
 * (/48) network; anyone else counts once per country, so a CI fleet or
 * the offices of one company in one country are one value, while six
 * countries sharing one host still are six; the alert also needs a
 * controller in China or a relay country among them (the library's NEED:
 * both conditions only grow, so the last network to arrive raises). One
 * team logging in from six ordinary countries is not resold access. */
static void detect_fanin(detect *d, event_queue *q, const detect_view *v)
{
    char value[96], net[80], entity[96], detail[256], summary[320];

    if (!detect_inbound_control(v) || !detect_server_gpu(v))
        return;
    detect_network(detect_client_addr(v), net, sizeof(net));
    int listed = detect_is_china(d, v->client) || detect_is_relay_country(d, v->client);
    if (listed)
        snprintf(value, sizeof(value), "net:%s", net);
    else
        snprintf(value, sizeof(value), "country:%s", detect_cc(v->client));
    snprintf(entity, sizeof(entity), "gpu:%s", v->server_ip);
    snprintf(detail, sizeof(detail), "%s session to %s from network %s (%s, AS%u)", v->f->control,
             v->server_ip, net, detect_cc(v->client), v->client->info.asn);
    snprintf(summary, sizeof(summary),
             "GPU host %s is controlled from %u or more networks within %llu h, in China or "
             "relay countries among them: shared or resold access",
             v->server_ip, d->cfg->fanin_networks,
             (unsigned long long)(d->cfg->fanin_window_us / 3600000000ULL));
    detect_parts p = {
        "shared_access_fanin", "gpu_host", v->server_ip, &G_FANIN, v->server_ip, v->server,
        v->client_ip,          v->client,  NULL,         NULL,     detail,       summary};
    detect_observe(q, v, entity, "fanin", value, d->cfg->fanin_window_us, listed ? 1 : -1,
                   d->cfg->fanin_networks, &p);
}

/* ---- GPU hosts by behaviour, China footprint, AI API relays ----------- */

/* The indicator naming the flow's server: its SNI or Host, else its
 * network (a resolver's address). NULL when nothing is listed. */
static const indicator *detect_server_indicator(const detect_view *v)
{
    const indicator *in = NULL;
    const char *name = v->sni ? v->sni : v->host;

    if (v->ind == NULL)
        return NULL;
    if (name) {
        size_t len = strcspn(name, ":"); /* a Host header may carry a port */
        in = indicators_domain(v->ind, name, len);
    }
    if (in == NULL)
        in = indicators_network(v->ind, &v->f->key.addr[!v->f->client]);
    return in;
}

/* What makes the client a GPU host by behaviour, with a confidence in
 * percent: pulls from GPU software sources (PyTorch wheels, CUDA,
 * NVIDIA's registry, the Hugging Face CDN). Returns 0 when none. The
 * confidences are an order, not a measurement: they rank how much each
 * source needs a GPU (a CUDA driver does, the Hugging Face CDN serves CPU
 * users too), are shown in the evidence and compared with no threshold. */
static int detect_gpu_pull(const indicator *in, const char **reason)
{
    static const struct {
        const char *name;
        int conf;
    } conf[] = {{"NVIDIA CUDA", 80},
                {"NVIDIA drivers", 80},
                {"NVIDIA NGC", 70},
                {"PyTorch", 60},
                {"Hugging Face CDN", 30}};

    if (in == NULL || strcmp(in->category, "gpu_software") != 0)
        return 0;
    *reason = in->name ? in->name : "gpu software";
    for (size_t i = 0; i < sizeof(conf) / sizeof(conf[0]); i++)
        if (in->name && strcmp(in->name, conf[i].name) == 0)
            return conf[i].conf;
    return 50;
}

/* Records GPU-behaviour evidence of `ip` in the library (kind
 * gpu_behavior, one value per reason with its confidence, count only). */
static void detect_gpu_behavior(event_queue *q, const detect_view *v, const char *ip,
                                const char *reason, int conf)
{
    char entity[96], value[160];
    event_observation o;

    snprintf(entity, sizeof(entity), "host:%s", ip);
    snprintf(value, sizeof(value), "%s;confidence=%d", reason, conf);
    memset(&o, 0, sizeof(o));
    o.entity = entity;
    o.kind = "gpu_behavior";
    o.value = value;
    o.value_len = strlen(value);
    o.ts_us = v->f->last_us;
    o.window_us = DETECT_BEHAVIOR_WINDOW_US;
    event_observe(q, &o);
}

/* The behaviour of a flow: the client pulls GPU software, or the server
 * serves a notebook, TensorBoard or Ray dashboard. */
static void detect_behavior(event_queue *q, const detect_view *v, const indicator *in)
{
    const char *reason;
    char why[96];
    int conf = detect_gpu_pull(in, &reason);

    if (conf && v->bytes_down > 0 && !v->client->gpu) {
        snprintf(why, sizeof(why), "pulls from %s", reason);
        detect_gpu_behavior(q, v, v->client_ip, why, conf);
    }
    if (detect_inbound_control(v) && detect_gpu_kind(v->f->control) && !v->server->gpu) {
        snprintf(why, sizeof(why), "serves %s", v->f->control);
        detect_gpu_behavior(q, v, v->server_ip, why, 50);
    }
}

/* 1 when indicator `in` names a China-oriented service: the cn_*
 * categories (mirrors, model hubs, storage, resolvers, time servers).
 * Writes "category:name" into buf. */
static int detect_cn_indicator(const indicator *in, char *buf, size_t len)
{
    if (in == NULL || strncmp(in->category, "cn_", 3) != 0)
        return 0;
    snprintf(buf, len, "%s:%s", in->category, in->name ? in->name : "?");
    return 1;
}

/* The China-oriented services one flow of the client shows, at most
 * three: the name it reached or looked up (SNI, Host, DNS query), the
 * server's network (a resolver's address), and a remote-desktop tool
 * mostly configured in China (ToDesk, Sunlogin; a DNS lookup counts).
 * Returns how many were written into vals. */
static int detect_cn_services(const detect_view *v, char vals[3][160])
{
    const char *name = v->sni ? v->sni : v->host ? v->host : dpi_fact(v->f->facts, DPI_DNS_QUERY);
    const char *k = v->f->control;
    int n = 0;

    if (v->ind && name &&
        detect_cn_indicator(indicators_domain(v->ind, name, strcspn(name, ":")), vals[n],
                            sizeof(vals[n])))
        n++;
    if (v->ind &&
        detect_cn_indicator(indicators_network(v->ind, &v->f->key.addr[!v->f->client]), vals[n],
                            sizeof(vals[n])) &&
        (n == 0 || strcmp(vals[0], vals[n]) != 0))
        n++;
    if (k && (strcmp(k, "remote_desktop:todesk") == 0 || strcmp(k, "remote_desktop:sunlogin") == 0))
        snprintf(vals[n++], sizeof(vals[0]), "%s", k);
    return n;
}

/* cn_footprint: one set per client host and footprint window holding the
 * distinct China-oriented services it used and the marker "gpu" when the
 * host is a GPU host (listed, or by a GPU-software pull in the same
 * window). The alert needs footprint_services + 1 members, "gpu" among
 * them (NEED): a host not known as a GPU host (a home PC resolving mirror
 * names) raises nothing and is never called one in lh:host:. Hosts in
 * China are not counted at all. */
static void detect_footprint(detect *d, event_queue *q, const detect_view *v, const indicator *in)
{
    char vals[3][160], entity[96], detail[512], summary[320];
    const char *reason;
    int gpu = v->client->gpu || detect_gpu_pull(in, &reason);
    int n = detect_cn_services(v, vals);
    const char *name = v->sni ? v->sni : v->host ? v->host : dpi_fact(v->f->facts, DPI_DNS_QUERY);
    uint32_t need = d->cfg->footprint_services;
    uint64_t window = d->cfg->footprint_window_us;

    /* Everyone in China uses these services: a host there says nothing. */
    if ((n == 0 && !gpu) || detect_is_china(d, v->client))
        return;
    snprintf(entity, sizeof(entity), "fp:%s", v->client_ip);
    snprintf(detail, sizeof(detail), "%s uses %s (%s)", v->client_ip, n ? vals[0] : "GPU software",
             name ? name : v->server_ip);
    snprintf(summary, sizeof(summary),
             "GPU host %s uses %u or more services mostly configured by users in China "
             "(mirrors, resolvers, storage, remote desktops): a weak sign of who runs it",
             v->client_ip, need);
    detect_parts p = {"cn_footprint", "gpu_host", v->client_ip, &G_FOOTPRINT,
                      v->client_ip,   v->client,  v->server_ip, v->server,
                      NULL,           NULL,       detail,       summary};
    /* Every value carries the threshold and the need of "gpu", so
     * whichever arrives last raises. */
    for (int i = 0; i < n; i++)
        detect_observe(q, v, entity, "footprint", vals[i], window, -1, need + 1, &p);
    if (gpu)
        detect_observe(q, v, entity, "footprint", "gpu", window, 1, need + 1, &p);
}

/* The request starts of a leg: its first packet (a new connection is a
 * new request, or carries one a few round trips later), always first (the
 * library takes it as the connection's start), and the starts of its ON
 * periods after TIMING_IDLE_US of silence (the next request on a
 * kept-alive connection), the latest TIMING_BURSTS of them. */
static int detect_request_starts(const detect_view *v, uint64_t *out)
{
    timing_burst b[TIMING_BURSTS];
    int n = timing_bursts(v->f, b, TIMING_BURSTS), k = 0;

    out[k++] = v->f->first_us;
    for (int i = 0; i < n; i++)
        if (b[i].start_us != v->f->first_us)
            out[k++] = b[i].start_us;
    return k;
}

/* Request starts in lh_follow's calls: at most 64 a call. */
#define DETECT_FOLLOW_CALL_STARTS 64

/* The requests of an outbound leg inside its connection (analyze/turns.h:
 * a client payload after 100 ms of silence carrying 100 bytes), sent as
 * lh_follow starts of kind "req": requests of their own toward the API
 * that break the quiet before a client's request like a new connection
 * does, so a relay that multiplexes every client onto a few kept-alive
 * connections is matched request by request. A connection whose requests
 * come at a regular interval (detect_regular) is a job's timer, not
 * clients, and sends none. */
static void detect_ai_requests(event_queue *q, const detect_view *v, const event_follow *out)
{
    uint64_t t[TURNS_MAX];
    int n = turns_get(v->f, t, TURNS_MAX);
    event_follow fo = *out;

    if (strcmp(out->dir, "out") != 0 || n == 0 || detect_regular(t, n))
        return;
    fo.dir = "req";
    for (int i = 0; i < n; i += DETECT_FOLLOW_CALL_STARTS) {
        fo.starts = t + i;
        fo.nstarts = n - i < DETECT_FOLLOW_CALL_STARTS ? n - i : DETECT_FOLLOW_CALL_STARTS;
        event_follow_add(q, &fo);
    }
}

/* ai_api_relay: a host that receives requests from many clients in China
 * and sends its own requests to an AI API right after them. Two legs:
 * inbound (TCP sessions with payload both ways from a client in China, not
 * control sessions) and outbound (the host calling a server listed as
 * ai_api). Both go to the library's follow matcher (lh_follow) with their
 * request starts; it counts, per host and ai_relay_window, the distinct
 * clients with a request that an outbound start followed within
 * ai_relay_lag_ms, and raises at ai_relay_clients. Whichever leg arrives
 * last makes the match, so the order in which workers report the legs does
 * not matter (docs/rules.md has the lag's reasoning). */
static void detect_ai_relay(detect *d, event_queue *q, const detect_view *v, const indicator *in)
{
    char entity[96], detail[256], summary[384];
    uint64_t starts[1 + TIMING_BURSTS];
    const char *host, *dir, *who = NULL;
    const geo_party *hp;

    /* a request is payload: a SYN answered by a RST (a scan) is none */
    if (in && strcmp(in->category, "ai_api") == 0 && flow_an(v->f)->data_bytes[0] > 0) {
        host = v->client_ip;
        hp = v->client;
        dir = "out";
        snprintf(detail, sizeof(detail), "%s calls the %s API", v->client_ip,
                 in->name ? in->name : "AI");
    } else if (v->f->key.proto == 6 && detect_is_china(d, v->client) && !v->f->control &&
               flow_an(v->f)->data_bytes[0] > 0 && flow_an(v->f)->data_bytes[1] > 0) {
        host = v->server_ip;
        hp = v->server;
        dir = "in";
        who = v->client_ip;
        snprintf(detail, sizeof(detail), "request from %s (%s) to %s port %u", v->client_ip,
                 detect_cc(v->client), v->server_ip, v->server_port);
    } else {
        return;
    }
    snprintf(entity, sizeof(entity), "airelay:%s", host);
    snprintf(summary, sizeof(summary),
             "%s relays %u or more clients in China to AI APIs within %llu min: an AI API "
             "request of its own follows each one's request within %llu ms",
             host, d->cfg->ai_relay_clients,
             (unsigned long long)(d->cfg->ai_relay_window_us / 60000000ULL),
             (unsigned long long)(d->cfg->ai_relay_lag_us / 1000ULL));
    detect_parts p = {"ai_api_relay",
                      hp->gpu ? "gpu_host" : "intermediary",
                      host,
                      &G_AIRELAY,
                      hp->gpu ? host : NULL,
                      hp,
                      NULL,
                      NULL,
                      host,
                      hp,
                      detail,
                      summary};
    detect_alert da;
    event_follow fo = {entity,
                       dir,
                       who,
                       starts,
                       detect_request_starts(v, starts),
                       v->f->last_us,
                       d->cfg->ai_relay_window_us,
                       d->cfg->ai_relay_lag_us,
                       0,
                       d->cfg->ai_relay_clients,
                       &da.a};

    detect_alert_make(&da, &p, v, v->f->last_us, d->cfg->ai_relay_window_us);
    event_follow_add(q, &fo);
    detect_ai_requests(q, v, &fo);
    detect_alert_done(&da);
}

/* Scans and brute force as facts of their own: a flow from outside to a
 * control service of a GPU host (listed or in a provider range) that
 * never became a session counts for its source and the source's network
 * (lh_knock). Only control services: a SYN flood over every port would
 * otherwise cost a call per SYN, and the question is who knocks at the
 * doors that matter. Never an alert (docs/rules.md). */
static void detect_knock(event_queue *q, const detect_view *v)
{
    const flow *f = v->f;
    char net[80], fact[200];

    if (!f->control || f->ctl_dns || detect_is_tunnel(f->control) || !v->server->gpu ||
        v->client->gpu || f->session == SESSION_ESTABLISHED)
        return;
    detect_network(detect_client_addr(v), net, sizeof(net));
    detect_record_id(v, fact, sizeof(fact));
    event_knock k = {v->client_ip, net,
                     v->server_ip, f->session == SESSION_PROBE ? "probe" : "attempt",
                     f->last_us,   fact};
    event_knock_add(q, &k);
}

void detect_flow_rules(detect *d, event_queue *q, const detect_view *v)
{
    const indicator *in = detect_server_indicator(v);

    detect_cn_direct(d, q, v);
    detect_relay_control(d, q, v);
    detect_proxy_latency(d, q, v);
    detect_reverse_tunnel(d, q, v);
    detect_tunnel_mark(q, v);
    detect_fanout(d, q, v);
    detect_fanin(d, q, v);
    detect_behavior(q, v, in);
    detect_footprint(d, q, v, in);
    detect_ai_relay(d, q, v, in);
    detect_knock(q, v);
}
