/* settle.h -- the entities whose windows this sensor still has to settle.
 *
 * A library call that records a fact of an alert window answers a settle
 * hint instead of an alert line: FCALL lh_settle with the entity's keys,
 * `upto_us` and the earliest packet time one of the entity's windows is
 * due (rules/lua/10_alert.lua, 95_settle.lua). The writer hands every hint
 * to settle_note(); this set keeps one entry per entity key, the earliest
 * due time. When the sensor's watermark (the packet time before which no
 * record can still arrive, app/sensor.c) passes an entry's due time,
 * settle_due() builds the call for it, with a call id `ev` (so a call
 * sent again gets its first answer), and on one server for the entities
 * due next in the same call; the answer, each entity's next due time,
 * comes back through settle_answered(). At the end
 * of a replay settle_due(SETTLE_ALL) asks for every entry.
 *
 * Only the writer thread uses a set; nothing is shared. Entries stay
 * (small: the hint's arguments) until the set is freed, so an entity's
 * next window costs no new allocation.
 */
#ifndef LOOPHOLE_SETTLE_H
#define LOOPHOLE_SETTLE_H

#include <stddef.h>
#include <stdint.h>

#define SETTLE_ALL UINT64_MAX
/* The latest time a call settles up to: the library reads numbers as
 * doubles, whole and exact below 2^53 (packet times in microseconds stay
 * below it until the year 2255). */
#define SETTLE_BOUND_MAX 9007199254740991ull

typedef struct settle_set settle_set;

/* token names the writer's run in the call ids (copied). */
settle_set *settle_new(const char *token);
void settle_free(settle_set *s);

/* Whether argv is a settle hint (FCALL lh_settle ...). */
int settle_is_hint(int argc, const char *const *argv, const size_t *lens);

/* Whether argv is a hint in the form the library answers it, FCALL
 * lh_settle <n> <keys...> upto_us <due>, rather than a call settle_due()
 * built (those carry an `ev`): what settle_hints() writes. */
int settle_is_plain_hint(int argc, const char *const *argv, const size_t *lens);

/* Keeps hint argv (FCALL lh_settle <n> <keys...> upto_us <due>). Returns
 * 0, or -1 for a malformed hint or no memory. */
int settle_note(settle_set *s, int argc, const char *const *argv, const size_t *lens);

/* Calls fn with encoded calls (rules/event.h, EVENT_CALL; the callee
 * owns buf) for the entities due earliest among those due at or before
 * upto_us (SETTLE_ALL: among all pending): one call, in key order, for
 * the entities of the earliest due times that fit in per_call (1 in a
 * Redis Cluster: one slot per call), whole due times only, settling up
 * to just before the next due time left out (or upto_us, at most
 * SETTLE_BOUND_MAX), since the library settles the windows of a call in
 * due order; or, when more entities are due at the earliest time than
 * per_call, one call per per_call of them, each settling up to that
 * time. An entity asked for is not asked again until its answer or a new
 * hint. Returns the number of calls; the caller asks again, once the
 * answers are in, until it is 0, so the windows are settled in one order
 * (due time, key) however its calls fall. */
typedef void settle_call_fn(void *ctx, void *buf, size_t len);
int settle_due(settle_set *s, uint64_t upto_us, int per_call, settle_call_fn *fn, void *ctx);

/* The answer to settle call argv (one that settle_due() built): an
 * entity's next due time next_us, or for a call of several entities
 * none (their answer lists a settle hint for each one still pending,
 * which the caller passes to settle_note() after this). Returns 0, or -1
 * for a call that is not a settle call. */
int settle_answered(settle_set *s, int argc, const char *const *argv, const size_t *lens,
                    uint64_t next_us);

/* Calls fn with the hint (settle_note()'s form, encoded as EVENT_CALL; the
 * callee owns buf) of every entity pending and not asked for, by due time
 * and key: what a writer that stops before it could settle them journals,
 * so that the run replaying the journal knows them (an entity asked for
 * has its call in the journal, and the answer brings its next due time).
 * Returns the number of hints, or -1 when memory is short. */
int settle_hints(settle_set *s, settle_call_fn *fn, void *ctx);

/* Entities waiting for a settle (answered with a next due time, or with
 * a hint and not yet asked). */
uint64_t settle_pending(const settle_set *s);

#endif
