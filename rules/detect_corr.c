/* detect_corr.c -- rules that need sums, controller networks, time-of-day
 * profiles and leg matching in the library (see detect.h).
 *
 * Every finished record of a flow enters detect_corr_rules() with its view;
 * what it sends out are calls into the functions library (rules/event.h),
 * which keeps the windows by packet time and decides. Nothing is kept here
 * between flows, so the alerts do not depend on which worker saw a flow or
 * in what order the records reach Redis. docs/rules-correlation.md
 * explains each rule, its parameters and its blind spots.
 *
 *   weights_egress  lh_sum per (GPU host, destination network), flagged
 *                   when the destination is in China, a relay country or
 *                   Chinese object storage; lh_gate records the networks
 *                   that control the GPU host, which count too. A flagged
 *                   upload the GPU host opened to a storage service or a
 *                   cloud is summed per organisation instead (the service
 *                   by name, else the AS), so parts spread over many
 *                   addresses add up.
 *   stepping_stone  lh_leg: ON-period starts of an inbound interactive leg
 *                   and an outbound control leg, under the intermediary.
 *   cn_timezone     lh_hours: control-session starts into a GPU host in a
 *                   UTC+8 hour-of-week histogram.
 */
#include "detect_int.h"

#include "analyze/session.h"
#include "base/json_text.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CORR_EGRESS_KIND "egress"
#define CORR_CTL_KIND    "ctlnet"
/* A record moving less than this is not sent as egress: a 1 GiB transfer
 * in pieces this small would take 16,000 flows (docs/rules-correlation.md,
 * blind spots), and every GPU host's small flows would cost a call each.
 * Source: none; a bound on Redis calls, not a property of traffic. */
#define CORR_EGRESS_MIN_RECORD (64u * 1024)
/* Gate windows one control record counts in at most: a record lasts at
 * most flow_active_timeout (30 min by default), so two days' windows
 * cover it; the bound only stops a tiny configured window from costing a
 * call per window of a long record. */
#define CORR_GATE_MAX_WINDOWS 64

/* Stepping stones (detection-notes.md, Zhang and Paxson 2000): share of
 * coinciding ON periods above 30 %, 2 back to back since the legs share
 * the intermediary; at least 4 coincidences so a short session cannot
 * match by chance (the paper's back-to-back count for legs that share no
 * host, 4, taken as the least number of coincidences). Legs meet in
 * one-hour buckets, the per-flow alert window (a bucket size, not a
 * threshold). */
#define CORR_LEG_WINDOW_US  (3600ull * 1000000)
#define CORR_LEG_RATIO_PCT  30
#define CORR_LEG_RUN        2
#define CORR_LEG_MIN_MATCH  4
#define CORR_LEG_MAX_STARTS TIMING_BURSTS_MAX

/* Time zone (detection-notes.md, Mandiant APT1): weekdays, 08-12, 14-18
 * and 19-22 China Standard Time, over a 7-day window, the profile's own
 * period (APT1: 97.5 % of 1,905 sessions on weekdays); 8 sessions inside
 * it on 3 distinct days, the fewest that show the midday lull and the
 * evening block on more than one day. */
#define CORR_TZ_WINDOW_US (7ull * 86400 * 1000000)
#define CORR_TZ_OFFSET_S  (8 * 3600)
#define CORR_TZ_HOURS     "000000001111001111011100"
#define CORR_TZ_DAYS      "0111110"
#define CORR_TZ_MIN_IN    8
#define CORR_TZ_MIN_DAYS  3
/* ... and the UTC+8 day must explain 10 % more sessions than the same
 * day on the clock of any zone up to 3 h away (UTC+5 to +11: India at
 * +5:30 falls between, Japan and Korea at +9). An office day there
 * (09-12, 13-18 local) puts fewer sessions inside the UTC+8 profile than
 * inside the profile on a clock closer to its own, so it never passes
 * (Japan's hours inside the UTC+8 profile are a subset of those inside
 * the UTC+9 one). Sessions spread evenly over the profile's 11 hours
 * beat a 1 h shift by 11/8, 37.5 %; the margin stays far below that so a
 * customer with a dozen sessions is seen. */
#define CORR_TZ_FIT_MARGIN_PCT 10
#define CORR_TZ_FIT_SHIFT_H    3

