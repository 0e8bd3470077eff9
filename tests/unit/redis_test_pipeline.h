/* redis_test_pipeline.h -- a pipeline of the reader (redis/reader.h)
 * filled and checked the same way on a single server and on a cluster.
 *
 * pipeline_fill() queues, for i < n, SET {p<i>}k <i> and GET {p<i>}k
 * (keys of many hash slots) and, for every `every`-th i, an INCR of the
 * text in {t}text (an error reply); pipeline_check() takes the replies
 * and checks each is the one of its command, in order, then that nothing
 * is left. The caller sets {t}text to a text first.
 */
#ifndef LOOPHOLE_TEST_REDIS_PIPELINE_H
#define LOOPHOLE_TEST_REDIS_PIPELINE_H

#include <stdio.h>
#include <string.h>

#include "redis/reader.h"

static inline void pipeline_fill(rreader *c, int n, int every)
{
    for (int i = 0; i < n; i++) {
        assert_int_equal(rreader_append(c, "SET {p%d}k %d", i, i), 0);
        assert_int_equal(rreader_append(c, "GET {p%d}k", i), 0);
        if (i % every == 0)
            assert_int_equal(rreader_append(c, "INCR {t}text"), 0);
    }
}

static inline void pipeline_take(rreader *c, int type, const char *str)
{
    redisReply *r = rreader_next(c);
    assert_non_null(r);
    assert_int_equal(r->type, type);
    if (str)
        assert_string_equal(r->str, str);
    freeReplyObject(r);
}

static inline void pipeline_check(rreader *c, int n, int every)
{
    for (int i = 0; i < n; i++) {
        char want[16];
        snprintf(want, sizeof(want), "%d", i);
        pipeline_take(c, REDIS_REPLY_STATUS, "OK");
        pipeline_take(c, REDIS_REPLY_STRING, want);
        if (i % every == 0)
            pipeline_take(c, REDIS_REPLY_ERROR, NULL);
    }
    assert_null(rreader_next(c));
    assert_non_null(strstr(rreader_error(c), "no queued command"));
}

#endif
