/* prefix.h -- longest-prefix match over IPv4 and IPv6 networks.
 *
 * A prefix_table maps networks (CIDRs) to caller values; a lookup returns
 * the value of the most specific network holding an address. It backs the
 * GPU inventory and the indicator network lists. The tree is nDPI's
 * patricia tree (ndpi_patricia_*, in the nDPI library the sensor already
 * links), one tree per address family, so no second LPM implementation
 * lives here: this module only converts loophole's addresses and CIDR text.
 *
 * Addresses are pkt_addr (IPv4 as ::ffff:a.b.c.d). A network is kept with
 * the family's own prefix length: 0-32 for IPv4, 0-128 for IPv6.
 *
 * Ownership: the table never owns values; prefix_table_free() calls the
 * caller's function on each one. Threads: built by one thread; after that,
 * lookups from any number of threads are safe (they only read).
 */
#ifndef LOOPHOLE_PREFIX_H
#define LOOPHOLE_PREFIX_H

#include <stddef.h>

#include "base/pkt_addr.h"

typedef struct prefix_table prefix_table;

/* NULL when out of memory. */
prefix_table *prefix_table_new(void);

/* Frees the table; free_value (may be NULL) is called once per value. */
void prefix_table_free(prefix_table *t, void (*free_value)(void *));

/* Parses "a.b.c.d/n", "x:y::/n" or a bare address (a host: /32 or /128)
 * into a network whose host bits are zero. Returns 0, or -1 with a static
 * reason in *why (bad address, bad length, host bits set). */
int prefix_parse(const char *text, pkt_addr *net, int *bits, const char **why);

/* Adds a network. When the same network is already present its value is
 * replaced and the old one returned in *old (else *old = NULL). Returns 0,
 * or -1 when out of memory. */
int prefix_table_insert(prefix_table *t, const pkt_addr *net, int bits, void *value, void **old);

/* The value of the longest network that holds a, or NULL. *bits (may be
 * NULL) gets that network's prefix length. */
void *prefix_table_lookup(const prefix_table *t, const pkt_addr *a, int *bits);

/* Number of networks held. */
size_t prefix_table_count(const prefix_table *t);

#endif
