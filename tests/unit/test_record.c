/* test_record.c -- flow records as JSON lines (interface.md section 3).
 *
 * Flows are built by hand, turned into lines by record_flow_line() and
 * parsed back with jansson, as a consumer would. Checked: every contract
 * field is present with its type, src/dst follow the client, names of
 * protocols, tunnels and end reasons, RFC 3339 times with microseconds,
 * handshake round trips in milliseconds, and hostile wire strings, which
 * must give one valid line of UTF-8 JSON that decodes to the same text
 * (invalid bytes replaced by U+FFFD).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "analyze/dpi.h"
#include "analyze/flow.h"
#include "analyze/record.h"
#include "capture/flow_key.h"

#define SEC UINT64_C(1000000)

/* ------------------------------------------------------------------------
 * Helpers
 * ---------------------------------------------------------------------- */

/* Facts block holding the given strings (NULL = absent), as inspection
 * leaves it: NUL-terminated texts at offsets. */
static dpi_facts *facts(const char *const vals[DPI_NFACTS])
{
    size_t total = 0;
    for (int i = 0; i < DPI_NFACTS; i++)
        total += vals[i] ? strlen(vals[i]) + 1 : 0;
    assert_true(total < DPI_ABSENT);
    dpi_facts *fa = calloc(1, sizeof(*fa) + total + 1);
    assert_non_null(fa);
    size_t off = 0;
    for (int i = 0; i < DPI_NFACTS; i++) {
        if (vals[i] == NULL) {
            fa->off[i] = DPI_ABSENT;
            continue;
        }
        fa->off[i] = (uint16_t)off;
        memcpy(fa->text + off, vals[i], strlen(vals[i]) + 1);
        off += strlen(vals[i]) + 1;
    }
    return fa;
}

/* A flow between client cip:cport and server sip:sport, opened by the
 * client, whatever side of the key the client sorts to. */
static void make_flow(flow *f, uint8_t proto, const char *cip, uint16_t cport, const char *sip,
                      uint16_t sport)
{
    packet p;
    flow_key k;

    memset(&p, 0, sizeof(p));
    p.proto = proto;
    assert_int_equal(pkt_addr_parse(cip, &p.src), 0);
    assert_int_equal(pkt_addr_parse(sip, &p.dst), 0);
    p.sport = cport;
    p.dport = sport;
    int side = flow_key_make(&k, &p);
    memset(f, 0, sizeof(*f));
    f->key = k;
    f->client = (uint8_t)side;
    f->pkts[0] = 10;
    f->bytes[0] = 1000;
    f->pkts[1] = 20;
    f->bytes[1] = 30000;
    f->first_us = f->rec_first_us = UINT64_C(1700000000) * SEC;
    f->last_us = f->rec_first_us + 5 * SEC;
}

/* Writes the line, checks it is one line of valid JSON, returns it parsed. */
static json_t *line_of(const flow *f, int end, const char *sensor)
{
    size_t len = 0;
    char *line = record_flow_line(f, end, sensor, &len);
    json_error_t jerr;

    assert_non_null(line);
    assert_int_equal(len, strlen(line));
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)line[i] < 0x20)
            fail_msg("raw control byte 0x%02x at %zu in the line", (unsigned char)line[i], i);
    json_t *o = json_loadb(line, len, 0, &jerr); /* rejects invalid UTF-8 */
    if (o == NULL)
        fail_msg("not valid JSON: %s at %d: %.200s", jerr.text, jerr.position, line);
    assert_true(json_is_object(o));
    free(line);
    return o;
}

static const char *str(const json_t *o, const char *key)
{
    const json_t *v = json_object_get(o, key);
    if (!json_is_string(v))
        fail_msg("%s is not a string", key);
    return json_string_value(v);
}

static json_int_t num(const json_t *o, const char *key)
{
    const json_t *v = json_object_get(o, key);
    if (!json_is_integer(v))
        fail_msg("%s is not an integer", key);
    return json_integer_value(v);
}

/* ------------------------------------------------------------------------
 * Field set and types
 * ---------------------------------------------------------------------- */

