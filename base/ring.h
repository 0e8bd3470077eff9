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
 * consumer or fails at once, as the producer asks. The capture thread waits
 * (a file can wait; a live link's packets wait in the kernel's buffer,
 * which is far larger than the ring), after counting that it had to. A
 * waiting producer sleeps until a quarter of the ring is free
 * (RING_REFILL), not until one record fits: a full ring means the consumer
 * is the slower side, and a producer let in per released batch found the
 * ring full again at once and spun on it (ring.c).
 *
 * Thread rules: ring_reserve/ring_commit/ring_close only from the
 * producer, ring_peek/ring_release only from the consumer.
 *
 * The four per-record calls are inline for their common case (a record
 * that fits where the cached position says there is room, a record the
 * cached position says is there) and call ring.c for everything else:
 * they run once per packet on both sides, where a call and its register
 * saves were most of their cost. The struct is therefore visible here;
 * only ring.c and these inline functions touch its fields.
 */
#ifndef LOOPHOLE_RING_H
#define LOOPHOLE_RING_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#define RING_HDR   8  /* {length, flags} ahead of every record */
#define RING_F_PAD 1u /* a padding record: skip it */
#define RING_BATCH 32 /* records between publishes of a position */

typedef struct ring_hdr {
    uint32_t len;
    uint32_t flags;
} ring_hdr;

typedef struct ring {
    /* Set up once, then only read; the waiting flags change only when a
     * side goes to sleep. */
    uint8_t *buf;
    size_t size, mask;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    _Atomic int producer_waiting;
    _Atomic int consumer_waiting;
    _Atomic size_t producer_wants; /* free bytes a sleeping producer waits for */
    _Atomic int closed;

    /* The published positions, each alone on its cache line: a side
     * polling the other's position must not lose its line every time the
     * other touches its private fields. */
    _Alignas(64) _Atomic uint64_t tail;
    _Alignas(64) _Atomic uint64_t head;

    /* Producer's own. */
    _Alignas(64) uint64_t head_cache;
    uint64_t pending;   /* tail after the reserved record */
    uint64_t committed; /* tail after the last committed record */
    unsigned unflushed; /* records committed since the last publish */
    size_t want;        /* bytes the producer is waiting for */

    /* Consumer's own. */
    _Alignas(64) uint64_t tail_cache;
    uint64_t next_head; /* head after the peeked record */
    uint64_t released;  /* head after the last released record */
    unsigned unpublished;
} ring;

/* Creates a ring of at least `bytes` bytes (rounded up to a power of two,
 * at least 64 KiB). Returns NULL when out of memory. */
ring *ring_new(size_t bytes);
void ring_free(ring *r);

/* Largest record a ring of this size accepts. */
size_t ring_max_record(const ring *r);

/* Returns space for a record of `len` bytes, 8-byte aligned, or NULL when
 * the ring is full and `wait` is 0, or `len` exceeds ring_max_record().
 * The record is invisible to the consumer until ring_commit(). */
void *ring_reserve_slow(ring *r, size_t len, int wait);

static inline void *ring_reserve(ring *r, size_t len, int wait)
{
    size_t need = RING_HDR + ((len + 7) & ~(size_t)7);
    uint64_t tail = r->committed;
    size_t idx = (size_t)(tail & r->mask);

    if (len <= r->size / 2 - RING_HDR && need <= r->size - idx &&
        r->size - (size_t)(tail - r->head_cache) >= need) {
        ring_hdr *h = (ring_hdr *)(r->buf + idx);
        h->len = (uint32_t)len;
        h->flags = 0;
        r->pending = tail + need;
        return h + 1;
    }
    return ring_reserve_slow(r, len, wait);
}

void ring_flush(ring *r);

static inline void ring_commit(ring *r)
{
    r->committed = r->pending;
    if (++r->unflushed >= RING_BATCH)
        ring_flush(r);
}

/* Committed records become visible to the consumer in batches
 * (ring_flush() is declared above, for ring_commit()); this makes them
 * visible now. The producer calls it when its input pauses (end of a
 * file, a live read timeout, a tick) so that nothing waits in a batch. */

/* Producer: no more records. The consumer drains what is left, then
 * ring_peek() returns NULL. */
void ring_close(ring *r);

/* Asks the CPU for the next record's first lines while the caller works on
 * the one it peeked: the producer wrote them from another core, and their
 * header, the capture record and the IP header were the worker's most
 * missed loads (docs/performance.md, "Sixth round"). Only a committed
 * record: a line the producer is still writing would bounce between the
 * cores. A prefetch never faults, past the buffer's end either. */
static inline void ring_prefetch(const ring *r)
{
    if (r->next_head != r->tail_cache) {
        const uint8_t *next = r->buf + (r->next_head & r->mask);
        __builtin_prefetch(next);
        __builtin_prefetch(next + 64);
        __builtin_prefetch(next + 128);
    }
}

/* Returns the oldest record and its length, or NULL when the ring is empty
 * (after waiting, when `wait` is 1, until a record arrives or the ring is
 * closed and drained). The record stays valid until ring_release(). */
void *ring_peek_slow(ring *r, size_t *len, int wait);

static inline void *ring_peek(ring *r, size_t *len, int wait)
{
    uint64_t head = r->released;

    if (head != r->tail_cache) {
        const ring_hdr *h = (const ring_hdr *)(r->buf + (head & r->mask));
        if (!(h->flags & RING_F_PAD)) {
            *len = h->len;
            r->next_head = head + RING_HDR + ((h->len + 7) & ~(uint64_t)7);
            ring_prefetch(r);
            return (uint8_t *)r->buf + (head & r->mask) + RING_HDR;
        }
    }
    return ring_peek_slow(r, len, wait);
}

/* Publishes the consumer's position (ring_release() does it once per
 * batch). */
void ring_publish_head(ring *r);

static inline void ring_release(ring *r)
{
    r->released = r->next_head;
    if (++r->unpublished >= RING_BATCH)
        ring_publish_head(r);
}

/* Bytes currently queued (approximate when read by the other thread). */
size_t ring_used(const ring *r);

#endif
