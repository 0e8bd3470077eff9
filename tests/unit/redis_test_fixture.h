/* redis_test_fixture.h -- for tests of the Functions library: a private
 * redis-server (redis_test_server.h), a connection that has loaded the
 * library, and an event queue whose events the test sends by hand. */
#ifndef LOOPHOLE_REDIS_TEST_FIXTURE_H
#define LOOPHOLE_REDIS_TEST_FIXTURE_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

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
