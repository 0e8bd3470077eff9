/* resp.c -- RESP commands into a growing buffer (see resp.h). */
#include "resp.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Writes "<c><n>\r\n" at p; returns the bytes written (at most 23). */
static size_t resp_head(char *p, char c, size_t n)
{
    char d[20];
    size_t k = 0, w = 0;

    do {
        d[k++] = (char)('0' + n % 10);
        n /= 10;
    } while (n);
    p[w++] = c;
    while (k)
        p[w++] = d[--k];
    p[w++] = '\r';
    p[w++] = '\n';
    return w;
}

int resp_append(resp_buf *b, int argc, const char *const *argv, const size_t *lens)
{
    size_t need = 23;

    for (int i = 0; i < argc; i++)
        need += 23 + lens[i] + 2;
    if (b->len + need > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->len + need)
            cap *= 2;
        char *p = realloc(b->p, cap);
        if (p == NULL)
            return -1;
        b->p = p;
        b->cap = cap;
    }
    char *o = b->p + b->len;
    o += resp_head(o, '*', (size_t)argc);
    for (int i = 0; i < argc; i++) {
        o += resp_head(o, '$', lens[i]);
        memcpy(o, argv[i], lens[i]);
        o += lens[i];
        *o++ = '\r';
        *o++ = '\n';
    }
    b->len = (size_t)(o - b->p);
    return 0;
}

void resp_free(resp_buf *b)
{
    free(b->p);
    b->p = NULL;
    b->len = b->cap = 0;
}
