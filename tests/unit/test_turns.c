/* test_turns.c -- request starts inside long connections (analyze/turns.c).
 *
 * Client payloads go through turns_packet() in time order, as the worker
 * feeds them. Checked: HTTP/2's own small frames (PING, WINDOW_UPDATE:
 * 35-40 byte records) make no request; a request split over records a
 * few ms apart is one start, at its first payload; a request after
 * 100 ms of client silence is a new one, even while the server streams; a
 * turn that reaches 100 bytes only in its later payloads starts at its
 * first; only marked flows keep a state; a record's starts are forgotten
 * once it is written and the ring keeps the latest TURNS_MAX.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "analyze/flow.h"
#include "analyze/turns.h"

#define MS UINT64_C(1000)
#define T0 (UINT64_C(1772442000) * UINT64_C(1000000))

static void client(flow *f, uint64_t ts, uint32_t len)
{
    packet p;
    memset(&p, 0, sizeof(p));
    p.ts_us = ts;
    p.payload_len = len;
    assert_true(turns_wants(f, &p, 0));
    assert_false(turns_wants(f, &p, 1)); /* the server's side is not read */
    turns_packet(f, &p);
}

static void test_requests(void **state)
{
    flow f;
    uint64_t s[8];
    packet p;
    (void)state;
    memset(&f, 0, sizeof(f));
    memset(&p, 0, sizeof(p));
    p.payload_len = 500;
    assert_false(turns_wants(&f, &p, 0)); /* not marked: no state */
    turns_start(&f);
    assert_non_null(flow_an(&f)->turns);

    client(&f, T0, 39);                  /* PING */
    client(&f, T0 + 20 * 1000 * MS, 35); /* WINDOW_UPDATE */
    assert_int_equal(turns_get(&f, s, 8), 0);
    client(&f, T0 + 30 * 1000 * MS, 80);            /* HEADERS */
    client(&f, T0 + 30 * 1000 * MS + 2 * MS, 900);  /* DATA, same request */
    client(&f, T0 + 30 * 1000 * MS + 60 * MS, 600); /* still within 100 ms */
    client(&f, T0 + 31 * 1000 * MS, 1200);          /* the next request */
    client(&f, T0 + 31 * 1000 * MS + 101 * MS, 40); /* a PING after 101 ms */
    client(&f, T0 + 31 * 1000 * MS + 150 * MS, 70); /* ... then 70 more: 110 */
    assert_int_equal(turns_get(&f, s, 8), 3);
    assert_true(s[0] == T0 + 30 * 1000 * MS);
    assert_true(s[1] == T0 + 31 * 1000 * MS);
    assert_true(s[2] == T0 + 31 * 1000 * MS + 101 * MS);
    assert_int_equal(turns_get(&f, s, 2), 2); /* the latest two */
    assert_true(s[0] == T0 + 31 * 1000 * MS);

    turns_record_done(&f);
    assert_int_equal(turns_get(&f, s, 8), 0);
    client(&f, T0 + 40 * 1000 * MS, 300);
    assert_int_equal(turns_get(&f, s, 8), 1);
    turns_release(&f);
    assert_null(flow_an(&f)->turns);
    turns_release(&f);
    flow_release(&f);
}

static void test_ring(void **state)
{
    flow f;
    static uint64_t s[TURNS_MAX + 10];
    (void)state;
    memset(&f, 0, sizeof(f));
    turns_start(&f);
    for (int i = 0; i < TURNS_MAX + 10; i++)
        client(&f, T0 + (uint64_t)i * 500 * MS, 400);
    assert_int_equal(turns_get(&f, s, TURNS_MAX + 10), TURNS_MAX);
    assert_true(s[0] == T0 + 10 * 500 * MS);
    assert_true(s[TURNS_MAX - 1] == T0 + (uint64_t)(TURNS_MAX + 9) * 500 * MS);
    turns_release(&f);
    flow_release(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_requests),
        cmocka_unit_test(test_ring),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
