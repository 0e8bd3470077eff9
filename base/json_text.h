/* json_text.h -- the compact text of a JSON value, as jansson writes it.
 *
 * jtext_dump() gives, byte for byte, what json_dumps(v, JSON_COMPACT |
 * JSON_PRESERVE_ORDER | JSON_ENCODE_ANY | JSON_REAL_PRECISION(precision))
 * gives with Debian 12's jansson (2.14): object members in insertion
 * order, strings escaped as jansson escapes them, NULL where jansson fails
 * (a string that is not UTF-8, a container inside itself). It writes into
 * one growing buffer instead of jansson's callback per token and address
 * table per container, which were most of the cost of encoding an event
 * or a flow record (docs/performance.md, "Fifth round").
 */
#ifndef LOOPHOLE_JSON_TEXT_H
#define LOOPHOLE_JSON_TEXT_H

#include <jansson.h>
#include <stddef.h>

/* The text of v, NUL-terminated, owned by the caller (free()); its length
 * in *len when len is not NULL. precision: significant digits of reals, 0
 * for jansson's default (17). NULL on failure (see above) or out of
 * memory. */
char *jtext_dump(const json_t *v, int precision, size_t *len);

#endif
