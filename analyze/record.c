/* record.c -- a flow record as JSON (interface.md section 3).
 *
 * The record is built as a jansson object in the contract's field order
 * and dumped to one line. Every string from the wire goes through
 * wjson_string(), so the line is valid UTF-8 and escaped whatever the
 * packet carried. Fields that the sensor could not learn are null, never
 * missing, so consumers can rely on the key set.
 */
#include "record.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/json_text.h"
#include "base/wire_json.h"
#include "dpi.h"
#include "session.h"
#include "fep.h"
#include "timing.h"

#define RECORD_MAX_RISKS 64

static const char *const record_tunnel_names[PKT_TUNNEL_MAX] = {
    [PKT_TUNNEL_NONE] = NULL,         [PKT_TUNNEL_VXLAN] = "vxlan",
    [PKT_TUNNEL_GENEVE] = "geneve",   [PKT_TUNNEL_GRE] = "gre",
    [PKT_TUNNEL_ERSPAN1] = "erspan1", [PKT_TUNNEL_ERSPAN2] = "erspan2",
    [PKT_TUNNEL_ERSPAN3] = "erspan3", [PKT_TUNNEL_IPIP] = "ipip",
};

const char *record_proto_name(uint8_t proto, char *buf, size_t len)
{
    switch (proto) {
    case 1:
        return "icmp";
    case 2:
        return "igmp";
    case 6:
        return "tcp";
    case 17:
        return "udp";
    case 47:
        return "gre";
    case 50:
        return "esp";
    case 51:
        return "ah";
    case 58:
        return "icmpv6";
    case 132:
        return "sctp";
    default:
        snprintf(buf, len, "%u", proto);
        return buf;
    }
}

static void record_set(json_t *o, const char *key, json_t *v)
{
    json_object_set_new_nocheck(o, key, v ? v : json_null());
}

static json_t *record_ms(uint32_t us, int known)
{
    return known ? json_real((double)us / 1000.0) : json_null();
}

static void record_endpoints(json_t *o, const flow *f)
{
    char a[PKT_ADDR_STRLEN], b[PKT_ADDR_STRLEN];
    int c = f->client, s = !f->client;

    record_set(o, "src_ip", json_string(pkt_addr_format(&f->key.addr[c], a, sizeof(a))));
    record_set(o, "src_port", json_integer(f->key.port[c]));
    record_set(o, "dst_ip", json_string(pkt_addr_format(&f->key.addr[s], b, sizeof(b))));
    record_set(o, "dst_port", json_integer(f->key.port[s]));
}

/* ICMP flows are keyed without ports; their first message's type and
 * code, from its sender, stand in as the specification asks. The decoder
 * reads no SCTP ports, so an SCTP flow's id would be wrong: none is given. */
const char *record_community_id(const flow *f, char *out)
{
    community_id_tuple t;
    int icmp = f->key.proto == 1 || f->key.proto == 58;

    if (f->key.proto == 132)
        return NULL;
    int a = icmp ? f->first_side : f->client;

    t.src = &f->key.addr[a];
    t.dst = &f->key.addr[!a];
    t.sport = icmp ? f->icmp_type : f->key.port[a];
    t.dport = icmp ? f->icmp_code : f->key.port[!a];
    t.proto = f->key.proto;
    return community_id_v1(&t, 0, out);
}

static void record_tunnel(json_t *o, const flow *f)
{
    char buf[32];
    const char *name = record_tunnel_names[f->tunnel_type % PKT_TUNNEL_MAX];

    record_set(o, "vlan", f->key.vlan ? json_integer(f->key.vlan) : json_null());
    if (name == NULL) {
        record_set(o, "tunnel", json_null());
        record_set(o, "tunnel_id", json_null());
        return;
    }
    if (f->tunnel_port)
        snprintf(buf, sizeof(buf), "%s:%u", name, f->tunnel_port);
    else
        snprintf(buf, sizeof(buf), "%s", name);
    record_set(o, "tunnel", json_string(buf));
    record_set(o, "tunnel_id", json_integer(f->key.tunnel_id));
}

static void record_facts(json_t *o, const flow *f)
{
    const dpi_facts *fa = f->facts;
    const char *app = dpi_fact(fa, DPI_APP);

    record_set(o, "app", json_string(app ? app : "Unknown"));
    record_set(o, "category", wjson_cstring(dpi_fact(fa, DPI_CATEGORY)));
    record_set(o, "sni", wjson_cstring(dpi_fact(fa, DPI_SNI)));
    record_set(o, "host", wjson_cstring(dpi_fact(fa, DPI_HOST)));
    record_set(o, "ja3c", wjson_cstring(dpi_fact(fa, DPI_JA3C)));
    record_set(o, "ssh_client", wjson_cstring(dpi_fact(fa, DPI_SSH_CLIENT)));
    record_set(o, "ssh_server", wjson_cstring(dpi_fact(fa, DPI_SSH_SERVER)));
    record_set(o, "dns_query", wjson_cstring(dpi_fact(fa, DPI_DNS_QUERY)));
    record_set(o, "url", wjson_cstring(dpi_fact(fa, DPI_URL)));
    record_set(o, "user_agent", wjson_cstring(dpi_fact(fa, DPI_USER_AGENT)));
}