/* The destination network of an address: /24 IPv4, /48 IPv6. */
static void detect_net(const pkt_addr *a, char *buf, size_t len)
{
    if (pkt_addr_is_v4(a))
        snprintf(buf, len, "%u.%u.%u.0/24", a->b[12], a->b[13], a->b[14]);
    else
        snprintf(buf, len, "%x:%x:%x::/48", a->b[0] << 8 | a->b[1], a->b[2] << 8 | a->b[3],
                 a->b[4] << 8 | a->b[5]);
}

/* 1 when the flow is a control session (not a DNS name of a tool) that
 * the wire proves established (analyze/session.c): a probe or a failed
 * login neither controls a GPU host nor opens its egress gate. */
static int detect_is_control(const detect_view *v)
{
    return v->f->control != NULL && !v->f->ctl_dns && v->f->session == SESSION_ESTABLISHED;
}

/* An evidence item as compact JSON (malloc'ed), or NULL. */
static char *detect_item_text(const detect_view *v, const char *detail, size_t *len)
{
    json_t *item = detect_evidence(v, detail);
    char *s = jtext_dump(item, 0, len);

    json_decref(item);
    if (s == NULL)
        *len = 0;
    return s;
}

/* Destination of GPU egress that counts by itself; why in `why`. */
static int detect_egress_flagged(const detect *d, const detect_view *v, const geo_party *dst,
                                 const pkt_addr *dst_addr, const char **why)
{
    const char *name = v->sni ? v->sni : v->host;
    const indicator *in;

    if (detect_is_china(d, dst)) {
        *why = "in China";
        return 1;
    }
    if (detect_is_relay_space(d, dst)) {
        *why = "a relay country's hosting, VPN or proxy space";
        return 1;
    }
    if (v->ind && name && (in = indicators_domain(v->ind, name, strlen(name))) &&
        strcmp(in->category, "cn_storage") == 0) {
        *why = "Chinese object storage (by name)";
        return 1;
    }
    if (v->ind && (in = indicators_network(v->ind, dst_addr)) &&
        strcmp(in->category, "cn_storage") == 0) {
        *why = "Chinese object storage (by address)";
        return 1;
    }
    *why = "the network of a relay that controls it";
    return 0;
}

/* Network categories of clouds and hosting: an object store's addresses
 * lie there, and every address of such an AS serves the same operator's
 * customers. Access carriers are left out on purpose: summing per AS there
 * would add up every home line of a carrier (a GPU host seeding a torrent
 * to peers in China). */
static int detect_cloud_network(const geo_party *p)
{
    static const char *const cats[] = {"hosting",   "china_cloud", "hyperscaler", "cn_storage",
                                       "vpn_proxy", "proxy",       "tunnel_edge", NULL};
    return detect_category_in(p, cats);
}

/* The organisation that receives a flagged upload the GPU host opened:
 * the storage service its name (SNI or Host) is listed under
 * ("svc:Alibaba OSS"), else its AS when that is a cloud or hosting
 * network ("as:45102"). A multipart upload (S3 and OSS: parts of 100 KiB
 * to 5 GiB over parallel connections, each part its own request) reaches
 * whichever addresses the service's name resolves to, in many /24s, so
 * per network each piece stays far below egress_bytes while the
 * organisation gets the whole. Writes the member into `member` and a
 * description into `desc`; 0 when there is none (the /24 is used). */
static int detect_egress_org(const detect_view *v, const geo_party *dp, char *member, size_t mlen,
                             char *desc, size_t dlen)
{
    const char *name = v->sni ? v->sni : v->host;
    const indicator *in;

    if (v->ind && name && (in = indicators_domain(v->ind, name, strcspn(name, ":"))) &&
        strcmp(in->category, "cn_storage") == 0) {
        const char *svc = in->name ? in->name : name;
        snprintf(member, mlen, "svc:%s", svc);
        snprintf(desc, dlen, "any address of storage service %s", svc);
        return 1;
    }
    if (dp->info.asn && detect_cloud_network(dp)) {
        snprintf(member, mlen, "as:%u", dp->info.asn);
        snprintf(desc, dlen, "any address of AS%u%s%s", dp->info.asn, dp->info.as_org[0] ? " " : "",
                 dp->info.as_org);
        return 1;
    }
    return 0;
}

