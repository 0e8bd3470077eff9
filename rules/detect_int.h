/* detect_int.h -- shared between detect.c and the rule files. */
#ifndef LOOPHOLE_DETECT_INT_H
#define LOOPHOLE_DETECT_INT_H

#include "detect.h"
#include "geo/indicators.h"

struct detect {
    const detect_config *cfg;
    const char *sensor;
};

/* One finished flow as the rules read it: client is the side that opened
 * it. Parties are never NULL here (unknown ends get an empty answer). */
typedef struct detect_view {
    const flow *f;
    int end;
    const geo_party *client, *server;
    char client_ip[PKT_ADDR_STRLEN], server_ip[PKT_ADDR_STRLEN];
    uint16_t client_port, server_port;
    uint64_t bytes_up, bytes_down; /* client to server, server to client */
    timing_summary timing;
    const char *app, *sni, *host; /* NULL when unknown */
    const indicators *ind;        /* indicator tables, or NULL */
} detect_view;

/* 1 when the party's network category is one of cats (NULL-terminated). */
int detect_category_in(const geo_party *p, const char *const *cats);

/* 1 when the party's country is in the configured china / relay list. */
int detect_is_china(const detect *d, const geo_party *p);
int detect_is_relay_country(const detect *d, const geo_party *p);

/* 1 when the party is in a relay country's hosting, VPN, proxy, Chinese
 * cloud or tunnel-edge space (a hyperscaler region there is not: a
 * company's bastion in Tokyo is an ordinary customer of AWS). */
int detect_is_relay_space(const detect *d, const geo_party *p);

/* 1 when the party's network exists to hide who is behind it: a VPN or
 * proxy service, or a tunnel edge, in any country. */
int detect_is_anonymiser(const geo_party *p);

/* 1 when a controller there points to a reseller by itself: in China, in
 * a relay country's hosting/VPN/proxy space, or an anonymiser
 * (interface.md, reseller_fanout). An ordinary network elsewhere (a
 * company's bastion or CI, a home) is not, and neither is a hyperscaler
 * address by itself. */
int detect_is_strong_controller(const detect *d, const geo_party *p);

/* The application round trip of the flow (the lower quartile of at least
 * TIMING_RTT_DECIDE samples) minus its least client-side transport round
 * trip, in microseconds, in *extra; returns 0 when either is unknown or
 * the samples are too few (docs/flow-analysis.md). */
int detect_extra_rtt(const detect_view *v, int64_t *extra);

/* 1 when the client of a control session is a proven relay: the wire
 * shows its user more than proxy_latency_ms beyond it (proxy_latency). */
int detect_proven_relay(const detect *d, const detect_view *v);

/* The flow's identity for the library: both ends and the first packet,
 * the same for every record of the flow. */
void detect_flow_id(const detect_view *v, char *buf, size_t len);

/* The flow record's identity, what its bytes or its knock are a fact of
 * (the `fact` of lh_sum and lh_knock): the flow's identity and the first
 * packet of the record, the same in every replay of the capture. */
void detect_record_id(const detect_view *v, char *buf, size_t len);

/* An evidence item (interface.md section 2): the flow (src, dst as
 * ip:port, proto, app, sni or host, first, last, bytes_up, bytes_down) and
 * a sentence. New reference. */
json_t *detect_evidence(const detect_view *v, const char *detail);

/* A party object: ip, country, asn, as_org, category where known. */
json_t *detect_party(const char *ip, const geo_party *p);

/* The gpu_host object: ip, source, provider, tenant, sku where known. */
json_t *detect_gpu_host(const char *ip, const geo_party *p);

/* Field/value list for the lh:host:<ip> hash of a party (country, asn,
 * as_org, and the GPU host's source, provider, tenant), NULL-terminated,
 * in buf (at least 16 slots; strings point into p or static text, and the
 * asn text into asn_buf). */
const char *const *detect_host_fields(const geo_party *p, const char **buf, char *asn_buf,
                                      size_t asn_len);

/* Severity and score of an alert (the entity's risk grows by the score,
 * capped at 100 by the library): one row per rule, all in detect.c, the
 * table of docs/rules.md. */
typedef struct detect_grade {
    const char *severity;
    int score;
} detect_grade;

extern const detect_grade G_CN_DIRECT, G_RELAY, G_PROXY, G_PROXY_WEAK, G_TUNNEL, G_TUNNEL_IDLE,
    G_TUNNEL_PLAIN, G_FANOUT, G_FANOUT_WEAK, G_FANIN, G_FOOTPRINT, G_AIRELAY, G_EGRESS, G_STEPPING,
    G_TIMEZONE;

/* The parts of one alert; NULL members are left out. */
typedef struct detect_parts {
    const char *rule, *role, *ip;
    const detect_grade *grade;
    const char *gpu_ip;     /* the GPU host, or NULL */
    const geo_party *gpu;   /* its geo answer */
    const char *peer_ip;    /* the remote party */
    const geo_party *peer;  /* its geo answer */
    const char *inter_ip;   /* the relay, when one is involved */
    const geo_party *inter; /* its geo answer */
    const char *detail, *summary;
} detect_parts;

/* One alert ready for a library call: every rule builds its alert here
 * (grade, parts, evidence), then hands da.a to the call builder of
 * rules/event.h, which adds the call's own arguments. */
typedef struct detect_alert {
    event_alert a;
    const char *host[24]; /* lh:host:<ip> fields of the entity */
    char asn[16];
} detect_alert;

/* Fills da from p at packet time ts_us in windows of window_us. The
 * evidence array holds the flow of `item` with p->detail, or is empty
 * when item is NULL (the alert's evidence is then what the library keeps
 * of its window). Release
 * with detect_alert_done(). */
void detect_alert_make(detect_alert *da, const detect_parts *p, const detect_view *item,
                       uint64_t ts_us, uint64_t window_us);
void detect_alert_done(detect_alert *da);

/* The rule files. */
void detect_flow_rules(detect *d, event_queue *q, const detect_view *v);
void detect_corr_rules(detect *d, event_queue *q, const detect_view *v);

#endif
