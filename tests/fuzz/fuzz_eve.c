/* fuzz_eve.c -- libFuzzer harness for the EVE conversion (app/eve.c).
 *
 * Alert lines come from Redis replies, which a hostile or broken Redis
 * controls. Input: one line, converted from a heap copy of exactly its
 * bytes so AddressSanitizer sees any read past them. A conversion that
 * succeeds must give a JSON object of event_type "alert" with an integer
 * alert.signature_id; anything else traps.
 */
#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "app/eve.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *copy = malloc(size ? size : 1);
    size_t len = 0;
    char *out;
    json_t *o;
    const char *type;

    if (!copy)
        return 0;
    memcpy(copy, data, size);
    out = eve_from_alert(copy, size, &len);
    free(copy);
    if (!out)
        return 0;
    o = json_loadb(out, len, 0, NULL);
    type = json_string_value(json_object_get(o, "event_type"));
    if (!json_is_object(o) || !type || strcmp(type, "alert") != 0 ||
        !json_is_integer(json_object_get(json_object_get(o, "alert"), "signature_id")))
        __builtin_trap();
    json_decref(o);
    free(out);
    return 0;
}
