/* bytes.h -- a growing byte buffer, and decimal digits.
 *
 * The sensor writes text it sends on (JSON in base/json_text.c, RESP in
 * redis/resp.c, call arguments in rules/event.c) byte by byte into memory
 * it owns, instead of through printf or a library's writer (measured:
 * docs/performance.md, "Fifth round" and "The writer's own command
 * formatting"). A bytes buffer owns its memory (bytes_free) and always
 * has room for a NUL after its len bytes once anything was reserved; a
 * failed reservation leaves it as it was. The inline functions are on
 * those writers' per-byte paths.
 */
#ifndef LOOPHOLE_BYTES_H
#define LOOPHOLE_BYTES_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

typedef struct bytes_buf {
    char *p; /* owned; NULL until the first reservation */
    size_t len, cap;
} bytes_buf;

/* Makes room for n more bytes and a NUL. Returns 0, or -1 out of memory
 * (or a size that does not fit in memory). */
int bytes_grow(bytes_buf *b, size_t n);

/* Frees the buffer; it may be used again (empty). */
void bytes_free(bytes_buf *b);

/* Room for n more bytes and a NUL: bytes_grow() only when there is not. */
static inline int bytes_reserve(bytes_buf *b, size_t n)
{
    return n < b->cap - b->len ? 0 : bytes_grow(b, n);
}

static inline int bytes_put(bytes_buf *b, const void *s, size_t n)
{
    if (bytes_reserve(b, n) != 0)
        return -1;
    memcpy(b->p + b->len, s, n);
    b->len += n;
    return 0;
}

static inline int bytes_putc(bytes_buf *b, char c)
{
    if (bytes_reserve(b, 1) != 0)
        return -1;
    b->p[b->len++] = c;
    return 0;
}

/* The decimal digits of v (what printf's %llu writes, at most 20 bytes,
 * no NUL) into out. Returns their count. */
static inline size_t bytes_digits(char *out, uint64_t v)
{
    char rev[20];
    size_t n = 0;

    do {
        rev[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v != 0);
    for (size_t i = 0; i < n; i++)
        out[i] = rev[n - 1 - i];
    return n;
}

#endif
