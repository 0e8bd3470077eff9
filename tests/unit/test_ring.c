/* test_ring.c -- the single-producer single-consumer record ring.
 *
 * Single-thread cases pin down what one side sees of the other: order,
 * lengths, alignment, visibility after commit and flush, wrap-around with a
 * padding record, the largest record, a full ring, close; a producer
 * waiting on a full ring resumes at a quarter free. The two-thread
 * case pushes a few million variable-size records through a small ring (so
 * it wraps and both sides sleep) and checks every one: sequence number,
 * length and a checksum of its bytes.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "base/ring.h"

#define RING_BYTES (64 * 1024)

/* ------------------------------------------------------------------------
 * Helpers
 * ---------------------------------------------------------------------- */

/* Deterministic byte i of record seq. */
static uint8_t pattern(uint64_t seq, size_t i)
{
    return (uint8_t)(seq * 131 + i * 7 + (i >> 8));
}

static void fill(void *p, size_t len, uint64_t seq)
{
    uint8_t *b = p;
    for (size_t i = 0; i < len; i++)
        b[i] = pattern(seq, i);
}

static void check_bytes(const void *p, size_t len, uint64_t seq)
{
    const uint8_t *b = p;
    for (size_t i = 0; i < len; i++)
        if (b[i] != pattern(seq, i))
            fail_msg("record %llu: byte %zu is 0x%02x, expected 0x%02x", (unsigned long long)seq, i,
                     b[i], pattern(seq, i));
}

/* Reserves, fills and commits one record; fails the test when it cannot. */
static void *push(ring *r, size_t len, uint64_t seq)
{
    void *p = ring_reserve(r, len, 0);
    if (p == NULL)
        fail_msg("ring_reserve(%zu) failed for record %llu", len, (unsigned long long)seq);
    assert_int_equal((uintptr_t)p % 8, 0);
    fill(p, len, seq);
    ring_commit(r);
    return p;
}

/* Peeks the next record (no wait), checks it, releases it. Returns where
 * it was. */
static const void *pop(ring *r, size_t want_len, uint64_t seq)
{
    size_t len = 0;
    const void *p = ring_peek(r, &len, 0);
    if (p == NULL)
        fail_msg("record %llu: ring empty", (unsigned long long)seq);
    assert_int_equal((uintptr_t)p % 8, 0);
    if (len != want_len)
        fail_msg("record %llu: length %zu, expected %zu", (unsigned long long)seq, len, want_len);
    check_bytes(p, len, seq);
    ring_release(r);
    return p;
}

static void assert_empty(ring *r)
{
    size_t len;
    assert_null(ring_peek(r, &len, 0));
}

/* ------------------------------------------------------------------------
 * Single thread
 * ---------------------------------------------------------------------- */

static void test_order_and_lengths(void **state)
{
    ring *r = ring_new(RING_BYTES);
    assert_non_null(r);
    assert_empty(r);

    /* Lengths 0..99, each with its own bytes, out in the same order. */
    for (uint64_t i = 0; i < 100; i++)
        push(r, (size_t)i, i);
    ring_flush(r);
    for (uint64_t i = 0; i < 100; i++)
        pop(r, (size_t)i, i);
    assert_empty(r);
    assert_int_equal(ring_used(r), 0);
    ring_free(r);
}

static void test_peek_until_release(void **state)
{
    ring *r = ring_new(RING_BYTES);
    size_t len;

    push(r, 24, 1);
    push(r, 40, 2);
    ring_flush(r);
    const void *a = ring_peek(r, &len, 0);
    const void *b = ring_peek(r, &len, 0);
    assert_non_null(a);
    assert_ptr_equal(a, b); /* peeking again does not advance */
    assert_int_equal(len, 24);
    ring_release(r);
    pop(r, 40, 2);
    assert_empty(r);
    ring_free(r);
}

static void test_uncommitted_is_invisible(void **state)
{
    ring *r = ring_new(RING_BYTES);
    size_t len;

    void *p = ring_reserve(r, 32, 0);
    assert_non_null(p);
    fill(p, 32, 7);
    ring_flush(r); /* nothing committed yet: nothing to publish */
    assert_null(ring_peek(r, &len, 0));
    ring_commit(r);
    ring_flush(r);
    pop(r, 32, 7);
    assert_empty(r);
    ring_free(r);
}

/* Records that do not fit before the end of the buffer start again at its
 * beginning, whole, behind a padding record the consumer never sees. */
