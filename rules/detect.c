/* detect.c -- the view of a finished flow and the alert parts every rule
 * shares (see detect.h and detect_int.h).
 */
#include "detect_int.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/wire_json.h"
#include "analyze/dpi.h"
#include "analyze/record.h"

detect *detect_new(const detect_config *cfg, const char *sensor)
{
    detect *d = calloc(1, sizeof(*d));

    if (d == NULL)
        return NULL;
    d->cfg = cfg;
    d->sensor = sensor;
    return d;
}

void detect_free(detect *d)
{
    free(d);
}

static int detect_in_list(const char (*list)[3], int n, const geo_party *p)
{
    if (p == NULL || p->info.country[0] == '\0')
        return 0;
    for (int i = 0; i < n; i++)
        if (strcmp(list[i], p->info.country) == 0)
            return 1;
    return 0;
}

int detect_is_china(const detect *d, const geo_party *p)
{
    return detect_in_list(d->cfg->china, d->cfg->nchina, p);
}

int detect_is_relay_country(const detect *d, const geo_party *p)
{
    return detect_in_list(d->cfg->relay, d->cfg->nrelay, p);
}

int detect_category_in(const geo_party *p, const char *const *cats)
{
    if (p == NULL || p->category == NULL)
        return 0;
    for (int i = 0; cats[i]; i++)
        if (strcmp(p->category, cats[i]) == 0)
            return 1;
    return 0;
}

int detect_is_relay_space(const detect *d, const geo_party *p)
{
    static const char *const cats[] = {"hosting",     "vpn_proxy",   "proxy",
                                       "china_cloud", "tunnel_edge", NULL};
    return detect_is_relay_country(d, p) && detect_category_in(p, cats);
}

int detect_is_anonymiser(const geo_party *p)
{
    static const char *const cats[] = {"vpn_proxy", "proxy", "tunnel_edge", NULL};
    return detect_category_in(p, cats);
}

int detect_is_strong_controller(const detect *d, const geo_party *p)
{
    return detect_is_china(d, p) || detect_is_relay_space(d, p) || detect_is_anonymiser(p);
}

int detect_extra_rtt(const detect_view *v, int64_t *extra)
{
    const flow *f = v->f;
    int full = (f->tcp & (FLOW_TCP_SYN | FLOW_TCP_SYNACK | FLOW_TCP_ACK)) ==
               (FLOW_TCP_SYN | FLOW_TCP_SYNACK | FLOW_TCP_ACK);

    /* A single sample never decides (docs/rules.md, proxy_latency). */
    if (!full || v->timing.nrtt < TIMING_RTT_DECIDE || v->timing.tcp_min_us == 0)
        return 0;
    *extra = (int64_t)v->timing.app_rtt_us - (int64_t)v->timing.tcp_min_us;
    return 1;
}

int detect_proven_relay(const detect *d, const detect_view *v)
{
    int64_t extra;
    return detect_extra_rtt(v, &extra) && extra > (int64_t)d->cfg->proxy_latency_us;
}

static void detect_endpoint(char *buf, size_t len, const char *ip, uint16_t port)
{
    if (strchr(ip, ':'))
        snprintf(buf, len, "[%s]:%u", ip, port);
    else
        snprintf(buf, len, "%s:%u", ip, port);
}

void detect_flow_id(const detect_view *v, char *buf, size_t len)
{
    snprintf(buf, len, "%s:%u-%s:%u/%" PRIu64, v->client_ip, v->client_port, v->server_ip,
             v->server_port, v->f->first_us);
}

void detect_record_id(const detect_view *v, char *buf, size_t len)
{
    char id[160];

    detect_flow_id(v, id, sizeof(id));
    snprintf(buf, len, "%s/%" PRIu64, id, v->f->rec_first_us);
}

