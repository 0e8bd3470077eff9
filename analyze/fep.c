/* fep.c -- the fully-encrypted first-payload test (see fep.h).
 *
 * One pass over the payload counts set bits, printable bytes and the
 * longest printable run; the exemptions are then tried in the paper's
 * order, so a payload's verdict names the first that applies.
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

int fep_check(const uint8_t *b, size_t len)
{
    size_t bits = 0, printable = 0, run = 0, longest = 0;

    if (len < FEP_MIN_LEN)
        return FEP_SHORT;
    for (size_t i = 0; i < len; i++) {
        bits += (size_t)__builtin_popcount(b[i]);
        if (fep_printable(b[i])) {
            printable++;
            if (++run > longest)
                longest = run;
        } else {
            run = 0;
        }
    }
    /* Ex1 in integers: bits/len <= 3.4 is 10 * bits <= 34 * len. */
    if (10 * bits <= 34 * len || 10 * bits >= 46 * len)
        return FEP_POPCOUNT;
    int prefix = 1;
    for (size_t i = 0; i < 6; i++)
        prefix &= fep_printable(b[i]);
    if (prefix)
        return FEP_PREFIX;
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