enum jt { T_STR = 1, T_INT = 2, T_NUM = 4, T_NULL = 8, T_OBJ = 16, T_ARR = 32 };

static const struct {
    const char *key;
    int types;
} contract[] = {
    {"event_type", T_STR},
    {"sensor", T_STR},
    {"src_ip", T_STR},
    {"src_port", T_INT},
    {"dst_ip", T_STR},
    {"dst_port", T_INT},
    {"proto", T_STR},
    {"community_id", T_STR | T_NULL},
    {"vlan", T_INT | T_NULL},
    {"tunnel", T_STR | T_NULL},
    {"tunnel_id", T_INT | T_NULL},
    {"app", T_STR},
    {"category", T_STR | T_NULL},
    {"sni", T_STR | T_NULL},
    {"host", T_STR | T_NULL},
    {"ja3c", T_STR | T_NULL},
    {"ssh_client", T_STR | T_NULL},
    {"ssh_server", T_STR | T_NULL},
    {"dns_query", T_STR | T_NULL},
    {"url", T_STR | T_NULL},
    {"user_agent", T_STR | T_NULL},
    {"pkts_c2s", T_INT},
    {"bytes_c2s", T_INT},
    {"pkts_s2c", T_INT},
    {"bytes_s2c", T_INT},
    {"first", T_STR},
    {"last", T_STR},
    {"tcp_rtt_ms", T_NUM | T_NULL},
    {"tcp_rtt_server_ms", T_NUM | T_NULL},
    {"tcp_rtt_client_ms", T_NUM | T_NULL},
    {"app_rtt_ms", T_NUM | T_NULL},
    {"src_geo", T_OBJ | T_NULL},
    {"dst_geo", T_OBJ | T_NULL},
    {"roles", T_ARR},
    {"risks", T_ARR},
    {"end", T_STR},
};

static int type_of(const json_t *v)
{
    if (json_is_string(v))
        return T_STR;
    if (json_is_integer(v))
        return T_INT | T_NUM;
    if (json_is_real(v))
        return T_NUM;
    if (json_is_null(v))
        return T_NULL;
    if (json_is_object(v))
        return T_OBJ;
    if (json_is_array(v))
        return T_ARR;
    return 0;
}

static void assert_contract(const json_t *o)
{
    for (size_t i = 0; i < sizeof(contract) / sizeof(contract[0]); i++) {
        const json_t *v = json_object_get(o, contract[i].key);
        if (v == NULL)
            fail_msg("field %s is missing", contract[i].key);
        if (!(type_of(v) & contract[i].types))
            fail_msg("field %s has the wrong type (%d)", contract[i].key, json_typeof(v));
    }
    assert_string_equal(str(o, "event_type"), "flow");
}

static void test_fields_bare_flow(void **state)
{
    flow f;
    make_flow(&f, 17, "192.0.2.10", 5353, "192.0.2.1", 53);
    json_t *o = line_of(&f, FLOW_END_IDLE, "sensor-a");

    assert_contract(o);
    assert_string_equal(str(o, "sensor"), "sensor-a");
    assert_string_equal(str(o, "app"), "Unknown"); /* no inspection result */
    static const char *const nulls[] = {
        "vlan",      "tunnel",     "tunnel_id",  "category",          "sni",
        "host",      "ja3c",       "ssh_client", "ssh_server",        "dns_query",
        "url",       "user_agent", "tcp_rtt_ms", "tcp_rtt_server_ms", "tcp_rtt_client_ms",
        "app_rtt_ms"};
    for (size_t i = 0; i < sizeof(nulls) / sizeof(nulls[0]); i++)
        if (!json_is_null(json_object_get(o, nulls[i])))
            fail_msg("%s should be null for a flow nothing was learned about", nulls[i]);
    assert_int_equal(json_array_size(json_object_get(o, "risks")), 0);
    assert_string_equal(str(o, "end"), "idle");
    json_decref(o);
}

