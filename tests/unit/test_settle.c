/* test_settle.c -- the writer's set of entities to settle (redis/settle.c):
 * the order of the calls (earliest due time, then key), several entities
 * and several due times in one call, the answers, the earliest due time it keeps between
 * watermark steps, and the hints it hands over for a journal. No Redis:
 * the set builds calls and reads answers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "redis/settle.h"
#include "rules/event.h"

/* The calls one settle_due() made, decoded. */
typedef struct calls {
    int n;
    char text[8][512]; /* the keys K of each call, then upto_us, per */
    event_view v[8];
    void *buf[8];
} calls;

static void take(void *ctx, void *buf, size_t len)
{
    calls *c = ctx;
    event_view *v = &c->v[c->n];
    size_t off = 0;

    assert_true(c->n < 8);
    assert_int_equal(event_decode(buf, len, v), 0);
    c->buf[c->n] = buf;
    /* K of every entity (argv[3 + 4i]), then the named arguments but ev */
    int nkeys = atoi(v->argv[2]);
    for (int i = 3; i < 3 + nkeys; i += 4)
        off += (size_t)snprintf(c->text[c->n] + off, sizeof(c->text[0]) - off, "%.*s ",
                                (int)v->lens[i], v->argv[i]);
    for (int i = 3 + nkeys; i + 1 < v->argc; i += 2)
        if (strncmp(v->argv[i], "ev", v->lens[i]) != 0)
            off +=
                (size_t)snprintf(c->text[c->n] + off, sizeof(c->text[0]) - off, "%.*s=%.*s ",
                                 (int)v->lens[i], v->argv[i], (int)v->lens[i + 1], v->argv[i + 1]);
    c->n++;
}

static void calls_free(calls *c)
{
    for (int i = 0; i < c->n; i++)
        free(c->buf[i]);
    memset(c, 0, sizeof(*c));
}

/* The hint of a fact: FCALL lh_settle 4 <K> host risk alerts upto_us <due>. */
static void note(settle_set *s, const char *k, const char *due)
{
    const char *argv[9] = {"FCALL", "lh_settle", "4", k, "h", "risk", "alerts", "upto_us", due};
    size_t lens[9];

    for (int i = 0; i < 9; i++)
        lens[i] = strlen(argv[i]);
    assert_int_equal(settle_note(s, 9, argv, lens), 0);
}

static void answered(settle_set *s, calls *c, int i, uint64_t next)
{
    assert_int_equal(settle_answered(s, c->v[i].argc, c->v[i].argv, c->v[i].lens, next), 0);
}

static void test_order_and_groups(void **state)
{
    settle_set *s = settle_new("t");
    calls c = {0};

    (void)state;
    note(s, "k:c", "200");
    note(s, "k:a", "200");
    note(s, "k:b", "100");
    note(s, "k:d", "200");
    note(s, "k:e", "300");
    /* nothing due before the earliest time */
    assert_int_equal(settle_due(s, 99, 2, take, &c), 0);
    assert_int_equal(c.n, 0);
    /* the earliest time alone in its call (no `per`): the next time has
     * more entities than fit beside it, so it settles up to just before */
    assert_int_equal(settle_due(s, 250, 2, take, &c), 1);
    assert_string_equal(c.text[0], "k:b upto_us=199 ");
    /* asked: not asked again before its answer; the next time's
     * entities, more than a call takes, in key order, two a call, each up
     * to that time */
    calls d = {0};
    assert_int_equal(settle_due(s, 250, 2, take, &d), 2);
    assert_string_equal(d.text[0], "k:a k:c upto_us=200 per=4 ");
    assert_string_equal(d.text[1], "k:d upto_us=200 ");
    assert_int_equal(settle_due(s, 250, 2, take, &d), 0);
    answered(s, &c, 0, 0);
    calls_free(&c);
    /* a call of several answers nothing itself: its hints set the next
     * time of those still pending (k:c at 300, k:a nothing) */
    answered(s, &d, 0, 0);
    note(s, "k:c", "300");
    answered(s, &d, 1, 0);
    calls_free(&d);
    assert_int_equal(settle_pending(s), 2);
    assert_int_equal(settle_due(s, 250, 2, take, &c), 0);
    assert_int_equal(settle_due(s, SETTLE_ALL, 1, take, &c), 2);
    assert_string_equal(c.text[0], "k:c upto_us=300 ");
    assert_string_equal(c.text[1], "k:e upto_us=300 ");
    calls_free(&c);
    settle_free(s);
}

/* A time the set keeps between steps follows the answers: an answer
 * later than the entity's hint (its window settled by another call) is
 * not missed, an earlier hint is taken at once. */
