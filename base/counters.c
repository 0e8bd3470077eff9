/* counters.c -- collecting the counters every module describes (see
 * counters.h). */
#include "counters.h"

void counters_add(json_t *o, const char *name, uint64_t v)
{
    json_t *m = json_object_get(o, name);

    if (json_is_integer(m))
        json_integer_set(m, json_integer_value(m) + (json_int_t)v);
    else
        json_object_set_new(o, name, json_integer((json_int_t)v));
}

json_t *counters_group(json_t *o, const char *name)
{
    json_t *g = json_object_get(o, name);

    if (!json_is_object(g)) {
        g = json_object();
        json_object_set_new(o, name, g);
    }
    return g;
}