json_t *detect_evidence(const detect_view *v, const char *detail)
{
    char src[64], dst[64], pbuf[8], cid[COMMUNITY_ID_LEN];
    json_t *fo = json_object();
    json_t *item = json_object();

    detect_endpoint(src, sizeof(src), v->client_ip, v->client_port);
    detect_endpoint(dst, sizeof(dst), v->server_ip, v->server_port);
    json_object_set_new(fo, "src", json_string(src));
    json_object_set_new(fo, "dst", json_string(dst));
    json_object_set_new(fo, "proto",
                        json_string(record_proto_name(v->f->key.proto, pbuf, sizeof(pbuf))));
    json_object_set_new(fo, "community_id", wjson_cstring(record_community_id(v->f, cid)));
    json_object_set_new(fo, "app", wjson_cstring(v->app ? v->app : "Unknown"));
    if (v->sni)
        json_object_set_new(fo, "sni", wjson_cstring(v->sni));
    else if (v->host)
        json_object_set_new(fo, "host", wjson_cstring(v->host));
    json_object_set_new(fo, "first", wjson_time(v->f->rec_first_us));
    json_object_set_new(fo, "last", wjson_time(v->f->last_us));
    json_object_set_new(fo, "bytes_up", json_integer((json_int_t)v->bytes_up));
    json_object_set_new(fo, "bytes_down", json_integer((json_int_t)v->bytes_down));
    json_object_set_new(item, "flow", fo);
    json_object_set_new(item, "detail", wjson_cstring(detail));
    return item;
}

json_t *detect_party(const char *ip, const geo_party *p)
{
    json_t *o = json_object();

    json_object_set_new(o, "ip", json_string(ip));
    if (p && p->info.country[0])
        json_object_set_new(o, "country", json_string(p->info.country));
    if (p && p->info.asn)
        json_object_set_new(o, "asn", json_integer(p->info.asn));
    if (p && p->info.as_org[0])
        json_object_set_new(o, "as_org", wjson_cstring(p->info.as_org));
    if (p && p->category)
        json_object_set_new(o, "category", json_string(p->category));
    return o;
}

static const char *detect_gpu_source(int gpu)
{
    switch (gpu) {
    case GEO_GPU_INVENTORY:
        return "inventory";
    case GEO_GPU_PROVIDER:
        return "provider";
    default:
        return "behavior";
    }
}

json_t *detect_gpu_host(const char *ip, const geo_party *p)
{
    json_t *o = json_object();

    json_object_set_new(o, "ip", json_string(ip));
    json_object_set_new(o, "source", json_string(detect_gpu_source(p ? p->gpu : 0)));
    if (p && p->provider)
        json_object_set_new(o, "provider", wjson_cstring(p->provider));
    if (p && p->tenant)
        json_object_set_new(o, "tenant", wjson_cstring(p->tenant));
    if (p && p->sku)
        json_object_set_new(o, "sku", wjson_cstring(p->sku));
    return o;
}

const char *const *detect_host_fields(const geo_party *p, const char **buf, char *asn_buf,
                                      size_t asn_len)
{
    int n = 0;

    if (p->info.country[0]) {
        buf[n++] = "country";
        buf[n++] = p->info.country;
    }
    if (p->info.asn) {
        snprintf(asn_buf, asn_len, "%u", p->info.asn);
        buf[n++] = "asn";
        buf[n++] = asn_buf;
    }
    if (p->info.as_org[0]) {
        buf[n++] = "as_org";
        buf[n++] = p->info.as_org;
    }
    if (p->gpu) {
        buf[n++] = "gpu_source";
        buf[n++] = detect_gpu_source(p->gpu);
        if (p->provider) {
            buf[n++] = "provider";
            buf[n++] = p->provider;
        }
        if (p->tenant) {
            buf[n++] = "tenant";
            buf[n++] = p->tenant;
        }
    }
    buf[n] = NULL;
    return buf;
}

/* The severity table (docs/rules.md). */
const detect_grade G_CN_DIRECT = {"high", 40};
const detect_grade G_RELAY = {"high", 35};
const detect_grade G_PROXY = {"medium", 25};
const detect_grade G_PROXY_WEAK = {"low", 10};
const detect_grade G_TUNNEL = {"high", 35};
const detect_grade G_TUNNEL_IDLE = {"low", 5};
const detect_grade G_TUNNEL_PLAIN = {"low", 10};
const detect_grade G_FANOUT = {"high", 40};
const detect_grade G_FANOUT_WEAK = {"low", 10};
const detect_grade G_FANIN = {"high", 35};
const detect_grade G_FOOTPRINT = {"low", 10};
const detect_grade G_AIRELAY = {"high", 40};
const detect_grade G_EGRESS = {"high", 40};
const detect_grade G_STEPPING = {"high", 35};
const detect_grade G_TIMEZONE = {"low", 10};