static void test_fields_full_flow(void **state)
{
    static const char *const vals[DPI_NFACTS] = {
        [DPI_APP] = "TLS.Google",
        [DPI_CATEGORY] = "Web",
        [DPI_SNI] = "www.example.com",
        [DPI_HOST] = "example.com",
        [DPI_DNS_QUERY] = "q.example.com",
        [DPI_SSH_CLIENT] = "SSH-2.0-OpenSSH_9.6",
        [DPI_SSH_SERVER] = "SSH-2.0-dropbear",
        [DPI_JA3C] = "0123456789abcdef0123456789abcdef",
        [DPI_URL] = "/index.html",
        [DPI_USER_AGENT] = "curl/8.0",
    };
    flow f;
    make_flow(&f, 6, "198.51.100.7", 51000, "203.0.113.9", 443);
    f.facts = facts(vals);
    f.key.vlan = 42;
    f.tunnel_type = PKT_TUNNEL_VXLAN;
    f.tunnel_port = 4789;
    f.key.tunnel_type = PKT_TUNNEL_VXLAN;
    f.key.tunnel_id = 5001;
    json_t *o = line_of(&f, FLOW_END_FIN, "s");

    assert_contract(o);
    assert_string_equal(str(o, "app"), "TLS.Google");
    assert_string_equal(str(o, "category"), "Web");
    assert_string_equal(str(o, "sni"), "www.example.com");
    assert_string_equal(str(o, "host"), "example.com");
    assert_string_equal(str(o, "dns_query"), "q.example.com");
    assert_string_equal(str(o, "ssh_client"), "SSH-2.0-OpenSSH_9.6");
    assert_string_equal(str(o, "ssh_server"), "SSH-2.0-dropbear");
    assert_string_equal(str(o, "ja3c"), "0123456789abcdef0123456789abcdef");
    assert_string_equal(str(o, "url"), "/index.html");
    assert_string_equal(str(o, "user_agent"), "curl/8.0");
    assert_int_equal(num(o, "vlan"), 42);
    assert_string_equal(str(o, "tunnel"), "vxlan:4789");
    assert_int_equal(num(o, "tunnel_id"), 5001);
    assert_string_equal(str(o, "proto"), "tcp");
    json_decref(o);
    free(f.facts);
}

/* ------------------------------------------------------------------------
 * Endpoints and counters follow the client
 * ---------------------------------------------------------------------- */

static void test_client_side(void **state)
{
    static const struct {
        const char *cip, *sip;
        uint16_t cport, sport;
    } cases[] = {
        {"10.0.0.2", "10.0.0.1", 50000, 443}, /* client sorts second in the key */
        {"10.0.0.1", "10.0.0.2", 50000, 443}, /* client sorts first */
        {"10.0.0.1", "10.0.0.1", 50000, 22},  /* same address, port decides */
        {"2001:db8::ffff", "2001:db8::1", 40000, 8443},
        {"::ffff:0:1", "2001:db8::1", 1, 2},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        flow f;
        make_flow(&f, 6, cases[i].cip, cases[i].cport, cases[i].sip, cases[i].sport);
        json_t *o = line_of(&f, FLOW_END_EOF, "s");
        pkt_addr a;
        char want_c[PKT_ADDR_STRLEN], want_s[PKT_ADDR_STRLEN];

        /* The canonical text of each address, via the address parser. */
        assert_int_equal(pkt_addr_parse(cases[i].cip, &a), 0);
        pkt_addr_format(&a, want_c, sizeof(want_c));
        assert_int_equal(pkt_addr_parse(cases[i].sip, &a), 0);
        pkt_addr_format(&a, want_s, sizeof(want_s));
        if (strcmp(str(o, "src_ip"), want_c) != 0 || num(o, "src_port") != cases[i].cport ||
            strcmp(str(o, "dst_ip"), want_s) != 0 || num(o, "dst_port") != cases[i].sport)
            fail_msg("case %zu: %s:%lld -> %s:%lld, expected %s:%u -> %s:%u", i, str(o, "src_ip"),
                     (long long)num(o, "src_port"), str(o, "dst_ip"), (long long)num(o, "dst_port"),
                     want_c, cases[i].cport, want_s, cases[i].sport);
        assert_int_equal(num(o, "pkts_c2s"), 10);
        assert_int_equal(num(o, "bytes_c2s"), 1000);
        assert_int_equal(num(o, "pkts_s2c"), 20);
        assert_int_equal(num(o, "bytes_s2c"), 30000);
        json_decref(o);
    }
}

