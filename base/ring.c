/* ring.c -- bounded SPSC byte-record queue (see ring.h).
 *
 * Layout: a power-of-two buffer, and two monotonic byte positions, `tail`
 * (written only by the producer) and `head` (only by the consumer). Each
 * record starts with an 8-byte header {length, flags}; a record that does
 * not fit before the end of the buffer is preceded by a padding record that
 * fills the rest, so every record is contiguous.
 *
 * Each side caches the other's position and reloads it only when the cache
 * says there is no room (producer) or nothing to read (consumer), and
 * publishes its own position once per RING_BATCH records (or before it
 * waits), so in the steady state the two threads rarely share a cache line
 * and the sleeping side is woken once per batch, not once per packet.
 *
 * Sleeping: a consumer that finds the ring empty spins briefly, yields,
 * then announces itself in `consumer_waiting` and sleeps on a condition
 * variable. A producer that finds it full sleeps at once, announcing in
 * `producer_waiting` the free space it waits for (`producer_wants`, at
 * least 1/RING_REFILL of the ring); the consumer wakes it only when that
 * much is free. Letting it in as soon as one batch was released made it
 * find the ring full again after a batch, and it spun and yielded between
 * every two: 905 000 sched_yield calls, a fifth of the CPU of a dpi-dense
 * replay with one worker, taken from the worker and Redis on two cores
 * (docs/performance.md, "Eighth round"). The other side checks the flag
 * after publishing its position. Both the publish and the flag are
 * sequentially consistent, so one of the two always sees the other; the
 * timed wait is only a safety net.
 */
#include "ring.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define RING_MIN_SIZE  (64 * 1024)
#define RING_SPINS     64 /* busy polls before yielding the core */
#define RING_YIELDS    64 /* yields before sleeping */
#define RING_NAP_NSECS (5 * 1000 * 1000)
#define RING_REFILL    4 /* a waiting producer resumes at 1/RING_REFILL free */

static size_t ring_align(size_t n)
{
    return (n + 7) & ~(size_t)7;
}

ring *ring_new(size_t bytes)
{
    size_t size = RING_MIN_SIZE;
    while (size < bytes && size < ((size_t)1 << 40))
        size <<= 1;

    ring *r;
    if (posix_memalign((void **)&r, 64, sizeof(*r)) != 0)
        return NULL;
    memset(r, 0, sizeof(*r));
    if (posix_memalign((void **)&r->buf, 64, size) != 0) {
        free(r);
        return NULL;
    }
    r->size = size;
    r->mask = size - 1;
    pthread_mutex_init(&r->lock, NULL);
    pthread_cond_init(&r->cond, NULL);
    return r;
}

void ring_free(ring *r)
{
    if (r == NULL)
        return;
    pthread_mutex_destroy(&r->lock);
    pthread_cond_destroy(&r->cond);
    free(r->buf);
    free(r);
}

size_t ring_max_record(const ring *r)
{
    return r->size / 2 - RING_HDR;
}

size_t ring_used(const ring *r)
{
    return (size_t)(atomic_load_explicit(&r->tail, memory_order_relaxed) -
                    atomic_load_explicit(&r->head, memory_order_relaxed));
}

static void ring_pause(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
}

/* Sleeps until woken or a short timeout. `flag` is the caller's waiting
 * flag; `ready` rechecks the condition after the flag is visible. */
static void ring_sleep(ring *r, _Atomic int *flag, int (*ready)(ring *))
{
    pthread_mutex_lock(&r->lock);
    atomic_store(flag, 1);
    if (!ready(r)) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += RING_NAP_NSECS;
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&r->cond, &r->lock, &ts);
    }
    atomic_store(flag, 0);
    pthread_mutex_unlock(&r->lock);
}

/* Waits a little longer each time: a few busy polls (the other side is
 * usually a batch away), then yields (the machine may have fewer cores
 * than threads), then sleeps until woken. */
static void ring_wait(ring *r, int spins, _Atomic int *flag, int (*ready)(ring *))
{
    if (spins < RING_SPINS)
        ring_pause();
    else if (spins < RING_SPINS + RING_YIELDS)
        sched_yield();
    else
        ring_sleep(r, flag, ready);
}