static void record_counters(json_t *o, const flow *f)
{
    record_set(o, "pkts_c2s", json_integer((json_int_t)f->pkts[0]));
    record_set(o, "bytes_c2s", json_integer((json_int_t)f->bytes[0]));
    record_set(o, "pkts_s2c", json_integer((json_int_t)f->pkts[1]));
    record_set(o, "bytes_s2c", json_integer((json_int_t)f->bytes[1]));
    record_set(o, "first", wjson_time(f->rec_first_us));
    record_set(o, "last", wjson_time(f->last_us));
}

static void record_timing(json_t *o, const flow *f)
{
    int full = (f->tcp & (FLOW_TCP_SYN | FLOW_TCP_SYNACK | FLOW_TCP_ACK)) ==
               (FLOW_TCP_SYN | FLOW_TCP_SYNACK | FLOW_TCP_ACK);

    record_set(o, "tcp_rtt_ms", record_ms(f->rtt_server_us + f->rtt_client_us, full));
    record_set(o, "tcp_rtt_server_ms", record_ms(f->rtt_server_us, (f->tcp & FLOW_TCP_RTT_S) != 0));
    record_set(o, "tcp_rtt_client_ms", record_ms(f->rtt_client_us, full));
}

/* Light in fibre covers about 200 km per ms one way, so each ms of round
 * trip bounds the distance to about 100 km (docs/flow-analysis.md). */
#define RECORD_KM_PER_RTT_MS 100.0

/* The timing facts (analyze/timing.c): application round trip and its
 * samples, the least client-side transport round trip, what the first
 * adds to the second, the distance that extra allows, and interactivity.
 * Null where nothing was measured. */
static void record_flow_timing(json_t *o, const flow *f, const timing_summary *ts)
{
    int full = (f->tcp & (FLOW_TCP_SYN | FLOW_TCP_SYNACK | FLOW_TCP_ACK)) ==
               (FLOW_TCP_SYN | FLOW_TCP_SYNACK | FLOW_TCP_ACK);
    int known = ts->cls != TIMING_C_UNKNOWN;

    record_set(o, "app_rtt_ms", record_ms(ts->app_rtt_us, ts->nrtt > 0));
    record_set(o, "app_rtt_samples", known ? json_integer(ts->nrtt) : json_null());
    record_set(o, "tcp_rtt_client_min_ms", record_ms(ts->tcp_min_us, ts->tcp_min_us > 0));
    if (ts->nrtt > 0 && full && ts->tcp_min_us > 0) {
        double extra = ((double)ts->app_rtt_us - (double)ts->tcp_min_us) / 1000.0;
        record_set(o, "app_rtt_extra_ms", json_real(extra));
        record_set(o, "distance_km_max", json_real(extra > 0 ? extra * RECORD_KM_PER_RTT_MS : 0.0));
    } else {
        record_set(o, "app_rtt_extra_ms", json_null());
        record_set(o, "distance_km_max", json_null());
    }
    record_set(o, "interactive",
               known ? json_boolean(ts->cls == TIMING_C_INTERACTIVE || ts->cls == TIMING_C_MIXED)
                     : json_null());
    record_set(o, "keystrokes", known ? json_integer(ts->keystrokes) : json_null());
    record_set(o, "bursts", known ? json_integer(ts->bursts) : json_null());
    record_set(o, "reverse_keystrokes", known ? json_integer(ts->rev_keys) : json_null());
    record_set(o, "typed_from_server", known ? json_boolean(timing_reversed(ts)) : json_null());
    record_set(o, "keystroke_chaff", known ? json_integer(ts->chaff) : json_null());
}

/* The control session kind (analyze/roles.c); for a DNS flow, the kind of
 * tool its query names; how far the flow got (analyze/session.c). */
static void record_flow_control(json_t *o, const flow *f)
{
    const char *kind = f->control;

    record_set(o, "control", kind && !f->ctl_dns ? json_string(kind) : json_null());
    record_set(o, "control_lookup", kind && f->ctl_dns ? json_string(kind) : json_null());
    record_set(o, "session", json_string(session_level_name(f->session)));
    record_set(o, "fully_encrypted", json_boolean(fep_flow(f)));
}

/* Roles that come from the per-flow analysis. `control` only for an
 * established session (analyze/session.c): a probe or a failed login to
 * port 22 has a control kind but controls nothing. */
