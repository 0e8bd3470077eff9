/* prefix.c -- longest-prefix match on nDPI's patricia tree (see prefix.h).
 *
 * nDPI 4.2 exports its radix tree (ndpi_patricia_new, _lookup to insert,
 * _search_best for the longest match), which is what Suricata-style
 * sensors use for IP lists. Two trees, because the tree keys on the
 * family: IPv4 networks go in with their own 32-bit length, so an IPv6
 * network that happens to cover ::ffff:0:0/96 never matches IPv4.
 */
#include "prefix.h"

#include <arpa/inet.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ndpi/ndpi_api.h>

struct prefix_table {
    ndpi_patricia_tree_t *v4, *v6;
    size_t count;
};

prefix_table *prefix_table_new(void)
{
    prefix_table *t = calloc(1, sizeof(*t));

    if (t == NULL)
        return NULL;
    t->v4 = ndpi_patricia_new(32);
    t->v6 = ndpi_patricia_new(128);
    if (t->v4 == NULL || t->v6 == NULL) {
        prefix_table_free(t, NULL);
        return NULL;
    }
    return t;
}

void prefix_table_free(prefix_table *t, void (*free_value)(void *))
{
    if (t == NULL)
        return;
    if (t->v4)
        ndpi_patricia_destroy(t->v4, free_value);
    if (t->v6)
        ndpi_patricia_destroy(t->v6, free_value);
    free(t);
}

/* Fills an nDPI prefix from a 16-byte address; returns the tree to use. */
static ndpi_patricia_tree_t *prefix_fill(const prefix_table *t, const pkt_addr *a, int bits,
                                         ndpi_prefix_t *p)
{
    memset(p, 0, sizeof(*p));
    if (pkt_addr_is_v4(a)) {
        struct in_addr in;
        memcpy(&in, a->b + 12, 4);
        ndpi_fill_prefix_v4(p, &in, bits, 32);
        return t->v4;
    }
    struct in6_addr in6;
    memcpy(&in6, a->b, 16);
    ndpi_fill_prefix_v6(p, &in6, bits, 128);
    return t->v6;
}

static int prefix_host_bits_clear(const pkt_addr *a, int first, int bits)
{
    for (int i = first + bits; i < 128; i++)
        if (a->b[i / 8] & (0x80u >> (i % 8)))
            return 0;
    return 1;
}

int prefix_parse(const char *text, pkt_addr *net, int *bits, const char **why)
{
    char buf[64];
    const char *slash = strchr(text, '/');
    size_t alen = slash ? (size_t)(slash - text) : strlen(text);

    if (alen == 0 || alen >= sizeof(buf)) {
        *why = "not an IP address or CIDR";
        return -1;
    }
    memcpy(buf, text, alen);
    buf[alen] = '\0';
    if (pkt_addr_parse(buf, net) != 0) {
        *why = "not an IP address or CIDR";
        return -1;
    }
    int v4 = strchr(buf, ':') == NULL, max = v4 ? 32 : 128;
    long n = max;
    if (slash) {
        char *end;
        if (slash[1] < '0' || slash[1] > '9' || (n = strtol(slash + 1, &end, 10), *end) ||
            n > max || end - slash > 4) {
            *why = v4 ? "prefix length must be 0-32" : "prefix length must be 0-128";
            return -1;
        }
    }
    if (!v4 && pkt_addr_is_v4(net)) {
        *why = "IPv4-mapped IPv6 network: write it as IPv4";
        return -1;
    }
    if (!prefix_host_bits_clear(net, v4 ? 96 : 0, (int)n)) {
        *why = "host bits set after the prefix length";
        return -1;
    }
    *bits = (int)n;
    return 0;
}

int prefix_table_insert(prefix_table *t, const pkt_addr *net, int bits, void *value, void **old)
{
    ndpi_prefix_t p;
    ndpi_patricia_tree_t *tree = prefix_fill(t, net, bits, &p);
    ndpi_patricia_node_t *exact = ndpi_patricia_search_exact(tree, &p);
    ndpi_patricia_node_t *node = exact ? exact : ndpi_patricia_lookup(tree, &p);

    *old = NULL;
    if (node == NULL)
        return -1;
    if (exact)
        *old = ndpi_patricia_get_node_data(node);
    else
        t->count++;
    ndpi_patricia_set_node_data(node, value);
    return 0;
}

void *prefix_table_lookup(const prefix_table *t, const pkt_addr *a, int *bits)
{
    ndpi_prefix_t p;
    ndpi_patricia_tree_t *tree = prefix_fill(t, a, pkt_addr_is_v4(a) ? 32 : 128, &p);
    ndpi_patricia_node_t *node = ndpi_patricia_search_best(tree, &p);

    if (node == NULL)
        return NULL;
    if (bits)
        *bits = ndpi_patricia_get_node_bits(node);
    return ndpi_patricia_get_node_data(node);
}

size_t prefix_table_count(const prefix_table *t)
{
    return t->count;
}