static void ring_wake(ring *r, _Atomic int *flag)
{
    if (atomic_load(flag)) {
        pthread_mutex_lock(&r->lock);
        pthread_cond_broadcast(&r->cond);
        pthread_mutex_unlock(&r->lock);
    }
}

static int ring_has_data(ring *r)
{
    return atomic_load(&r->tail) != r->released || atomic_load(&r->closed);
}

static int ring_has_room(ring *r)
{
    uint64_t tail = r->committed;
    r->head_cache = atomic_load(&r->head);
    return r->size - (size_t)(tail - r->head_cache) >= r->want;
}

/* The general case of ring_reserve() (ring.h): a record that needs
 * padding first, or room not yet known. */
void *ring_reserve_slow(ring *r, size_t len, int wait)
{
    if (len > ring_max_record(r))
        return NULL;
    size_t need = RING_HDR + ring_align(len);
    uint64_t tail = r->committed;
    size_t idx = (size_t)(tail & r->mask);
    size_t to_end = r->size - idx;
    size_t pad = need > to_end ? to_end : 0;

    r->want = pad + need;
    while (r->size - (size_t)(tail - r->head_cache) < r->want) {
        if (ring_has_room(r))
            break;
        if (!wait)
            return NULL;
        ring_flush(r); /* the consumer must see everything before we wait */
        /* Full: wait for a good part of the ring, not for this record only
         * (ring.h); `want` stays at most the ring's size, since a record
         * is at most half of it. */
        if (r->want < r->size / RING_REFILL)
            r->want = r->size / RING_REFILL;
        atomic_store(&r->producer_wants, r->want);
        ring_sleep(r, &r->producer_waiting, ring_has_room);
    }
    if (pad) {
        ring_hdr *h = (ring_hdr *)(r->buf + idx);
        h->len = (uint32_t)(pad - RING_HDR);
        h->flags = RING_F_PAD;
        idx = 0;
    }
    ring_hdr *h = (ring_hdr *)(r->buf + idx);
    h->len = (uint32_t)len;
    h->flags = 0;
    r->pending = tail + pad + need;
    return r->buf + idx + RING_HDR;
}

void ring_flush(ring *r)
{
    r->unflushed = 0;
    if (atomic_load_explicit(&r->tail, memory_order_relaxed) == r->committed)
        return;
    atomic_store(&r->tail, r->committed);
    ring_wake(r, &r->consumer_waiting);
}

void ring_close(ring *r)
{
    ring_flush(r);
    atomic_store(&r->closed, 1);
    pthread_mutex_lock(&r->lock);
    pthread_cond_broadcast(&r->cond);
    pthread_mutex_unlock(&r->lock);
}

/* The general case of ring_peek() (ring.h): the cached tail says the
 * ring is empty, or a padding record comes first. */
void *ring_peek_slow(ring *r, size_t *len, int wait)
{
    uint64_t head = r->released;

    for (int spins = 0; head == r->tail_cache; spins++) {
        ring_publish_head(r); /* let a waiting producer in before we wait */
        r->tail_cache = atomic_load(&r->tail);
        if (head != r->tail_cache)
            break;
        if (atomic_load(&r->closed)) {
            r->tail_cache = atomic_load(&r->tail);
            if (head == r->tail_cache)
                return NULL;
            break;
        }
        if (!wait)
            return NULL;
        ring_wait(r, spins, &r->consumer_waiting, ring_has_data);
    }
    ring_hdr *h = (ring_hdr *)(r->buf + (head & r->mask));
    if (h->flags & RING_F_PAD) {
        head += RING_HDR + h->len;
        h = (ring_hdr *)(r->buf + (head & r->mask));
    }
    *len = h->len;
    r->next_head = head + RING_HDR + ring_align(h->len);
    ring_prefetch(r);
    return (uint8_t *)h + RING_HDR;
}

void ring_publish_head(ring *r)
{
    r->unpublished = 0;
    if (atomic_load_explicit(&r->head, memory_order_relaxed) == r->released)
        return;
    atomic_store(&r->head, r->released);
    /* A sleeping producer has flushed, so `tail` is where it stopped. */
    if (atomic_load(&r->producer_waiting) &&
        r->size - (size_t)(atomic_load(&r->tail) - r->released) >= atomic_load(&r->producer_wants))
        ring_wake(r, &r->producer_waiting);
}
