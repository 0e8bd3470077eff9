/* test_event.c -- the names an event carries (rules/event.c), read back
 * from its queue as the writer reads it (event_decode).
 *
 * A call names the entity's keys under the prefix, in a cluster its
 * hash-tagged key alone, and an event id of sensor, run, queue and a
 * sequence that counts the queue's events; a knock names its source's
 * and network's keys. A name longer than the event's text buffer is cut
 * to fit, and what follows it is empty, not written past the buffer (the
 * sanitizer build checks).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "rules/event.h"

/* The next queued event, decoded; the test fails when there is none. */
static void next_event(event_queue *q, event_view *v)
{
    size_t n;
    const void *buf = event_queue_peek(q, &n);

    assert_non_null(buf);
    assert_int_equal(event_decode(buf, n, v), 0);
}

static void assert_arg(const event_view *v, int i, const char *want)
{
    char got[256];

    assert_true(i < v->argc);
    snprintf(got, sizeof(got), "%.*s", (int)v->lens[i], v->argv[i]);
    assert_string_equal(got, want);
}

static void observe(event_queue *q, const char *entity)
{
    event_observation o = {.entity = entity,
                           .kind = "fanout",
                           .value = "10.0.0.1",
                           .value_len = 8,
                           .ts_us = 1772442000000000u,
                           .window_us = 3600000000u};
    assert_int_equal(event_observe(q, &o), 0);
}

static void test_names(void **state)
{
    event_context ctx = {.prefix = "lh:", .sensor = "s1", .run_id = 1234};
    event_context cl = {.prefix = "lh:", .sensor = "s1", .run_id = 1234, .cluster = 1};
    event_queue *q = event_queue_new(&ctx, 3, 1 << 16, 0);
    event_queue *c = event_queue_new(&cl, 0, 1 << 16, 0);
    event_view v;

    (void)state;
    assert_non_null(q);
    assert_non_null(c);
    observe(q, "gpu:104.171.200.17");
    observe(q, "gpu:104.171.200.17");
    event_queue_flush(q);
    for (int seq = 1; seq <= 2; seq++) {
        char id[64];
        next_event(q, &v);
        assert_arg(&v, 0, "FCALL");
        assert_arg(&v, 1, "lh_observe");
        assert_arg(&v, 2, "4");
        assert_arg(&v, 3, "lh:{e:gpu:104.171.200.17}");
        assert_arg(&v, 4, "lh:host:gpu:104.171.200.17");
        assert_arg(&v, 5, "lh:risk");
        assert_arg(&v, 6, "lh:alerts");
        assert_arg(&v, 7, "ev");
        snprintf(id, sizeof(id), "s1/1234/3/%d", seq);
        assert_arg(&v, 8, id);
        event_queue_release(q);
    }
    observe(c, "gpu:104.171.200.17");
    event_queue_flush(c);
    next_event(c, &v);
    assert_arg(&v, 2, "1");
    assert_arg(&v, 3, "lh:{e:gpu:104.171.200.17}");
    assert_arg(&v, 4, "ev");
    assert_arg(&v, 5, "s1/1234/0/1");
    event_queue_release(c);

    event_knock k = {"203.0.113.9", "203.0.113.0/24",  "104.171.200.17",
                     "probe",       1772442000000000u, "f1"};
    assert_int_equal(event_knock_add(q, &k), 0);
    event_queue_flush(q);
    next_event(q, &v);
    assert_arg(&v, 3, "lh:{k:203.0.113.0/24}:src:203.0.113.9");
    assert_arg(&v, 4, "lh:{k:203.0.113.0/24}:net");
    event_queue_release(q);
    event_queue_free(q);
    event_queue_free(c);
}

/* An entity name of 5000 bytes: the first key takes what the text buffer
 * holds (4095 bytes and its NUL), the keys after it are empty. */
static void test_name_cut_to_fit(void **state)
{
    event_context ctx = {.prefix = "lh:", .sensor = "s1", .run_id = 1};
    event_queue *q = event_queue_new(&ctx, 0, 1 << 16, 0);
    char entity[5001];
    event_view v;

    (void)state;
    assert_non_null(q);
    memset(entity, 'a', sizeof(entity) - 1);
    entity[sizeof(entity) - 1] = '\0';
    observe(q, entity);
    event_queue_flush(q);
    next_event(q, &v);
    assert_int_equal(v.lens[3], 4095);
    assert_memory_equal(v.argv[3], "lh:{e:aaaa", 10);
    assert_int_equal(v.lens[4], 0); /* the host key: no room left */
    assert_int_equal(v.lens[5], 0);
    assert_int_equal(v.lens[6], 0);
    event_queue_release(q);
    event_queue_free(q);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_name_cut_to_fit),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
