/* detect.h -- the detection rules' view of a finished flow.
 *
 * When a worker writes a flow record it hands the same flow to detect_record()
 * with the geo answers for both ends. The rules (interface.md section 2)
 * that one flow can decide raise alerts at once; the rules that join many
 * flows, sensors or a long time span send observations to the Redis
 * Functions library (rules/lua/), which keeps the windows by
 * packet time and raises each alert once per (rule, entity, window).
 * Everything goes out through the worker's event queue (rules/event.h);
 * nothing here waits on Redis or keeps state across flows, so the set of
 * alerts does not depend on which worker saw which flow.
 *
 * The rules live in two files behind this one entry point:
 *   detect_flow.c  rules one flow decides, and the observations for the
 *                  windowed rules whose counting the library already does
 *                  (distinct values: fan-out, fan-in, footprint, relays);
 *   detect_corr.c  rules that need more of the library: byte sums over a
 *                  window (egress), the controller networks of a GPU host,
 *                  time-of-day profiles, stepping-stone legs.
 * detect.c holds what both share: the view of a flow, country tests, and
 * the alert's JSON parts (evidence items, parties, the GPU host).
 * detect_config.c holds the rules' configuration keys (detect_config.h).
 *
 * Threads: one detect context per worker, read-only after detect_new().
 */
#ifndef LOOPHOLE_DETECT_H
#define LOOPHOLE_DETECT_H

#include <jansson.h>
#include <stddef.h>

#include "analyze/flow.h"
#include "geo/snapshot.h"
#include "rules/detect_config.h"
#include "rules/event.h"
#include "analyze/timing.h"

typedef struct detect detect;

/* cfg (and the country lists it points to) and sensor are borrowed and
 * must outlive the context. Returns NULL when out of memory. */
detect *detect_new(const detect_config *cfg, const char *sensor);
void detect_free(detect *d);

/* Runs every rule on a finished record of f (inspection and the control
 * kind are final). src and dst are the geo answers for the flow's client
 * and server, or NULL without geo data; geo is the worker's current
 * snapshot (its indicator tables name services by domain), or NULL.
 * Events go to q. */
void detect_record(detect *d, event_queue *q, const flow *f, int end, const geo_party *src,
                   const geo_party *dst, const geo_snapshot *geo);

#endif