static void record_flow_roles(json_t *roles, const flow *f, const timing_summary *ts)
{
    if (f->control && !f->ctl_dns && f->session == SESSION_ESTABLISHED)
        json_array_append_new(roles, json_string("control"));
    if (ts->cls == TIMING_C_INTERACTIVE || ts->cls == TIMING_C_MIXED)
        json_array_append_new(roles, json_string("interactive"));
    if (ts->cls == TIMING_C_BULK || ts->cls == TIMING_C_MIXED)
        json_array_append_new(roles, json_string("bulk"));
}

static json_t *record_risks(const flow *f)
{
    const char *names[RECORD_MAX_RISKS];
    int n = f->facts ? dpi_risk_names(f->facts->risk, names, RECORD_MAX_RISKS) : 0;
    json_t *a = json_array();

    for (int i = 0; i < n; i++)
        json_array_append_new(a, json_string(names[i]));
    return a;
}

static json_t *record_str(const char *s)
{
    return s && *s ? json_string(s) : json_null();
}

/* {"country","asn","as_org","category"}, null members where unknown. */
static json_t *record_geo(const geo_party *p)
{
    json_t *o;

    if (p == NULL)
        return json_null();
    o = json_object();
    record_set(o, "country", record_str(p->info.country));
    record_set(o, "asn", p->info.asn ? json_integer(p->info.asn) : json_null());
    record_set(o, "as_org", wjson_cstring(p->info.as_org[0] ? p->info.as_org : NULL));
    record_set(o, "category", record_str(p->category));
    return o;
}

static json_t *record_gpu_host(const flow *f, const geo_party *src, const geo_party *dst)
{
    char buf[PKT_ADDR_STRLEN];
    int use_dst = dst && dst->gpu;
    const geo_party *p = use_dst ? dst : src;
    json_t *o;

    if (p == NULL || !p->gpu)
        return json_null();
    o = json_object();
    record_set(o, "ip",
               json_string(pkt_addr_format(&f->key.addr[use_dst ? !f->client : f->client], buf,
                                           sizeof(buf))));
    record_set(o, "source", json_string(p->gpu == GEO_GPU_INVENTORY ? "inventory" : "provider"));
    record_set(o, "provider", wjson_cstring(p->provider));
    record_set(o, "tenant", wjson_cstring(p->tenant));
    record_set(o, "sku", wjson_cstring(p->sku));
    record_set(o, "region", wjson_cstring(p->region));
    return o;
}

static void record_roles(json_t *a, const geo_party *src, const geo_party *dst)
{
    if (src && src->gpu)
        json_array_append_new(a, json_string("gpu_src"));
    if (dst && dst->gpu)
        json_array_append_new(a, json_string("gpu_dst"));
}

json_t *record_flow(const flow *f, int end, const char *sensor)
{
    return record_flow_geo(f, end, sensor, NULL, NULL);
}

json_t *record_flow_geo(const flow *f, int end, const char *sensor, const geo_party *src,
                        const geo_party *dst)
{
    char pbuf[8], cid[COMMUNITY_ID_LEN];
    timing_summary ts;
    json_t *o = json_object();
    json_t *roles = json_array();

    timing_summarize(f, &ts);

    record_set(o, "event_type", json_string("flow"));
    record_set(o, "sensor", wjson_cstring(sensor));
    record_endpoints(o, f);
    record_set(o, "proto", json_string(record_proto_name(f->key.proto, pbuf, sizeof(pbuf))));
    record_set(o, "community_id", wjson_cstring(record_community_id(f, cid)));
    record_tunnel(o, f);
    record_facts(o, f);
    record_counters(o, f);
    record_timing(o, f);
    record_flow_timing(o, f, &ts);
    record_flow_control(o, f);
    record_set(o, "src_geo", record_geo(src));
    record_set(o, "dst_geo", record_geo(dst));
    record_roles(roles, src, dst);
    record_flow_roles(roles, f, &ts);
    record_set(o, "roles", roles);
    record_set(o, "gpu_host", record_gpu_host(f, src, dst));
    record_set(o, "risks", record_risks(f));
    record_set(o, "end", json_string(flow_end_name(end)));
    return o;
}

char *record_flow_line(const flow *f, int end, const char *sensor, size_t *len)
{
    return record_flow_line_geo(f, end, sensor, NULL, NULL, len);
}

char *record_line(const json_t *o, size_t *len)
{
    /* jansson's text with JSON_REAL_PRECISION(9), written directly */
    return o && (json_is_object(o) || json_is_array(o)) ? jtext_dump(o, 9, len) : NULL;
}

char *record_flow_line_geo(const flow *f, int end, const char *sensor, const geo_party *src,
                           const geo_party *dst, size_t *len)
{
    json_t *o = record_flow_geo(f, end, sensor, src, dst);
    char *line = record_line(o, len);

    json_decref(o);
    return line;
}