static void test_ipv4_text(void **state)
{
    flow f;
    make_flow(&f, 17, "192.0.2.33", 1234, "2001:db8::53", 53);
    json_t *o = line_of(&f, FLOW_END_EOF, "s");
    /* IPv4 in dotted quad, never as ::ffff:a.b.c.d; IPv6 compressed. */
    assert_string_equal(str(o, "src_ip"), "192.0.2.33");
    assert_string_equal(str(o, "dst_ip"), "2001:db8::53");
    json_decref(o);
}

static void test_large_counters(void **state)
{
    flow f;
    make_flow(&f, 6, "10.0.0.1", 1, "10.0.0.2", 2);
    f.pkts[0] = UINT64_C(1) << 40;
    f.bytes[0] = (UINT64_C(1) << 52) + 1; /* beyond what a double holds exactly */
    json_t *o = line_of(&f, FLOW_END_EOF, "s");
    assert_int_equal(num(o, "pkts_c2s"), (json_int_t)(UINT64_C(1) << 40));
    assert_int_equal(num(o, "bytes_c2s"), (json_int_t)((UINT64_C(1) << 52) + 1));
    json_decref(o);
}

/* ------------------------------------------------------------------------
 * Names
 * ---------------------------------------------------------------------- */

static void test_proto_names(void **state)
{
    static const struct {
        uint8_t proto;
        const char *name;
    } cases[] = {{6, "tcp"}, {17, "udp"}, {1, "icmp"}, {58, "icmpv6"},
                 {99, "99"}, {0, "0"},    {255, "255"}};
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        flow f;
        make_flow(&f, cases[i].proto, "10.0.0.1", 0, "10.0.0.2", 0);
        json_t *o = line_of(&f, FLOW_END_EOF, "s");
        assert_string_equal(str(o, "proto"), cases[i].name);
        json_decref(o);
    }
}

static void test_end_names(void **state)
{
    static const struct {
        int end;
        const char *name;
    } cases[] = {{FLOW_END_FIN, "fin"},       {FLOW_END_RST, "rst"}, {FLOW_END_IDLE, "idle"},
                 {FLOW_END_ACTIVE, "active"}, {FLOW_END_EOF, "eof"}, {FLOW_END_EVICTED, "evicted"}};
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        flow f;
        make_flow(&f, 6, "10.0.0.1", 1, "10.0.0.2", 2);
        json_t *o = line_of(&f, cases[i].end, "s");
        assert_string_equal(str(o, "end"), cases[i].name);
        json_decref(o);
    }
}

/* ------------------------------------------------------------------------
 * Times and round trips
 * ---------------------------------------------------------------------- */