/* Host hash fields of the entity: the GPU host's own (with source
 * "behavior" when only the traffic says so), or the party's. */
static const char *const *detect_fields(const detect_parts *p, const char **buf, char *asn,
                                        size_t asn_len)
{
    const int is_gpu = p->gpu_ip && strcmp(p->ip, p->gpu_ip) == 0;
    const geo_party *who = is_gpu                                           ? p->gpu
                           : p->inter_ip && strcmp(p->ip, p->inter_ip) == 0 ? p->inter
                                                                            : p->peer;
    int n = 0;

    if (who == NULL) {
        buf[0] = NULL;
        return buf;
    }
    detect_host_fields(who, buf, asn, asn_len);
    while (buf[n])
        n++;
    /* By address, not by party: an inbound stepping_stone leg passes the
     * intermediary as both `gpu` and `inter`, and it is no GPU host. */
    if (is_gpu && who->gpu == GEO_GPU_NONE && n + 2 < 16) {
        buf[n++] = "gpu_source";
        buf[n++] = "behavior";
        buf[n] = NULL;
    }
    return buf;
}

void detect_alert_make(detect_alert *da, const detect_parts *p, const detect_view *item,
                       uint64_t ts_us, uint64_t window_us)
{
    event_alert *a = &da->a;

    memset(a, 0, sizeof(*a));
    a->rule = p->rule;
    a->severity = p->grade->severity;
    a->score = p->grade->score;
    a->role = p->role;
    a->ip = p->ip;
    a->summary = p->summary;
    a->ts_us = ts_us;
    a->window_us = window_us;
    a->evidence = json_array();
    if (item)
        json_array_append_new(a->evidence, detect_evidence(item, p->detail));
    if (p->gpu_ip)
        a->gpu_host = detect_gpu_host(p->gpu_ip, p->gpu);
    if (p->peer_ip)
        a->peer = detect_party(p->peer_ip, p->peer);
    if (p->inter_ip)
        a->intermediary = detect_party(p->inter_ip, p->inter);
    a->host = detect_fields(p, da->host, da->asn, sizeof(da->asn));
}

void detect_alert_done(detect_alert *da)
{
    json_decref(da->a.evidence);
    json_decref(da->a.gpu_host);
    json_decref(da->a.peer);
    json_decref(da->a.intermediary);
    da->a.evidence = da->a.gpu_host = da->a.peer = da->a.intermediary = NULL;
}

static void detect_make_view(detect_view *v, const flow *f, int end, const geo_party *src,
                             const geo_party *dst)
{
    static const geo_party unknown; /* an end without geo data */
    int c = f->client, s = !f->client;

    memset(v, 0, sizeof(*v));
    v->f = f;
    v->end = end;
    v->client = src ? src : &unknown;
    v->server = dst ? dst : &unknown;
    pkt_addr_format(&f->key.addr[c], v->client_ip, sizeof(v->client_ip));
    pkt_addr_format(&f->key.addr[s], v->server_ip, sizeof(v->server_ip));
    v->client_port = f->key.port[c];
    v->server_port = f->key.port[s];
    v->bytes_up = f->bytes[0];
    v->bytes_down = f->bytes[1];
    timing_summarize(f, &v->timing);
    v->app = dpi_fact(f->facts, DPI_APP);
    v->sni = dpi_fact(f->facts, DPI_SNI);
    v->host = dpi_fact(f->facts, DPI_HOST);
}

void detect_record(detect *d, event_queue *q, const flow *f, int end, const geo_party *src,
                   const geo_party *dst, const geo_snapshot *geo)
{
    detect_view v;

    if (d == NULL || q == NULL)
        return;
    detect_make_view(&v, f, end, src, dst);
    v.ind = geo ? geo_snapshot_indicators(geo) : NULL;
    detect_flow_rules(d, q, &v);
    detect_corr_rules(d, q, &v);
}
