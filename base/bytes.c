/* bytes.c -- the growing byte buffer's allocation (see bytes.h). */
#include "bytes.h"

#include <stdint.h>
#include <stdlib.h>

int bytes_grow(bytes_buf *b, size_t n)
{
    size_t cap = b->cap ? b->cap : 256;
    char *p;

    if (n > SIZE_MAX / 2 - b->len)
        return -1;
    while (cap < b->len + n + 1)
        cap *= 2;
    p = realloc(b->p, cap);
    if (p == NULL)
        return -1;
    b->p = p;
    b->cap = cap;
    return 0;
}

void bytes_free(bytes_buf *b)
{
    free(b->p);
    b->p = NULL;
    b->len = b->cap = 0;
}