static void test_times(void **state)
{
    static const struct {
        uint64_t us;
        const char *text;
    } cases[] = {
        {UINT64_C(1700000000123456), "2023-11-14T22:13:20.123456Z"},
        {UINT64_C(1700000000000001), "2023-11-14T22:13:20.000001Z"},
        {UINT64_C(951782400000000), "2000-02-29T00:00:00.000000Z"},
        {UINT64_C(1234567890500000), "2009-02-13T23:31:30.500000Z"},
        {UINT64_C(4102444799999999), "2099-12-31T23:59:59.999999Z"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        flow f;
        make_flow(&f, 6, "10.0.0.1", 1, "10.0.0.2", 2);
        f.rec_first_us = cases[i].us;
        f.last_us = cases[i].us + 1500000; /* 1.5 s later */
        json_t *o = line_of(&f, FLOW_END_EOF, "s");
        assert_string_equal(str(o, "first"), cases[i].text);
        /* last = first + 1.5 s: same layout, seconds and fraction moved. */
        const char *last = str(o, "last");
        assert_int_equal(strlen(last), strlen(cases[i].text));
        assert_int_equal(last[strlen(last) - 1], 'Z');
        assert_int_equal(last[19], '.');
        json_decref(o);
    }
}

static void test_record_first_is_record_start(void **state)
{
    flow f;
    make_flow(&f, 6, "10.0.0.1", 1, "10.0.0.2", 2);
    f.first_us = UINT64_C(1700000000) * SEC;
    f.rec_first_us = f.first_us + 1800 * SEC; /* a record after an active cut */
    f.last_us = f.rec_first_us + 1 * SEC;
    json_t *o = line_of(&f, FLOW_END_ACTIVE, "s");
    assert_string_equal(str(o, "first"), "2023-11-14T22:43:20.000000Z");
    assert_string_equal(str(o, "last"), "2023-11-14T22:43:21.000000Z");
    json_decref(o);
}

static double real_of(const json_t *o, const char *key)
{
    const json_t *v = json_object_get(o, key);
    if (!json_is_number(v))
        fail_msg("%s is not a number", key);
    return json_number_value(v);
}

static void test_rtt(void **state)
{
    flow f;
    make_flow(&f, 6, "10.0.0.1", 50000, "10.0.0.2", 443);
    f.tcp = FLOW_TCP_SYN | FLOW_TCP_SYNACK | FLOW_TCP_ACK | FLOW_TCP_RTT_S;
    f.hs_us = f.first_us + 30250;
    f.rtt_server_us = 30250;
    f.rtt_client_us = 1500;
    json_t *o = line_of(&f, FLOW_END_FIN, "s");
    assert_true(real_of(o, "tcp_rtt_ms") > 31.749 && real_of(o, "tcp_rtt_ms") < 31.751);
    assert_true(real_of(o, "tcp_rtt_server_ms") > 30.249 &&
                real_of(o, "tcp_rtt_server_ms") < 30.251);
    assert_true(real_of(o, "tcp_rtt_client_ms") > 1.499 && real_of(o, "tcp_rtt_client_ms") < 1.501);
    json_decref(o);

    /* SYN and SYN/ACK seen, no ACK: only the server half is known. */
    f.tcp = FLOW_TCP_SYN | FLOW_TCP_SYNACK | FLOW_TCP_RTT_S;
    f.rtt_client_us = 0;
    o = line_of(&f, FLOW_END_RST, "s");
    assert_true(json_is_null(json_object_get(o, "tcp_rtt_ms")));
    assert_true(json_is_null(json_object_get(o, "tcp_rtt_client_ms")));
    assert_true(real_of(o, "tcp_rtt_server_ms") > 30.249);
    json_decref(o);

    /* Mid-stream flow: nothing known. */
    f.tcp = FLOW_TCP_MIDSTREAM;
    f.hs_us = 0;
    f.rtt_server_us = 0;
    o = line_of(&f, FLOW_END_EOF, "s");
    assert_true(json_is_null(json_object_get(o, "tcp_rtt_ms")));
    assert_true(json_is_null(json_object_get(o, "tcp_rtt_server_ms")));
    assert_true(json_is_null(json_object_get(o, "tcp_rtt_client_ms")));
    json_decref(o);
}

/* ------------------------------------------------------------------------
 * Hostile strings
 * ---------------------------------------------------------------------- */

#define FFFD "\xef\xbf\xbd"

typedef struct hostile {
    const char *what;
    const char *in;   /* NUL-terminated wire bytes */
    const char *want; /* decoded text; NULL = same as in */
} hostile;

static const hostile hostiles[] = {
    {"quotes and backslashes", "a\"b\\c\\\"d\"", NULL},
    {"CR LF", "evil.com\r\nX-Injected: 1\r\n", NULL},
    {"control bytes", "\x01\x02\x07\x08\x09\x0b\x0c\x1b\x1f\x7f", NULL},
    {"JSON-looking", "\",\"app\":\"Fake\",\"x\":\"", NULL},
    {"valid multi-byte UTF-8", "caf\xc3\xa9.\xe6\x97\xa5\xe6\x9c\xac.\xf0\x9f\x98\x80", NULL},
    {"lone continuation and 0xff",
     "ab\x80\xff"
     "cd",
     "ab" FFFD FFFD "cd"},
    {"truncated sequence at the end", "abc\xe2\x82", "abc" FFFD FFFD},
    {"truncated sequence in the middle", "a\xe2\x82z", "a" FFFD FFFD "z"},
    {"overlong slash", "\xc0\xaf", FFFD FFFD},
    {"overlong three-byte", "\xe0\x80\xaf", FFFD FFFD FFFD},
    {"UTF-16 surrogate", "\xed\xa0\x80", FFFD FFFD FFFD},
    {"beyond U+10FFFF", "\xf4\x90\x80\x80", FFFD FFFD FFFD FFFD},
    {"latin-1 text", "M\xfcnchen", "M" FFFD "nchen"},
};

/* Puts s in every string fact of a flow and checks each comes back as
 * want. */
static void check_hostile(const char *what, const char *s, const char *want, size_t want_len)
{
    static const struct {
        int fact;
        const char *key;
    } fields[] = {{DPI_SNI, "sni"},
                  {DPI_HOST, "host"},
                  {DPI_DNS_QUERY, "dns_query"},
                  {DPI_SSH_CLIENT, "ssh_client"},
                  {DPI_SSH_SERVER, "ssh_server"},
                  {DPI_URL, "url"},
                  {DPI_USER_AGENT, "user_agent"},
                  {DPI_CATEGORY, "category"}};
    for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
        const char *vals[DPI_NFACTS] = {[DPI_APP] = "HTTP"};
        vals[fields[i].fact] = s;
        flow f;
        make_flow(&f, 6, "10.0.0.1", 50000, "10.0.0.2", 80);
        f.facts = facts(vals);
        json_t *o = line_of(&f, FLOW_END_EOF, s); /* the sensor name too */
        const json_t *v = json_object_get(o, fields[i].key);
        if (!json_is_string(v))
            fail_msg("%s in %s: not a string", what, fields[i].key);
        if (json_string_length(v) != want_len || memcmp(json_string_value(v), want, want_len) != 0)
            fail_msg("%s in %s: decoded to %zu bytes \"%.80s\", expected %zu bytes \"%.80s\"", what,
                     fields[i].key, json_string_length(v), json_string_value(v), want_len, want);
        const json_t *sv = json_object_get(o, "sensor");
        if (json_string_length(sv) != want_len || memcmp(json_string_value(sv), want, want_len))
            fail_msg("%s as the sensor name: not preserved", what);
        /* Nothing leaked into other fields. */
        assert_string_equal(str(o, "app"), "HTTP");
        assert_string_equal(str(o, "end"), "eof");
        json_decref(o);
        free(f.facts);
    }
}

