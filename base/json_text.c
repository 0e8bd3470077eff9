/* json_text.c -- jansson's compact text, written directly (see json_text.h).
 *
 * Written here rather than taken from jansson because json_dumps() was a
 * tenth of the worker's instructions on gpu-fleet and more than half of
 * what an observation event costs to build (measured: docs/performance.md,
 * "Fifth round"): it checks each object and array for a cycle by printing
 * its address with snprintf() into a hash table, and writes through a
 * callback per token into a buffer it then copies. The rules below are
 * jansson 2.14's dump.c, and tests/unit/test_json_text.c and
 * tests/fuzz/fuzz_record.c hold the two writers to the same bytes.
 */
#include "json_text.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "wire_json.h"

/* Deeper than any document jansson parses (2048 levels): a container that
 * holds itself ends here, where jansson's cycle check fails it. */
#define JTEXT_MAX_DEPTH 4096

typedef struct jtext_buf {
    char *p;
    size_t len, cap;
} jtext_buf;

/* Room for n more bytes and the final NUL. */
static int jtext_reserve(jtext_buf *b, size_t n)
{
    size_t cap = b->cap ? b->cap : 256;
    char *p;

    if (b->len + n + 1 <= b->cap)
        return 0;
    while (cap < b->len + n + 1)
        cap *= 2;
    p = realloc(b->p, cap);
    if (p == NULL)
        return -1;
    b->p = p;
    b->cap = cap;
    return 0;
}

static int jtext_put(jtext_buf *b, const char *s, size_t n)
{
    if (jtext_reserve(b, n) != 0)
        return -1;
    memcpy(b->p + b->len, s, n);
    b->len += n;
    return 0;
}

/* A string or a key: quotes, backslashes and control characters escaped
 * as jansson escapes them (the short forms, else \u00XX in upper case),
 * everything else as it is, once checked to be UTF-8. */
static int jtext_string(jtext_buf *b, const char *s, size_t n)
{
    static const char hex[] = "0123456789ABCDEF";
    const unsigned char *p = (const unsigned char *)s, *end = p + n, *run = p;

    if (jtext_put(b, "\"", 1) != 0)
        return -1;
    while (p < end) {
        unsigned c = *p;
        char esc[6] = {'\\', 0, '0', '0', 0, 0};
        size_t el = 2;

        if (c >= 0x80) {
            size_t l = wjson_utf8_len(p, (size_t)(end - p));
            if (l == 0)
                return -1;
            p += l;
            continue;
        }
        if (c >= 0x20 && c != '"' && c != '\\') {
            p++;
            continue;
        }
        switch (c) {
        case '"':
        case '\\':
            esc[1] = (char)c;
            break;
        case '\b':
            esc[1] = 'b';
            break;
        case '\f':
            esc[1] = 'f';
            break;
        case '\n':
            esc[1] = 'n';
            break;
        case '\r':
            esc[1] = 'r';
            break;
        case '\t':
            esc[1] = 't';
            break;
        default:
            esc[1] = 'u';
            esc[4] = hex[c >> 4];
            esc[5] = hex[c & 15];
            el = 6;
            break;
        }
        if (jtext_put(b, (const char *)run, (size_t)(p - run)) != 0 || jtext_put(b, esc, el) != 0)
            return -1;
        run = ++p;
    }
    if (jtext_put(b, (const char *)run, (size_t)(p - run)) != 0)
        return -1;
    return jtext_put(b, "\"", 1);
}

/* An integer as "%lld" writes it. */
static int jtext_integer(jtext_buf *b, json_int_t v)
{
    char d[24];
    size_t i = sizeof(d);
    /* the magnitude in unsigned arithmetic: -LLONG_MIN does not fit */
    unsigned long long m = v < 0 ? 0ULL - (unsigned long long)v : (unsigned long long)v;

    do {
        d[--i] = (char)('0' + m % 10);
        m /= 10;
    } while (m);
    if (v < 0)
        d[--i] = '-';
    return jtext_put(b, d + i, sizeof(d) - i);
}

/* A real: rare in what the sensor writes, so jansson's own formatting
 * (printf's %.*g, then its own touches) is called for it, which keeps it
 * the same by construction. */
static int jtext_real(jtext_buf *b, const json_t *v, int precision)
{
    char *t = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT | JSON_REAL_PRECISION(precision));
    int rc = t ? jtext_put(b, t, strlen(t)) : -1;

    free(t);
    return rc;
}

static int jtext_value(jtext_buf *b, const json_t *v, int precision, int depth)
{
    if (v == NULL || depth > JTEXT_MAX_DEPTH)
        return -1;
    switch (json_typeof(v)) {
    case JSON_NULL:
        return jtext_put(b, "null", 4);
    case JSON_TRUE:
        return jtext_put(b, "true", 4);
    case JSON_FALSE:
        return jtext_put(b, "false", 5);
    case JSON_INTEGER:
        return jtext_integer(b, json_integer_value(v));
    case JSON_REAL:
        return jtext_real(b, v, precision);
    case JSON_STRING:
        return jtext_string(b, json_string_value(v), json_string_length(v));
    case JSON_ARRAY: {
        size_t n = json_array_size(v);
        if (jtext_put(b, "[", 1) != 0)
            return -1;
        for (size_t i = 0; i < n; i++) {
            if ((i > 0 && jtext_put(b, ",", 1) != 0) ||
                jtext_value(b, json_array_get(v, i), precision, depth + 1) != 0)
                return -1;
        }
        return jtext_put(b, "]", 1);
    }
    case JSON_OBJECT: {
        /* jansson 2.14 iterates an object in insertion order */
        void *it = json_object_iter((json_t *)v);
        if (jtext_put(b, "{", 1) != 0)
            return -1;
        for (int first = 1; it; it = json_object_iter_next((json_t *)v, it), first = 0) {
            if ((!first && jtext_put(b, ",", 1) != 0) ||
                jtext_string(b, json_object_iter_key(it), json_object_iter_key_len(it)) != 0 ||
                jtext_put(b, ":", 1) != 0 ||
                jtext_value(b, json_object_iter_value(it), precision, depth + 1) != 0)
                return -1;
        }
        return jtext_put(b, "}", 1);
    }
    default:
        return -1;
    }
}

char *jtext_dump(const json_t *v, int precision, size_t *len)
{
    jtext_buf b = {0};

    if (jtext_value(&b, v, precision, 0) != 0 || jtext_reserve(&b, 0) != 0) {
        free(b.p);
        return NULL;
    }
    b.p[b.len] = '\0';
    if (len)
        *len = b.len;
    return b.p;
}
