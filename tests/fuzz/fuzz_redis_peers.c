/* fuzz_redis_peers.c -- libFuzzer harness for the peers' watermark values.
 *
 * The values of <prefix>watermarks come from Redis, where any client (or a
 * hostile server) may have written anything. The input is a sequence of
 * values separated by '\n', each read as the next value of one of three
 * peers (the first byte of a value picks which; "-" alone is no value),
 * one second apart, with the silence timeout ticking. After each, what
 * the set says must be consistent: the bound is "none" exactly when no
 * peer waits, and no peer that holds settling back can have gone silent
 * past the timeout.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "redis/peers.h"

#define FUZZ_SEC 1000000ull

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    peers *p;
    char err[256];
    uint64_t now = FUZZ_SEC;

    if (peers_parse("a, b ,c", "self", 5 * FUZZ_SEC, 0, &p, err, sizeof(err)) != 0 || p == NULL ||
        peers_count(p) != 3)
        abort();
    while (size > 0) {
        const uint8_t *nl = memchr(data, '\n', size);
        size_t len = nl ? (size_t)(nl - data) : size;
        if (len > 0) {
            int who = data[0] % 3;
            if (len == 2 && data[1] == '-')
                peers_observe(p, who, NULL, 0, now);
            else
                peers_observe(p, who, (const char *)data + 1, len - 1, now);
        }
        now += (len % 7) * FUZZ_SEC; /* silences of 0 to 6 s */
        peers_tick(p, now, NULL, NULL);
        int waiting = peers_waiting(p);
        uint64_t bound = peers_bound(p);
        if (waiting < 0 || waiting > 3 || (waiting == 0) != (bound == UINT64_MAX))
            abort();
        if (nl == NULL)
            break;
        size -= len + 1;
        data += len + 1;
    }
    peers_free(p);
    return 0;
}
