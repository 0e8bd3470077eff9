/* test_redis_peers.c -- the peers' watermarks (redis/peers.h): the list,
 * which values count, how far settling may go, silence and return. The
 * values are the ones the writer publishes (peers_value); the system tests
 * (redis_cluster.sh, redis_peers.sh) run the same logic against real
 * servers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "redis/peers.h"

#define SEC 1000000ull

static char reported[8][300];
static int nreported;

static void report(void *ctx, const char *msg)
{
    (void)ctx;
    if (nreported < 8)
        snprintf(reported[nreported++], sizeof(reported[0]), "%s", msg);
}

static void observe(peers *p, int i, int done, uint64_t mark, uint64_t wall_ms, uint64_t now)
{
    char v[96];
    size_t n = peers_value(v, sizeof(v), done, mark, wall_ms);

    assert_true(n > 0);
    peers_observe(p, i, v, n, now);
}

static void test_list(void **state)
{
    peers *p;
    char err[256];
    size_t len;

    (void)state;
    /* blank or only this sensor: no peers, today's single-sensor settling */
    assert_int_equal(peers_parse(NULL, "a", 60 * SEC, 0, &p, err, sizeof(err)), 0);
    assert_null(p);
    assert_int_equal(peers_parse("  ", "a", 60 * SEC, 0, &p, err, sizeof(err)), 0);
    assert_null(p);
    assert_int_equal(peers_parse(" a ", "a", 60 * SEC, 0, &p, err, sizeof(err)), 0);
    assert_null(p);
    assert_int_equal(peers_parse("port0, port1 ,port2", "port1", 60 * SEC, 0, &p, err, sizeof(err)),
                     0);
    assert_non_null(p);
    assert_int_equal(peers_count(p), 2);
    assert_string_equal(peers_name(p, 0, &len), "port0");
    assert_int_equal(len, 5);
    assert_string_equal(peers_name(p, 1, &len), "port2");
    peers_free(p);
    assert_int_equal(peers_parse("a,,b", "x", 60 * SEC, 0, &p, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "empty name"));
    assert_int_equal(peers_parse("a,b,", "x", 60 * SEC, 0, &p, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "empty name"));
    assert_int_equal(peers_parse("a,b,a", "x", 60 * SEC, 0, &p, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "'a' is named twice"));
    assert_int_equal(peers_parse("x,b,x", "x", 60 * SEC, 0, &p, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "'x' is named twice"));
}

/* A value counts once it has changed while this sensor watched: an earlier
 * run's "done" must not let settling run ahead of a peer not started. */
static void test_stale_done_holds(void **state)
{
    peers *p;
    char err[256];

    (void)state;
    assert_int_equal(peers_parse("b,c", "a", 60 * SEC, 0, &p, err, sizeof(err)), 0);
    assert_int_equal(peers_bound(p), 0); /* never read: both hold at 0 */
    assert_int_equal(peers_waiting(p), 2);
    observe(p, 0, 1, 900 * SEC, 1000, 1 * SEC); /* b: done, left by an earlier run */
    peers_observe(p, 1, NULL, 0, 1 * SEC);      /* c: nothing yet */
    peers_tick(p, 1 * SEC, report, NULL);
    assert_int_equal(peers_bound(p), 0);
    assert_int_equal(peers_waiting(p), 2);
    observe(p, 0, 1, 900 * SEC, 1000, 2 * SEC); /* the same value: still stale */
    assert_int_equal(peers_waiting(p), 2);
    /* b starts again, c starts */
    observe(p, 0, 0, 100 * SEC, 5000, 3 * SEC);
    observe(p, 1, 0, 250 * SEC, 5000, 3 * SEC);
    assert_int_equal(peers_bound(p), 100 * SEC);
    observe(p, 0, 0, 400 * SEC, 6000, 4 * SEC);
    assert_int_equal(peers_bound(p), 250 * SEC); /* the lowest of them */
    observe(p, 1, 1, 300 * SEC, 7000, 5 * SEC);  /* c done: holds no more */
    assert_int_equal(peers_bound(p), 400 * SEC);
    assert_int_equal(peers_waiting(p), 1);
    observe(p, 0, 1, 500 * SEC, 8000, 6 * SEC);
    assert_int_equal(peers_bound(p), UINT64_MAX);
    assert_int_equal(peers_waiting(p), 0);
    /* done peers never lapse, however long they stay so */
    nreported = 0;
    peers_tick(p, 1000 * SEC, report, NULL);
    assert_int_equal(nreported, 0);
    assert_int_equal(peers_lapses(p), 0);
    peers_free(p);
}

