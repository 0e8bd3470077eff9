/* eve.c -- native alert line -> EVE "alert" event (see eve.h).
 *
 * Field by field (docs/siem.md has the table): timestamp from `ts` in
 * EVE's "+0000" form; the five-tuple, app_proto and community_id from the
 * first evidence flow, the one that decided the alert for single-session
 * rules and the earliest kept for windowed ones; flow_id from that flow's
 * Community ID hash, so one connection has one flow_id across alerts;
 * alert.severity 1 (high, critical) to 3 (low), EVE's most-severe-first
 * order; the whole native alert, less ts and event_type, under "loophole".
 */
#include "eve.h"

#include <jansson.h>
#include <nettle/base64.h>
#include <stdlib.h>
#include <string.h>

#include "base/json_text.h"

/* Signature ids come from the block 1797000-1797999, inside the range
 * 1000000-1999999 that Snort and Suricata rule sets leave to local rules.
 * An id, once given to a rule, is never changed or reused. */
static const eve_rule eve_table[] = {
    {"cn_direct_control", 1797001, "LOOPHOLE control session to a GPU host from China"},
    {"relay_control", 1797002, "LOOPHOLE control session to a GPU host through a relay network"},
    {"proxy_latency", 1797003, "LOOPHOLE control session to a GPU host relayed from further away"},
    {"stepping_stone", 1797004, "LOOPHOLE stepping stone into a GPU host control session"},
    {"reseller_fanout", 1797005, "LOOPHOLE one controller controls many GPU hosts"},
    {"shared_access_fanin", 1797006, "LOOPHOLE GPU host controlled from many networks"},
    {"cn_footprint", 1797007, "LOOPHOLE GPU host uses China-oriented services"},
    {"weights_egress", 1797008, "LOOPHOLE bulk egress from a GPU host to China or a relay"},
    {"reverse_tunnel", 1797009, "LOOPHOLE reverse tunnel out of a GPU host"},
    {"ai_api_relay", 1797010, "LOOPHOLE AI API relayed for clients in China"},
    {"cn_timezone", 1797011, "LOOPHOLE control activity follows a UTC+8 working day"},
};

/* Suricata's classtype policy-violation, whose description EVE prints as
 * the category. */
#define EVE_CATEGORY "Potential Corporate Privacy Violation"

const eve_rule *eve_rules(size_t *n)
{
    *n = sizeof(eve_table) / sizeof(eve_table[0]);
    return eve_table;
}

static const eve_rule *eve_rule_find(const char *rule)
{
    for (size_t i = 0; rule && i < sizeof(eve_table) / sizeof(eve_table[0]); i++)
        if (strcmp(eve_table[i].rule, rule) == 0)
            return &eve_table[i];
    return NULL;
}

static int eve_severity(const char *s)
{
    if (s && (strcmp(s, "critical") == 0 || strcmp(s, "high") == 0))
        return 1;
    if (s && strcmp(s, "medium") == 0)
        return 2;
    return 3;
}

/* "2026-03-02T09:00:06.514602Z" -> "2026-03-02T09:00:06.514602+0000". */
static json_t *eve_timestamp(const char *ts)
{
    size_t n = ts ? strlen(ts) : 0;
    char buf[64];

    if (n == 0 || n >= sizeof(buf) - 5 || ts[n - 1] != 'Z')
        return ts ? json_string(ts) : json_null();
    memcpy(buf, ts, n - 1);
    memcpy(buf + n - 1, "+0000", 6);
    return json_string(buf);
}

/* "1.2.3.4:80" or "[2001:db8::1]:443" -> address and port. */
static int eve_endpoint(const char *text, char *addr, size_t addrlen, long *port)
{
    const char *colon = text ? strrchr(text, ':') : NULL;
    const char *a = text;
    size_t n;

    if (!colon)
        return -1;
    n = (size_t)(colon - text);
    if (text[0] == '[' && n >= 2 && text[n - 1] == ']') {
        a = text + 1;
        n -= 2;
    }
    if (n == 0 || n >= addrlen)
        return -1;
    memcpy(addr, a, n);
    addr[n] = '\0';
    *port = strtol(colon + 1, NULL, 10);
    return 0;
}

/* EVE writes IANA protocol names in upper case ("TCP", "IPv6-ICMP"). */
static const char *eve_proto(const char *p)
{
    static const struct {
        const char *ours, *eve;
    } map[] = {{"tcp", "TCP"}, {"udp", "UDP"},   {"icmp", "ICMP"}, {"icmpv6", "IPv6-ICMP"},
               {"gre", "GRE"}, {"sctp", "SCTP"}, {"esp", "ESP"},   {"igmp", "IGMP"}};

    for (size_t i = 0; p && i < sizeof(map) / sizeof(map[0]); i++)
        if (strcmp(p, map[i].ours) == 0)
            return map[i].eve;
    return p;
}

