/* fep.c -- the fully-encrypted first-payload test (see fep.h).
 *
 * The exemptions are tried in the paper's order, so a payload's verdict
 * names the first that applies; each pass over the payload is made only
 * when the exemptions before it have not decided (the set bits first,
 * then the printable bytes and the longest printable run).
 */
#include "fep.h"

#include <string.h>

#include "dpi.h"

static int fep_printable(uint8_t c)
{
    return c >= 0x20 && c <= 0x7e;
}

/* TLS record of type handshake (0x16) or application data (0x17) and
 * version 3.x, or an HTTP request method followed by a space. */
static int fep_protocol(const uint8_t *b, size_t len)
{
    static const char *const methods[] = {"GET ",    "POST ",  "PUT ",     "HEAD ",
                                          "DELETE ", "PATCH ", "OPTIONS ", "CONNECT "};

    if (len >= 3 && (b[0] == 0x16 || b[0] == 0x17) && b[1] == 0x03 && b[2] <= 0x04)
        return 1;
    for (size_t i = 0; i < sizeof(methods) / sizeof(methods[0]); i++) {
        size_t n = strlen(methods[i]);
        if (len >= n && memcmp(b, methods[i], n) == 0)
            return 1;
    }
    return 0;
}

/* Set bits in b[0..len). Eight bytes at a time in a word (the classic
 * SWAR sum): without -mpopcnt, which the baseline x86-64 target lacks,
 * __builtin_popcount() is a call into libgcc for every byte, and this
 * test reads the first payload of every TCP flow. */
static size_t fep_bits(const uint8_t *b, size_t len)
{
    static const uint8_t nibble[16] = {0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4};
    const uint64_t m1 = 0x5555555555555555ULL, m2 = 0x3333333333333333ULL,
                   m4 = 0x0f0f0f0f0f0f0f0fULL, h01 = 0x0101010101010101ULL;
    size_t bits = 0, i = 0;

    for (; i + 8 <= len; i += 8) {
        uint64_t v;
        memcpy(&v, b + i, sizeof(v));
        v -= (v >> 1) & m1;
        v = (v & m2) + ((v >> 2) & m2);
        v = (v + (v >> 4)) & m4;
        bits += (size_t)((v * h01) >> 56);
    }
    for (; i < len; i++)
        bits += (size_t)nibble[b[i] & 15] + nibble[b[i] >> 4];
    return bits;
}

int fep_check(const uint8_t *b, size_t len)
{
    size_t bits, printable = 0, run = 0, longest = 0;

    if (len < FEP_MIN_LEN)
        return FEP_SHORT;
    /* Ex1 in integers: bits/len <= 3.4 is 10 * bits <= 34 * len. The
     * exemptions after it need the printable bytes; most first payloads
     * (TLS hellos, plain text) stop here without that pass. */
    bits = fep_bits(b, len);
    if (10 * bits <= 34 * len || 10 * bits >= 46 * len)
        return FEP_POPCOUNT;
    int prefix = 1;
    for (size_t i = 0; i < 6; i++)
        prefix &= fep_printable(b[i]);
    if (prefix)
        return FEP_PREFIX;
    for (size_t i = 0; i < len; i++) {
        if (fep_printable(b[i])) {
            printable++;
            if (++run > longest)
                longest = run;
        } else {
            run = 0;
        }
    }
    if (2 * printable > len)
        return FEP_PRINTABLE;
    if (longest > 20)
        return FEP_RUN;
    if (fep_protocol(b, len))
        return FEP_PROTOCOL;
    return FEP_FULLY_ENCRYPTED;
}

const char *fep_name(int verdict)
{
    static const char *const names[] = {"unseen", "fully_encrypted", "short", "popcount",
                                        "prefix", "printable",       "run",   "protocol"};

    return verdict >= 0 && verdict <= FEP_PROTOCOL ? names[verdict] : "?";
}

void fep_packet(flow *f, const packet *p, int dir)
{
    flow_analysis *a;

    if (flow_an(f)->fep != FEP_UNSEEN || dir != 0 || f->key.proto != 6 || p->payload_len == 0 ||
        (a = flow_analysis_get(f)) == NULL)
        return;
    /* A payload the capture cut short is judged on what is left of it: a
     * snap length under FEP_MIN_LEN makes it FEP_SHORT. */
    a->fep = (uint8_t)fep_check(p->data + p->payload_off, p->payload_caplen);
}

int fep_flow(const flow *f)
{
    const char *app;

    if (flow_an(f)->fep != FEP_FULLY_ENCRYPTED)
        return 0;
    /* nDPI's give-up guess comes from the port alone (443 gives "TLS"),
     * which says nothing about the bytes: only a dissector's name exempts. */
    app = f->facts ? dpi_fact(f->facts, DPI_APP) : NULL;
    return f->dpi_guessed || app == NULL || strcmp(app, "Unknown") == 0;
}
