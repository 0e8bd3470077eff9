/* redis_test_fixture.h -- for tests of the Functions library: a private
 * redis-server (redis_test_server.h), a connection that has loaded the
 * library, and an event queue whose events the test sends by hand
 * (fixture_send). Include it after cmocka.h. */
#ifndef LOOPHOLE_REDIS_TEST_FIXTURE_H
#define LOOPHOLE_REDIS_TEST_FIXTURE_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "redis/conn.h"
#include "rules/event.h"
#include "redis_test_server.h"

typedef struct fixture {
    tserver srv;
    redisContext *c;
    event_context ectx;
    event_queue *q;
} fixture;

/* cmocka group setup: stream_maxlen caps lh:alerts (0 = no cap). */
static inline int fixture_open(void **state, uint64_t stream_maxlen)
{
    fixture *f = calloc(1, sizeof(*f));
    rurl u;
    char err[512];

    if (f == NULL || tserver_start(&f->srv, NULL) != 0)
        return -1;
    rurl_unix(&u, f->srv.sock, err, sizeof(err));
    if (rconn_open(&u, 2000, &f->c, err, sizeof(err)) != 0) {
        fprintf(stderr, "%s\n", err);
        return -1;
    }
    rurl_free(&u);
    f->ectx = (event_context){
        .prefix = "lh:", .sensor = "t", .run_id = 1, .stream_maxlen = stream_maxlen};
    f->q = event_queue_new(&f->ectx, 0, 1 << 20, 1);
    *state = f;
    return 0;
}

/* Settles at once: when the list of reply r (a library call's {count,
 * {...}}) holds a settle hint (FCALL lh_settle ... upto_us <due>), sends
 * it with no bound, as the sensor does at the end of a replay, and puts
 * the settle's answer (the lines) in the hint's place. So a test sees
 * the lines a call leads to as if the watermark passed right after it. */
static inline void fixture_settle(fixture *f, redisReply *r)
{
    const char *argv[16];
    size_t lens[16];
    redisReply *list, *hint = NULL, *s, *tmp;

    if (r == NULL || r->type != REDIS_REPLY_ARRAY || r->elements != 2)
        return;
    list = r->element[1];
    for (size_t i = 0; i < list->elements; i++)
        if (list->element[i]->type == REDIS_REPLY_ARRAY && list->element[i]->elements > 2 &&
            strcmp(list->element[i]->element[1]->str, "lh_settle") == 0)
            hint = list->element[i];
    if (hint == NULL || hint->elements > 16)
        return;
    for (size_t i = 0; i < hint->elements; i++) {
        argv[i] = hint->element[i]->str;
        lens[i] = hint->element[i]->len;
    }
    argv[hint->elements - 1] = "9000000000000000";
    lens[hint->elements - 1] = 16;
    s = redisCommandArgv(f->c, (int)hint->elements, argv, lens);
    if (s == NULL || s->type != REDIS_REPLY_ARRAY || s->elements != 2) {
        fprintf(stderr, "lh_settle: %s\n",
                s && s->type == REDIS_REPLY_ERROR ? s->str : "bad reply");
        freeReplyObject(s);
        return;
    }
    tmp = r->element[1];
    r->element[1] = s->element[1];
    s->element[1] = tmp;
    freeReplyObject(s);
}

/* Decodes the one queued event into v, left queued (event_queue_release
 * drops it). */
static inline void fixture_peek(fixture *f, event_view *v)
{
    size_t len;
    const void *p;

    event_queue_flush(f->q);
    p = event_queue_peek(f->q, &len);
    assert_non_null(p);
    assert_int_equal(event_decode(p, len, v), 0);
}

/* Sends the one queued event (twice with resend: a resend after a broken
 * connection must answer as the first send did), fails the test on an
 * error reply or one that is not an array, settles at once
 * (fixture_settle) and returns the reply. */
static inline redisReply *fixture_send_again(fixture *f, int resend)
{
    event_view v;
    redisReply *r;

    fixture_peek(f, &v);
    r = redisCommandArgv(f->c, v.argc, v.argv, v.lens);
    if (resend) {
        freeReplyObject(r);
        r = redisCommandArgv(f->c, v.argc, v.argv, v.lens);
    }
    event_queue_release(f->q);
    assert_non_null(r);
    if (r->type == REDIS_REPLY_ERROR)
        fail_msg("Redis: %s", r->str);
    assert_int_equal(r->type, REDIS_REPLY_ARRAY);
    fixture_settle(f, r); /* as if the watermark passed right after it */
    return r;
}

/* Sends the one queued event once (fixture_send_again). */
static inline redisReply *fixture_send(fixture *f)
{
    return fixture_send_again(f, 0);
}

static inline int fixture_close(void **state)
{
    fixture *f = *state;
    redisFree(f->c);
    event_queue_free(f->q);
    tserver_free(&f->srv);
    free(f);
    return 0;
}

#endif
