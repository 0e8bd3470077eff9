/* test_redis_reply.c -- the checks of FCALL replies (redis/reply.c) on
 * replies a hostile Redis could send, built with hiredis's own reader. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <hiredis/hiredis.h>

#include "redis/reply.h"

/* Parses one RESP reply. */
static redisReply *parse(const char *resp)
{
    redisReader *r = redisReaderCreate();
    void *reply = NULL;

    assert_int_equal(redisReaderFeed(r, resp, strlen(resp)), REDIS_OK);
    assert_int_equal(redisReaderGetReply(r, &reply), REDIS_OK);
    assert_non_null(reply);
    redisReaderFree(r);
    return reply;
}

static int alerts_of(const char *alert_bulk)
{
    char resp[512], err[256];
    snprintf(resp, sizeof resp, "*2\r\n:1\r\n*1\r\n%s", alert_bulk);
    redisReply *r = parse(resp);
    int n = rreply_alerts(r, NULL, NULL, NULL, err, sizeof err);
    freeReplyObject(r);
    return n;
}

static void test_alert_accepted(void **state)
{
    (void)state;
    assert_int_equal(alerts_of("$7\r\n{\"a\":1}\r\n"), 1);
}

/* Found by fuzz_redis_reply: JSON allows blanks around the object, so a
 * line starting with a tab passed the check and reached the alert output
 * as a line that does not start with '{'. */
static void test_alert_with_blanks_refused(void **state)
{
    (void)state;
    assert_int_equal(alerts_of("$8\r\n\t{\"a\":1}\r\n"), -1);
    assert_int_equal(alerts_of("$8\r\n{\"a\":1} \r\n"), -1);
    assert_int_equal(alerts_of("$8\r\n {\"a\":1}\r\n"), -1);
}

static void test_alert_with_raw_nul_or_break_refused(void **state)
{
    (void)state;
    assert_int_equal(alerts_of("$9\r\n{\"a\":\"\n\"}\r\n"), -1);
    char resp[64] = "*2\r\n:1\r\n*1\r\n$9\r\n{\"a\":\"X\"}\r\n", err[256];
    *strchr(resp, 'X') = '\0';
    redisReader *rd = redisReaderCreate();
    void *reply = NULL;
    redisReaderFeed(rd, resp, 32);
    assert_int_equal(redisReaderGetReply(rd, &reply), REDIS_OK);
    assert_int_equal(rreply_alerts(reply, NULL, NULL, NULL, err, sizeof err), -1);
    freeReplyObject(reply);
    redisReaderFree(rd);
}

static void count_call(void *ctx, int argc, const char *const *argv, const size_t *lens)
{
    (void)argv;
    (void)lens;
    *(int *)ctx += argc;
}

/* A next step of an alert in a cluster: FCALL lh_risk|lh_emit|lh_host 1
 * key ..., strings only; anything else is refused, so a reply cannot make
 * the writer send another command. */
static void test_next_steps(void **state)
{
    const char *ok = "*2\r\n:0\r\n*2\r\n$7\r\n{\"a\":1}\r\n"
                     "*5\r\n$5\r\nFCALL\r\n$7\r\nlh_emit\r\n$1\r\n1\r\n$9\r\nlh:alerts\r\n"
                     "$2\r\nid\r\n";
    const char *bad[] = {
        /* another command */
        "*2\r\n:0\r\n*1\r\n*4\r\n$8\r\nFLUSHALL\r\n$7\r\nlh_emit\r\n$1\r\n1\r\n$1\r\nk\r\n",
        /* another function */
        "*2\r\n:0\r\n*1\r\n*4\r\n$5\r\nFCALL\r\n$7\r\nlh_evil\r\n$1\r\n1\r\n$1\r\nk\r\n",
        /* two keys */
        "*2\r\n:0\r\n*1\r\n*4\r\n$5\r\nFCALL\r\n$7\r\nlh_risk\r\n$1\r\n2\r\n$1\r\nk\r\n",
        /* too short, a number inside */
        "*2\r\n:0\r\n*1\r\n*3\r\n$5\r\nFCALL\r\n$7\r\nlh_risk\r\n$1\r\n1\r\n",
        "*2\r\n:0\r\n*1\r\n*4\r\n$5\r\nFCALL\r\n$7\r\nlh_risk\r\n$1\r\n1\r\n:5\r\n",
    };
    char err[256];
    int args = 0;

    (void)state;
    redisReply *r = parse(ok);
    assert_int_equal(rreply_alerts(r, NULL, NULL, NULL, err, sizeof err), 1); /* one line */
    rreply_calls(r, count_call, &args);
    assert_int_equal(args, 5);
    freeReplyObject(r);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        r = parse(bad[i]);
        assert_int_equal(rreply_alerts(r, NULL, NULL, NULL, err, sizeof err), -1);
        freeReplyObject(r);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_alert_accepted),
        cmocka_unit_test(test_alert_with_blanks_refused),
        cmocka_unit_test(test_alert_with_raw_nul_or_break_refused),
        cmocka_unit_test(test_next_steps),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
