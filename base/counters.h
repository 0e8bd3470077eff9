/* counters.h -- the sensor's counters as one JSON object.
 *
 * Each module describes its own counters: its *_stats_describe() adds
 * name, value members to an object through these two functions. The
 * sensor (app/sensor.c) collects every module into one object, the
 * per-worker copies of a module added together, and prints it (--stats)
 * and publishes it (lh:stats:<sensor>). Values come from relaxed loads of
 * the owning threads' counters (base/stats.h).
 */
#ifndef LOOPHOLE_COUNTERS_H
#define LOOPHOLE_COUNTERS_H

#include <jansson.h>
#include <stdint.h>

/* Adds v to the integer member `name` of o, created at 0 when missing, so
 * that describing every worker's copy of a counter gives their sum. */
void counters_add(json_t *o, const char *name, uint64_t v);

/* The object member `name` of o (created empty when missing), for a group
 * of counters such as the records by end reason; borrowed. */
json_t *counters_group(json_t *o, const char *name);

#endif
