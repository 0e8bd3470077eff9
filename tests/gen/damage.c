/* damage.c -- broken captures made from good ones, for the sensor's
 * error-handling tests.
 *
 * The input pcap is read whole into memory and indexed by record; the
 * output is written with plain stdio because libpcap cannot write the
 * malformed records on purpose. Records keep the input's byte order.
 * Errors come back as a message in the caller's buffer: -1 for I/O or a
 * bad input file, -2 for an unknown mode.
 */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "gen.h"

struct cap {
    uint8_t *data;
    size_t len;
    size_t *rec; /* offset of each record header */
    size_t n;
    int swap;
};

static int derr(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    return -1;
}

static uint32_t cap_get32(const struct cap *c, const uint8_t *p)
{
    uint32_t v;
    memcpy(&v, p, 4);
    return c->swap ? __builtin_bswap32(v) : v;
}

static void cap_put32(const struct cap *c, uint8_t *p, uint32_t v)
{
    v = c->swap ? __builtin_bswap32(v) : v;
    memcpy(p, &v, 4);
}

static int cap_slurp(struct cap *c, const char *path, char *err, size_t errlen)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return derr(err, errlen, "%s: cannot open", path);
    size_t cap = 1 << 20;
    c->data = malloc(cap);
    while (c->data) {
        c->len += fread(c->data + c->len, 1, cap - c->len, f);
        if (c->len < cap)
            break;
        uint8_t *p = realloc(c->data, cap *= 2);
        if (!p)
            free(c->data);
        c->data = p;
    }
    int bad = ferror(f) || !c->data;
    fclose(f);
    return bad ? derr(err, errlen, "%s: read error", path) : 0;
}

static int cap_index(struct cap *c, const char *path, char *err, size_t errlen)
{
    uint32_t magic;
    if (c->len < 24)
        return derr(err, errlen, "%s: not a pcap file", path);
    memcpy(&magic, c->data, 4);
    if (magic != 0xa1b2c3d4 && magic != 0xa1b23c4d)
        c->swap = 1;
    magic = cap_get32(c, c->data);
    if (magic != 0xa1b2c3d4 && magic != 0xa1b23c4d)
        return derr(err, errlen, "%s: not a pcap file", path);
    size_t cap = 1024;
    c->rec = malloc(cap * sizeof(*c->rec));
    for (size_t o = 24; c->rec && o + 16 <= c->len;) {
        if (c->n == cap) {
            size_t *r = realloc(c->rec, (cap *= 2) * sizeof(*r));
            if (!r)
                free(c->rec);
            c->rec = r;
            if (!r)
                break;
        }
        c->rec[c->n++] = o;
        o += 16 + cap_get32(c, c->data + o + 8);
    }
    if (!c->rec)
        return derr(err, errlen, "out of memory");
    return c->n < 4 ? derr(err, errlen, "%s: too few packets to damage", path) : 0;
}

static size_t rec_end(const struct cap *c, size_t i)
{
    return i + 1 < c->n ? c->rec[i + 1] : c->len;
}

/* Cuts inside the data of the record about 60% through. */
static int dmg_truncate(struct cap *c, FILE *out, struct gen_rng *r)
{
    size_t i = c->n * 6 / 10;
    while (i + 1 < c->n && cap_get32(c, c->data + c->rec[i] + 8) < 2)
        i++;
    size_t cut = c->rec[i] + 16 + cap_get32(c, c->data + c->rec[i] + 8) / 2;
    (void)r;
    return fwrite(c->data, 1, cut, out) == cut ? 0 : -1;
}

/* A record header after the first half, then the rest: caplen/len given,
 * followed by `garbage` random bytes. */
static int dmg_insert(struct cap *c, FILE *out, struct gen_rng *r, uint32_t caplen, uint32_t len,
                      size_t garbage)
{
    size_t half = c->rec[c->n / 2];
    uint8_t h[16 + 256];
    memcpy(h, c->data + c->rec[c->n / 2 - 1], 8); /* timestamp of the packet before */
    cap_put32(c, h + 8, caplen);
    cap_put32(c, h + 12, len);
    gen_fill(r, h + 16, garbage);
    if (fwrite(c->data, 1, half, out) != half || fwrite(h, 1, 16 + garbage, out) != 16 + garbage)
        return -1;
    if (garbage)
        return 0;
    return fwrite(c->data + half, 1, c->len - half, out) == c->len - half ? 0 : -1;
}

static int dmg_garbage(struct cap *c, FILE *out, struct gen_rng *r)
{
    for (size_t i = 9; i < c->n; i += 10) {
        size_t o = c->rec[i] + 16, e = rec_end(c, i);
        gen_fill(r, c->data + o, e > o ? e - o : 0);
    }
    return fwrite(c->data, 1, c->len, out) == c->len ? 0 : -1;
}

static int dmg_apply(const char *mode, struct cap *c, FILE *out, uint64_t seed)
{
    struct gen_rng r = {seed};
    if (!strcmp(mode, "truncate"))
        return dmg_truncate(c, out, &r);
    if (!strcmp(mode, "zero-length"))
        return dmg_insert(c, out, &r, 0, 0, 0);
    if (!strcmp(mode, "oversize"))
        return dmg_insert(c, out, &r, 0x7fffffff, 0x7fffffff, 256);
    return dmg_garbage(c, out, &r);
}

int damage_run(const char *mode, const char *in, const char *out, uint64_t seed, char *err,
               size_t errlen)
{
    static const char *const modes[] = {"truncate", "zero-length", "oversize", "garbage"};
    int known = 0;
    for (size_t i = 0; i < 4; i++)
        known |= !strcmp(mode, modes[i]);
    if (!known) {
        derr(err, errlen, "unknown damage mode '%s' (truncate, zero-length, oversize, garbage)",
             mode);
        return -2;
    }
    struct cap c = {0};
    int rc = cap_slurp(&c, in, err, errlen);
    if (rc == 0)
        rc = cap_index(&c, in, err, errlen);
    if (rc == 0) {
        FILE *f = strcmp(out, "-") ? fopen(out, "wb") : stdout;
        if (!f || dmg_apply(mode, &c, f, seed) < 0 || ferror(f))
            rc = derr(err, errlen, "%s: cannot write", out);
        if (f && f != stdout && fclose(f) != 0 && rc == 0)
            rc = derr(err, errlen, "%s: cannot write", out);
    }
    free(c.data);
    free(c.rec);
    return rc;
}
