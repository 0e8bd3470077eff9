/* http_req.c -- HTTP/1.x request lines (see http_req.h).
 *
 * RFC 9112 section 3: request-line = method SP request-target SP
 * HTTP-version. Methods are taken as 3 to 16 upper-case letters (every
 * registered method is), which also keeps binary payloads from being read
 * as requests after one lucky byte. Targets are visible ASCII; the line
 * must end in CRLF (or a bare LF, which servers accept) within
 * HTTP_REQ_LINE_MAX bytes.
 */
#include "http_req.h"

#include <string.h>

#define HTTP_REQ_METHOD_MIN 3
#define HTTP_REQ_METHOD_MAX 16

static size_t http_req_method(const uint8_t *b, size_t len)
{
    size_t i = 0;

    while (i < len && i < HTTP_REQ_METHOD_MAX && b[i] >= 'A' && b[i] <= 'Z')
        i++;
    if (i < HTTP_REQ_METHOD_MIN || i >= len || b[i] != ' ')
        return 0;
    return i;
}

/* Length of the target starting at b (up to the next SP), or 0 when it
 * holds a byte that cannot be in a target or does not end in the line. */
static size_t http_req_target(const uint8_t *b, size_t len)
{
    size_t i = 0;

    while (i < len && b[i] > 0x20 && b[i] < 0x7f)
        i++;
    return i < len && b[i] == ' ' ? i : 0;
}

/* The path of an absolute-form target "http://host:port/path". */
static int http_req_absolute(http_req *r, const uint8_t *t, size_t n)
{
    const uint8_t *colon = memchr(t, ':', n);

    if (colon == NULL || (size_t)(colon - t) + 3 > n || colon[1] != '/' || colon[2] != '/')
        return 0;
    const uint8_t *auth = colon + 3;
    const uint8_t *slash = memchr(auth, '/', n - (size_t)(auth - t));
    if (slash == NULL) {
        r->path = (const uint8_t *)"/";
        r->path_len = 1;
    } else {
        r->path = slash;
        r->path_len = n - (size_t)(slash - t);
    }
    return 1;
}

static int http_req_version(const uint8_t *b, size_t len, uint8_t *minor)
{
    if (len < 9 || memcmp(b, "HTTP/1.", 7) != 0 || b[7] < '0' || b[7] > '9')
        return 0;
    if (b[8] == '\n' || (b[8] == '\r' && len >= 10 && b[9] == '\n')) {
        *minor = (uint8_t)(b[7] - '0');
        return 1;
    }
    return 0;
}

int http_req_parse(const uint8_t *b, size_t len, http_req *r)
{
    if (b == NULL || r == NULL)
        return 0;
    if (len > HTTP_REQ_LINE_MAX)
        len = HTTP_REQ_LINE_MAX;
    memset(r, 0, sizeof(*r));
    size_t m = http_req_method(b, len);
    if (m == 0)
        return 0;
    const uint8_t *t = b + m + 1;
    size_t n = http_req_target(t, len - m - 1);
    if (n == 0)
        return 0;
    size_t at = m + 1 + n + 1;
    if (!http_req_version(b + at, len - at, &r->minor))
        return 0;
    r->method = b;
    r->method_len = m;
    if (t[0] == '/') {
        r->path = t;
        r->path_len = n;
        return 1;
    }
    return http_req_absolute(r, t, n);
}