static void detect_egress_summary(char *buf, size_t len, const char *gpu, uint64_t threshold,
                                  const char *net, const char *country, const char *why)
{
    snprintf(buf, len,
             "GPU host %s sent at least %" PRIu64 " bytes in one window to %s (%s%s%s): "
             "model-weight sized egress",
             gpu, threshold, net, country[0] ? country : "", country[0] ? ", " : "", why);
}

/* weights_egress: the bytes the GPU host on side `gpu_client` (1 = the
 * client) sent in this record, summed per destination network, or per
 * organisation for a flagged upload (detect_egress_org). */
static void detect_egress(detect *d, event_queue *q, const detect_view *v, int gpu_client)
{
    const geo_party *gp = gpu_client ? v->client : v->server;
    const geo_party *dp = gpu_client ? v->server : v->client;
    const char *gip = gpu_client ? v->client_ip : v->server_ip;
    const char *dip = gpu_client ? v->server_ip : v->client_ip;
    const pkt_addr *da = &v->f->key.addr[gpu_client ? !v->f->client : v->f->client];
    uint64_t sent = gpu_client ? v->bytes_up : v->bytes_down;
    uint64_t got = gpu_client ? v->bytes_down : v->bytes_up;
    char net[160], desc[200], detail[160], summary[480];
    const char *why;
    size_t ilen;

    if (sent < CORR_EGRESS_MIN_RECORD && sent < d->cfg->egress_bytes)
        return;
    detect_net(da, net, sizeof(net));
    int flag = detect_egress_flagged(d, v, dp, da, &why);
    /* Only a flagged destination is summed per organisation: the
     * controller gate names /24 networks, and an unflagged organisation
     * (a tenant's own bucket in the US) counts for nothing anyway. Only
     * uploads the GPU host opened: what it serves to many clients of one
     * cloud is not a store taking parts. */
    int org = flag && gpu_client && detect_egress_org(v, dp, net, sizeof(net), desc, sizeof(desc));
    if (!org)
        snprintf(desc, sizeof(desc), "%s", net);
    /* Producer-consumer ratio (detection-notes.md): near 1.0 is an upload. */
    snprintf(detail, sizeof(detail),
             "GPU host sent %" PRIu64 " bytes and received %" PRIu64
             " (producer-consumer ratio %.2f)",
             sent, got, (double)((int64_t)sent - (int64_t)got) / (double)(sent + got));
    char *item = detect_item_text(v, detail, &ilen);
    detect_egress_summary(summary, sizeof(summary), gip, d->cfg->egress_bytes, desc,
                          dp->info.country, why);
    detect_parts p = {.rule = "weights_egress",
                      .role = "gpu_host",
                      .ip = gip,
                      .grade = &G_EGRESS,
                      .gpu_ip = gip,
                      .gpu = gp,
                      .peer_ip = dip,
                      .peer = dp,
                      .summary = summary};
    detect_alert al;
    detect_alert_make(&al, &p, NULL, 0, 0);
    char fact[200];
    detect_record_id(v, fact, sizeof(fact));
    event_sum s = {.entity = gip,
                   .kind = CORR_EGRESS_KIND,
                   .member = net,
                   .fact = fact,
                   .bytes = sent,
                   .flag = flag,
                   .ts_us = v->f->last_us,
                   .window_us = d->cfg->egress_window_us,
                   .threshold = d->cfg->egress_bytes,
                   .gate_kind = CORR_CTL_KIND,
                   .gate_window_us = d->cfg->fanin_window_us,
                   .evidence = item,
                   .evidence_len = ilen,
                   .alert = &al.a};
    event_sum_add(q, &s);
    detect_alert_done(&al);
    free(item);
}

/* The controller network of a control session into a GPU host: a gate for
 * weights_egress, checked against the sums already there. Only a
 * controller that points to a reseller by itself (China, a relay country's
 * hosting/VPN/proxy space, an anonymiser) or a proven relay (its user is
 * more than proxy_latency_ms beyond it) is a gate: a tenant copying its own
 * results home to an ordinary network is not weights_egress
 * (interface.md). */