static void test_silence(void **state)
{
    peers *p;
    char err[256];

    (void)state;
    nreported = 0;
    assert_int_equal(peers_parse("b,ghost", "a", 60 * SEC, 10 * SEC, &p, err, sizeof(err)), 0);
    observe(p, 0, 0, 0, 1000, 11 * SEC);
    observe(p, 0, 0, 100 * SEC, 2000, 12 * SEC); /* b runs */
    peers_observe(p, 1, NULL, 0, 11 * SEC);      /* ghost never appears */
    peers_tick(p, 69 * SEC, report, NULL);
    assert_int_equal(peers_lapses(p), 0);
    assert_int_equal(peers_bound(p), 0);   /* ghost holds at 0 for now */
    peers_tick(p, 71 * SEC, report, NULL); /* 61 s after the start */
    assert_int_equal(peers_lapses(p), 1);
    assert_int_equal(nreported, 1);
    assert_non_null(strstr(reported[0], "'ghost'"));
    assert_int_equal(peers_bound(p), 100 * SEC);
    assert_int_equal(peers_waiting(p), 1);
    /* b falls silent: 60 s after its last change it lapses too */
    peers_tick(p, 72 * SEC, report, NULL);
    assert_int_equal(peers_lapses(p), 1);
    peers_tick(p, 73 * SEC, report, NULL);
    assert_int_equal(peers_lapses(p), 2);
    assert_non_null(strstr(reported[1], "'b' silent"));
    assert_int_equal(peers_bound(p), UINT64_MAX);
    assert_int_equal(peers_waiting(p), 0);
    peers_tick(p, 500 * SEC, report, NULL); /* reported and counted once */
    assert_int_equal(peers_lapses(p), 2);
    assert_int_equal(nreported, 2);
    /* b publishes again: it holds settling back again */
    observe(p, 0, 0, 120 * SEC, 9000, 501 * SEC);
    peers_tick(p, 501 * SEC, report, NULL);
    assert_int_equal(nreported, 3);
    assert_non_null(strstr(reported[2], "'b' is back"));
    assert_int_equal(peers_bound(p), 120 * SEC);
    /* a value that is not a watermark changes nothing but the silence */
    static const char *const bad[] = {"garbage",   "run -1 5", "run 18446744073709551615 1",
                                      "run 7 8 9", "done 7",   "run 7  8",
                                      "Run 7 8",   "run 7 8 "};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        peers_observe(p, 0, bad[i], strlen(bad[i]), (502 + i) * SEC);
        assert_int_equal(peers_bound(p), 120 * SEC);
    }
    peers_tick(p, 520 * SEC, report, NULL); /* they changed: b is not silent */
    assert_int_equal(peers_lapses(p), 2);
    peers_free(p);
}

static void test_value(void **state)
{
    char v[64];

    (void)state;
    assert_int_equal(peers_value(v, sizeof(v), 0, 1772442000000000ull, 1765055000123ull),
                     strlen("run 1772442000000000 1765055000123"));
    assert_string_equal(v, "run 1772442000000000 1765055000123");
    peers_value(v, sizeof(v), 1, 5, 6);
    assert_string_equal(v, "done 5 6");
    assert_int_equal(peers_value(v, 8, 1, 1772442000000000ull, 1), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_list),
        cmocka_unit_test(test_stale_done_holds),
        cmocka_unit_test(test_silence),
        cmocka_unit_test(test_value),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
