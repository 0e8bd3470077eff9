/* ring.h -- bounded single-producer single-consumer queue of byte records.
 *
 * The capture thread is the only producer of each ring and one worker the
 * only consumer. Records are variable length (a packet's metadata followed
 * by the bytes the worker needs), written in place: the producer reserves
 * space, fills it and commits; the consumer peeks at the oldest record,
 * uses it where it lies and releases it. Nothing is copied twice and
 * nothing is allocated after ring_new().
 *
 * The ring is bounded: when it is full, ring_reserve() either waits for the
 * consumer or fails at once, as the producer asks. Offline replay waits (the
 * file can wait; losing packets would change the results); live capture
 * does not wait and counts the packet as dropped.
 *
 * Thread rules: ring_reserve/ring_commit/ring_close only from the
 * producer, ring_peek/ring_release only from the consumer.
 */
#ifndef LOOPHOLE_RING_H
#define LOOPHOLE_RING_H

#include <stddef.h>
#include <stdint.h>

typedef struct ring ring;

/* Creates a ring of at least `bytes` bytes (rounded up to a power of two,
 * at least 64 KiB). Returns NULL when out of memory. */
ring *ring_new(size_t bytes);
void ring_free(ring *r);

/* Largest record a ring of this size accepts. */
size_t ring_max_record(const ring *r);

/* Returns space for a record of `len` bytes, 8-byte aligned, or NULL when
 * the ring is full and `wait` is 0, or `len` exceeds ring_max_record().
 * The record is invisible to the consumer until ring_commit(). */
void *ring_reserve(ring *r, size_t len, int wait);
void ring_commit(ring *r);

/* Committed records become visible to the consumer in batches; this makes
 * them visible now. The producer calls it when its input pauses (end of a
 * file, a live read timeout, a tick) so that nothing waits in a batch. */
void ring_flush(ring *r);

/* Producer: no more records. The consumer drains what is left, then
 * ring_peek() returns NULL. */
void ring_close(ring *r);

/* Returns the oldest record and its length, or NULL when the ring is empty
 * (after waiting, when `wait` is 1, until a record arrives or the ring is
 * closed and drained). The record stays valid until ring_release(). */
void *ring_peek(ring *r, size_t *len, int wait);
void ring_release(ring *r);

/* Bytes currently queued (approximate when read by the other thread). */
size_t ring_used(const ring *r);

#endif
