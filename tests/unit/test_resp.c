/* test_resp.c -- unit tests of the sensor's RESP formatting
 * (redis/resp.c): the same bytes as hiredis's redisFormatCommandArgv()
 * for arguments of every length class and any bytes, commands appended
 * one after another, and the buffer reused after bytes_free(). The
 * writer's use of it against a real server is test_redis_writer's.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <hiredis/hiredis.h>

#include "redis/resp.h"

/* Appends argv to b and checks the new bytes are hiredis's. */
static void same_as_hiredis(bytes_buf *b, int argc, const char **argv, const size_t *lens)
{
    char *want = NULL;
    size_t before = b->len;
    long long n = redisFormatCommandArgv(&want, argc, argv, lens);

    assert_true(n > 0);
    assert_int_equal(resp_append(b, argc, argv, lens), 0);
    assert_int_equal(b->len - before, (size_t)n);
    assert_memory_equal(b->p + before, want, (size_t)n);
    redisFreeCommand(want);
}

static void test_arguments(void **state)
{
    static char big[70000];
    const char *argv[8];
    size_t lens[8];
    bytes_buf b = {0};

    (void)state;
    for (size_t i = 0; i < sizeof(big); i++)
        big[i] = (char)(i * 131 + 7); /* every byte value, \r and \n among them */
    /* lengths around every change in the count of digits */
    const size_t sizes[] = {0, 1, 9, 10, 99, 100, 999, 1000, 9999, 10000, 65535, 69999};
    for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
        argv[0] = "FCALL", lens[0] = 5;
        argv[1] = big, lens[1] = sizes[s];
        argv[2] = "", lens[2] = 0;
        argv[3] = "a\r\nb\0c", lens[3] = 6;
        same_as_hiredis(&b, 4, argv, lens);
    }
    /* many arguments, so the count takes two digits */
    for (int i = 0; i < 8; i++)
        argv[i] = "x", lens[i] = 1;
    for (int argc = 1; argc <= 8; argc++)
        same_as_hiredis(&b, argc, argv, lens);
    bytes_free(&b);
    assert_null(b.p);
    assert_int_equal(b.len, 0);
    /* usable again after bytes_free() */
    argv[0] = "PING", lens[0] = 4;
    same_as_hiredis(&b, 1, argv, lens);
    bytes_free(&b);
}

/* 300 arguments, as an lh_batch of many calls has. */
static void test_long_command(void **state)
{
    const char *argv[300];
    size_t lens[300];
    char text[300][8];
    bytes_buf b = {0};

    (void)state;
    for (int i = 0; i < 300; i++) {
        lens[i] = (size_t)snprintf(text[i], sizeof(text[i]), "a%d", i * 37);
        argv[i] = text[i];
    }
    same_as_hiredis(&b, 300, argv, lens);
    same_as_hiredis(&b, 300, argv, lens);
    bytes_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_arguments),
        cmocka_unit_test(test_long_command),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
