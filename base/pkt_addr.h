/* pkt_addr.h -- the address type every layer shares: 16 bytes, IPv4 as
 * the IPv4-mapped IPv6 address (::ffff:a.b.c.d), so keys, hashing and
 * comparisons need no version branches. Text in and out goes through
 * inet_pton/inet_ntop.
 */
#ifndef LOOPHOLE_PKT_ADDR_H
#define LOOPHOLE_PKT_ADDR_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

typedef struct pkt_addr {
    uint8_t b[16];
} pkt_addr;

#define PKT_ADDR_STRLEN 46 /* INET6_ADDRSTRLEN */

/* Sets a to the IPv4 address at v4 (4 bytes, network order). */
static inline void pkt_addr_from_v4(pkt_addr *a, const uint8_t *v4)
{
    static const uint8_t prefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

    memcpy(a->b, prefix, sizeof(prefix));
    memcpy(a->b + 12, v4, 4);
}

/* 1 when a holds an IPv4 address (IPv4-mapped form). */
int pkt_addr_is_v4(const pkt_addr *a);

/* Writes a in the usual text form (dotted quad for IPv4) into buf, which
 * holds at least PKT_ADDR_STRLEN bytes. Returns buf. */
char *pkt_addr_format(const pkt_addr *a, char *buf, size_t len);

/* Parses text (IPv4 or IPv6) into a. Returns 0, or -1 when it is not an
 * address. */
int pkt_addr_parse(const char *text, pkt_addr *a);

#endif
