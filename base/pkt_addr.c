/* pkt_addr.c -- the shared address type (see pkt_addr.h). */
#include "pkt_addr.h"

#include <arpa/inet.h>
#include <string.h>

static const uint8_t pkt_v4_prefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

int pkt_addr_is_v4(const pkt_addr *a)
{
    return memcmp(a->b, pkt_v4_prefix, sizeof(pkt_v4_prefix)) == 0;
}

/* An IPv4 address is written here directly, the digits inet_ntop() writes:
 * every ending flow formats both of its ends, and glibc's inet_ntop()
 * prints a dotted quad through sprintf() (about 1900 instructions). IPv6
 * (RFC 5952's zero compression) stays with inet_ntop(). */
char *pkt_addr_format(const pkt_addr *a, char *buf, size_t len)
{
    const char *ok;

    if (pkt_addr_is_v4(a) && len >= sizeof("255.255.255.255")) {
        char *o = buf;
        for (int i = 12; i < 16; i++) {
            unsigned b = a->b[i];
            if (b >= 100)
                *o++ = (char)('0' + b / 100);
            if (b >= 10)
                *o++ = (char)('0' + b / 10 % 10);
            *o++ = (char)('0' + b % 10);
            *o++ = i < 15 ? '.' : '\0';
        }
        return buf;
    }
    ok = pkt_addr_is_v4(a) ? inet_ntop(AF_INET, a->b + 12, buf, (socklen_t)len)
                           : inet_ntop(AF_INET6, a->b, buf, (socklen_t)len);
    if (ok == NULL && len > 0)
        buf[0] = '\0';
    return buf;
}

int pkt_addr_parse(const char *text, pkt_addr *a)
{
    memset(a, 0, sizeof(*a));
    if (inet_pton(AF_INET, text, a->b + 12) == 1) {
        memcpy(a->b, pkt_v4_prefix, sizeof(pkt_v4_prefix));
        return 0;
    }
    return inet_pton(AF_INET6, text, a->b) == 1 ? 0 : -1;
}
