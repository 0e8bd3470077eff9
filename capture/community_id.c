/* community_id.c -- Community ID version 1 (see community_id.h).
 *
 * No Debian 12 library computes it, so the small algorithm is written here
 * from the specification; SHA-1 and base64 come from nettle. The hashed
 * bytes are, in network order: the 2-byte seed, the source and destination
 * addresses (4 or 16 bytes each), the IP protocol, one zero byte, and for
 * protocols with ports the source and destination ports. The tuple is
 * first ordered so that the smaller address (then the smaller port) is the
 * source, which makes both directions hash alike -- except for ICMP
 * messages that have no reply type, which keep the sender first.
 */
#include "community_id.h"

#include <nettle/base64.h>
#include <nettle/sha1.h>
#include <string.h>

/* ICMP types whose messages come in request/reply pairs: the pair's other
 * type stands in for the destination port, so the request and its reply
 * hash alike (specification, "ICMP and ICMPv6"). */
static int community_id_icmp_pair(uint8_t proto, uint8_t type, uint8_t *other)
{
    static const uint8_t v4[][2] = {
        {8, 0},   {0, 8},   /* echo request / reply */
        {13, 14}, {14, 13}, /* timestamp */
        {15, 16}, {16, 15}, /* information */
        {10, 9},  {9, 10},  /* router solicitation / advertisement */
        {17, 18}, {18, 17}, /* address mask */
    };
    static const uint8_t v6[][2] = {
        {128, 129}, {129, 128}, /* echo request / reply */
        {133, 134}, {134, 133}, /* router solicitation / advertisement */
        {135, 136}, {136, 135}, /* neighbor solicitation / advertisement */
        {130, 131}, {131, 130}, /* multicast listener query / report */
        {139, 140}, {140, 139}, /* node information query / response */
        {144, 145}, {145, 144}, /* home agent address discovery */
    };
    const uint8_t(*t)[2] = proto == 1 ? v4 : v6;
    size_t i, n = proto == 1 ? sizeof(v4) / sizeof(v4[0]) : sizeof(v6) / sizeof(v6[0]);

    for (i = 0; i < n; i++) {
        if (t[i][0] == type) {
            *other = t[i][1];
            return 1;
        }
    }
    return 0;
}

static int community_id_has_ports(uint8_t proto)
{
    return proto == 6 || proto == 17 || proto == 132 || proto == 1 || proto == 58;
}

char *community_id_v1(const community_id_tuple *t, uint16_t seed, char *out)
{
    const pkt_addr *a = t->src, *b = t->dst;
    uint16_t pa = t->sport, pb = t->dport;
    int v4 = pkt_addr_is_v4(a), alen = v4 ? 4 : 16, one_way = 0, c;
    uint8_t buf[2 + 16 + 16 + 2 + 4], digest[SHA1_DIGEST_SIZE], other;
    size_t n = 0;
    struct sha1_ctx sha;

    out[0] = '\0';
    if (v4 != pkt_addr_is_v4(b))
        return out;
    if (t->proto == 1 || t->proto == 58) {
        if (community_id_icmp_pair(t->proto, (uint8_t)pa, &other))
            pb = other;
        else
            one_way = 1;
    }
    c = memcmp(a->b + 16 - alen, b->b + 16 - alen, (size_t)alen);
    if (!one_way && (c > 0 || (c == 0 && pa > pb))) {
        const pkt_addr *ta = a;
        uint16_t tp = pa;

        a = b;
        b = ta;
        pa = pb;
        pb = tp;
    }
    buf[n++] = (uint8_t)(seed >> 8);
    buf[n++] = (uint8_t)seed;
    memcpy(buf + n, a->b + 16 - alen, (size_t)alen);
    n += (size_t)alen;
    memcpy(buf + n, b->b + 16 - alen, (size_t)alen);
    n += (size_t)alen;
    buf[n++] = t->proto;
    buf[n++] = 0;
    if (community_id_has_ports(t->proto)) {
        buf[n++] = (uint8_t)(pa >> 8);
        buf[n++] = (uint8_t)pa;
        buf[n++] = (uint8_t)(pb >> 8);
        buf[n++] = (uint8_t)pb;
    }
    sha1_init(&sha);
    sha1_update(&sha, n, buf);
    sha1_digest(&sha, sizeof(digest), digest);
    out[0] = '1';
    out[1] = ':';
    base64_encode_raw((char *)out + 2, sizeof(digest), digest);
    out[2 + BASE64_ENCODE_RAW_LENGTH(SHA1_DIGEST_SIZE)] = '\0';
    return out;
}
