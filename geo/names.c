/* names.c -- domain-suffix tables (see names.h).
 *
 * Why not a library: nDPI's host automaton (Aho-Corasick) matches
 * substrings and needs its own boundary rules, and Debian has no plain
 * suffix-set library in C. A host has at most 127 labels, so a lookup
 * tries each label boundary from the left -- the whole name first, which
 * is the longest candidate -- against an open-addressing hash set of the
 * listed names (xxHash3, linear probing, load kept under one half). Names
 * are stored lower-case without the trailing dot, so a lookup normalises
 * the host once into a stack buffer and then only hashes and compares.
 */
#include "names.h"

#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

typedef struct names_slot {
    char *name; /* NULL = empty */
    size_t len;
    uint64_t hash;
    void *value;
} names_slot;

struct names_table {
    names_slot *slots;
    size_t cap; /* power of two */
    size_t count;
};

names_table *names_new(void)
{
    names_table *t = calloc(1, sizeof(*t));

    if (t == NULL)
        return NULL;
    t->cap = 64;
    t->slots = calloc(t->cap, sizeof(*t->slots));
    if (t->slots == NULL) {
        free(t);
        return NULL;
    }
    return t;
}

void names_free(names_table *t)
{
    if (t == NULL)
        return;
    for (size_t i = 0; i < t->cap; i++)
        free(t->slots[i].name);
    free(t->slots);
    free(t);
}

size_t names_count(const names_table *t)
{
    return t->count;
}

static int names_byte_ok(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.';
}

/* Lower-cases src into dst (NAMES_MAX_LEN + 1 bytes) without one trailing
 * dot. Returns the length, or -1 when the name cannot be a listed one. */
static int names_normalize(const char *src, size_t len, char *dst)
{
    if (len > 0 && src[len - 1] == '.')
        len--;
    if (len == 0 || len > NAMES_MAX_LEN)
        return -1;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)src[i];
        if (c >= 'A' && c <= 'Z')
            c = (unsigned char)(c - 'A' + 'a');
        if (!names_byte_ok(c) || (c == '.' && (i == 0 || dst[i - 1] == '.')))
            return -1;
        dst[i] = (char)c;
    }
    if (dst[len - 1] == '.')
        return -1;
    dst[len] = '\0';
    return (int)len;
}

static names_slot *names_find(const names_table *t, const char *name, size_t len, uint64_t h)
{
    size_t mask = t->cap - 1;

    for (size_t i = h & mask;; i = (i + 1) & mask) {
        names_slot *s = &t->slots[i];
        if (s->name == NULL || (s->hash == h && s->len == len && memcmp(s->name, name, len) == 0))
            return s;
    }
}

static int names_grow(names_table *t)
{
    names_table bigger = {calloc(t->cap * 2, sizeof(names_slot)), t->cap * 2, t->count};

    if (bigger.slots == NULL)
        return -1;
    for (size_t i = 0; i < t->cap; i++)
        if (t->slots[i].name)
            *names_find(&bigger, t->slots[i].name, t->slots[i].len, t->slots[i].hash) = t->slots[i];
    free(t->slots);
    *t = bigger;
    return 0;
}

int names_add(names_table *t, const char *name, size_t len, void *value, void **old,
              const char **why)
{
    char norm[NAMES_MAX_LEN + 1];
    int n;

    *old = NULL;
    if (len >= 2 && name[0] == '*' && name[1] == '.')
        name += 2, len -= 2;
    else if (len >= 1 && name[0] == '.')
        name++, len--;
    if ((n = names_normalize(name, len, norm)) < 0) {
        *why = "not a domain name (letters, digits, '-', '_', dots between labels)";
        return -1;
    }
    if ((t->count + 1) * 2 > t->cap && names_grow(t) != 0) {
        *why = "out of memory";
        return -1;
    }
    uint64_t h = XXH3_64bits(norm, (size_t)n);
    names_slot *s = names_find(t, norm, (size_t)n, h);
    if (s->name) {
        *old = s->value;
        s->value = value;
        return 0;
    }
    if ((s->name = malloc((size_t)n + 1)) == NULL) {
        *why = "out of memory";
        return -1;
    }
    memcpy(s->name, norm, (size_t)n + 1);
    s->len = (size_t)n;
    s->hash = h;
    s->value = value;
    t->count++;
    return 0;
}

void *names_match(const names_table *t, const char *host, size_t len)
{
    char norm[NAMES_MAX_LEN + 1];
    const char *colon = memchr(host, ':', len);
    int n;

    if (colon) /* "host:port" from an HTTP Host header */
        len = (size_t)(colon - host);
    n = names_normalize(host, len, norm);
    if (n < 0 || t->count == 0)
        return NULL;
    for (int i = 0; i < n; i++) {
        if (i > 0 && norm[i - 1] != '.')
            continue;
        const char *suffix = norm + i;
        size_t slen = (size_t)(n - i);
        names_slot *s = names_find(t, suffix, slen, XXH3_64bits(suffix, slen));
        if (s->name)
            return s->value;
    }
    return NULL;
}
