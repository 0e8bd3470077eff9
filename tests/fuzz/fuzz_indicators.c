/* fuzz_indicators.c -- libFuzzer harness for the indicator table parsers
 * and the suffix matcher.
 *
 * Input: one byte choosing the table (ASN, networks, domains, control
 * rules), then the
 * CSV bytes from a heap copy of exactly that length. After a parse, every
 * line of the input is also tried as a host name against the domain table
 * (hostile names must simply not match) and the input's bytes as
 * addresses against the network table; every control rule kept must be
 * whole (a kind, a pattern unless it is a port rule, an ordered range).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "geo/indicators.h"

static void fuzz_probe(const indicators *in, const char *buf, size_t len)
{
    const char *p = buf, *end = buf + len;
    pkt_addr a;

    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
        const indicator *r = indicators_domain(in, p, n);
        if (r && r->category[0] == '\0')
            __builtin_trap();
        p += n + 1;
    }
    for (size_t off = 0; off + 16 <= len && off < 256; off += 16) {
        memcpy(a.b, buf + off, 16);
        const indicator *r = indicators_network(in, &a);
        if (r && r->category[0] == '\0')
            __builtin_trap();
        uint32_t asn;
        memcpy(&asn, buf + off, 4);
        r = indicators_asn(in, asn);
        if (r && r->category[0] == '\0')
            __builtin_trap();
    }
}

static void fuzz_controls(const indicators *in)
{
    size_t n;
    const controls_rule *r = controls_rules(indicators_controls(in), &n);

    for (size_t i = 0; i < n; i++)
        if (r[i].kind == NULL || r[i].kind[0] == '\0' || r[i].by < CONTROLS_BY_APP ||
            r[i].by > CONTROLS_BY_PORT || (r[i].by != CONTROLS_BY_PORT && r[i].pattern == NULL) ||
            r[i].port_lo > r[i].port_hi)
            __builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[256];
    indicators *in;
    char *buf;

    if (size < 1)
        return 0;
    if ((in = indicators_new()) == NULL || (buf = malloc(size > 1 ? size - 1 : 1)) == NULL) {
        indicators_free(in);
        return 0;
    }
    memcpy(buf, data + 1, size - 1);
    err[0] = '\0';
    if (indicators_parse(in, (indicators_kind)(data[0] % 4), "fuzz.csv", buf, size - 1, err,
                         sizeof(err)) != 0 &&
        strncmp(err, "fuzz.csv", 8) != 0)
        __builtin_trap();
    fuzz_probe(in, buf, size - 1);
    fuzz_controls(in);
    indicators_free(in);
    free(buf);
    return 0;
}
