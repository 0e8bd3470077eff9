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

/* Sets a to the IPv4 address at v4 (4 bytes, network order). Written as
 * two 8-byte words, the shape flow keys read it in (flow_key.c): a
 * 12-byte prefix and a 4-byte address written apart made every 8-byte
 * read of the second half wait for both stores to retire (no store
 * forwarding across two stores): a sixth of the samples of the worker's
 * own code on a bulk capture (docs/performance.md, "Sixth round"). */
static inline void pkt_addr_from_v4(pkt_addr *a, const uint8_t *v4)
{
    uint32_t v;
    uint64_t w[2];

    memcpy(&v, v4, 4);
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    w[1] = 0xffff0000u | (uint64_t)v << 32; /* bytes 00 00 ff ff, then v4 */
#else
    w[1] = (uint64_t)0xffffu << 32 | v;
#endif
    w[0] = 0;
    memcpy(a->b, w, sizeof(w));
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