static void detect_controller(detect *d, event_queue *q, const detect_view *v)
{
    const pkt_addr *ca = &v->f->key.addr[v->f->client];
    char net[64], summary[400];

    detect_net(ca, net, sizeof(net));
    detect_egress_summary(summary, sizeof(summary), v->server_ip, d->cfg->egress_bytes, net,
                          v->client->info.country, "the network of a relay that controls it");
    detect_parts p = {.rule = "weights_egress",
                      .role = "gpu_host",
                      .ip = v->server_ip,
                      .grade = &G_EGRESS,
                      .gpu_ip = v->server_ip,
                      .gpu = v->server,
                      .peer_ip = v->client_ip,
                      .peer = v->client,
                      .summary = summary};
    detect_alert da;
    detect_alert_make(&da, &p, NULL, 0, 0);
    event_gate g = {.entity = v->server_ip,
                    .kind = CORR_CTL_KIND,
                    .member = net,
                    .window_us = d->cfg->fanin_window_us,
                    .sum_kind = CORR_EGRESS_KIND,
                    .sum_window_us = d->cfg->egress_window_us,
                    .threshold = d->cfg->egress_bytes,
                    .alert = &da.a};
    /* A session is control for as long as it lasts: the record counts in
     * every gate window it touches, from its first packet to its last, so
     * a login held open past midnight UTC still controls the host after
     * it (each record of a long session adds its own span). */
    uint64_t w = g.window_us ? g.window_us : 1, ts = v->f->rec_first_us;
    for (int i = 0; i < CORR_GATE_MAX_WINDOWS; i++) {
        g.ts_us = ts;
        event_gate_add(q, &g);
        ts = (ts / w + 1) * w;
        if (ts > v->f->last_us)
            break;
    }
    detect_alert_done(&da);
}

/* "t:pkts,..." of the flow's ON periods, or 0 when it has too few. */
static int detect_leg_starts(const detect_view *v, char *buf, size_t len)
{
    timing_burst b[CORR_LEG_MAX_STARTS];
    int n = timing_bursts(v->f, b, CORR_LEG_MAX_STARTS);
    size_t used = 0;

    if (n < CORR_LEG_MIN_MATCH)
        return 0;
    buf[0] = '\0';
    for (int i = 0; i < n && used < len; i++)
        used += (size_t)snprintf(buf + used, len - used, "%s%" PRIu64 ":%" PRIu32, i ? "," : "",
                                 b[i].start_us, b[i].pkts);
    return used < len;
}

/* stepping_stone: one leg through the intermediary `ip`; dir "in" when the
 * intermediary is the server of an interactive session, "out" when it is
 * the client of a control session into a GPU host. */
static void detect_leg(detect *d, event_queue *q, const detect_view *v, const char *dir)
{
    int out = dir[0] == 'o';
    const char *ip = out ? v->client_ip : v->server_ip;
    const geo_party *ip_p = out ? v->client : v->server;
    char starts[CORR_LEG_MAX_STARTS * 32], id[160], summary[400];
    size_t ilen;

    if (!detect_leg_starts(v, starts, sizeof(starts)))
        return;
    detect_flow_id(v, id, sizeof(id));
    char *item = detect_item_text(v,
                                  out ? "outbound leg: control session from the intermediary "
                                        "to the GPU host"
                                      : "inbound leg: interactive session into the intermediary",
                                  &ilen);
    /* This leg's own party, for the alert of a pair. */
    json_t *part =
        out ? detect_gpu_host(v->server_ip, v->server) : detect_party(v->client_ip, v->client);
    char *ptext = jtext_dump(part, 0, NULL);
    if (out)
        snprintf(summary, sizeof(summary),
                 "Host %s relays an interactive session into a control session to GPU host %s: "
                 "the bursts of the two legs start together",
                 ip, v->server_ip);
    else
        snprintf(summary, sizeof(summary),
                 "Host %s relays the interactive session from %s into a control session to a "
                 "GPU host: the bursts of the two legs start together",
                 ip, v->client_ip);
    detect_parts p = {.rule = "stepping_stone",
                      .role = "intermediary",
                      .ip = ip,
                      .grade = &G_STEPPING,
                      .gpu_ip = out ? v->server_ip : NULL,
                      .gpu = v->server,
                      .peer_ip = out ? NULL : v->client_ip,
                      .peer = v->client,
                      .inter_ip = ip,
                      .inter = ip_p,
                      .summary = summary};
    detect_alert da;
    detect_alert_make(&da, &p, NULL, 0, 0);
    event_leg l = {.entity = ip,
                   .dir = dir,
                   .leg = id,
                   .starts = starts,
                   .part = ptext,
                   .item = item,
                   .ts_us = v->f->last_us,
                   .window_us = CORR_LEG_WINDOW_US,
                   .delta_us = d->cfg->stepping_delta_us,
                   .min_ratio_pct = CORR_LEG_RATIO_PCT,
                   .min_run = CORR_LEG_RUN,
                   .min_match = CORR_LEG_MIN_MATCH,
                   .alert = &da.a};
    if (item && ptext)
        event_leg_add(q, &l);
    free(ptext);
    free(item);
    json_decref(part);
    detect_alert_done(&da);
}

