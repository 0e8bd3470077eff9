/* inventory.h -- the operator's GPU fleet (interface.md section 4).
 *
 * A CSV file with the header `cidr,provider,region,sku,tenant`; `#` starts
 * a comment; IPv4 and IPv6 networks or single addresses; any field but the
 * first may be empty. An address inside a listed network is a GPU host
 * with source `inventory`; when networks overlap, the longest one holding
 * the address describes it, so a fleet-wide /16 can carry the provider and
 * a /32 inside it the tenant of one machine. The same network twice is an
 * error: one of the two lines would be silently lost.
 *
 * Errors name "FILE:LINE: reason". Parsing takes bytes in memory so tests
 * and the fuzz harness call it directly.
 *
 * Ownership: an inventory owns every entry and string; pointers returned by
 * inventory_lookup() live until inventory_free(). Threads: built by one
 * thread, then read-only from any number (a reload builds a new one).
 */
#ifndef LOOPHOLE_INVENTORY_H
#define LOOPHOLE_INVENTORY_H

#include <stddef.h>

#include "base/pkt_addr.h"

typedef struct inventory_entry {
    char cidr[PKT_ADDR_STRLEN + 4];               /* the network as written in the file */
    const char *provider, *region, *sku, *tenant; /* NULL when the field was empty */
    unsigned line;                                /* line in the file, for messages */
} inventory_entry;

typedef struct inventory inventory;

/* Parses the CSV in buf (len bytes), named `file` in messages. Returns
 * NULL with "FILE:LINE: reason" in err (the header, a field count, a bad
 * network, a duplicate). An inventory with a header and no rows is valid. */
inventory *inventory_parse(const char *file, const char *buf, size_t len, char *err, size_t errlen);

/* Reads and parses a file; NULL with the file (and line) in err. */
inventory *inventory_load(const char *path, char *err, size_t errlen);

void inventory_free(inventory *inv);

/* The entry of the longest listed network holding a, or NULL. */
const inventory_entry *inventory_lookup(const inventory *inv, const pkt_addr *a);

size_t inventory_count(const inventory *inv);

#endif
