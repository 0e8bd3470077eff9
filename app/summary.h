/* summary.h -- the end-of-run summary: the entities this run raised alerts
 * about, by risk, with their rules, peers, GPU hosts and bytes.
 *
 * Everything is read back from Redis, the one place the state lives
 * (docs/redis-schema.md): the run's alerts from the stream <prefix>alerts
 * (the entries after the position summary_mark() took at the start of the
 * run, written by this sensor), each entity's risk from <prefix>risk and
 * its host hash <prefix>host:<ip>. The summary is a JSON object the caller
 * owns; summary_print_table() renders it for people and
 * summary_write_json() for scripts (--summary), so the two always agree.
 *
 * What one alert adds to its entity's row is summary_absorb_alert(): peers
 * and intermediaries, GPU hosts, rules, bytes of the evidence flows; then
 * summary_absorb_candidates() adds those of every other event of the
 * alert's window, so the summary is a function of the capture whatever the
 * number of workers and the order events reached Redis. As the detection
 * work adds fields to alerts, those are the functions to extend.
 *
 * Limits: a stream trimmed by stream_maxlen during a very long run no
 * longer holds its oldest alerts, and the summary then covers the alerts
 * still there (it says how many it read). At most SUMMARY_MAX_LIST peers
 * and GPU hosts are listed per entity; the counts stay exact.
 *
 * Redis is read through an rreader (redis/reader.h), so a single server and
 * a Redis Cluster give the same summary.
 *
 * Threads: one caller at a time; the reader is the caller's.
 */
#ifndef LOOPHOLE_SUMMARY_H
#define LOOPHOLE_SUMMARY_H

#include <hiredis/hiredis.h>
#include <jansson.h>
#include <stddef.h>
#include <stdio.h>

#include "redis/reader.h"

#define SUMMARY_MAX_LIST 32

/* The last id of <prefix>alerts into id ("0-0" when the stream is empty or
 * missing). Returns 0, or -1 with a message in err. */
int summary_mark(rreader *c, const char *prefix, char *id, size_t idlen, char *err, size_t errlen);

/* The summary of the alerts `sensor` wrote after since_id. Returns a new
 * object, or NULL with a message in err. */
json_t *summary_collect(rreader *c, const char *prefix, const char *sensor, const char *since_id,
                        char *err, size_t errlen);

/* What one alert (a parsed alert line) adds to its entity's row. */
void summary_absorb_alert(json_t *row, const json_t *alert);

/* What the candidate record of an alert's window adds (the reply to
 * HGETALL of the key its stream entry names in `cand`, written by the
 * functions library): the peers, evidence flows and packet times of every
 * event of the window, not only of the one that raised the alert, so the
 * row does not depend on which event reached Redis first. */
void summary_absorb_candidates(json_t *row, const redisReply *r);

/* The readable table, one entity a line, highest risk first. */
void summary_print_table(FILE *out, const json_t *summary);

/* The summary as JSON into path ("-" = standard output). Returns 0, or -1
 * with a message naming path in err. */
int summary_write_json(const json_t *summary, const char *path, char *err, size_t errlen);

/* The same into f, opened by the caller (before a privilege drop, say);
 * f is closed unless it is stdout. path names the file in messages. */
int summary_write_json_file(const json_t *summary, FILE *f, const char *path, char *err,
                            size_t errlen);

#endif
