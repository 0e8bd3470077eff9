/* record.h -- flow records: what a finished flow (or a record cut by the
 * active timeout) looks like to the outside, as one JSON line.
 *
 * The field set is the contract of interface.md section 3, plus the
 * documented extensions (tunnel_id, dns_query, url, user_agent, risks and
 * the two halves of the handshake round trip).
 */
#ifndef LOOPHOLE_RECORD_H
#define LOOPHOLE_RECORD_H

#include <jansson.h>
#include <stddef.h>

#include "flow.h"

/* A new JSON object for the current record of f, ended for `end`. The
 * caller owns it (json_decref). NULL when out of memory. */
json_t *record_flow(const flow *f, int end, const char *sensor);

/* The same as one compact line without the newline, malloc'ed: the
 * caller frees it. *len gets its length. NULL when out of memory. */
char *record_flow_line(const flow *f, int end, const char *sensor, size_t *len);

/* "tcp", "udp", "icmp"... or the number in buf for others. */
const char *record_proto_name(uint8_t proto, char *buf, size_t len);

#endif
