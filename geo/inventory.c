/* inventory.c -- the GPU fleet CSV into a longest-prefix table (see
 * inventory.h).
 *
 * One heap entry per line holds the four strings in a single allocation
 * after the struct, so freeing an entry is one free().
 */
#include "inventory.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "csv.h"
#include "prefix.h"

struct inventory {
    prefix_table *table;
};

void inventory_free(inventory *inv)
{
    if (inv == NULL)
        return;
    prefix_table_free(inv->table, free);
    free(inv);
}

/* One entry with its strings copied behind it; NULL when out of memory. */
static inventory_entry *inventory_entry_new(char **f, unsigned line)
{
    size_t len[4], total = 0;
    inventory_entry *e;

    for (int i = 0; i < 4; i++)
        total += (len[i] = strlen(f[i + 1])) + 1;
    if ((e = calloc(1, sizeof(*e) + total)) == NULL)
        return NULL;
    char *p = (char *)(e + 1);
    const char **dst[4] = {&e->provider, &e->region, &e->sku, &e->tenant};
    for (int i = 0; i < 4; i++) {
        memcpy(p, f[i + 1], len[i] + 1);
        *dst[i] = len[i] ? p : NULL;
        p += len[i] + 1;
    }
    snprintf(e->cidr, sizeof(e->cidr), "%s", f[0]);
    e->line = line;
    return e;
}

static int inventory_header_ok(char **f, int n)
{
    static const char *const want[] = {"cidr", "provider", "region", "sku", "tenant"};

    if (n != 5)
        return 0;
    for (int i = 0; i < 5; i++)
        if (strcmp(f[i], want[i]) != 0)
            return 0;
    return 1;
}

/* Adds one data line; returns 0 or -1 with the reason in why/msg. */
static int inventory_add(inventory *inv, char **f, unsigned line, char *msg, size_t msglen)
{
    const char *why;
    pkt_addr net;
    int bits;
    void *old;

    if (prefix_parse(f[0], &net, &bits, &why) != 0) {
        snprintf(msg, msglen, "cidr \"%.64s\": %s", f[0], why);
        return -1;
    }
    inventory_entry *e = inventory_entry_new(f, line);
    if (e == NULL || prefix_table_insert(inv->table, &net, bits, e, &old) != 0) {
        free(e);
        snprintf(msg, msglen, "out of memory");
        return -1;
    }
    if (old) {
        snprintf(msg, msglen, "network %.64s is already listed on line %u", f[0],
                 ((inventory_entry *)old)->line);
        free(old); /* e took its place in the table; the inventory is dropped anyway */
        return -1;
    }
    return 0;
}

inventory *inventory_parse(const char *file, const char *buf, size_t len, char *err, size_t errlen)
{
    char scratch[CSV_MAX_LINE + 1], msg[256];
    char *f[5];
    const char *why;
    inventory *inv = calloc(1, sizeof(*inv));
    csv_reader r;
    int n, header = 1;

    if (inv == NULL || (inv->table = prefix_table_new()) == NULL) {
        free(inv);
        snprintf(err, errlen, "%s: out of memory", file);
        return NULL;
    }
    csv_init(&r, buf, len);
    while ((n = csv_next(&r, scratch, f, 5, &why)) != 0) {
        if (n < 0)
            snprintf(msg, sizeof(msg), "%s", why);
        else if (header && !inventory_header_ok(f, n))
            snprintf(msg, sizeof(msg), "expected the header cidr,provider,region,sku,tenant");
        else if (!header && n != 5)
            snprintf(msg, sizeof(msg),
                     "expected 5 fields (cidr,provider,region,sku,tenant), got %d", n);
        else if (header || inventory_add(inv, f, r.line, msg, sizeof(msg)) == 0) {
            header = 0;
            continue;
        }
        snprintf(err, errlen, "%s:%u: %s", file, r.line, msg);
        inventory_free(inv);
        return NULL;
    }
    if (header) {
        snprintf(err, errlen, "%s: empty: expected the header cidr,provider,region,sku,tenant",
                 file);
        inventory_free(inv);
        return NULL;
    }
    return inv;
}

inventory *inventory_load(const char *path, char *err, size_t errlen)
{
    size_t len;
    char *buf = csv_slurp(path, &len, err, errlen);
    inventory *inv = buf ? inventory_parse(path, buf, len, err, errlen) : NULL;

    free(buf);
    return inv;
}

const inventory_entry *inventory_lookup(const inventory *inv, const pkt_addr *a)
{
    return prefix_table_lookup(inv->table, a, NULL);
}

size_t inventory_count(const inventory *inv)
{
    return prefix_table_count(inv->table);
}
