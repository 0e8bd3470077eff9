/* fuzz_record.c -- libFuzzer harness for the JSON writer: flow records
 * (record_flow_line_geo) and strings from the wire (wjson_string).
 *
 * The input's first bytes fill a flow's numbers (addresses, ports,
 * protocol, tunnel, counters, times within what a capture file can hold,
 * TCP flags, round trips, risk bits, end reason); the rest is split at
 * 0xff bytes into strings: the inspection facts (SNI, host, banners, URL,
 * user agent... -- bytes straight off the wire, any encoding), the sensor
 * name, and the geo answers of both ends (country, AS organisation,
 * category, GPU provider, region, SKU, tenant). The application name is
 * nDPI's own and kept to printable ASCII, as nDPI writes it.
 *
 * Every record must come out as one line that parses back as a JSON
 * object with the counters it was given; every wjson_string() of the raw
 * input must dump and parse back (NUL bytes are escaped as \u0000, which
 * is valid JSON). The sensor's own writer (jtext_dump, base/json_text.c)
 * must give jansson's json_dumps() text byte for byte: for each record,
 * each such string, and the raw input itself when jansson parses it as
 * JSON (any nesting, numbers, escapes). Anything else aborts.
 */
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "analyze/dpi.h"
#include "analyze/record.h"
#include "base/json_text.h"
#include "base/wire_json.h"

typedef struct fuzz_in {
    const uint8_t *p;
    size_t n;
} fuzz_in;

/* The next k bytes, zero past the end of the input. */
static void fuzz_take(fuzz_in *in, void *out, size_t k)
{
    size_t m = in->n < k ? in->n : k;

    memset(out, 0, k);
    memcpy(out, in->p, m);
    in->p += m;
    in->n -= m;
}

static uint64_t fuzz_u64(fuzz_in *in)
{
    uint64_t v;
    fuzz_take(in, &v, sizeof(v));
    return v;
}

/* A time a pcap record can carry: 32-bit seconds, microseconds. */
static uint64_t fuzz_time(fuzz_in *in)
{
    uint64_t v = fuzz_u64(in);
    return (v >> 32) * 1000000u + (v & 0xffffffffu) % 1000000u;
}

/* The next string up to a 0xff byte (or the end), NUL-terminated into buf. */
static const char *fuzz_str(fuzz_in *in, char *buf, size_t cap)
{
    const uint8_t *end = memchr(in->p, 0xff, in->n);
    size_t k = end ? (size_t)(end - in->p) : in->n;
    size_t m = k < cap - 1 ? k : cap - 1;

    memcpy(buf, in->p, m);
    buf[m] = '\0';
    in->p += k + (end != NULL);
    in->n -= k + (end != NULL);
    return buf;
}

static dpi_facts *fuzz_facts(fuzz_in *in, uint64_t risk)
{
    dpi_facts *fa = malloc(sizeof(*fa) + DPI_NFACTS * 1024);
    char buf[1024];
    size_t used = 0;

    if (fa == NULL)
        abort();
    fa->risk = risk;
    for (int i = 0; i < DPI_NFACTS; i++) {
        if (in->n == 0) {
            fa->off[i] = DPI_ABSENT;
            continue;
        }
        fuzz_str(in, buf, sizeof(buf));
        if (i == DPI_APP)
            for (char *c = buf; *c; c++)
                *c = (char)(0x20 + ((unsigned char)*c % 0x5f));
        fa->off[i] = (uint16_t)used;
        memcpy(fa->text + used, buf, strlen(buf) + 1);
        used += strlen(buf) + 1;
    }
    return fa;
}

static void fuzz_party(fuzz_in *in, geo_party *g, char bufs[][256], unsigned gpu)
{
    memset(g, 0, sizeof(*g));
    fuzz_str(in, g->info.country, sizeof(g->info.country));
    fuzz_take(in, &g->info.asn, sizeof(g->info.asn));
    fuzz_str(in, g->info.as_org, sizeof(g->info.as_org));
    g->category = fuzz_str(in, bufs[0], 256);
    g->gpu = (int)gpu;
    g->provider = fuzz_str(in, bufs[1], 256);
    g->region = fuzz_str(in, bufs[2], 256);
    g->sku = fuzz_str(in, bufs[3], 256);
    g->tenant = fuzz_str(in, bufs[4], 256);
}

