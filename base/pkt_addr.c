/* pkt_addr.c -- the shared address type (see pkt_addr.h). */
#include "pkt_addr.h"

#include <arpa/inet.h>
#include <string.h>

static const uint8_t pkt_v4_prefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

int pkt_addr_is_v4(const pkt_addr *a)
{
    return memcmp(a->b, pkt_v4_prefix, sizeof(pkt_v4_prefix)) == 0;
}

char *pkt_addr_format(const pkt_addr *a, char *buf, size_t len)
{
    const char *ok = pkt_addr_is_v4(a) ? inet_ntop(AF_INET, a->b + 12, buf, (socklen_t)len)
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