static void test_hostile_strings(void **state)
{
    for (size_t i = 0; i < sizeof(hostiles) / sizeof(hostiles[0]); i++) {
        const char *want = hostiles[i].want ? hostiles[i].want : hostiles[i].in;
        check_hostile(hostiles[i].what, hostiles[i].in, want, strlen(want));
    }
}

static void test_very_long_string(void **state)
{
    const size_t n = 30000;
    char *s = malloc(n + 1), *want = malloc(3 * n + 1);

    /* Valid text with an invalid byte every 1000 bytes and a quote every 100. */
    size_t w = 0;
    for (size_t i = 0; i < n; i++) {
        char c = i % 1000 == 999 ? '\xfe' : i % 100 == 50 ? '"' : (char)('a' + i % 26);
        s[i] = c;
        if (c == '\xfe') {
            memcpy(want + w, FFFD, 3);
            w += 3;
        } else {
            want[w++] = c;
        }
    }
    s[n] = '\0';
    want[w] = '\0';
    check_hostile("30000-byte string", s, want, w);
    free(s);
    free(want);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fields_bare_flow),
        cmocka_unit_test(test_fields_full_flow),
        cmocka_unit_test(test_client_side),
        cmocka_unit_test(test_ipv4_text),
        cmocka_unit_test(test_large_counters),
        cmocka_unit_test(test_proto_names),
        cmocka_unit_test(test_end_names),
        cmocka_unit_test(test_times),
        cmocka_unit_test(test_record_first_is_record_start),
        cmocka_unit_test(test_rtt),
        cmocka_unit_test(test_hostile_strings),
        cmocka_unit_test(test_very_long_string),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