/* cn_timezone: the start of a control session into a GPU host. */
static void detect_timezone(detect *d, event_queue *q, const detect_view *v)
{
    char id[160], summary[300];
    size_t ilen;

    (void)d;
    detect_flow_id(v, id, sizeof(id));
    char *item = detect_item_text(
        v, "control session started inside the China Standard Time working day", &ilen);
    snprintf(summary, sizeof(summary),
             "Control sessions into GPU host %s follow a UTC+8 working day (weekdays 08-12, "
             "14-18, 19-22 CST); a weak signal, read it with the host's other alerts",
             v->server_ip);
    detect_parts p = {.rule = "cn_timezone",
                      .role = "gpu_host",
                      .ip = v->server_ip,
                      .grade = &G_TIMEZONE,
                      .gpu_ip = v->server_ip,
                      .gpu = v->server,
                      .summary = summary};
    detect_alert da;
    detect_alert_make(&da, &p, NULL, 0, 0);
    event_hours h = {.entity = v->server_ip,
                     .session = id,
                     .ts_us = v->f->first_us,
                     .window_us = CORR_TZ_WINDOW_US,
                     .offset_s = CORR_TZ_OFFSET_S,
                     .hours_mask = CORR_TZ_HOURS,
                     .days_mask = CORR_TZ_DAYS,
                     .min_in = CORR_TZ_MIN_IN,
                     .min_days = CORR_TZ_MIN_DAYS,
                     .fit_margin_pct = CORR_TZ_FIT_MARGIN_PCT,
                     .fit_shift_h = CORR_TZ_FIT_SHIFT_H,
                     .evidence = item,
                     .evidence_len = ilen,
                     .alert = &da.a};
    event_hours_add(q, &h);
    detect_alert_done(&da);
    free(item);
}

void detect_corr_rules(detect *d, event_queue *q, const detect_view *v)
{
    int cgpu = v->client->gpu != 0, sgpu = v->server->gpu != 0;
    int control_in = detect_is_control(v) && sgpu && !cgpu;

    /* The gate first: a control session that itself carries the upload
     * (scp through SSH) then finds its own network in the set. */
    if (control_in && (detect_is_strong_controller(d, v->client) || detect_proven_relay(d, v)))
        detect_controller(d, q, v);
    if (cgpu && !sgpu)
        detect_egress(d, q, v, 1);
    else if (sgpu && !cgpu)
        detect_egress(d, q, v, 0);
    /* The inbound leg counts only from a user the rule is about (China, a
     * relay country's hosting/VPN/proxy space, an anonymiser): an
     * employee typing through the company's jump host is the ordinary
     * use of one (docs/rules-correlation.md). */
    if ((v->timing.cls == TIMING_C_INTERACTIVE || v->timing.cls == TIMING_C_MIXED) &&
        detect_is_strong_controller(d, v->client))
        detect_leg(d, q, v, "in");
    if (control_in)
        detect_leg(d, q, v, "out");
    /* Once per session, from its first record: that record ends at the
     * latest flow_active_timeout after the session's start, the packet
     * time the library files the start under, so it is in before the
     * week's window is settled (docs/rules-correlation.md, "Settling"). */
    if (control_in && v->f->rec_first_us == v->f->first_us)
        detect_timezone(d, q, v);
}
