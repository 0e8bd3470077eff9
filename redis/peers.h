/* peers.h -- the watermarks of the other sensors that feed the same windows.
 *
 * Several sensors sharing one Redis (or one Redis Cluster) feed the same
 * alert windows, and a window may be settled only once every one of them
 * has delivered its records of it (docs/rules-correlation.md, "Settling").
 * So each sensor's writer publishes its delivered watermark in the hash
 * `<prefix>watermarks` (field: its sensor name; value: peers_value()) and
 * reads the fields of the peers listed in `[redis] peers`; a peers set
 * keeps what it read and says how far settling may go: the lowest
 * watermark among the peers that still hold it back (peers_bound()).
 *
 * A peer holds settling back until it has published "done" (the end of its
 * replay, or a stopped capture) or has been silent for the peer timeout
 * (wall time, measured here on the reader's own monotonic clock: no two
 * hosts' clocks are compared). A value counts only once it has changed
 * while this sensor watched: a "done" left by an earlier run of the peer
 * must not let this run settle before the peer has started; a peer that is
 * running publishes at least every PEERS_BEAT_US, so its value always
 * changes. A silent peer that publishes again holds settling back again.
 *
 * Data enters by peers_observe() (the value read, or NULL for none) and
 * leaves by peers_bound() and peers_waiting(); lapses and returns are
 * reported through the caller's function. One thread (the writer).
 */
#ifndef LOOPHOLE_REDIS_PEERS_H
#define LOOPHOLE_REDIS_PEERS_H

#include <stddef.h>
#include <stdint.h>

#define PEERS_POLL_US 100000  /* the peers' values are read this often */
#define PEERS_BEAT_US 1000000 /* a sensor publishes at least this often */
#define PEERS_MAX     64

typedef struct peers peers;

typedef void peers_report_fn(void *ctx, const char *msg);

/* Parses list, sensor names separated by commas (blanks around a name are
 * ignored), dropping self. Sets *out to NULL when no peer remains (the
 * sensor settles on its own watermark, as with no list). now_us: the
 * reader's monotonic clock, from which a peer never seen is silent.
 * Returns 0, or -1 with a message naming what is wrong (an empty name, a
 * name given twice, more than PEERS_MAX names). */
int peers_parse(const char *list, const char *self, uint64_t timeout_us, uint64_t now_us,
                peers **out, char *err, size_t errlen);

void peers_free(peers *p);

int peers_count(const peers *p);
const char *peers_name(const peers *p, int i, size_t *len);

/* The value peer i has in the hash now (NULL: none). */
void peers_observe(peers *p, int i, const char *value, size_t len, uint64_t now_us);

/* Marks the peers silent for longer than the timeout, and reports each
 * one that lapses or comes back (once per change). */
void peers_tick(peers *p, uint64_t now_us, peers_report_fn *report, void *ctx);

/* The lowest watermark among the peers that hold settling back (a peer not
 * seen yet holds it at 0); UINT64_MAX when none does. */
uint64_t peers_bound(const peers *p);

/* Peers neither done nor silent: what the end of a replay waits for. */
int peers_waiting(const peers *p);

/* Peers that fell silent past the timeout, counted once per lapse. */
uint64_t peers_lapses(const peers *p);

/* This sensor's value: "run <watermark_us> <wall_ms>" or "done
 * <watermark_us> <wall_ms>" (wall_ms: the publisher's clock, for people
 * reading the hash). Returns its length, or 0 when len is too small. */
size_t peers_value(char *buf, size_t len, int done, uint64_t watermark_us, uint64_t wall_ms);

#endif
