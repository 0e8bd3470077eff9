/* wire_json.h -- JSON values for strings that came off the wire, and for
 * packet times.
 *
 * Host names, SNIs, banners and URLs are whatever a sender put in a packet:
 * any bytes, any length, not necessarily UTF-8. JSON output must stay valid
 * UTF-8 whatever they hold, so invalid sequences become U+FFFD; quotes,
 * backslashes and control characters (NUL, CR, LF included) are escaped by
 * jansson when the document is dumped.
 */
#ifndef LOOPHOLE_WIRE_JSON_H
#define LOOPHOLE_WIRE_JSON_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

/* Length of the valid UTF-8 sequence at s (at most n > 0 bytes), or 0 when
 * the bytes there are not one (RFC 3629: no overlongs, no surrogates, no
 * code point past U+10FFFF; the same rules as jansson's). */
size_t wjson_utf8_len(const unsigned char *s, size_t n);

/* A new JSON string holding s[0..len) with invalid UTF-8 replaced, or
 * json_null() when s is NULL. Never NULL unless out of memory. */
json_t *wjson_string(const char *s, size_t len);

/* Same for a NUL-terminated string (NULL gives json_null()). */
json_t *wjson_cstring(const char *s);

/* RFC 3339 UTC with microseconds, "2026-03-02T09:00:00.000000Z", into buf
 * (at least 32 bytes). Returns buf. */
char *wjson_format_time(uint64_t ts_us, char *buf, size_t len);

/* A new JSON string with the time formatted as above. */
json_t *wjson_time(uint64_t ts_us);

#endif