static void test_wrap_around(void **state)
{
    ring *r = ring_new(RING_BYTES);
    const size_t len = 10000;
    uint64_t seq = 0;
    const uint8_t *at[60];
    size_t lens[60];
    int wraps = 0;

    for (int round = 0; round < 20; round++) {
        /* Three at a time, a little longer each round, so the wrap point
         * moves through the buffer. */
        for (int i = 0; i < 3; i++)
            push(r, len + (size_t)round, seq + (uint64_t)i);
        ring_flush(r);
        for (int i = 0; i < 3; i++) {
            lens[seq] = len + (size_t)round;
            at[seq] = pop(r, lens[seq], seq);
            if (seq > 0 && at[seq] < at[seq - 1])
                wraps++;
            seq++;
        }
        assert_empty(r);
    }
    /* 600 KB through a 64 KiB buffer: it wrapped many times, and every
     * record lay whole inside the buffer, which starts at the lowest
     * address seen (a record right after a wrap). */
    assert_true(wraps >= 8);
    const uint8_t *base = at[0];
    for (int i = 1; i < 60; i++)
        if (at[i] < base)
            base = at[i];
    for (int i = 0; i < 60; i++)
        if ((size_t)(at[i] - base) + lens[i] > RING_BYTES)
            fail_msg("record %d at offset %zu, length %zu, runs past the end of the buffer", i,
                     (size_t)(at[i] - base), lens[i]);
    ring_free(r);
}

static void test_max_record(void **state)
{
    static const size_t sizes[] = {0, 100, RING_BYTES, 256 * 1024};

    for (size_t k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
        ring *r = ring_new(sizes[k]);
        assert_non_null(r);
        size_t max = ring_max_record(r);
        /* At least 64 KiB of ring, and a record never takes all of it. */
        assert_true(max >= RING_BYTES / 2 - 64);
        assert_true(max < (sizes[k] > RING_BYTES ? sizes[k] : RING_BYTES));
        assert_null(ring_reserve(r, max + 1, 0));
        assert_null(ring_reserve(r, max + 1, 1)); /* too big never waits */
        /* The largest record goes through, twice, across the wrap. */
        for (uint64_t i = 0; i < 3; i++) {
            push(r, max, i);
            ring_flush(r);
            pop(r, max, i);
        }
        assert_empty(r);
        ring_free(r);
    }
}

static void test_full_ring(void **state)
{
    ring *r = ring_new(RING_BYTES);
    uint64_t n = 0;
    void *p;

    while ((p = ring_reserve(r, 1000, 0)) != NULL) {
        fill(p, 1000, n++);
        ring_commit(r);
        assert_true(n <= RING_BYTES / 1000);
    }
    /* Full: at least most of the buffer holds records. */
    assert_true(n >= RING_BYTES / 1008 - 1);
    assert_null(ring_reserve(r, 1000, 0));
    ring_flush(r);
    for (uint64_t i = 0; i < n; i++)
        pop(r, 1000, i);
    assert_empty(r);
    /* Drained: there is room again. */
    push(r, 1000, 1000);
    ring_flush(r);
    pop(r, 1000, 1000);
    ring_free(r);
}

static void test_close_drains(void **state)
{
    ring *r = ring_new(RING_BYTES);
    size_t len;

    for (uint64_t i = 0; i < 5; i++)
        push(r, 16 + (size_t)i, i);
    ring_close(r); /* makes the batch visible too */
    for (uint64_t i = 0; i < 5; i++)
        pop(r, 16 + (size_t)i, i);
    /* Closed and drained: waiting returns at once. */
    assert_null(ring_peek(r, &len, 1));
    assert_null(ring_peek(r, &len, 0));
    ring_free(r);
}

/* ------------------------------------------------------------------------
 * Two threads
 * ---------------------------------------------------------------------- */

#define STRESS_RECORDS 2000000u

typedef struct rec_hdr {
    uint64_t seq;
    uint32_t len; /* whole record */
    uint32_t sum; /* of the payload */
} rec_hdr;

static uint64_t xorshift(uint64_t *s)
{
    uint64_t x = *s;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return *s = x;
}

static uint32_t checksum(const uint8_t *b, size_t n)
{
    uint32_t h = 2166136261u; /* FNV-1a */
    for (size_t i = 0; i < n; i++)
        h = (h ^ b[i]) * 16777619u;
    return h;
}

typedef struct stress {
    ring *r;
    uint64_t received;
    char error[256];
} stress;

static void *producer(void *arg)
{
    stress *st = arg;
    uint64_t rnd = 88172645463325252ull;

    for (uint64_t seq = 0; seq < STRESS_RECORDS; seq++) {
        uint64_t x = xorshift(&rnd);
        /* Mostly small, now and then up to 2 KB, as packets are. */
        size_t payload = (x & 31) == 0 ? (size_t)(x >> 8) % 2048 : (size_t)(x >> 8) % 200;
        size_t len = sizeof(rec_hdr) + payload;
        uint8_t *p = ring_reserve(st->r, len, 1);
        if (p == NULL) {
            snprintf(st->error, sizeof(st->error), "ring_reserve(%zu, wait) returned NULL", len);
            break;
        }
        rec_hdr h = {.seq = seq, .len = (uint32_t)len};
        for (size_t i = 0; i < payload; i++)
            p[sizeof(h) + i] = (uint8_t)(x >> (i % 56)) ^ (uint8_t)i;
        h.sum = checksum(p + sizeof(h), payload);
        memcpy(p, &h, sizeof(h));
        ring_commit(st->r);
        if ((seq & 0xffff) == 0)
            ring_flush(st->r); /* a pause in the input, now and then */
    }
    ring_close(st->r);
    return NULL;
}

