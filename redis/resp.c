/* resp.c -- RESP commands into a growing buffer (see resp.h). */
#include "resp.h"

#include <string.h>

/* Writes "<c><n>\r\n" at p, the head of an array (c '*') or a bulk
 * string ('$'); returns the bytes written (at most 23). */
static size_t resp_head(char *p, char c, size_t n)
{
    size_t w = 1;

    p[0] = c;
    w += bytes_digits(p + 1, n);
    p[w++] = '\r';
    p[w++] = '\n';
    return w;
}

int resp_append(bytes_buf *b, int argc, const char *const *argv, const size_t *lens)
{
    size_t need = 23;

    for (int i = 0; i < argc; i++)
        need += 23 + lens[i] + 2;
    if (bytes_reserve(b, need) != 0)
        return -1;
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
