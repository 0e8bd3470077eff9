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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_alert_accepted),
        cmocka_unit_test(test_alert_with_blanks_refused),
        cmocka_unit_test(test_alert_with_raw_nul_or_break_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