static void *consumer(void *arg)
{
    stress *st = arg;
    size_t len;
    const uint8_t *p;

    while ((p = ring_peek(st->r, &len, 1)) != NULL) {
        rec_hdr h;
        if (len < sizeof(h)) {
            snprintf(st->error, sizeof(st->error), "record %llu: length %zu",
                     (unsigned long long)st->received, len);
            break;
        }
        memcpy(&h, p, sizeof(h));
        if (h.seq != st->received || h.len != len ||
            h.sum != checksum(p + sizeof(h), len - sizeof(h))) {
            snprintf(st->error, sizeof(st->error),
                     "record %llu: got seq %llu, length %zu (header says %u), checksum %s",
                     (unsigned long long)st->received, (unsigned long long)h.seq, len, h.len,
                     h.sum == checksum(p + sizeof(h), len - sizeof(h)) ? "ok" : "wrong");
            break;
        }
        st->received++;
        ring_release(st->r);
    }
    return NULL;
}

/* A producer that waits on a full ring. */
typedef struct waiter {
    ring *r;
    uint64_t seq;
    _Atomic int done;
} waiter;

static void *wait_and_push(void *arg)
{
    waiter *w = arg;
    void *p = ring_reserve(w->r, 1000, 1);
    if (p != NULL) {
        fill(p, 1000, w->seq);
        ring_commit(w->r);
        ring_flush(w->r);
    }
    atomic_store(&w->done, p != NULL ? 1 : -1);
    return NULL;
}

/* A producer waiting on a full ring resumes when a quarter of the ring is
 * free, not when its one record fits (ring.h): the consumer here lets it
 * know of every record it releases, and it stays asleep through 15 of
 * 1008 bytes each (under 16 KiB of 64), several of its naps long. */
static void test_waiting_producer(void **state)
{
    waiter w = {.r = ring_new(RING_BYTES)};
    pthread_t t;
    uint64_t n = 0;
    void *p;

    assert_non_null(w.r);
    while ((p = ring_reserve(w.r, 1000, 0)) != NULL) {
        fill(p, 1000, n++);
        ring_commit(w.r);
    }
    ring_flush(w.r);
    w.seq = n;
    assert_int_equal(pthread_create(&t, NULL, wait_and_push, &w), 0);
    /* The producer must be asleep before anything is released: one that
     * comes later finds room for its record and never waits. */
    struct timespec tick = {0, 100 * 1000};
    while (!atomic_load(&w.r->producer_waiting))
        nanosleep(&tick, NULL);
    uint64_t i = 0;
    for (; i < 15; i++) {
        pop(w.r, 1000, i);
        ring_publish_head(w.r);
    }
    struct timespec nap = {0, 30 * 1000 * 1000};
    nanosleep(&nap, NULL);
    int done = atomic_load(&w.done); /* read once: cmocka's macros evaluate twice */
    assert_int_equal(done, 0);
    for (; i < 17; i++) {
        pop(w.r, 1000, i);
        ring_publish_head(w.r);
    }
    pthread_join(t, NULL);
    done = atomic_load(&w.done);
    assert_int_equal(done, 1);
    for (; i <= n; i++)
        pop(w.r, 1000, i); /* the waiter's record last, in order */
    assert_empty(w.r);
    ring_free(w.r);
}

static void test_two_threads(void **state)
{
    stress st = {.r = ring_new(RING_BYTES)};
    pthread_t prod, cons;

    assert_non_null(st.r);
    assert_int_equal(pthread_create(&cons, NULL, consumer, &st), 0);
    assert_int_equal(pthread_create(&prod, NULL, producer, &st), 0);
    pthread_join(prod, NULL);
    pthread_join(cons, NULL);
    if (st.error[0])
        fail_msg("%s", st.error);
    assert_int_equal(st.received, STRESS_RECORDS);
    ring_free(st.r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_order_and_lengths),
        cmocka_unit_test(test_peek_until_release),
        cmocka_unit_test(test_uncommitted_is_invisible),
        cmocka_unit_test(test_wrap_around),
        cmocka_unit_test(test_max_record),
        cmocka_unit_test(test_full_ring),
        cmocka_unit_test(test_close_drains),
        cmocka_unit_test(test_waiting_producer),
        cmocka_unit_test(test_two_threads),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
