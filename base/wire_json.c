/* wire_json.c -- JSON strings from hostile bytes (see wire_json.h). */
#include "wire_json.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

size_t wjson_utf8_len(const unsigned char *s, size_t n)
{
    unsigned char c = s[0];
    size_t len;
    uint32_t cp;

    if (c < 0x80)
        return 1;
    if (c >= 0xc2 && c <= 0xdf)
        len = 2, cp = c & 0x1f;
    else if (c >= 0xe0 && c <= 0xef)
        len = 3, cp = c & 0x0f;
    else if (c >= 0xf0 && c <= 0xf4)
        len = 4, cp = c & 0x07;
    else
        return 0;
    if (len > n)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3f);
    }
    if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
        (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    return len;
}

json_t *wjson_string(const char *s, size_t len)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t i = 0;

    if (s == NULL)
        return json_null();
    while (i < len) {
        size_t n = wjson_utf8_len(u + i, len - i);
        if (n == 0)
            break;
        i += n;
    }
    if (i == len)
        return json_stringn_nocheck(s, len);

    /* Each invalid byte becomes the 3-byte U+FFFD. */
    char *clean = malloc(len * 3 + 1);
    if (clean == NULL)
        return NULL;
    size_t o = 0;
    for (i = 0; i < len;) {
        size_t n = wjson_utf8_len(u + i, len - i);
        if (n == 0) {
            memcpy(clean + o, "\xef\xbf\xbd", 3);
            o += 3;
            i++;
        } else {
            memcpy(clean + o, s + i, n);
            o += n;
            i += n;
        }
    }
    json_t *j = json_stringn_nocheck(clean, o);
    free(clean);
    return j;
}

json_t *wjson_cstring(const char *s)
{
    return s ? wjson_string(s, strlen(s)) : json_null();
}

char *wjson_format_time(uint64_t ts_us, char *buf, size_t len)
{
    time_t secs = (time_t)(ts_us / 1000000u);
    struct tm tm;
    char day[32];

    gmtime_r(&secs, &tm);
    strftime(day, sizeof(day), "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(buf, len, "%s.%06uZ", day, (unsigned)(ts_us % 1000000u));
    return buf;
}

json_t *wjson_time(uint64_t ts_us)
{
    char buf[48];
    return json_string(wjson_format_time(ts_us, buf, sizeof(buf)));
}
