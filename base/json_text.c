/* json_text.c -- jansson's compact text, written directly (see json_text.h).
 *
 * Written here rather than taken from jansson because json_dumps() was a
 * tenth of the worker's instructions on gpu-fleet and more than half of
 * what an observation event costs to build (measured: docs/performance.md,
 * "Fifth round"): it checks each object and array for a cycle by printing
 * its address with snprintf() into a hash table, and writes through a
 * callback per token into a buffer it then copies. The rules below are
 * jansson 2.14's dump.c and strconv.c, and tests/unit/test_json_text.c and
 * tests/fuzz/fuzz_record.c hold the two writers to the same bytes.
 */
#include "json_text.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bytes.h"
#include "wire_json.h"

/* Deeper than any document jansson parses (2048 levels): a container that
 * holds itself ends here, where jansson's cycle check fails it. */
#define JTEXT_MAX_DEPTH 4096

/* Bytes of a string: 0 copied as they are, 1 escaped, 2 the first of a
 * UTF-8 sequence, checked. */
static const unsigned char jtext_class[256] = {
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, /* 0x00 */
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, /* 0x10 */
    0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* 0x20: '"' */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* 0x30 */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* 0x40 */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, /* 0x50: '\\' */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* 0x60 */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* 0x70 */
    2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, /* 0x80 */
    2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, /* 0x90 */
    2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, /* 0xa0 */
    2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, /* 0xb0 */
    2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, /* 0xc0 */
    2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, /* 0xd0 */
    2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, /* 0xe0 */
    2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, /* 0xf0 */
};

/* A string or a key: quotes, backslashes and control characters escaped
 * as jansson escapes them (the short forms, else \u00XX in upper case),
 * everything else as it is, once checked to be UTF-8. Room for the worst
 * case (six bytes a byte) is made once. */
static int jtext_string(bytes_buf *b, const char *s, size_t n)
{
    static const char hex[] = "0123456789ABCDEF";
    const unsigned char *p = (const unsigned char *)s, *end = p + n;
    char *o;

    if (n > (SIZE_MAX - 3) / 6 || bytes_reserve(b, n * 6 + 2) != 0)
        return -1;
    o = b->p + b->len;
    *o++ = '"';
    while (p < end) {
        const unsigned char *run = p;
        while (p < end && jtext_class[*p] == 0)
            p++;
        memcpy(o, run, (size_t)(p - run));
        o += p - run;
        if (p == end)
            break;
        unsigned c = *p;
        if (jtext_class[c] == 2) {
            size_t l = wjson_utf8_len(p, (size_t)(end - p));
            if (l == 0)
                return -1;
            memcpy(o, p, l);
            o += l;
            p += l;
            continue;
        }
        *o++ = '\\';
        switch (c) {
        case '"':
        case '\\':
            *o++ = (char)c;
            break;
        case '\b':
            *o++ = 'b';
            break;
        case '\f':
            *o++ = 'f';
            break;
        case '\n':
            *o++ = 'n';
            break;
        case '\r':
            *o++ = 'r';
            break;
        case '\t':
            *o++ = 't';
            break;
        default:
            *o++ = 'u';
            *o++ = '0';
            *o++ = '0';
            *o++ = hex[c >> 4];
            *o++ = hex[c & 15];
            break;
        }
        p++;
    }
    *o++ = '"';
    b->len = (size_t)(o - b->p);
    return 0;
}

/* An integer as "%lld" writes it. */
static int jtext_integer(bytes_buf *b, json_int_t v)
{
    char d[21];
    size_t i = 0;

    if (v < 0)
        d[i++] = '-';
    /* the magnitude in unsigned arithmetic: -LLONG_MIN does not fit */
    i += bytes_digits(d + i, v < 0 ? 0ULL - (unsigned long long)v : (unsigned long long)v);
    return bytes_put(b, d, i);
}

/* A real as jansson 2.14 writes it (jsonp_dtostr() in its strconv.c):
 * printf's %.*g at the precision (17 for 0), ".0" added when that reads
 * as an integer, and the exponent without '+' or leading zeros. The
 * sensor never sets a locale, so the decimal point is '.'. */
static int jtext_real(bytes_buf *b, double v, int precision)
{
    char t[100];
    int n = snprintf(t, sizeof(t), "%.*g", precision ? precision : 17, v);
    char *e;

    if (n < 0 || (size_t)n >= sizeof(t) - 3)
        return -1;
    if (memchr(t, '.', (size_t)n) == NULL && memchr(t, 'e', (size_t)n) == NULL) {
        t[n++] = '.';
        t[n++] = '0';
        t[n] = '\0';
    }
    e = memchr(t, 'e', (size_t)n);
    if (e) {
        char *from = e + 2, *to = e + 1; /* past the sign */
        if (*to == '-')
            to++;
        while (*from == '0')
            from++;
        if (from != to) {
            memmove(to, from, (size_t)(t + n - from) + 1);
            n -= (int)(from - to);
        }
    }
    return bytes_put(b, t, (size_t)n);
}

static int jtext_value(bytes_buf *b, const json_t *v, int precision, int depth)
{
    if (v == NULL || depth > JTEXT_MAX_DEPTH)
        return -1;
    switch (json_typeof(v)) {
    case JSON_NULL:
        return bytes_put(b, "null", 4);
    case JSON_TRUE:
        return bytes_put(b, "true", 4);
    case JSON_FALSE:
        return bytes_put(b, "false", 5);
    case JSON_INTEGER:
        return jtext_integer(b, json_integer_value(v));
    case JSON_REAL:
        return jtext_real(b, json_real_value(v), precision);
    case JSON_STRING:
        return jtext_string(b, json_string_value(v), json_string_length(v));
    case JSON_ARRAY: {
        size_t n = json_array_size(v);
        if (bytes_putc(b, '[') != 0)
            return -1;
        for (size_t i = 0; i < n; i++) {
            if ((i > 0 && bytes_putc(b, ',') != 0) ||
                jtext_value(b, json_array_get(v, i), precision, depth + 1) != 0)
                return -1;
        }
        return bytes_putc(b, ']');
    }
    case JSON_OBJECT: {
        /* jansson 2.14 iterates an object in insertion order */
        void *it = json_object_iter((json_t *)v);
        if (bytes_putc(b, '{') != 0)
            return -1;
        for (int first = 1; it; it = json_object_iter_next((json_t *)v, it), first = 0) {
            if ((!first && bytes_putc(b, ',') != 0) ||
                jtext_string(b, json_object_iter_key(it), json_object_iter_key_len(it)) != 0 ||
                bytes_putc(b, ':') != 0 ||
                jtext_value(b, json_object_iter_value(it), precision, depth + 1) != 0)
                return -1;
        }
        return bytes_putc(b, '}');
    }
    default:
        return -1;
    }
}

char *jtext_dump(const json_t *v, int precision, size_t *len)
{
    bytes_buf b = {0};

    if (jtext_value(&b, v, precision, 0) != 0 || bytes_reserve(&b, 0) != 0) {
        bytes_free(&b);
        return NULL;
    }
    b.p[b.len] = '\0';
    if (len)
        *len = b.len;
    return b.p;
}