/* jtext_dump(v) is json_dumps(v) with the sensor's flags, or both fail. */
static void fuzz_same_text(const json_t *v, int precision)
{
    size_t len = 0;
    char *want = json_dumps(v, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_ENCODE_ANY |
                                   JSON_REAL_PRECISION(precision));
    char *got = jtext_dump(v, precision, &len);

    if ((want == NULL) != (got == NULL) ||
        (want && (strcmp(want, got) != 0 || len != strlen(want))))
        abort();
    free(want);
    free(got);
}

/* The raw input as a JSON document, when jansson takes it. */
static void fuzz_json_doc(const uint8_t *data, size_t size)
{
    json_error_t je;
    json_t *v = json_loadb((const char *)data, size, JSON_DECODE_ANY | JSON_ALLOW_NUL, &je);

    if (v == NULL)
        return;
    fuzz_same_text(v, 0);
    fuzz_same_text(v, 9);
    json_decref(v);
}

static void fuzz_check_line(const char *line, size_t len, const flow *f)
{
    json_error_t je;
    json_t *o;

    if (line == NULL || strlen(line) != len || memchr(line, '\n', len))
        abort();
    o = json_loads(line, 0, &je);
    if (!json_is_object(o) ||
        json_integer_value(json_object_get(o, "pkts_c2s")) != (json_int_t)f->pkts[0] ||
        json_integer_value(json_object_get(o, "bytes_s2c")) != (json_int_t)f->bytes[1])
        abort();
    json_decref(o);
}

static void fuzz_wjson(const uint8_t *data, size_t size)
{
    json_t *s = wjson_string((const char *)data, size);
    char *text = s ? json_dumps(s, JSON_ENCODE_ANY) : NULL;
    json_error_t je;
    json_t *back = text ? json_loads(text, JSON_DECODE_ANY | JSON_ALLOW_NUL, &je) : NULL;

    if (!json_is_string(back) || strchr(text, '\n'))
        abort();
    fuzz_same_text(s, 0);
    json_decref(back);
    free(text);
    json_decref(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_in in = {data, size};
    char sensor[256], bufs[2][5][256];
    geo_party src, dst;
    uint8_t b[8];
    flow f;
    size_t len;

    if (size > 16384)
        return 0;
    fuzz_wjson(data, size);
    fuzz_json_doc(data, size);
    memset(&f, 0, sizeof(f));
    fuzz_take(&in, &f.key.addr, sizeof(f.key.addr));
    fuzz_take(&in, &f.key.port, sizeof(f.key.port));
    fuzz_take(&in, &f.key.tunnel_id, sizeof(f.key.tunnel_id));
    fuzz_take(&in, &f.key.vlan, sizeof(f.key.vlan));
    fuzz_take(&in, b, sizeof(b));
    f.key.proto = b[0];
    f.key.tunnel_type = b[1];
    f.tunnel_type = b[1];
    f.client = b[2] & 1;
    f.tcp = b[3];
    f.tunnel_port = (uint16_t)(b[4] | b[5] << 8);
    int end = b[6] % FLOW_END_MAX;
    unsigned geo = b[7];
    for (int i = 0; i < 2; i++) {
        f.pkts[i] = fuzz_u64(&in) >> 1; /* json_int_t is signed */
        f.bytes[i] = fuzz_u64(&in) >> 1;
    }
    f.first_us = fuzz_time(&in);
    f.rec_first_us = fuzz_time(&in);
    f.last_us = fuzz_time(&in);
    f.hs_us = fuzz_time(&in);
    fuzz_take(&in, &f.rtt_server_us, sizeof(f.rtt_server_us));
    fuzz_take(&in, &f.rtt_client_us, sizeof(f.rtt_client_us));
    uint64_t risk = fuzz_u64(&in);
    f.dpi_state = FLOW_DPI_DONE;
    f.facts = (geo & 8) ? NULL : fuzz_facts(&in, risk);
    fuzz_str(&in, sensor, sizeof(sensor));
    fuzz_party(&in, &src, bufs[0], (geo >> 1) & 1 ? 1 + (geo >> 4) % 2 : 0);
    fuzz_party(&in, &dst, bufs[1], (geo >> 2) & 1 ? 1 + (geo >> 5) % 2 : 0);
    char *line = (geo & 1) ? record_flow_line_geo(&f, end, sensor, &src, &dst, &len)
                           : record_flow_line(&f, end, sensor, &len);
    fuzz_check_line(line, len, &f);
    free(line);
    json_t *rec =
        record_flow_geo(&f, end, sensor, (geo & 1) ? &src : NULL, (geo & 1) ? &dst : NULL);
    fuzz_same_text(rec, 9);
    json_decref(rec);
    free(f.facts);
    return 0;
}
