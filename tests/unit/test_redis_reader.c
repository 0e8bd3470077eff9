/* test_redis_reader.c -- the reader's pipeline against a real
 * redis-server.
 *
 * A pipeline returns each queued command's reply in queue order: a
 * thousand commands of both kinds, with error replies among them, come
 * back each in its place; a command of its own is refused while replies
 * wait, and a reply asked for with nothing queued is an error that says
 * so. The same over a Redis Cluster is in test_redis_cluster.c.
 */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "redis/reader.h"
#include "redis_test_pipeline.h"
#include "redis_test_server.h"

#define PIPELINE 1000

/* A server of the test's own and a reader on it. */
static rreader *open_reader(tserver *t, rurl *u)
{
    char err[512];
    rreader *c;

    assert_int_equal(tserver_start(t, NULL), 0);
    rurl_unix(u, t->sock, err, sizeof(err));
    c = rreader_open(u, 2000, err, sizeof(err));
    if (c == NULL)
        fail_msg("%s", err);
    return c;
}

static void test_pipeline_order(void **state)
{
    tserver t;
    rurl u;
    rreader *c = open_reader(&t, &u);

    (void)state;
    redisReply *r = rreader_command(c, "SET {t}text abc");
    freeReplyObject(r);
    pipeline_fill(c, PIPELINE, 10);
    /* while replies wait, a command of its own is refused */
    assert_null(rreader_command(c, "PING"));
    assert_non_null(strstr(rreader_error(c), "queued"));
    pipeline_check(c, PIPELINE, 10);
    /* drained: commands run again */
    r = rreader_command(c, "GET {p%d}k", PIPELINE - 1);
    assert_non_null(r);
    assert_int_equal(r->type, REDIS_REPLY_STRING);
    freeReplyObject(r);
    rreader_free(c);
    rurl_free(&u);
    tserver_free(&t);
}

/* A server gone with replies queued: each of them is NULL with a reason,
 * and freeing the reader with replies still queued leaks nothing (the
 * sanitizer build checks). */
static void test_pipeline_server_gone(void **state)
{
    tserver t;
    rurl u;
    rreader *c = open_reader(&t, &u);

    (void)state;
    for (int i = 0; i < 3; i++)
        assert_int_equal(rreader_append(c, "GET k:%d", i), 0);
    tserver_kill(&t);
    for (int i = 0; i < 3; i++) {
        assert_null(rreader_next(c));
        assert_non_null(strstr(rreader_error(c), "Redis"));
    }
    assert_int_equal(rreader_append(c, "GET k"), 0);
    rreader_free(c);
    rurl_free(&u);
    tserver_free(&t);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN); /* as the sensor does: a dead server is an error, not a death */
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pipeline_order),
        cmocka_unit_test(test_pipeline_server_gone),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
