/* record.h -- flow records: what a finished flow (or a record cut by the
 * active timeout) looks like to the outside, as one JSON line.
 *
 * The field set is the contract of interface.md section 3, plus the
 * documented extensions (tunnel_id, dns_query, url, user_agent, risks,
 * the two halves of the handshake round trip, the category inside src_geo
 * and dst_geo, and gpu_host; docs/flow-records.md).
 */
#ifndef LOOPHOLE_RECORD_H
#define LOOPHOLE_RECORD_H

#include <jansson.h>
#include <stddef.h>

#include "capture/community_id.h"
#include "flow.h"
#include "geo/snapshot.h"

/* A new JSON object for the current record of f, ended for `end`. The
 * caller owns it (json_decref). NULL when out of memory. */
json_t *record_flow(const flow *f, int end, const char *sensor);

/* The same as one compact line without the newline, malloc'ed: the
 * caller frees it. *len gets its length. NULL when out of memory. */
char *record_flow_line(const flow *f, int end, const char *sensor, size_t *len);

/* The same with the geo answers for the two ends (src is the side that
 * opened the flow): src_geo and dst_geo become objects, roles gets gpu_src
 * / gpu_dst, and gpu_host describes the GPU host (the destination when both
 * ends are one). src and dst may be NULL: those fields stay null. */
json_t *record_flow_geo(const flow *f, int end, const char *sensor, const geo_party *src,
                        const geo_party *dst);
char *record_flow_line_geo(const flow *f, int end, const char *sensor, const geo_party *src,
                           const geo_party *dst, size_t *len);

/* The record object as one compact line (malloc'ed, no newline; the
 * caller frees it); NULL when o is NULL or out of memory. */
char *record_line(const json_t *o, size_t *len);

/* The Community ID (v1, seed 0) of f into out (COMMUNITY_ID_LEN bytes).
 * Returns out, or NULL for SCTP, whose ports the decoder does not read. */
const char *record_community_id(const flow *f, char *out);

/* "tcp", "udp", "icmp"... or the number in buf for others. */
const char *record_proto_name(uint8_t proto, char *buf, size_t len);

#endif