static void test_kept_time(void **state)
{
    settle_set *s = settle_new("t");
    calls c = {0};
    const char *argv[11] = {"FCALL",  "lh_settle", "4",  "k:a", "h", "risk",
                            "alerts", "upto_us",   "50", "ev",  "x"};
    size_t lens[11];

    (void)state;
    for (int i = 0; i < 11; i++)
        lens[i] = strlen(argv[i]);
    note(s, "k:a", "100");
    note(s, "k:b", "200");
    assert_int_equal(settle_due(s, 60, 4, take, &c), 0);
    /* an answer for an entity not asked (a resent call's): its time rises */
    assert_int_equal(settle_answered(s, 11, argv, lens, 150), 0);
    assert_int_equal(settle_due(s, 120, 4, take, &c), 0);
    /* up to the watermark: nothing else is due before it */
    assert_int_equal(settle_due(s, 160, 4, take, &c), 1);
    assert_string_equal(c.text[0], "k:a upto_us=160 ");
    calls_free(&c);
    /* a hint earlier than every kept time */
    note(s, "k:c", "10");
    assert_int_equal(settle_due(s, 20, 4, take, &c), 1);
    assert_string_equal(c.text[0], "k:c upto_us=20 ");
    calls_free(&c);
    settle_free(s);
}

/* The hints of the entities pending and not asked, by due time and key,
 * in the form a fact answers (no call id): a second set that notes them
 * asks the same calls; an entity asked for has none (its call carries it). */
static void test_hints(void **state)
{
    settle_set *s = settle_new("t"), *s2 = settle_new("u");
    calls c = {0}, d = {0};

    (void)state;
    note(s, "k:b", "200");
    note(s, "k:a", "300");
    note(s, "k:c", "100");
    note(s, "k:d", "200");
    assert_int_equal(settle_due(s, 100, 4, take, &c), 1); /* k:c is asked */
    assert_string_equal(c.text[0], "k:c upto_us=100 ");
    assert_false(settle_is_plain_hint(c.v[0].argc, c.v[0].argv, c.v[0].lens));
    calls_free(&c);
    assert_int_equal(settle_hints(s, take, &c), 3);
    assert_string_equal(c.text[0], "k:b upto_us=200 ");
    assert_string_equal(c.text[1], "k:d upto_us=200 ");
    assert_string_equal(c.text[2], "k:a upto_us=300 ");
    for (int i = 0; i < c.n; i++) {
        assert_true(settle_is_plain_hint(c.v[i].argc, c.v[i].argv, c.v[i].lens));
        assert_int_equal(c.v[i].argc, 9); /* FCALL lh_settle 4 <4 keys> upto_us due */
        assert_int_equal(settle_note(s2, c.v[i].argc, c.v[i].argv, c.v[i].lens), 0);
    }
    calls_free(&c);
    assert_int_equal(settle_pending(s2), 3);
    assert_int_equal(settle_due(s2, SETTLE_ALL, 4, take, &d), 1);
    assert_string_equal(d.text[0], "k:a k:b k:d upto_us=9007199254740991 per=4 ");
    calls_free(&d);
    settle_free(s);
    settle_free(s2);
}

/* One call takes the entities of several due times, whole times only and
 * per_call at most, each up to just before the first time it leaves out:
 * an answer can then name no window earlier than what the next call
 * takes. A time with more entities than a call takes goes out as before,
 * and so does one whose entities' keys differ in number. */
static void test_due_times_in_one_call(void **state)
{
    settle_set *s = settle_new("t");
    calls c = {0};

    (void)state;
    note(s, "k:e", "150");
    note(s, "k:a", "100");
    note(s, "k:c", "150");
    note(s, "k:f", "300");
    note(s, "k:b", "100");
    note(s, "k:d", "150");
    /* 100 (two) and 150 (three) do not fit in four: 100 alone */
    assert_int_equal(settle_due(s, SETTLE_ALL, 4, take, &c), 1);
    assert_string_equal(c.text[0], "k:a k:b upto_us=149 per=4 ");
    /* the answer: k:a has a window due at 150, k:b none */
    answered(s, &c, 0, 0);
    note(s, "k:a", "150");
    calls_free(&c);
    /* 150 now has four: they fit, up to just before 300; in key order */
    assert_int_equal(settle_due(s, SETTLE_ALL, 4, take, &c), 1);
    assert_string_equal(c.text[0], "k:a k:c k:d k:e upto_us=299 per=4 ");
    answered(s, &c, 0, 0);
    calls_free(&c);
    /* the watermark bounds the call; then the rest, without a bound */
    assert_int_equal(settle_due(s, 250, 4, take, &c), 0);
    assert_int_equal(settle_due(s, 310, 4, take, &c), 1);
    assert_string_equal(c.text[0], "k:f upto_us=310 ");
    answered(s, &c, 0, 0);
    calls_free(&c);
    assert_int_equal(settle_pending(s), 0);
    settle_free(s);

    /* keys of different numbers (a hint of one key beside those of four)
     * never share a call: the earliest time goes out as before */
    s = settle_new("t");
    const char *one[6] = {"FCALL", "lh_settle", "1", "k:b", "upto_us", "100"};
    size_t lens[6];
    for (int i = 0; i < 6; i++)
        lens[i] = strlen(one[i]);
    note(s, "k:a", "100");
    assert_int_equal(settle_note(s, 6, one, lens), 0);
    note(s, "k:c", "200");
    assert_int_equal(settle_due(s, SETTLE_ALL, 4, take, &c), 2);
    assert_string_equal(c.text[0], "k:a upto_us=100 ");
    assert_string_equal(c.text[1], "k:b upto_us=100 ");
    calls_free(&c);
    settle_free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_order_and_groups),
        cmocka_unit_test(test_kept_time),
        cmocka_unit_test(test_hints),
        cmocka_unit_test(test_due_times_in_one_call),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