/* The top 52 bits of the Community ID's SHA-1: a positive integer that
 * JSON readers keep exactly (doubles hold 53 bits). */
static json_t *eve_flow_id(const char *cid)
{
    struct base64_decode_ctx ctx;
    uint8_t raw[BASE64_DECODE_LENGTH(28)];
    size_t n = sizeof(raw);
    uint64_t v = 0;

    if (!cid || strncmp(cid, "1:", 2) != 0 || strlen(cid) != 30)
        return NULL;
    base64_decode_init(&ctx);
    if (!base64_decode_update(&ctx, &n, raw, 28, cid + 2) || !base64_decode_final(&ctx) || n < 8)
        return NULL;
    for (int i = 0; i < 8; i++)
        v = (v << 8) | raw[i];
    return json_integer((json_int_t)(v >> 12));
}

static void eve_five_tuple(json_t *eve, const json_t *flow)
{
    char addr[64];
    long port;
    const char *app = json_string_value(json_object_get(flow, "app"));
    const char *cid = json_string_value(json_object_get(flow, "community_id"));
    json_t *fid = eve_flow_id(cid);

    if (fid)
        json_object_set_new(eve, "flow_id", fid);
    if (eve_endpoint(json_string_value(json_object_get(flow, "src")), addr, sizeof(addr), &port) ==
        0) {
        json_object_set_new(eve, "src_ip", json_string(addr));
        json_object_set_new(eve, "src_port", json_integer(port));
    }
    if (eve_endpoint(json_string_value(json_object_get(flow, "dst")), addr, sizeof(addr), &port) ==
        0) {
        json_object_set_new(eve, "dest_ip", json_string(addr));
        json_object_set_new(eve, "dest_port", json_integer(port));
    }
    const char *proto = eve_proto(json_string_value(json_object_get(flow, "proto")));
    if (proto)
        json_object_set_new(eve, "proto", json_string(proto));
    if (cid)
        json_object_set_new(eve, "community_id", json_string(cid));
    /* Suricata names the application layer in lower case ("ssh", "tls");
     * nDPI's "TLS.Google" becomes "tls". */
    if (app && strcmp(app, "Unknown") != 0) {
        char buf[64];
        size_t i;

        for (i = 0; app[i] && app[i] != '.' && i < sizeof(buf) - 1; i++)
            buf[i] = (char)(app[i] >= 'A' && app[i] <= 'Z' ? app[i] - 'A' + 'a' : app[i]);
        buf[i] = '\0';
        json_object_set_new(eve, "app_proto", json_string(buf));
    }
}

char *eve_from_alert(const char *line, size_t len, size_t *outlen)
{
    json_t *a = json_loadb(line, len, 0, NULL);
    json_t *eve, *al, *flow;
    const char *rule;
    const eve_rule *r;
    char *out;

    if (!json_is_object(a)) {
        json_decref(a);
        return NULL;
    }
    rule = json_string_value(json_object_get(a, "rule"));
    r = eve_rule_find(rule);
    eve = json_object();
    json_object_set_new(eve, "timestamp",
                        eve_timestamp(json_string_value(json_object_get(a, "ts"))));
    json_object_set_new(eve, "event_type", json_string("alert"));
    json_object_set(eve, "host", json_object_get(a, "sensor"));
    flow = json_object_get(json_array_get(json_object_get(a, "evidence"), 0), "flow");
    if (json_is_object(flow))
        eve_five_tuple(eve, flow);
    al = json_object();
    json_object_set_new(al, "action", json_string("allowed"));
    json_object_set_new(al, "gid", json_integer(1));
    json_object_set_new(al, "signature_id", json_integer(r ? r->sid : EVE_SID_UNLISTED));
    json_object_set_new(al, "rev", json_integer(1));
    if (r)
        json_object_set_new(al, "signature", json_string(r->signature));
    else
        json_object_set_new(al, "signature",
                            json_pack("s++", "LOOPHOLE ", rule ? rule : "unnamed", " rule"));
    json_object_set_new(al, "category", json_string(EVE_CATEGORY));
    json_object_set_new(
        al, "severity",
        json_integer(eve_severity(json_string_value(json_object_get(a, "severity")))));
    json_object_set_new(eve, "alert", al);
    json_object_del(a, "ts");
    json_object_del(a, "event_type");
    json_object_set_new(eve, "loophole", a);
    out = jtext_dump(eve, 0, outlen);
    json_decref(eve);
    return out;
}
