/* http_req.h -- the request line of an HTTP/1.x request, from the first
 * bytes of a client payload.
 *
 * nDPI 4.2 keeps only the first request's URL of a connection; the control
 * session rules (analyze/roles.c) need the paths of later requests too (a
 * Jupyter page load asks for /lab, then /api/kernels, then upgrades
 * /api/kernels/<id>/channels to a websocket on a kept-alive connection).
 * This parser reads one request line out of (bytes, len) without copying
 * and without I/O, so the worker, the unit tests and the fuzz harness call
 * it the same way. Bytes come from the wire: every read is bounded by len.
 * Stateless and reentrant; any thread may call it.
 */
#ifndef LOOPHOLE_HTTP_REQ_H
#define LOOPHOLE_HTTP_REQ_H

#include <stddef.h>
#include <stdint.h>

/* Longest request line looked at; a longer one is not parsed. */
#define HTTP_REQ_LINE_MAX 2048

typedef struct http_req {
    const uint8_t *method; /* points into the caller's bytes */
    size_t method_len;
    const uint8_t *path; /* origin-form path ("/lab?x=1"); for an
                            absolute-form target, the part after the
                            authority ("/" when it has none) */
    size_t path_len;
    uint8_t minor; /* HTTP/1.<minor> */
} http_req;

/* Parses "METHOD SP target SP HTTP/1.x" at the start of b. Returns 1 and
 * fills r when the whole line is there and well formed, 0 otherwise (not
 * HTTP, cut short by the capture or the segment, or a CONNECT/asterisk
 * target, which has no path). */
int http_req_parse(const uint8_t *b, size_t len, http_req *r);

#endif
