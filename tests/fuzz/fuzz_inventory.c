/* fuzz_inventory.c -- libFuzzer harness for the GPU inventory parser.
 *
 * Input: the CSV bytes, from a heap copy of exactly that length (no NUL
 * after it), so AddressSanitizer sees any read past the end. A parsed
 * inventory is probed with addresses taken from the input and must answer
 * with entries whose strings are readable; a failed parse must leave a
 * message naming the file.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "geo/inventory.h"

static void fuzz_probe(const inventory *inv, const uint8_t *data, size_t size)
{
    pkt_addr a;

    for (size_t off = 0; off + 16 <= size && off < 256; off += 16) {
        memcpy(a.b, data + off, 16);
        const inventory_entry *e = inventory_lookup(inv, &a);
        if (e && (strlen(e->cidr) == 0 || e->line == 0))
            __builtin_trap();
        if (e && e->tenant && strlen(e->tenant) == 0)
            __builtin_trap(); /* empty fields are NULL */
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[256];
    char *buf = malloc(size ? size : 1);
    inventory *inv;

    if (buf == NULL)
        return 0;
    memcpy(buf, data, size);
    err[0] = '\0';
    inv = inventory_parse("fuzz.csv", buf, size, err, sizeof(err));
    if (inv == NULL && strncmp(err, "fuzz.csv", 8) != 0)
        __builtin_trap();
    if (inv) {
        fuzz_probe(inv, data, size);
        inventory_free(inv);
    }
    free(buf);
    return 0;
}
